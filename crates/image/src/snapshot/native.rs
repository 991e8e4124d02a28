//! The native backend: every snapshot's `fs/` is a whole tree, a copy of its parent's made
//! when it is prepared, bind-mounted as it is. It needs nothing of the kernel beyond bind
//! mounts (a data root on overlayfs, for one), and pays in copies. Unpacking a layer applies
//! its whiteouts as deletions; a diff compares the tree with its parent's.

use std::io;
use std::path::PathBuf;

use super::backend::TreeBackend;
use super::storage::{MetaStore, Record};
use super::{copy, diff, io_err, Kind, Mount, Result, SnapshotError};
use crate::fsutil::syncfs;
use crate::layer_apply::WhiteoutMode;
use crate::perms::dir_with_mode;

pub struct Native {
    store: MetaStore,
}

impl Native {
    pub fn new(store: MetaStore) -> Result<Native> {
        store.set_backend("native")?;
        Ok(Native { store })
    }

    /// The parent's tree, if any.
    fn lower(&self, rec: &Record) -> Result<Option<PathBuf>> {
        Ok(match &rec.parent {
            Some(p) => Some(self.fs(&self.store.get(p)?)),
            None => None,
        })
    }
}

impl TreeBackend for Native {
    const NAME: &'static str = "native";
    const WHITEOUTS: WhiteoutMode = WhiteoutMode::Apply;

    fn store(&self) -> &MetaStore {
        &self.store
    }

    fn create(&self, key: &str, parent: Option<&str>, kind: Kind) -> Result<Record> {
        self.store.create(key, parent, kind, &|tmp, parents| {
            let fs_dir = tmp.join("fs");
            dir_with_mode(&fs_dir, super::overlay::ROOT_DIR).map_err(io_err("create", &fs_dir))?;
            if let Some(p) = parents.first() {
                let src = self.fs(p);
                copy::copy_tree(&src, &fs_dir).map_err(io_err("copy", &src))?;
                // A copy cut short by a crash must not be recorded as the parent's tree.
                syncfs(&fs_dir).map_err(io_err("syncfs", &fs_dir))?;
            }
            Ok(())
        })
    }

    fn mounts_of(&self, key: &str, rec: &Record) -> Result<Vec<Mount>> {
        match rec.kind {
            Kind::Active => Ok(vec![Mount::bind(&self.fs(rec), false)]),
            Kind::View => Ok(vec![Mount::bind(&self.fs(rec), true)]),
            Kind::Committed => Err(SnapshotError::WrongKind {
                key: key.to_string(),
                kind: rec.kind,
                want: "active or a view",
            }),
        }
    }

    fn changes(&self, rec: &Record, f: &mut diff::Visit<'_>) -> io::Result<()> {
        let lower = self.lower(rec).map_err(io::Error::other)?;
        diff::tree_changes(lower.as_deref(), &self.fs(rec), f)
    }
}
