//! Errors of the log drivers, with Docker's wording and a `berth_errdefs` class.

use berth_errdefs::ErrorKind;
use std::path::PathBuf;

pub type Result<T, E = LogError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `--log-driver` names no driver berth has.
    #[error("logger: no log driver named '{0}' is registered")]
    UnknownDriver(String),
    /// A `--log-opt` key the driver does not take.
    #[error("unknown log opt '{key}' for {driver} log driver")]
    UnknownOption { key: String, driver: String },
    /// A `--log-opt` value the driver cannot use; the message is Docker's.
    #[error("{0}")]
    InvalidOption(String),
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LogError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            LogError::UnknownDriver(_)
            | LogError::UnknownOption { .. }
            | LogError::InvalidOption(_) => ErrorKind::InvalidArgument,
            LogError::Io { .. } => ErrorKind::Internal,
        }
    }

    /// The error as Docker reports it when a container starts with a driver it cannot make:
    /// `failed to initialize logging driver: ...`.
    pub fn at_start(&self) -> String {
        format!("failed to initialize logging driver: {self}")
    }

    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        LogError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}
