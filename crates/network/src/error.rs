//! The crate's error: a few kinds the engine maps to Docker's status codes, each carrying the
//! object involved, and a list for teardowns that go on past failures.

use std::fmt;

/// What class of failure an [`Error`] is (shared with the engine, which the daemon maps to
/// an HTTP status).
pub use berth_errdefs::ErrorKind;

/// The crate's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    Netlink {
        context: String,
        #[source]
        source: rtnetlink::Error,
    },
    #[error("nftables: {context}: {message}")]
    Nft { context: String, message: String },
    #[error("{context}: {source}")]
    Dns {
        context: String,
        #[source]
        source: hickory_proto::ProtoError,
    },
    /// Several failures of one teardown or of a step and its rollback.
    #[error("{}", Joined(.0))]
    Many(Vec<Error>),
}

struct Joined<'a>(&'a [Error]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl Error {
    /// The class of this error; for [`Error::Many`], the first one's.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Many(v) => v.first().map_or(ErrorKind::Internal, Error::kind),
            Error::Io { .. } | Error::Netlink { .. } | Error::Nft { .. } | Error::Dns { .. } => {
                ErrorKind::Internal
            }
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn netlink(context: impl Into<String>, source: rtnetlink::Error) -> Self {
        Error::Netlink {
            context: context.into(),
            source,
        }
    }

    /// The errno of a netlink or I/O failure, if there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Netlink {
                source: rtnetlink::Error::NetlinkError(m),
                ..
            } => Some(-m.raw_code()),
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Collects the failures of a teardown that goes on past each one.
#[derive(Default)]
pub(crate) struct Errors(Vec<Error>);

impl Errors {
    pub(crate) fn push<T>(&mut self, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(Error::Many(v)) => {
                self.0.extend(v);
                None
            }
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub(crate) fn into_result(mut self) -> Result<()> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(self.0.remove(0)),
            _ => Err(Error::Many(self.0)),
        }
    }
}

/// A failed step plus the failures of undoing it: both are kept.
pub(crate) fn with_rollback(err: Error, rollback: Result<()>) -> Error {
    let mut all = Errors::default();
    all.push::<()>(Err(err));
    all.push(rollback);
    match all.into_result() {
        Err(e) => e,
        Ok(()) => Error::Many(Vec::new()),
    }
}
