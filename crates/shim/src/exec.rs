//! Extra processes in the running container (`docker exec`).

use crate::exec_record::Exec;
use crate::output::{self, Hub, STREAM_STDERR, STREAM_STDOUT};
use crate::shim::{Shim, DRAIN_GRACE};
use crate::stdio::{self, set_winsize, FdIo, Streams};
use crate::wire::{error, forward, respond};
use anyhow::{Context, Result};
use berth_shim_protocol::{ExitStatus, Response};
use std::cell::RefCell;
use std::rc::Rc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        && id != "."
        && id != ".."
}

/// Starts the process, answers `Started`, then streams it until its output is drained.
pub async fn exec(
    shim: Rc<Shim>,
    id: String,
    mut process: serde_json::Value,
    tty: bool,
    stdin: bool,
    rd: BufReader<OwnedReadHalf>,
    mut wr: OwnedWriteHalf,
) {
    let started = if !valid_id(&id) {
        Err(format!("invalid exec id {id:?}"))
    } else if shim.execs.borrow().contains_key(&id) {
        Err(format!("exec {id} already exists"))
    } else if shim.reaped.get() || !shim.started.get() {
        Err(format!("container {} is not running", shim.args.id))
    } else {
        start(&shim, &id, &mut process, tty, stdin).map_err(|e| format!("{e:#}"))
    };
    drop(process);
    let (exec, streams) = match started {
        Ok(s) => s,
        Err(message) => {
            let _ = respond(&mut wr, &error(message)).await;
            return;
        }
    };
    shim.execs.borrow_mut().insert(id, exec.clone());
    // A client gone already does not stop the process: it keeps running, output discarded.
    let _ = respond(&mut wr, &Response::Started { pid: exec.pid }).await;

    let hub = Rc::new(Hub::default());
    let rx = hub.subscribe(true, true);
    let mut input = None;
    let pumps: std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> = match streams {
        Streams::Pty(master) => {
            let m = FdIo::new(master).ok().map(Rc::new);
            *exec.pty.borrow_mut() = m.clone();
            if stdin {
                input = m.clone();
            }
            let h = hub.clone();
            Box::pin(async move {
                if let Some(m) = m {
                    output::pump(m, STREAM_STDOUT, h, None).await
                }
            })
        }
        Streams::Pipes {
            stdin: sin,
            stdout,
            stderr,
        } => {
            input = sin.and_then(|fd| FdIo::new(fd).ok()).map(Rc::new);
            let out = FdIo::new(stdout).ok().map(Rc::new);
            let err = FdIo::new(stderr).ok().map(Rc::new);
            let (h1, h2) = (hub.clone(), hub.clone());
            Box::pin(async move {
                let a = async {
                    if let Some(o) = out {
                        output::pump(o, STREAM_STDOUT, h1, None).await
                    }
                };
                let b = async {
                    if let Some(e) = err {
                        output::pump(e, STREAM_STDERR, h2, None).await
                    }
                };
                tokio::join!(a, b);
            })
        }
    };
    if let Some(input) = input {
        tokio::task::spawn_local(copy_input(rd, input));
    }

    let exec2 = exec.clone();
    let drain = async move {
        let after_exit = async {
            exec2.wait().await;
            tokio::time::sleep(DRAIN_GRACE).await;
        };
        tokio::select! {
            _ = pumps => {}
            _ = after_exit => {}
        }
        hub.close();
    };
    let tty_mode = tty;
    let send = async {
        if let Some(rx) = rx {
            forward(rx, &mut wr, tty_mode).await;
        }
    };
    tokio::join!(drain, send);
    let _ = wr.shutdown().await;
    // The pty is only needed for resizes while the process runs.
    exec.pty.borrow_mut().take();
}

pub(crate) fn start(
    shim: &Shim,
    id: &str,
    process: &mut serde_json::Value,
    tty: bool,
    stdin: bool,
) -> Result<(Rc<Exec>, Streams)> {
    let obj = process
        .as_object_mut()
        .context("exec process must be a JSON object")?;
    // The OCI runtime wants a console socket exactly when the process has a terminal.
    obj.insert("terminal".into(), serde_json::Value::Bool(tty));
    let path = shim.args.state.join(format!("exec-{id}.json"));
    // Socket paths are limited to 108 bytes: keep the name short.
    let seq = shim.exec_seq.get() + 1;
    shim.exec_seq.set(seq);
    let console = shim.args.state.join(format!("e{seq}.sock"));
    let (pio, mut sio) = stdio::setup(tty, stdin, &console)?;
    sio.size_on_arrival(process)?;
    let pid = shim.driver.exec(process, &path, pio)?;
    crate::memory::shed_startup_memory_soon();
    let streams = match sio.into_streams() {
        Ok(s) => s,
        Err(e) => {
            // SAFETY: kill(2) has no memory-safety preconditions; pid is our unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            return Err(e);
        }
    };
    let exec = Rc::new(Exec {
        pid,
        pty: RefCell::new(None),
        exit: watch::channel(None).0,
    });
    Ok((exec, streams))
}

async fn copy_input<R: AsyncRead + Unpin>(mut rd: R, target: Rc<FdIo>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if target.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    // Dropping the pipe's write end gives the process EOF on stdin.
}

pub fn resize(shim: &Shim, id: &str, width: u16, height: u16) -> Response {
    let Some(exec) = shim.execs.borrow().get(id).cloned() else {
        return error(format!("no such exec: {id}"));
    };
    let pty = exec.pty.borrow().clone();
    match pty {
        Some(pty) => match set_winsize(pty.raw_fd(), width, height) {
            Ok(()) => Response::Ok,
            Err(e) => error(format!("resize: {e}")),
        },
        None => error(format!("exec {id} has no tty")),
    }
}

pub async fn wait(shim: &Shim, id: &str) -> Response {
    let Some(exec) = shim.execs.borrow().get(id).cloned() else {
        return error(format!("no such exec: {id}"));
    };
    let (exit_code, finished_at) = exec.wait().await;
    Response::Exited(ExitStatus {
        exit_code,
        oom_killed: false,
        finished_at,
    })
}
