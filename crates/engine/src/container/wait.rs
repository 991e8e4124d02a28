//! `POST /containers/{id}/wait`.

use crate::error::{EngineError, Result};
use crate::Engine;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "" | "not-running" => Ok(Self::NotRunning),
            "next-exit" => Ok(Self::NextExit),
            "removed" => Ok(Self::Removed),
            other => Err(EngineError::invalid(format!(
                "invalid condition: \"{other}\""
            ))),
        }
    }
}

impl Engine {
    /// Returns a future for the exit code, so the daemon can send the response headers first
    /// (Docker does) and the body when the condition is met. Lookup errors come out at once.
    pub fn wait_container(
        &self,
        name: &str,
        cond: WaitCondition,
    ) -> Result<impl std::future::Future<Output = i64> + Send + 'static> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        let mut rx = c.lifecycle.subscribe();
        let start = *rx.borrow();
        Ok(async move {
            // The record is the truth: an exit being settled reads as not running before its
            // waiters hear of it (the lifecycle's code could still be the run before's).
            if cond == WaitCondition::NotRunning && !rec.state.running {
                return i64::from(rec.state.exit_code);
            }
            let done = match cond {
                WaitCondition::Removed => rx.wait_for(|l| l.removed).await.map(|l| *l),
                _ => rx.wait_for(|l| l.exits > start.exits).await.map(|l| *l),
            };
            match done {
                Ok(l) => l.last_exit_code,
                Err(_) => rx.borrow().last_exit_code,
            }
        })
    }
}
