//! What the shim keeps of one exec'd process: its pid, its pty and its exit.

use crate::clock::now_rfc3339_nanos;
use crate::exit::write_atomic;
use crate::stdio::FdIo;
use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use tokio::sync::watch;

pub struct Exec {
    pub pid: i32,
    /// The pty master, while the process runs with a terminal (for resizes).
    pub pty: RefCell<Option<Rc<FdIo>>>,
    /// (exit code, finished at) once reaped.
    pub exit: watch::Sender<Option<(i32, String)>>,
}

impl Exec {
    /// Called by the reaper.
    pub fn exited(&self, state_dir: &Path, id: &str, code: i32) {
        let _ = write_atomic(
            state_dir,
            &format!("exec-{id}.exit"),
            code.to_string().as_bytes(),
        );
        self.exit.send_replace(Some((code, now_rfc3339_nanos())));
    }

    /// Resolves once the process was reaped.
    pub async fn wait(&self) -> (i32, String) {
        let mut rx = self.exit.subscribe();
        loop {
            if let Some(v) = rx.borrow_and_update().clone() {
                return v;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
