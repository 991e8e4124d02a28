//! The wire protocol between `berthd` and `berth-shim`.
//!
//! One shim supervises one container. It listens on `<state_dir>/shim.sock`. Every connection
//! starts with one JSON [`Request`] line from the daemon and one JSON [`Response`] line from the
//! shim. Streaming requests (`Attach`, `Exec`) then turn the connection into a raw byte stream:
//!
//! * shim → daemon: container output. Without a TTY each chunk is framed the way Docker frames
//!   multiplexed streams: `[stream, 0, 0, 0, len_be_u32] ++ payload` with stream 1 = stdout,
//!   2 = stderr. With a TTY the bytes are raw.
//! * daemon → shim: raw stdin bytes; a half-close (EOF) means "stdin closed".
//!
//! The shim closes the stream when the process exits and its output is drained.
//!
//! Files the shim keeps in `<state_dir>` (the daemon reads them when the shim is gone):
//! `shim.pid`, `init.pid`, `exit.json` (an [`ExitStatus`], written atomically when the
//! container's init process exits, before the shim itself exits) and `health.json` (the
//! container's [`Health`], rewritten atomically after each probe).
//!
//! The daemon may leave a [`ShimConfig`] in `<state_dir>/shim-config.json` before it runs
//! `berth-shim start`: the log driver and the healthcheck. Without it the shim writes
//! json-file with berth's default rotation and runs no probe.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub mod health;
pub use health::{
    read_health_file as read_health_file_in, Health, HealthConfig, HealthResult, HealthStatus,
    HEALTH_FILE,
};

/// Name of the shim's socket inside its state directory.
pub const SOCKET_NAME: &str = "shim.sock";
/// Name of the exit status file inside the state directory.
pub const EXIT_FILE: &str = "exit.json";
/// Name of the file holding the shim's own pid.
pub const SHIM_PID_FILE: &str = "shim.pid";
/// Name of the file holding the container init's host pid.
pub const INIT_PID_FILE: &str = "init.pid";
/// Name of the [`ShimConfig`] file the daemon may write into the state directory.
pub const CONFIG_FILE: &str = "shim-config.json";

/// What the shim is to do beyond running the container; every field has a default, so a
/// daemon that writes no file (or an older one) gets today's behaviour.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ShimConfig {
    #[serde(default)]
    pub log: LogConfig,
    /// `None` (or a test of `["NONE"]`): no probes.
    #[serde(default)]
    pub healthcheck: Option<HealthConfig>,
}

/// Docker's `HostConfig.LogConfig`, validated by the daemon already (the shim validates again
/// and fails the start with Docker's `failed to initialize logging driver: ...`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LogConfig {
    /// `json-file` (also when empty), `local` or `none`.
    #[serde(default)]
    pub driver: String,
    /// `--log-opt`s: `max-size`, `max-file`, `compress`, `labels`, `env`, `tag`...
    #[serde(default)]
    pub opts: BTreeMap<String, String>,
    /// Extra attributes for each json-file entry (`"attrs"`), which the daemon resolves from
    /// the `labels`/`env`/`tag` options.
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

impl ShimConfig {
    /// Reads `<state_dir>/shim-config.json`; a missing file is the default config.
    pub fn read(state_dir: &Path) -> std::io::Result<Self> {
        match std::fs::read(state_dir.join(CONFIG_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes `<state_dir>/shim-config.json` (the daemon, before `berth-shim start`).
    pub fn write(&self, state_dir: &Path) -> std::io::Result<()> {
        std::fs::write(state_dir.join(CONFIG_FILE), serde_json::to_vec(self)?)
    }
}

/// Stream ids of the multiplexed (non-TTY) output framing.
pub const STREAM_STDOUT: u8 = 1;
pub const STREAM_STDERR: u8 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Let the created container's init run (libcontainer `Container::start`, `runc start`).
    ///
    /// The shim creates the container and reports [`StartReport::Created`] with init's pid,
    /// but init stays blocked until this request arrives. This gap lets the daemon connect
    /// the attach streams a client asked for before any output is produced, as containerd does
    /// with create-task / start-task: `docker run` of `echo hi` must never lose `hi`.
    /// Answers `Ok` (or `Error` if init could not be started); a second `Start` is an error.
    Start,
    /// Current state of the container's init process.
    State,
    /// Block until init exits; answers [`Response::Exited`].
    Wait,
    /// Send a signal to init (or, with `all`, to every process of the container).
    Kill {
        signal: i32,
        #[serde(default)]
        all: bool,
    },
    /// Attach to init's stdio; the connection becomes a stream (see module docs).
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// Resize init's pty (no-op error if it has none).
    Resize { width: u16, height: u16 },
    /// Start a new process inside the container; the connection becomes its stream.
    /// `process` is an OCI runtime-spec `process` object (args, env, cwd, user, terminal,
    /// capabilities, noNewPrivileges...).
    Exec {
        id: String,
        process: serde_json::Value,
        tty: bool,
        stdin: bool,
    },
    /// Resize an exec's pty.
    ExecResize { id: String, width: u16, height: u16 },
    /// Block until an exec exits; answers [`Response::Exited`].
    ExecWait { id: String },
    /// The container's [`Health`]; with `wait_change_from`, once its status is another
    /// (answered at once if it is already; also when the container exits). An error when the
    /// container has no healthcheck.
    Health {
        #[serde(default)]
        wait_change_from: Option<HealthStatus>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Response {
    Ok,
    /// A process was started (exec): its host pid.
    Started {
        pid: i32,
    },
    State(ShimState),
    Exited(ExitStatus),
    Health(Health),
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShimState {
    /// Host pid of the container's init process.
    pub pid: i32,
    /// `created` (waiting for `Start`), `running` or `exited`.
    pub status: String,
    /// Present once `status` is `exited`.
    pub exit: Option<ExitStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ExitStatus {
    /// Exit code as Docker reports it: the code, or 128 + signal number.
    pub exit_code: i32,
    /// The kernel's OOM killer killed a process of this container's cgroup.
    pub oom_killed: bool,
    /// RFC 3339 time with nanoseconds, UTC.
    pub finished_at: String,
}

/// What the shim prints as one JSON line on its stdout once the container is created (or
/// failed to be created). Its socket is listening by then. The daemon then attaches what it
/// must and sends [`Request::Start`] before answering `POST /containers/{id}/start`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum StartReport {
    /// Init exists (host pid) and waits for [`Request::Start`].
    Created {
        pid: i32,
    },
    Failed {
        message: String,
    },
}

/// Reads the exit status a shim left behind, if any.
pub fn read_exit_file(state_dir: &Path) -> Option<ExitStatus> {
    let bytes = std::fs::read(state_dir.join(EXIT_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

pub mod client;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_when_absent_or_partial() {
        let dir = std::env::temp_dir().join(format!("berth-shim-proto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(ShimConfig::read(&dir).unwrap(), ShimConfig::default());
        std::fs::write(dir.join(CONFIG_FILE), br#"{"log":{"driver":"local"}}"#).unwrap();
        let c = ShimConfig::read(&dir).unwrap();
        assert_eq!(c.log.driver, "local");
        assert!(c.healthcheck.is_none());
        let full = ShimConfig {
            log: LogConfig {
                driver: "json-file".into(),
                opts: BTreeMap::from([("max-size".into(), "1m".into())]),
                attrs: BTreeMap::new(),
            },
            healthcheck: Some(HealthConfig {
                test: vec!["CMD-SHELL".into(), "exit 0".into()],
                ..Default::default()
            }),
        };
        full.write(&dir).unwrap();
        assert_eq!(ShimConfig::read(&dir).unwrap(), full);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn health_request_wire_form() {
        let r: Request = serde_json::from_str(r#"{"op":"health"}"#).unwrap();
        assert_eq!(
            r,
            Request::Health {
                wait_change_from: None
            }
        );
        let r = Request::Health {
            wait_change_from: Some(HealthStatus::Starting),
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"op":"health","wait_change_from":"starting"}"#
        );
    }
}
