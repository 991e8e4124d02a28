//! What the two backends share: both keep a snapshot's tree in `fs/` under the metadata
//! store's directory for it, so everything but the tree's form (copy or overlay changes),
//! its mounts and how its changes are read is one implementation of [`Snapshotter`].

use std::io::{self, Read, Write};
use std::path::PathBuf;

use super::storage::{MetaStore, Record};
use super::{diff, io_err, Info, Kind, Mount, Result, Snapshotter, Usage};
use crate::fsutil::syncfs;
use crate::layer_apply::{self, Applied, WhiteoutMode};

/// A backend's own part: how a snapshot's tree is made, mounted and compared with its
/// parent's.
pub(super) trait TreeBackend: Send + Sync {
    const NAME: &'static str;
    /// How a layer's whiteouts are written into a tree.
    const WHITEOUTS: WhiteoutMode;

    fn store(&self) -> &MetaStore;

    /// Records a new snapshot and makes its tree.
    fn create(&self, key: &str, parent: Option<&str>, kind: Kind) -> Result<Record>;

    /// The mounts of an active snapshot or a view.
    fn mounts_of(&self, key: &str, rec: &Record) -> Result<Vec<Mount>>;

    /// Visits the snapshot's changes over its parent.
    fn changes(&self, rec: &Record, f: &mut diff::Visit<'_>) -> io::Result<()>;

    fn fs(&self, rec: &Record) -> PathBuf {
        self.store().dir(rec).join("fs")
    }

    fn measure(&self, rec: &Record) -> Result<Usage> {
        let fs_dir = self.fs(rec);
        diff::usage(|f| self.changes(rec, f)).map_err(io_err("measure", &fs_dir))
    }
}

impl<B: TreeBackend> Snapshotter for B {
    fn name(&self) -> &'static str {
        B::NAME
    }

    fn stat(&self, key: &str) -> Result<Info> {
        self.store().info(key)
    }

    fn usage(&self, key: &str) -> Result<Usage> {
        let rec = self.store().get(key)?;
        match rec.usage {
            Some(u) => Ok(u),
            None => self.measure(&rec),
        }
    }

    fn mounts(&self, key: &str) -> Result<Vec<Mount>> {
        let rec = self.store().get(key)?;
        self.mounts_of(key, &rec)
    }

    fn prepare(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        let rec = self.create(key, parent, Kind::Active)?;
        self.mounts_of(key, &rec)
    }

    fn view(&self, key: &str, parent: Option<&str>) -> Result<Vec<Mount>> {
        let rec = self.create(key, parent, Kind::View)?;
        self.mounts_of(key, &rec)
    }

    fn commit(&self, name: &str, key: &str) -> Result<()> {
        let rec = self.store().get_kind(key, Kind::Active)?;
        let usage = self.measure(&rec)?;
        let fs_dir = self.fs(&rec);
        syncfs(&fs_dir).map_err(io_err("syncfs", &fs_dir))?;
        self.store().commit(name, key, usage)
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.store().remove(key)
    }

    fn walk(&self) -> Result<Vec<Info>> {
        self.store().walk()
    }

    fn diff(&self, key: &str, out: &mut dyn Write) -> Result<()> {
        let rec = self.store().get(key)?;
        let fs_dir = self.fs(&rec);
        diff::write_layer(|f| self.changes(&rec, f), out).map_err(io_err("diff", &fs_dir))
    }

    fn apply(&self, key: &str, layer: &mut dyn Read) -> Result<Applied> {
        let rec = self.store().get_kind(key, Kind::Active)?;
        Ok(layer_apply::apply_layer(
            layer,
            &self.fs(&rec),
            B::WHITEOUTS,
        )?)
    }
}
