//! The shim's socket: one JSON request line, one JSON response line, then for Attach and
//! Exec a byte stream (output out, stdin in).

use crate::exec;
use crate::health;
use crate::shim::Shim;
use crate::stdio::set_winsize;
use crate::wire::{error, forward, respond};
use berth_shim_protocol::{ExitStatus, Request, Response, ShimState};
use std::rc::Rc;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};

/// Upper bound of a request line (an exec's process object can be large with env).
const MAX_REQUEST: u64 = 1 << 20;

pub async fn serve(shim: Rc<Shim>, listener: UnixListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::task::spawn_local(handle(shim.clone(), stream));
            }
            // E.g. EMFILE: back off instead of spinning.
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
}

async fn handle(shim: Rc<Shim>, stream: UnixStream) {
    let _guard = shim.connection();
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut line = String::new();
    match (&mut rd).take(MAX_REQUEST).read_line(&mut line).await {
        Ok(0) | Err(_) => return,
        Ok(_) => {}
    }
    let req: Request = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            let _ = respond(&mut wr, &error(format!("bad request: {e}"))).await;
            return;
        }
    };
    drop(line);
    let resp = match req {
        Request::Start => match shim.start() {
            Ok(()) => {
                if shim.health.is_some() {
                    tokio::task::spawn_local(health::monitor(shim.clone()));
                }
                Response::Ok
            }
            Err(m) => error(m),
        },
        Request::State => Response::State(state(&shim)),
        Request::Wait => Response::Exited(wait_exit(&shim).await),
        Request::Kill { signal, all } => match shim.kill(signal, all) {
            Ok(()) => Response::Ok,
            Err(m) => error(m),
        },
        Request::Resize { width, height } => match &shim.pty {
            Some(pty) => match set_winsize(pty.raw_fd(), width, height) {
                Ok(()) => Response::Ok,
                Err(e) => error(format!("resize: {e}")),
            },
            None => error(format!("container {} has no tty", shim.args.id)),
        },
        Request::Attach {
            stdin,
            stdout,
            stderr,
        } => return attach(shim.clone(), stdin, stdout, stderr, rd, wr).await,
        Request::Exec {
            id,
            process,
            tty,
            stdin,
        } => return exec::exec(shim.clone(), id, process, tty, stdin, rd, wr).await,
        Request::ExecResize { id, width, height } => exec::resize(&shim, &id, width, height),
        Request::ExecWait { id } => exec::wait(&shim, &id).await,
        Request::Health { wait_change_from } => health::request(&shim, wait_change_from).await,
    };
    let _ = respond(&mut wr, &resp).await;
}

fn state(shim: &Shim) -> ShimState {
    let exit = shim.exit.borrow().clone();
    ShimState {
        pid: shim.init_pid,
        status: if exit.is_some() {
            "exited"
        } else if shim.started.get() {
            "running"
        } else {
            "created"
        }
        .to_string(),
        exit,
    }
}

/// Resolves once init's exit is final.
pub async fn wait_exit(shim: &Shim) -> ExitStatus {
    let mut rx = shim.exit.subscribe();
    loop {
        if let Some(st) = rx.borrow_and_update().clone() {
            return st;
        }
        if rx.changed().await.is_err() {
            // The sender lives as long as the shim; this is unreachable in practice.
            std::future::pending::<()>().await;
        }
    }
}

async fn attach(
    shim: Rc<Shim>,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    rd: BufReader<OwnedReadHalf>,
    mut wr: OwnedWriteHalf,
) {
    let rx = if stdout || stderr {
        shim.hub.subscribe(stdout, stderr)
    } else {
        None
    };
    if respond(&mut wr, &Response::Ok).await.is_err() {
        return;
    }
    if stdin && shim.stdin.borrow().is_some() {
        let first = !shim.stdin_claimed.replace(true);
        tokio::task::spawn_local(copy_stdin(shim.clone(), rd, first));
    }
    match rx {
        Some(rx) => forward(rx, &mut wr, shim.pty.is_some()).await,
        // Nothing to send: hold the stream open until the container ends.
        None if shim.exit.borrow().is_none() => {
            wait_exit(&shim).await;
        }
        None => {}
    }
    let _ = wr.shutdown().await;
}

/// Copies a client's stdin into the container's until the client half-closes.
async fn copy_stdin<R: AsyncRead + Unpin>(shim: Rc<Shim>, mut rd: R, first: bool) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let Some(target) = shim.stdin.borrow().clone() else {
            return;
        };
        if target.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    // Docker's StdinOnce: the first attached client's EOF closes the container's stdin.
    if shim.args.stdin_once && first {
        shim.close_stdin();
    }
}
