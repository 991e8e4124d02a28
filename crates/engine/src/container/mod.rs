//! Containers: the persistent record, the live handle, and one file per verb.

mod attach;
mod create;
pub(crate) mod exec;
pub(crate) mod health;
mod inspect;
#[cfg(test)]
mod lifecycle_tests;
mod list;
mod logs;
mod monitor;
mod pause;
mod prune;
mod recover;
mod remove;
mod rename;
mod restart_policy;
pub(crate) mod shim_process;
mod spec;
mod start;
pub mod stats;
mod stop;
mod top;
mod update;
mod user;
mod wait;

pub use attach::{AttachHandle, AttachOptions, ShimStream};
pub use exec::ExecStream;
pub use inspect::{ContainerDetails, MountView, Sizes, StorageDetails};
pub use list::{ContainerSummary, ListOptions};
pub use logs::{parse_timestamp, LogOptions, LogRecord};
pub use prune::PruneReport;
pub use top::ProcessTable;
pub use wait::WaitCondition;

use crate::model::{ContainerConfig, Event, HostConfig, State, TransitionError};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use tokio::sync::watch;

/// Everything berth keeps about a container across daemon restarts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub id: String,
    /// Without the leading `/`.
    pub name: String,
    /// RFC 3339 with nanoseconds.
    pub created: String,
    /// `sha256:...` of the image config.
    pub image_id: String,
    /// Snapshot (layer chain) ids of the image, bottom first.
    pub layers: Vec<String>,
    /// The container config, merged with the image's defaults as Docker does at create.
    pub config: ContainerConfig,
    pub host_config: HostConfig,
    /// Resolved entrypoint + cmd: what runs as PID 1 (after `--init` if asked).
    pub path: String,
    pub args: Vec<String>,
    pub state: State,
    pub restart_count: i64,
    /// Set by `stop`/`kill`, cleared by `start`: restart policies leave such a container alone.
    pub manually_stopped: bool,
}

impl ContainerRecord {
    pub fn is_running(&self) -> bool {
        self.state.is_running()
    }
}

/// What waiters watch: how many times the container exited, and whether it is gone.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Lifecycle {
    pub exits: u64,
    pub last_exit_code: i64,
    pub removed: bool,
}

/// A live container: its record behind a lock, a lock serializing lifecycle operations, and
/// the channel waiters listen on.
pub struct Container {
    pub record: Mutex<ContainerRecord>,
    /// Held across start/stop/remove so they never interleave for one container.
    pub op: tokio::sync::Mutex<()>,
    pub lifecycle: watch::Sender<Lifecycle>,
    /// Attach requests that arrived before start; start connects them before init runs.
    pub pending_attach: Mutex<Vec<attach::PendingAttach>>,
}

impl Container {
    pub fn new(record: ContainerRecord) -> Self {
        let code = record.state.exit_code as i64;
        Self {
            record: Mutex::new(record),
            op: tokio::sync::Mutex::new(()),
            lifecycle: watch::channel(Lifecycle {
                last_exit_code: code,
                ..Default::default()
            })
            .0,
            pending_attach: Mutex::new(Vec::new()),
        }
    }

    /// A copy of the record (the lock is never held across an await).
    pub fn snapshot(&self) -> ContainerRecord {
        match self.record.lock() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Changes the record under its lock and returns the new copy.
    pub fn update<F: FnOnce(&mut ContainerRecord)>(&self, f: F) -> ContainerRecord {
        let mut guard = match self.record.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        f(&mut guard);
        guard.clone()
    }

    /// The one way a container's status changes: `event` moves it through the lifecycle
    /// table (or is refused, leaving the record as it was), then `f` records what goes with it.
    pub fn transition<F: FnOnce(&mut ContainerRecord)>(
        &self,
        event: Event,
        f: F,
    ) -> Result<ContainerRecord, TransitionError> {
        let mut guard = match self.record.lock() {
            Ok(r) => r,
            Err(p) => p.into_inner(),
        };
        let id = guard.id.clone();
        guard.state.apply(&id, event)?;
        f(&mut guard);
        Ok(guard.clone())
    }

    pub fn id(&self) -> String {
        self.snapshot().id
    }
}

/// What went wrong starting a process, in runc's words: the docker CLI picks its exit code
/// (127 or 126) from them, and scripts grep for them.
pub fn process_start_error(program: &str, message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let about_program = lower.contains("executable") || lower.contains("exec:");
    if about_program && lower.contains("not found") {
        format!("unable to start container process: exec: \"{program}\": executable file not found in $PATH")
    } else if about_program && lower.contains("permission denied") {
        format!("unable to start container process: exec: \"{program}\": permission denied")
    } else {
        message.to_string()
    }
}

/// Docker's exit code for a process that could not start: 127 when it was not found, 126
/// when it could not be run, `otherwise` for any other failure.
pub fn process_start_exit_code(message: &str, otherwise: i32) -> i32 {
    if message.contains("executable file not found") {
        127
    } else if message.ends_with("permission denied") || message.contains("permission denied:") {
        126
    } else {
        otherwise
    }
}

/// Docker's RFC 3339 timestamp with nanoseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

#[cfg(test)]
mod tests {
    use super::process_start_error;

    #[test]
    fn start_errors_use_runcs_words_only_about_the_program() {
        let m = process_start_error("nope", "executable 'nope' not found in $PATH");
        assert!(m.contains("exec: \"nope\": executable file not found in $PATH"));
        assert_eq!(super::process_start_exit_code(&m, 128), 127);
        let m = process_start_error(
            "x",
            "executable 'x' does not have correct permissions: permission denied",
        );
        assert!(m.ends_with("permission denied"));
        let m = process_start_error(
            "true",
            "running /nonexistent/runc: No such file or directory",
        );
        assert!(m.contains("/nonexistent/runc"));
    }
}
