//! Snapshots: the file-system trees of image layers and containers, as containerd's
//! snapshotters (`core/snapshots/snapshotter.go`).
//!
//! # Vocabulary
//!
//! A *snapshot* is a file-system tree, stored as its changes over its *parent* snapshot
//! (none for a base). Snapshots form chains; a tree is read through the [`Mount`]s its
//! snapshotter hands out. There are three kinds:
//!
//! - *active*: made by [`Snapshotter::prepare`] on a committed parent (or none), writable.
//!   It is named by a *key*. Its changes can be read as a layer ([`Snapshotter::diff`]) and
//!   a layer can be unpacked into it ([`Snapshotter::apply`]).
//! - *view*: made by [`Snapshotter::view`], like an active snapshot but read-only, to look
//!   at a committed tree.
//! - *committed*: made by [`Snapshotter::commit`]`(name, key)` from an active snapshot,
//!   which is gone afterwards: an active snapshot never becomes committed in place, and a
//!   committed one never changes. Only committed snapshots can be parents.
//!
//! Keys and names share one namespace. A snapshot with children cannot be removed.
//!
//! # Life of an image and a container
//!
//! - Unpacking a layer: `prepare("extract-<unique>", parent chain id)`,
//!   `apply(key, layer tar)`, `commit(chain id, key)`. The chain id (see [`chain_id`]) names
//!   a layer together with everything below it, so equal stacks share snapshots.
//! - Running a container: `prepare(container id, top chain id)`, mount what
//!   [`Snapshotter::mounts`] returns at the container's rootfs; the container writes into
//!   its active snapshot; `remove(container id)` when the container goes.
//! - Committing a container (`docker commit`): `diff(container id)` gives its layer, which
//!   is unpacked like any other on the image's top layer; the container's own snapshot
//!   stays active.
//!
//! Each backend ([`overlay`], [`native`]) passes the same conformance suite
//! (`testsuite.rs`). The metadata of all snapshots lives in `snapshots/metadata.redb`
//! ([`storage`]); their trees in `snapshots/snapshots/<id>/`.

mod backend;
pub mod copy;
pub mod diff;
mod legacy;
pub mod mount;
pub mod native;
pub mod overlay;
pub mod storage;
#[cfg(test)]
mod testsuite;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::digest::Digest;
use crate::layer_apply::{Applied, LayerError};
pub use legacy::adopt_upper;
pub use mount::{Mount, MountError, MountKind};

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot {key:?} not found")]
    NotFound { key: String },
    #[error("snapshot {key:?} already exists")]
    AlreadyExists { key: String },
    #[error("snapshot {key:?} is {kind}, not {want}")]
    WrongKind {
        key: String,
        kind: Kind,
        want: &'static str,
    },
    #[error("cannot remove snapshot {key:?}: it has children")]
    HasChildren { key: String },
    #[error("snapshot store was made by the {stored} snapshotter, not {wanted}")]
    OtherBackend { stored: String, wanted: String },
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error(transparent)]
    Mount(#[from] MountError),
    #[error("snapshot metadata: {source}")]
    Db {
        #[source]
        source: redb::Error,
    },
    #[error("corrupt snapshot record {key:?}: {source}")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{op} {path:?}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl SnapshotError {
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            SnapshotError::NotFound { .. } => K::NotFound,
            SnapshotError::AlreadyExists { .. } => K::AlreadyExists,
            SnapshotError::WrongKind { .. } => K::InvalidArgument,
            SnapshotError::HasChildren { .. } => K::Conflict,
            SnapshotError::Layer(e) => e.kind(),
            SnapshotError::Mount(e) => e.kind(),
            SnapshotError::OtherBackend { .. }
            | SnapshotError::Db { .. }
            | SnapshotError::Corrupt { .. }
            | SnapshotError::Io { .. } => K::Internal,
        }
    }
}

pub type Result<T, E = SnapshotError> = std::result::Result<T, E>;

pub(crate) fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SnapshotError {
    let path = path.to_path_buf();
    move |source| SnapshotError::Io { op, path, source }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    View,
    Active,
    Committed,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::View => "a view",
            Kind::Active => "active",
            Kind::Committed => "committed",
        })
    }
}

/// What is known of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Its key (active, view) or name (committed).
    pub name: String,
    pub parent: Option<String>,
    pub kind: Kind,
    pub created: SystemTime,
    pub updated: SystemTime,
}

/// What a snapshot adds over its parent: regular-file bytes (apparent sizes, hard links
/// counted once, as Docker's sizes) and inodes (the snapshot's root not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub size: u64,
    pub inodes: u64,
}

/// The verbs of a snapshotter; see the module documentation for their vocabulary.
pub trait Snapshotter: Send + Sync {
    /// `overlay` or `native`.
    fn name(&self) -> &'static str;
    fn stat(&self, key: &str) -> Result<Info>;
    /// For a committed snapshot, as measured when it was committed.
    fn usage(&self, key: &str) -> Result<Usage>;
    /// How to mount an active snapshot or a view.
    fn mounts(&self, key: &str) -> Result<Vec<Mount>>;
    /// A new active snapshot `key` on committed `parent`.
    fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>>;
    /// A new read-only view `key` of committed `parent`.
    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>>;
    /// Turns active snapshot `key` into committed snapshot `name`, durably.
    fn commit(&self, name: &str, key: &str) -> Result<()>;
    /// Removes a snapshot without children, of any kind.
    fn remove(&self, key: &str) -> Result<()>;
    /// Every snapshot, sorted by name.
    fn walk(&self) -> Result<Vec<Info>>;
    /// Writes the changes of snapshot `key` over its parent as an uncompressed OCI layer
    /// tar (whiteouts `.wh.<name>`, opaque directories `.wh..wh..opq`).
    fn diff(&self, key: &str, out: &mut dyn Write) -> Result<()>;
    /// Unpacks a layer tar (plain or gzip) into active snapshot `key`.
    fn apply(&self, key: &str, layer: &mut dyn Read) -> Result<Applied>;
}

/// Which backend a snapshot store uses. A store keeps the one it was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// overlay when this host can mount it on the store's file system, else native.
    Auto,
    Overlay,
    Native,
}

/// Opens (creating) the snapshot store `<root>/snapshots`. A store made by an older berth
/// (`snapshots/<chain id>/fs` layer directories) is taken over as it is, by the overlay
/// backend.
pub fn open(root: &Path, backend: Backend) -> Result<Box<dyn Snapshotter>> {
    let store = storage::MetaStore::open(&root.join("snapshots"))?;
    let legacy = legacy::layers(store.root())?;
    let stored = store.backend()?;
    let chosen = match (stored.as_deref(), backend) {
        (Some("overlay"), Backend::Auto | Backend::Overlay) => Backend::Overlay,
        (Some("native"), Backend::Auto | Backend::Native) => Backend::Native,
        (Some(s), b) => {
            return Err(SnapshotError::OtherBackend {
                stored: s.to_string(),
                wanted: format!("{b:?}").to_lowercase(),
            })
        }
        (None, Backend::Auto) if !legacy.is_empty() => Backend::Overlay,
        (None, Backend::Auto) if overlay::supported(store.root()) => Backend::Overlay,
        (None, Backend::Auto) => Backend::Native,
        (None, b) => b,
    };
    if chosen == Backend::Overlay {
        legacy::adopt(&store, &legacy)?;
    } else if !legacy.is_empty() {
        // Their overlay form means nothing to a copy: better refuse than run wrong trees.
        return Err(SnapshotError::OtherBackend {
            stored: "overlay".to_string(),
            wanted: "native".to_string(),
        });
    }
    Ok(match chosen {
        Backend::Native => Box::new(native::Native::new(store)?),
        _ => Box::new(overlay::Overlay::new(store)?),
    })
}

/// OCI chain id: chain(L1) = diff_id1, chain(Ln) = sha256(chain(Ln-1) + " " + diff_idn).
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => {
            let mut h = Sha256::new();
            h.update(format!("{p} {diff_id}").as_bytes());
            Digest::from_hasher(h)
        }
    }
}

/// Chain ids of all layers of an image, bottom first.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let c = chain_id(out.last(), d);
        out.push(c);
    }
    out
}
