//! Exit statuses: an error that carries the status docker would exit with.

use std::fmt;

/// Ends the CLI with `code`, printing `message` (if not empty) to stderr.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: String,
}

impl Exit {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Exit {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// Maps any error to (status, message): [`Exit`] keeps its own, everything else is 1, like
/// docker's main.
pub fn exit_status(err: &anyhow::Error) -> (i32, String) {
    if let Some(e) = err.downcast_ref::<Exit>() {
        return (e.code, e.message.clone());
    }
    (1, format!("{err:#}"))
}

/// Whether `err` is the daemon's 404.
pub fn not_found(err: &anyhow::Error) -> bool {
    api_error(err).is_some_and(berth_client::ApiError::is_not_found)
}

/// The daemon's error answer inside `err`, if it is one.
pub fn api_error(err: &anyhow::Error) -> Option<&berth_client::ApiError> {
    err.downcast_ref::<berth_client::Error>()
        .and_then(berth_client::Error::api)
        .or_else(|| err.downcast_ref::<berth_client::ApiError>())
}

/// docker's `toStatusError` for `run`: a start failure whose message says the command was not
/// found exits 127, one that says it could not be executed 126, anything else 125.
pub fn run_status(message: &str) -> i32 {
    if message.contains("executable file not found")
        || message.contains("no such file or directory")
        || message.contains("not found")
        || message.contains("system cannot find the file specified")
    {
        127
    } else if message.contains("permission denied") || message.contains("is a directory") {
        126
    } else {
        125
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_exit_codes() {
        assert_eq!(
            run_status("Error response from daemon: failed to create task: exec: \"nope\": executable file not found in $PATH: unknown"),
            127
        );
        assert_eq!(run_status("exec /bin/x: no such file or directory"), 127);
        assert_eq!(run_status("exec /etc: permission denied"), 126);
        assert_eq!(run_status("Error response from daemon: conflict"), 125);
    }

    #[test]
    fn exit_status_of_errors() {
        let e: anyhow::Error = Exit::new(125, "berth: boom").into();
        assert_eq!(exit_status(&e), (125, "berth: boom".to_string()));
        let e = anyhow::anyhow!("plain");
        assert_eq!(exit_status(&e), (1, "plain".to_string()));
    }
}
