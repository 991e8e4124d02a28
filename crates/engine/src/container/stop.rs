//! `stop`, `kill` and `restart`.

use super::Container;
use crate::error::{EngineError, ErrorKind, Result};
use crate::Engine;
use berth_shim_protocol::client::ShimClient;
use berth_shim_protocol::{Request, Response};
use std::sync::Arc;
use std::time::Duration;

/// Docker's default grace period before SIGKILL.
const DEFAULT_STOP_TIMEOUT: i64 = 10;

/// How long a container may take to exit (and be released) after SIGKILL.
const KILL_TIMEOUT: Duration = Duration::from_secs(30);

/// Parses `TERM`, `SIGTERM`, `sigterm`, `15` or `SIGRTMIN+3` (see `berth-signal`).
pub fn parse_signal(s: &str) -> Result<i32> {
    berth_signal::parse(s).map_err(|e| EngineError::invalid(e.to_string()))
}

impl Engine {
    pub async fn stop_container(
        self: &Arc<Self>,
        name: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        let rec = c.snapshot();
        if !rec.state.running {
            if rec.state.restarting {
                // Cancel a pending restart.
                let rec = c.update(|r| {
                    r.manually_stopped = true;
                    r.state.restarting = false;
                    r.state.status = "exited".into();
                });
                self.persist(&rec)?;
                return Ok(());
            }
            return Err(EngineError::new(
                ErrorKind::NotModified,
                "container already stopped",
            ));
        }
        let sig = match signal.or(rec.config.stop_signal.as_deref()) {
            Some(s) if !s.is_empty() => parse_signal(s)?,
            _ => libc::SIGTERM,
        };
        let timeout = timeout
            .or(rec.config.stop_timeout)
            .unwrap_or(DEFAULT_STOP_TIMEOUT);
        self.stop_locked(&c, sig, timeout).await
    }

    /// Sends `sig`, waits up to `timeout` seconds (forever if negative), then SIGKILLs.
    pub(super) async fn stop_locked(
        self: &Arc<Self>,
        c: &Arc<Container>,
        sig: i32,
        timeout: i64,
    ) -> Result<()> {
        let rec = c.update(|r| r.manually_stopped = true);
        self.persist(&rec)?;
        self.container_event(&rec, "kill", &[("signal", sig.to_string())]);
        let mut watch = c.lifecycle.subscribe();
        let exits = watch.borrow().exits;
        let shim = ShimClient::new(&self.config.shim_state_dir(&rec.id));
        let _ = send_kill(&shim, sig).await;
        if rec.state.paused {
            let _ = self.thaw(&rec.id);
        }
        let exited = watch.wait_for(|l| l.exits > exits);
        let graceful = if timeout < 0 {
            exited.await.is_ok()
        } else {
            matches!(
                tokio::time::timeout(Duration::from_secs(timeout as u64), exited).await,
                Ok(Ok(_))
            )
        };
        if !graceful {
            // A kill that finds init already gone (exited as the timeout ran out) is fine:
            // what counts is the exit.
            let killed = send_kill(&shim, libc::SIGKILL).await;
            let exited = watch.wait_for(|l| l.exits > exits);
            if tokio::time::timeout(KILL_TIMEOUT, exited).await.is_err() {
                killed?;
                return Err(EngineError::internal(format!(
                    "container {} did not exit after SIGKILL",
                    rec.id
                )));
            }
        }
        self.container_event(&c.snapshot(), "stop", &[]);
        Ok(())
    }

    /// Sends `signal`. Without one, like dockerd, SIGKILLs and returns once the container has
    /// exited and its run is released, so a `start` right after always starts it again.
    pub async fn kill_container(self: &Arc<Self>, name: &str, signal: Option<&str>) -> Result<()> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        let signal = signal.filter(|s| !s.is_empty());
        let sig = match signal {
            Some(s) => parse_signal(s)?,
            None => libc::SIGKILL,
        };
        if !rec.state.running {
            return Err(EngineError::conflict(format!(
                "cannot kill container: {name}: container {} is not running",
                rec.id
            )));
        }
        // Like `stop`, a kill that ends the container is the user's choice: no restart.
        if sig == libc::SIGKILL || sig == libc::SIGTERM || sig == libc::SIGINT {
            let rec = c.update(|r| r.manually_stopped = true);
            self.persist(&rec)?;
        }
        let mut watch = c.lifecycle.subscribe();
        let exits = watch.borrow().exits;
        let shim = ShimClient::new(&self.config.shim_state_dir(&rec.id));
        send_kill(&shim, sig).await?;
        self.container_event(&rec, "kill", &[("signal", sig.to_string())]);
        if signal.is_none() {
            let exited = watch.wait_for(|l| l.exits > exits);
            if tokio::time::timeout(KILL_TIMEOUT, exited).await.is_err() {
                return Err(EngineError::internal(format!(
                    "container {} did not exit after SIGKILL",
                    rec.id
                )));
            }
        }
        Ok(())
    }

    pub async fn restart_container(
        self: &Arc<Self>,
        name: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        match self.stop_container(name, timeout, signal).await {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::NotModified => {}
            Err(e) => return Err(e),
        }
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        self.start_locked(&c).await?;
        self.container_event(&c.snapshot(), "restart", &[]);
        Ok(())
    }
}

async fn send_kill(shim: &ShimClient, signal: i32) -> Result<()> {
    match shim.call(&Request::Kill { signal, all: false }).await {
        Ok(Response::Ok) => Ok(()),
        Ok(Response::Error { message }) => Err(EngineError::internal(message)),
        Ok(other) => Err(EngineError::internal(format!(
            "unexpected answer: {other:?}"
        ))),
        Err(e) => Err(EngineError::internal(format!("signalling container: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_by_name_and_number() {
        assert_eq!(parse_signal("TERM").unwrap(), libc::SIGTERM);
        assert_eq!(parse_signal("SIGKILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse_signal("usr1").unwrap(), libc::SIGUSR1);
        assert_eq!(parse_signal("9").unwrap(), 9);
        assert!(parse_signal("NOPE").is_err());
        assert!(parse_signal("0").is_err());
    }
}
