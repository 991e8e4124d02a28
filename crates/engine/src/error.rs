//! Engine errors. Each module has its own typed error (the store's [`StoreError`], the
//! lifecycle's [`TransitionError`], the image crate's errors) that says its
//! [`ErrorKind`]; [`EngineError`] gathers them, keeping each as its source. The daemon maps
//! the kind to an HTTP status and shows the message, which is Docker's.

use crate::model::TransitionError;
use crate::store::StoreError;
use std::fmt;
use std::path::PathBuf;

pub use berth_errdefs::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A refusal or failure described by its message alone (Docker's words).
    #[error("{message}")]
    Message { kind: ErrorKind, message: String },
    /// A filesystem call on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The image service's errors, each with its own kind.
    #[error(transparent)]
    ImageStore(#[from] berth_image::store::StoreError),
    #[error(transparent)]
    ImageImport(#[from] berth_image::import::ImportError),
    #[error(transparent)]
    Snapshot(#[from] berth_image::snapshot::SnapshotError),
    #[error(transparent)]
    Mount(#[from] berth_image::snapshot::MountError),
    /// What was being done, in front of the cause.
    #[error("{what}: {source}")]
    Context {
        what: String,
        #[source]
        source: Box<EngineError>,
    },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self::Message {
            kind,
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    pub fn no_such_container(name: &str) -> Self {
        Self::not_found(format!("No such container: {name}"))
    }
    /// An I/O failure on `path`, which the message keeps.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
    /// Adds what was being done in front of the message.
    pub fn context(self, what: impl fmt::Display) -> Self {
        Self::Context {
            what: what.to_string(),
            source: Box::new(self),
        }
    }

    /// The class the daemon turns into a status code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Message { kind, .. } => *kind,
            Self::Io { .. } => ErrorKind::Internal,
            Self::Store(e) => e.kind(),
            Self::Transition(e) => e.kind(),
            Self::ImageStore(e) => e.kind(),
            Self::ImageImport(e) => e.kind(),
            Self::Snapshot(e) => e.kind(),
            Self::Mount(e) => e.kind(),
            Self::Context { source, .. } => source.kind(),
        }
    }

    /// The message clients see.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// An `io::Error` without a path (prefer [`EngineError::io`]).
impl From<std::io::Error> for EngineError {
    fn from(e: std::io::Error) -> Self {
        Self::internal(e.to_string())
    }
}

impl From<serde_json::Error> for EngineError {
    fn from(e: serde_json::Error) -> Self {
        Self::internal(format!("encoding: {e}"))
    }
}

/// Extension to name the path an `io::Result` was about.
pub trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| EngineError::io(path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn io_errors_keep_their_path_and_source() {
        let e = std::fs::read("/nonexistent/berth").at("/nonexistent/berth");
        let e = e.unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/berth: "), "{e}");
        assert!(e.source().is_some());
        assert_eq!(e.kind(), ErrorKind::Internal);
    }

    #[test]
    fn context_keeps_the_kind_of_its_cause() {
        let e = EngineError::not_found("No such image: x").context("pulling");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.to_string(), "pulling: No such image: x");
    }
}
