//! Content store: blobs addressed by their sha256 digest (layers, configs, manifests).
//!
//! As containerd's `core/content`, it is a few narrow interfaces combined into one [`Store`];
//! a consumer asks for the narrowest one it needs:
//!
//! - [`InfoProvider`]: what is known of a committed blob (its size).
//! - [`Provider`]: read a committed blob at any offset ([`ReaderAt`]).
//! - [`Ingester`]: write a blob. A write is named by a *ref* its writer chooses (e.g. the
//!   name of a layer being pulled). While it is in progress the bytes are an *ingest*;
//!   opening a writer on the same ref again resumes at the offset already written, even
//!   after a crash. Committing verifies size and digest and makes the blob visible at once
//!   and whole: a committed blob is never partial.
//! - [`IngestManager`]: the status of in-progress writes, and their abort.
//! - [`Manager`]: walk and delete committed blobs. [`collect_garbage`] deletes every blob
//!   outside a given live set.
//!
//! [`local::LocalStore`] implements them on disk.

pub mod local;

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::time::SystemTime;

use crate::digest::Digest;

pub use local::LocalStore;

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("blob {digest} not found")]
    NotFound { digest: Digest },
    #[error("blob {digest} already exists")]
    AlreadyExists { digest: Digest },
    #[error("no write in progress for ref {reference:?}")]
    IngestNotFound { reference: String },
    #[error("ref {reference:?} is locked: another write of it is in progress")]
    Locked { reference: String },
    #[error("invalid ingest ref {reference:?}: must not be empty")]
    InvalidRef { reference: String },
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("content store: {op} {path:?}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ContentError {
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            ContentError::NotFound { .. } | ContentError::IngestNotFound { .. } => K::NotFound,
            ContentError::AlreadyExists { .. } => K::AlreadyExists,
            ContentError::Locked { .. } => K::Unavailable,
            ContentError::InvalidRef { .. }
            | ContentError::DigestMismatch { .. }
            | ContentError::SizeMismatch { .. } => K::InvalidArgument,
            ContentError::Io { .. } => K::Internal,
        }
    }
}

pub type Result<T, E = ContentError> = std::result::Result<T, E>;

/// A committed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub digest: Digest,
    pub size: u64,
}

/// An in-progress write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub reference: String,
    /// Bytes written so far: where a resumed write continues.
    pub offset: u64,
    /// The size the writer announced, if any.
    pub total: Option<u64>,
    /// The digest the writer announced, if any.
    pub expected: Option<Digest>,
    pub started_at: SystemTime,
    pub updated_at: SystemTime,
}

/// What a writer is opened with: the ref, and what the blob should turn out to be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterOpts {
    pub reference: String,
    pub total: Option<u64>,
    pub expected: Option<Digest>,
}

impl WriterOpts {
    pub fn new(reference: impl Into<String>) -> Self {
        WriterOpts {
            reference: reference.into(),
            ..Default::default()
        }
    }
}

/// Random access to a committed blob.
pub trait ReaderAt: Send + Sync {
    /// Reads at `offset`; 0 at or past the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    fn size(&self) -> u64;
}

/// An in-progress write: bytes go in with [`Write`], [`Writer::commit`] stores the blob.
/// Dropping it keeps what was written for a later writer of the same ref to resume.
pub trait Writer: Write + Send {
    fn reference(&self) -> &str;
    /// Bytes written so far (including those of earlier, resumed writers).
    fn offset(&self) -> u64;
    /// Digest of the bytes written so far.
    fn digest(&self) -> Digest;
    /// Forgets everything written and starts again at offset 0.
    fn restart(&mut self) -> Result<()>;
    /// Verifies `size` and `expected` (else those the writer was opened with) and stores the
    /// blob durably. A digest mismatch discards the write; a size mismatch keeps it.
    fn commit(self: Box<Self>, size: Option<u64>, expected: Option<&Digest>) -> Result<Info>;
}

pub trait InfoProvider {
    fn info(&self, digest: &Digest) -> Result<Info>;
}

pub trait Provider {
    fn reader_at(&self, digest: &Digest) -> Result<Box<dyn ReaderAt>>;
}

pub trait Ingester {
    /// Opens (or resumes) the write named `opts.reference`. Refused while another writer
    /// holds that ref, and with [`ContentError::AlreadyExists`] when `opts.expected` is
    /// stored already.
    fn writer(&self, opts: &WriterOpts) -> Result<Box<dyn Writer>>;
}

pub trait IngestManager {
    fn status(&self, reference: &str) -> Result<Status>;
    fn list_statuses(&self) -> Result<Vec<Status>>;
    /// Deletes an in-progress write; refused while a writer holds it.
    fn abort(&self, reference: &str) -> Result<()>;
}

pub trait Manager: InfoProvider {
    /// Calls `f` for every committed blob, in digest order.
    fn walk(&self, f: &mut dyn FnMut(&Info) -> Result<()>) -> Result<()>;
    /// Deletes a blob; a missing one is not an error.
    fn delete(&self, digest: &Digest) -> Result<()>;
}

/// The whole store.
pub trait Store: Manager + Provider + Ingester + IngestManager + Send + Sync {}

impl<T: Manager + Provider + Ingester + IngestManager + Send + Sync> Store for T {}

/// Reads a [`ReaderAt`] from start to end.
pub struct SectionReader {
    inner: Box<dyn ReaderAt>,
    offset: u64,
}

impl SectionReader {
    pub fn new(inner: Box<dyn ReaderAt>) -> Self {
        SectionReader { inner, offset: 0 }
    }
}

impl Read for SectionReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read_at(buf, self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// A whole (small) blob, its digest checked.
pub fn read_blob(p: &dyn Provider, digest: &Digest) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    SectionReader::new(p.reader_at(digest)?)
        .read_to_end(&mut buf)
        .map_err(|source| ContentError::Io {
            op: "read blob",
            path: PathBuf::from(digest.to_string()),
            source,
        })?;
    let actual = Digest::of(&buf);
    if &actual != digest {
        return Err(ContentError::DigestMismatch {
            expected: digest.clone(),
            actual,
        });
    }
    Ok(buf)
}

/// Stores what `r` yields under `reference`. A write left by an earlier attempt is
/// started over (a plain reader cannot skip what is written already). A blob already
/// stored with the `expected` digest is success.
pub fn write_blob<S: Ingester + InfoProvider + ?Sized>(
    s: &S,
    opts: &WriterOpts,
    mut r: impl Read,
) -> Result<Info> {
    let mut w = match s.writer(opts) {
        Ok(w) => w,
        Err(ContentError::AlreadyExists { digest }) => return s.info(&digest),
        Err(e) => return Err(e),
    };
    if w.offset() > 0 {
        w.restart()?;
    }
    io::copy(&mut r, &mut w).map_err(|source| ContentError::Io {
        op: "write",
        path: PathBuf::from(&opts.reference),
        source,
    })?;
    w.commit(None, None)
}

/// Deletes every committed blob not in `live`; returns what it deleted. The caller keeps
/// new blobs from being committed meanwhile (they are not in `live` yet).
pub fn collect_garbage(m: &dyn Manager, live: &HashSet<Digest>) -> Result<Vec<Digest>> {
    let mut dead = Vec::new();
    m.walk(&mut |info| {
        if !live.contains(&info.digest) {
            dead.push(info.digest.clone());
        }
        Ok(())
    })?;
    for d in &dead {
        tracing::info!(digest = %d, "removing blob nothing uses");
        m.delete(d)?;
    }
    Ok(dead)
}
