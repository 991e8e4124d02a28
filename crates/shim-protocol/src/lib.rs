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
//! `shim.pid`, `init.pid`, and `exit.json` (an [`ExitStatus`], written atomically when the
//! container's init process exits, before the shim itself exits).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// Name of the shim's socket inside its state directory.
pub const SOCKET_NAME: &str = "shim.sock";
/// Name of the exit status file inside the state directory.
pub const EXIT_FILE: &str = "exit.json";
/// Name of the file holding the shim's own pid.
pub const SHIM_PID_FILE: &str = "shim.pid";
/// Name of the file holding the container init's host pid.
pub const INIT_PID_FILE: &str = "init.pid";

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
