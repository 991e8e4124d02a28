//! `--sig-proxy`: signals the CLI receives are sent to the container as
//! `POST /containers/{id}/kill?signal=NAME`, as docker's `ForwardAllSignals` does.

use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinHandle;

use berth_client::Client;

/// The signals we catch and forward (docker skips SIGCHLD, SIGPIPE and SIGURG; we also leave
/// SIGWINCH to the resize logic and SIGTSTP/TTIN/TTOU to job control).
const FORWARDED: &[(libc::c_int, &str)] = &[
    (libc::SIGHUP, "HUP"),
    (libc::SIGINT, "INT"),
    (libc::SIGQUIT, "QUIT"),
    (libc::SIGUSR1, "USR1"),
    (libc::SIGUSR2, "USR2"),
    (libc::SIGTERM, "TERM"),
    (libc::SIGALRM, "ALRM"),
    (libc::SIGCONT, "CONT"),
];

pub fn spawn_proxy(client: Client, container: String) -> JoinHandle<()> {
    tokio::spawn(async move {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
        for &(num, name) in FORWARDED {
            let Ok(mut s) = signal(SignalKind::from_raw(num)) else {
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                while s.recv().await.is_some() {
                    if tx.send(name).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        while let Some(name) = rx.recv().await {
            // A container that already exited answers 409; nothing to do about it.
            let _ = client.container_kill(&container, Some(name)).await;
        }
    })
}
