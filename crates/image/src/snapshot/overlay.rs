//! The overlay backend: a snapshot's `fs/` holds only its own changes, in overlayfs's form
//! (whiteouts are 0:0 character devices, opaque directories carry
//! `trusted.overlay.opaque=y`). An active snapshot mounts as an overlay of its parents'
//! `fs/` under its own, with `work/` beside it; without parents it is a bind mount.
//! Unpacking a layer writes straight into `fs/` in that form; a diff reads `fs/` alone.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::backend::TreeBackend;
use super::storage::{MetaStore, Record};
use super::{diff, io_err, Kind, Mount, Result, SnapshotError};
use crate::fsutil::unique_suffix;
use crate::layer_apply::WhiteoutMode;
use crate::perms::{dir_with_mode, private_dir, PRIVATE_DIR};

/// Mode of a snapshot's root no layer gave a mode to, as Docker's.
pub(crate) const ROOT_DIR: u32 = 0o755;

pub struct Overlay {
    store: MetaStore,
}

impl Overlay {
    pub fn new(store: MetaStore) -> Result<Overlay> {
        store.set_backend("overlay")?;
        Ok(Overlay { store })
    }
}

impl TreeBackend for Overlay {
    const NAME: &'static str = "overlay";
    const WHITEOUTS: WhiteoutMode = WhiteoutMode::Overlay;

    fn store(&self) -> &MetaStore {
        &self.store
    }

    fn create(&self, key: &str, parent: Option<&str>, kind: Kind) -> Result<Record> {
        self.store.create(key, parent, kind, &|tmp, _| {
            let fs_dir = tmp.join("fs");
            // The overlay's root takes the upper dir's mode: it stays open for the
            // container's users, who never reach it by this host path.
            dir_with_mode(&fs_dir, ROOT_DIR).map_err(io_err("create", &fs_dir))?;
            let work = tmp.join("work");
            private_dir(&work, PRIVATE_DIR).map_err(io_err("create", &work))
        })
    }

    fn mounts_of(&self, key: &str, rec: &Record) -> Result<Vec<Mount>> {
        let lowers: Vec<PathBuf> = self
            .store
            .parents(rec)?
            .iter()
            .map(|p| self.fs(p))
            .collect();
        let fs_dir = self.fs(rec);
        let work = self.store.dir(rec).join("work");
        Ok(vec![match (rec.kind, lowers.as_slice()) {
            (Kind::Committed, _) => {
                return Err(SnapshotError::WrongKind {
                    key: key.to_string(),
                    kind: rec.kind,
                    want: "active or a view",
                })
            }
            (Kind::View, []) => Mount::bind(&fs_dir, true),
            (Kind::View, [one]) => Mount::bind(one, true),
            (Kind::View, _) => Mount::overlay(&lowers, None)?,
            (Kind::Active, []) => Mount::bind(&fs_dir, false),
            (Kind::Active, _) => Mount::overlay(&lowers, Some((&fs_dir, &work)))?,
        }])
    }

    fn changes(&self, rec: &Record, f: &mut diff::Visit<'_>) -> io::Result<()> {
        diff::upper_changes(&self.fs(rec), f)
    }
}

/// Whether overlayfs mounts on the file system of `dir` (with an upper dir there).
pub fn supported(dir: &Path) -> bool {
    let probe = dir.join(format!("probe-{}", unique_suffix()));
    let ok = try_mount(&probe);
    if let Err(e) = fs::remove_dir_all(&probe) {
        tracing::warn!(path = %probe.display(), error = %e, "removing the overlay probe");
    }
    match ok {
        Ok(()) => true,
        Err(e) => {
            tracing::info!(error = %e, "overlayfs unusable here: snapshots are copies");
            false
        }
    }
}

fn try_mount(probe: &Path) -> Result<()> {
    let [lower, upper, work, merged] = ["lower", "upper", "work", "merged"].map(|d| probe.join(d));
    for d in [&lower, &upper, &work, &merged] {
        fs::create_dir_all(d).map_err(io_err("create", d))?;
    }
    Mount::overlay(&[lower], Some((&upper, &work)))?.mount(&merged)?;
    super::mount::unmount(&merged)?;
    Ok(())
}
