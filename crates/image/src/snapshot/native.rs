//! The native backend: every snapshot's `fs/` is a whole tree, a copy of its parent's made
//! when it is prepared, bind-mounted as it is. It needs nothing of the kernel beyond bind
//! mounts (a data root on overlayfs, for one), and pays in copies. Unpacking a layer applies
//! its whiteouts as deletions; a diff compares the tree with its parent's.

use std::io::{Read, Write};
use std::path::PathBuf;

use super::storage::{MetaStore, Record};
use super::{copy, diff, io_err, Info, Kind, Mount, Result, SnapshotError, Snapshotter, Usage};
use crate::fsutil::syncfs;
use crate::layer_apply::{self, Applied, WhiteoutMode};
use crate::perms::dir_with_mode;

pub struct Native {
    store: MetaStore,
}

impl Native {
    pub fn new(store: MetaStore) -> Result<Native> {
        store.set_backend("native")?;
        Ok(Native { store })
    }

    fn fs(&self, rec: &Record) -> PathBuf {
        self.store.dir(rec).join("fs")
    }

    /// The parent's tree, if any.
    fn lower(&self, rec: &Record) -> Result<Option<PathBuf>> {
        Ok(match &rec.parent {
            Some(p) => Some(self.fs(&self.store.get(p)?)),
            None => None,
        })
    }

    fn create(&self, key: &str, parent: Option<&str>, kind: Kind) -> Result<Vec<Mount>> {
        let rec = self.store.create(key, parent, kind, &|tmp, parents| {
            let fs_dir = tmp.join("fs");
            dir_with_mode(&fs_dir, super::overlay::ROOT_DIR).map_err(io_err("create", &fs_dir))?;
            if let Some(p) = parents.first() {
                let src = self.fs(p);
                copy::copy_tree(&src, &fs_dir).map_err(io_err("copy", &src))?;
                // A copy cut short by a crash must not be recorded as the parent's tree.
                syncfs(&fs_dir).map_err(io_err("syncfs", &fs_dir))?;
            }
            Ok(())
        })?;
        self.mounts_of(key, &rec)
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

    fn measure(&self, rec: &Record) -> Result<Usage> {
        let (lower, fs_dir) = (self.lower(rec)?, self.fs(rec));
        diff::usage(|f| diff::tree_changes(lower.as_deref(), &fs_dir, f))
            .map_err(io_err("measure", &fs_dir))
    }
}

impl Snapshotter for Native {
    fn name(&self) -> &'static str {
        "native"
    }

    fn stat(&self, key: &str) -> Result<Info> {
        self.store.info(key)
    }

    fn usage(&self, key: &str) -> Result<Usage> {
        let rec = self.store.get(key)?;
        match rec.usage {
            Some(u) => Ok(u),
            None => self.measure(&rec),
        }
    }

    fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let rec = self.store.get(key)?;
        self.mounts_of(key, &rec)
    }

    fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        self.create(key, parent, Kind::Active)
    }

    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        self.create(key, parent, Kind::View)
    }

    fn commit(&self, name: &str, key: &str) -> Result<()> {
        let rec = self.store.get_kind(key, Kind::Active)?;
        let usage = self.measure(&rec)?;
        let fs_dir = self.fs(&rec);
        syncfs(&fs_dir).map_err(io_err("syncfs", &fs_dir))?;
        self.store.commit(name, key, usage)
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.store.remove(key)
    }

    fn walk(&self) -> Result<Vec<Info>> {
        self.store.walk()
    }

    fn diff(&self, key: &str, out: &mut dyn Write) -> Result<()> {
        let rec = self.store.get(key)?;
        let (lower, fs_dir) = (self.lower(&rec)?, self.fs(&rec));
        diff::write_layer(|f| diff::tree_changes(lower.as_deref(), &fs_dir, f), out)
            .map_err(io_err("diff", &fs_dir))
    }

    fn apply(&self, key: &str, layer: &mut dyn Read) -> Result<Applied> {
        let rec = self.store.get_kind(key, Kind::Active)?;
        Ok(layer_apply::apply_layer(
            layer,
            &self.fs(&rec),
            WhiteoutMode::Apply,
        )?)
    }
}
