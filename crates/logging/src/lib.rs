//! berth-logging: a container's log drivers as a library.
//!
//! * [`LogConfig`]: Docker's `--log-driver`/`--log-opt`, validated with Docker's messages;
//!   berth rotates by default (20 MB × 5, [`config::DEFAULT_MAX_SIZE`]).
//! * [`LogWriter`]: what the shim writes output through: entries cut as Docker's copier
//!   does, encoded as `json-file` (Docker's bytes) or `local`, into a [`rotate::RotatingFile`]
//!   whose rotated files may be gzipped in the background ([`compress`]).
//! * [`LogFiles::read`] and [`Follower`]: what `logs` reads: records across rotated and
//!   compressed files with `since`/`until`/`tail`, and a follower that goes on across
//!   rotations.
//!
//! See docs/logging.md for the on-disk formats.

pub mod attrs;
pub mod compress;
pub mod config;
mod error;
mod follow;
mod format;
mod jsonfile;
mod local;
mod lock;
mod reader;
mod record;
pub mod rotate;
mod writer;

pub use attrs::{extra_attrs, ContainerInfo};
pub use compress::{Compressor, ForkCompressor, ThreadCompressor};
pub use config::{Driver, LogConfig, Rotation};
pub use error::{LogError, Result};
pub use follow::Follower;
pub use format::{log_path, Format};
pub use reader::{LogFiles, ReadOptions};
pub use record::{
    format_rfc3339_nano, format_rfc3339_nano_fixed, now_nanos, parse_rfc3339, Entry, Record, Stream,
};
pub use writer::{LogWriter, MAX_LINE};

#[cfg(test)]
mod tests;
