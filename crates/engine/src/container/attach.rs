//! `POST /containers/{id}/attach`: a stream to the container's stdio, through its shim. An
//! attach to a container that is not running yet waits for its start, and is connected
//! before init runs so no output is missed.

use super::Container;
use crate::error::{EngineError, Result};
use crate::Engine;
use berth_shim_protocol::client::ShimClient;
use berth_shim_protocol::{Request, Response};
use std::sync::Arc;
use tokio::io::BufReader;
use tokio::net::UnixStream;
use tokio::sync::oneshot;

/// A connection to a shim that carries a process's stdio (see the shim protocol).
pub type ShimStream = BufReader<UnixStream>;

#[derive(Debug, Clone, Copy, Default)]
pub struct AttachOptions {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

pub struct PendingAttach {
    opts: AttachOptions,
    tx: oneshot::Sender<Result<ShimStream>>,
}

async fn open_attach(shim: &ShimClient, opts: AttachOptions) -> Result<ShimStream> {
    let req = Request::Attach {
        stdin: opts.stdin,
        stdout: opts.stdout,
        stderr: opts.stderr,
    };
    match shim.open(&req).await {
        Ok((Response::Ok, stream)) => Ok(stream),
        Ok((Response::Error { message }, _)) => Err(EngineError::internal(message)),
        Ok((other, _)) => Err(EngineError::internal(format!(
            "unexpected answer: {other:?}"
        ))),
        Err(e) => Err(EngineError::internal(format!("attaching: {e}"))),
    }
}

/// An attach stream, or the promise of one once the container starts.
pub enum AttachHandle {
    Ready(ShimStream),
    Pending(oneshot::Receiver<Result<ShimStream>>),
}

impl AttachHandle {
    pub async fn stream(self) -> Result<ShimStream> {
        match self {
            AttachHandle::Ready(s) => Ok(s),
            AttachHandle::Pending(rx) => rx
                .await
                .unwrap_or_else(|_| Err(EngineError::conflict("container was removed"))),
        }
    }
}

impl Engine {
    /// Returns whether the container has a TTY, and its stream. For a container that is not
    /// running the attach is registered before this returns, so a client that answers the
    /// attach (101) and then starts the container cannot lose early output.
    pub async fn attach_container(
        &self,
        name: &str,
        opts: AttachOptions,
    ) -> Result<(bool, AttachHandle)> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        let rec = c.snapshot();
        self.container_event(&rec, "attach", &[]);
        if rec.state.is_running() {
            let shim = ShimClient::new(&self.config.shim_state_dir(&rec.id));
            let stream = open_attach(&shim, opts).await?;
            return Ok((rec.config.tty, AttachHandle::Ready(stream)));
        }
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = c.pending_attach.lock() {
            p.push(PendingAttach { opts, tx });
        }
        Ok((rec.config.tty, AttachHandle::Pending(rx)))
    }

    pub(super) async fn connect_pending_attaches(
        &self,
        c: &Arc<Container>,
        state_dir: &std::path::Path,
    ) {
        let pending = match c.pending_attach.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return,
        };
        let shim = &ShimClient::new(state_dir);
        for p in pending {
            if p.tx.is_closed() {
                continue;
            }
            let _ = p.tx.send(open_attach(shim, p.opts).await);
        }
    }

    pub(super) fn fail_pending_attaches(&self, c: &Arc<Container>, message: &str) {
        let pending = match c.pending_attach.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return,
        };
        for p in pending {
            let _ = p.tx.send(Err(EngineError::internal(message.to_string())));
        }
    }

    /// `POST /containers/{id}/resize`.
    pub async fn resize_container(&self, name: &str, height: u16, width: u16) -> Result<()> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        if !rec.state.is_running() {
            return Err(EngineError::conflict(format!(
                "Container {} is not running",
                rec.id
            )));
        }
        let shim = ShimClient::new(&self.config.shim_state_dir(&rec.id));
        match shim.call(&Request::Resize { width, height }).await {
            Ok(Response::Ok) => Ok(()),
            Ok(Response::Error { message }) => Err(EngineError::internal(message)),
            Ok(other) => Err(EngineError::internal(format!(
                "unexpected answer: {other:?}"
            ))),
            Err(e) => Err(EngineError::internal(format!("resizing: {e}"))),
        }
    }
}
