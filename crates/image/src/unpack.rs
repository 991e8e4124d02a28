//! Unpacking layers into snapshots (containerd's `core/unpack`): a layer is applied into a
//! fresh active snapshot on its parent and committed under its chain id. A chain already
//! committed (by another image, or a concurrent unpack) is kept and the new copy dropped.

use std::io::Read;

use crate::digest::Digest;
use crate::fsutil::unique_suffix;
use crate::layer_apply::LayerError;
use crate::snapshot::{chain_id, Kind, SnapshotError, Snapshotter};

/// Keys of the active snapshots layers are unpacked in. Only an unpack in progress has one:
/// those a crash left are removed when the image store opens.
pub const EXTRACT_PREFIX: &str = "extract-";

/// A layer unpacked into the committed snapshot named by its chain id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    pub chain_id: Digest,
    pub diff_id: Digest,
    /// Bytes of regular-file content in the layer (Docker's layer size).
    pub size: u64,
    /// Bytes of the uncompressed layer tar.
    pub tar_size: u64,
}

/// Unpacks a layer tar (plain or gzip) on top of the committed snapshot `parent`. The
/// stream is always read to its end (a caller may tee it). With `expected_diff_id` given
/// and not met, nothing is kept.
pub fn unpack_layer(
    sn: &dyn Snapshotter,
    parent: Option<&Digest>,
    layer: &mut dyn Read,
    expected_diff_id: Option<&Digest>,
) -> Result<Unpacked, SnapshotError> {
    unpack_layer_then(sn, parent, layer, expected_diff_id, || Ok(()))
}

/// [`unpack_layer`], calling `before_commit` once the layer is applied and its diff id
/// checked: the snapshot is committed only if it succeeds (a pull waits there for the
/// compressed blob's digest to be verified and stored).
pub fn unpack_layer_then<E: From<SnapshotError>>(
    sn: &dyn Snapshotter,
    parent: Option<&Digest>,
    layer: &mut dyn Read,
    expected_diff_id: Option<&Digest>,
    before_commit: impl FnOnce() -> Result<(), E>,
) -> Result<Unpacked, E> {
    let key = format!("{EXTRACT_PREFIX}{}", unique_suffix());
    let parent_name = parent.map(Digest::to_string);
    sn.prepare(&key, parent_name.as_deref())?;
    let res = apply_and_commit(sn, &key, parent, layer, expected_diff_id, before_commit);
    if res.is_err() {
        if let Err(e) = sn.remove(&key) {
            tracing::warn!(%key, error = %e, "removing a failed unpack");
        }
    }
    res
}

fn apply_and_commit<E: From<SnapshotError>>(
    sn: &dyn Snapshotter,
    key: &str,
    parent: Option<&Digest>,
    layer: &mut dyn Read,
    expected_diff_id: Option<&Digest>,
    before_commit: impl FnOnce() -> Result<(), E>,
) -> Result<Unpacked, E> {
    let applied = sn.apply(key, layer)?;
    if let Some(e) = expected_diff_id.filter(|e| **e != applied.diff_id) {
        return Err(SnapshotError::from(LayerError::DiffIdMismatch {
            expected: e.clone(),
            actual: applied.diff_id,
        })
        .into());
    }
    before_commit()?;
    let chain = chain_id(parent, &applied.diff_id);
    match sn.commit(&chain.to_string(), key) {
        Ok(()) => {}
        Err(SnapshotError::AlreadyExists { .. }) => sn.remove(key)?,
        Err(e) => return Err(e.into()),
    }
    Ok(Unpacked {
        chain_id: chain,
        diff_id: applied.diff_id,
        size: applied.size,
        tar_size: applied.tar_size,
    })
}

/// Removes the unpacks a crash interrupted; returns their keys.
pub fn remove_interrupted(sn: &dyn Snapshotter) -> Result<Vec<String>, SnapshotError> {
    let mut removed = Vec::new();
    for info in sn.walk()? {
        if info.kind == Kind::Active && info.name.starts_with(EXTRACT_PREFIX) {
            tracing::info!(key = %info.name, "removing an interrupted unpack");
            sn.remove(&info.name)?;
            removed.push(info.name);
        }
    }
    Ok(removed)
}
