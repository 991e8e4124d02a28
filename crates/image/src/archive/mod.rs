//! `docker save` and `docker load`: images as one tar, streamed both ways.
//!
//! [`save`] writes what Docker 25 and later write: an OCI image layout (`oci-layout`,
//! `index.json`, `blobs/sha256/`) that is also a docker-archive (`manifest.json` and
//! `repositories` naming the same blobs), every layer an uncompressed tar under its diff
//! id. `docker load`, `podman load` and containerd read it.
//!
//! [`load`] reads a docker-archive (Docker's and podman's, old and new: `manifest.json`
//! with any paths, symlinked layers) or an OCI image layout (`index.json`, nested indexes,
//! compressed or plain layers). The archive is read once, front to back; its files are
//! staged in the content store's ingests (never in memory) until it is known what they
//! are.

mod load;
mod save;

use std::io;

pub use load::{load, Loaded};
pub use save::save;

use crate::config::ConfigError;
use crate::content::ContentError;
use crate::digest::Digest;
use crate::reference::ReferenceError;
use crate::snapshot::SnapshotError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("invalid archive: {0}")]
    Invalid(String),
    #[error("invalid archive: {path} has digest {actual}, not the {expected} its name says")]
    BlobDigest {
        path: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("invalid archive: layer {index} of image {image} has diff id {actual}, its config says {expected}")]
    DiffId {
        image: Digest,
        index: usize,
        expected: Digest,
        actual: Digest,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("{op}: {source}")]
    Io {
        op: String,
        #[source]
        source: io::Error,
    },
}

impl ArchiveError {
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            ArchiveError::Invalid(_)
            | ArchiveError::BlobDigest { .. }
            | ArchiveError::DiffId { .. }
            | ArchiveError::Reference(_) => K::InvalidArgument,
            ArchiveError::Store(e) => e.kind(),
            ArchiveError::Content(e) => e.kind(),
            ArchiveError::Snapshot(e) => e.kind(),
            ArchiveError::Config(e) => e.kind(),
            ArchiveError::Io { .. } => K::Internal,
        }
    }

    pub(crate) fn io(op: impl Into<String>) -> impl FnOnce(io::Error) -> ArchiveError {
        let op = op.into();
        move |source| ArchiveError::Io { op, source }
    }
}

/// One entry of `manifest.json`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ArchiveManifest {
    pub config: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub repo_tags: Vec<String>,
    pub layers: Vec<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize;
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// The annotation naming an image in an OCI layout: containerd's (a full reference).
pub(crate) const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation: a tag, or (podman) a full reference.
pub(crate) const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";
pub(crate) const MEDIA_TYPE_OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
