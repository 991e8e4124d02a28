//! An exec instance's settings, in the engine's types (the daemon converts Docker's
//! `ExecConfig` and `ExecStartConfig`).

/// What `docker exec` asked to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecSpec {
    pub user: String,
    pub privileged: bool,
    pub tty: bool,
    /// `[height, width]`.
    pub console_size: Option<Vec<u16>>,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub detach_keys: String,
    pub env: Option<Vec<String>>,
    pub working_dir: String,
    pub cmd: Option<Vec<String>>,
}

/// How an exec is started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecStart {
    pub detach: bool,
    pub tty: bool,
    pub console_size: Option<Vec<u16>>,
}

/// An exec instance as inspect shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecDetails {
    pub id: String,
    pub container_id: String,
    pub running: bool,
    /// Once the process has exited.
    pub exit_code: Option<i32>,
    pub pid: i32,
    pub spec: ExecSpec,
}
