//! Layers an older berth unpacked: `snapshots/<chain id hex>/fs` in overlay form, with a
//! `meta.json` (`chain_id`, `diff_id`, `parent`, `size`). They are recorded as committed
//! snapshots named by their chain id and stay where they are: nothing moves, so taking them
//! over is safe to repeat after a crash.

use std::fs;
use std::path::Path;

use serde::Deserialize;

use super::storage::{MetaStore, Record};
use super::{diff, io_err, Kind, Mount, Result, SnapshotError, Snapshotter, Usage};
use crate::digest::Digest;
use crate::fsutil::sync_dir;

#[derive(Deserialize)]
struct LegacyInfo {
    chain_id: Digest,
    parent: Option<Digest>,
}

/// An older layer found in the store's root.
pub(super) struct Layer {
    name: String,
    dir: String,
    parent: Option<String>,
}

/// The older layers under `root` (`<data root>/snapshots`).
pub(super) fn layers(root: &Path) -> Result<Vec<Layer>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(root).map_err(io_err("read dir", root))? {
        let entry = entry.map_err(io_err("read dir", root))?;
        let dir = entry.file_name().to_string_lossy().to_string();
        if Digest::from_hex(&dir).is_err() {
            continue;
        }
        let meta = entry.path().join("meta.json");
        let Ok(bytes) = fs::read(&meta) else {
            continue;
        };
        let info: LegacyInfo = match serde_json::from_slice(&bytes) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(path = %meta.display(), error = %e, "unreadable older layer");
                continue;
            }
        };
        if info.chain_id.hex() != dir {
            continue;
        }
        out.push(Layer {
            name: info.chain_id.to_string(),
            dir,
            parent: info.parent.map(|p| p.to_string()),
        });
    }
    Ok(out)
}

/// Records the layers not recorded yet.
pub(super) fn adopt(store: &MetaStore, layers: &[Layer]) -> Result<()> {
    let mut new = Vec::new();
    for l in layers {
        if store.get(&l.name).is_ok() {
            continue;
        }
        let dir = store.root().join(&l.dir);
        let fs_dir = dir.join("fs");
        let usage: Usage =
            diff::usage(|f| diff::upper_changes(&fs_dir, f)).map_err(io_err("measure", &fs_dir))?;
        let when = fs::metadata(&dir)
            .and_then(|m| m.modified())
            .map_err(io_err("stat", &dir))?;
        tracing::info!(layer = %l.name, "taking over a layer of an older berth");
        new.push((
            l.name.clone(),
            Record {
                kind: Kind::Committed,
                parent: l.parent.clone(),
                dir: l.dir.clone(),
                created: when,
                updated: when,
                usage: Some(usage),
            },
        ));
    }
    if new.is_empty() {
        return Ok(());
    }
    store.adopt(&new)
}

/// Makes `upper`, a directory of overlay-form changes an older berth kept outside the store
/// (a container's `upper/`), the content of active snapshot `key` on `parent`: it is
/// renamed into place (one file system), replacing the snapshot's empty tree. Repeatable
/// after a crash: a snapshot made before the crash is reused while its tree is empty.
pub fn adopt_upper(
    sn: &dyn Snapshotter,
    key: &str,
    parent: Option<&str>,
    upper: &Path,
) -> Result<Vec<Mount>> {
    if sn.name() != "overlay" {
        return Err(SnapshotError::OtherBackend {
            stored: "overlay".to_string(),
            wanted: sn.name().to_string(),
        });
    }
    let mounts = match sn.stat(key) {
        Ok(_) => sn.mounts(key)?,
        Err(SnapshotError::NotFound { .. }) => sn.prepare(key, parent)?,
        Err(e) => return Err(e),
    };
    let Some(dst) = mounts.first().and_then(Mount::writable_dir) else {
        return Err(SnapshotError::WrongKind {
            key: key.to_string(),
            kind: sn.stat(key)?.kind,
            want: "active",
        });
    };
    fs::rename(upper, &dst).map_err(io_err("move into the snapshot store", upper))?;
    if let Some(dir) = dst.parent() {
        sync_dir(dir).map_err(io_err("fsync", dir))?;
    }
    tracing::info!(%key, from = %upper.display(), "moved an older berth's upper dir into the snapshot store");
    Ok(mounts)
}
