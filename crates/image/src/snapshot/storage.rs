//! The metadata of a snapshot store, shared by its backends (containerd's
//! `core/snapshots/storage`).
//!
//! `snapshots/metadata.redb` maps each key or name to a [`Record`]: kind, parent, the
//! directory holding the tree (relative to `snapshots/`), times, and the usage measured at
//! commit. Trees live in `snapshots/snapshots/<id>/` (`fs/`, plus `work/` for overlay);
//! ids are never reused.
//!
//! Crash safety: a new snapshot's directory is filled under a temporary name (`new-*`),
//! fsynced, then renamed to its id just before the transaction recording it commits; a
//! removed snapshot's record goes first, its directory after (renamed to `rm-*`, then
//! deleted). `open` deletes what no record names: what a crash between two steps left.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{io_err, Info, Kind, Result, SnapshotError, Usage};
use crate::fsutil::{sync_dir, unique_suffix};
use crate::perms::{private_dir, PRIVATE_DIR};

const SNAPSHOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshots");
const META: TableDefinition<&str, &str> = TableDefinition::new("meta");
const NEXT_ID: &str = "next_id";
const BACKEND: &str = "backend";
/// Subdirectory of the store holding the trees.
const TREES: &str = "snapshots";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub kind: Kind,
    pub parent: Option<String>,
    /// Relative to the store's root: `snapshots/<id>`, or `<chain id hex>` for a layer an
    /// older berth unpacked.
    pub dir: String,
    pub created: SystemTime,
    pub updated: SystemTime,
    /// Measured at commit.
    pub usage: Option<Usage>,
}

pub struct MetaStore {
    root: PathBuf,
    db: redb::Database,
}

fn db<E: Into<redb::Error>>(e: E) -> SnapshotError {
    SnapshotError::Db { source: e.into() }
}

fn decode(key: &str, bytes: &[u8]) -> Result<Record> {
    serde_json::from_slice(bytes).map_err(|source| SnapshotError::Corrupt {
        key: key.to_string(),
        source,
    })
}

fn encode(key: &str, rec: &Record) -> Result<Vec<u8>> {
    serde_json::to_vec(rec).map_err(|source| SnapshotError::Corrupt {
        key: key.to_string(),
        source,
    })
}

fn not_found(key: &str) -> SnapshotError {
    SnapshotError::NotFound {
        key: key.to_string(),
    }
}

impl MetaStore {
    /// Opens (creating) the store at `root` (`<data root>/snapshots`) and deletes what
    /// interrupted work left.
    pub fn open(root: &Path) -> Result<MetaStore> {
        // Trees hold the images' setuid files: no host user may reach them.
        for d in [root.to_path_buf(), root.join(TREES)] {
            private_dir(&d, PRIVATE_DIR).map_err(io_err("create", &d))?;
        }
        let path = root.join("metadata.redb");
        let db = redb::Database::create(&path).map_err(db)?;
        crate::perms::set_file_mode(&path, 0o600).map_err(io_err("chmod", &path))?;
        let txn = db.begin_write().map_err(self::db)?;
        {
            txn.open_table(SNAPSHOTS).map_err(self::db)?;
            txn.open_table(META).map_err(self::db)?;
        }
        txn.commit().map_err(self::db)?;
        let store = MetaStore {
            root: root.to_path_buf(),
            db,
        };
        store.cleanup()?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of a snapshot's tree(s).
    pub fn dir(&self, rec: &Record) -> PathBuf {
        self.root.join(&rec.dir)
    }

    fn cleanup(&self) -> Result<()> {
        let named: HashSet<PathBuf> = self
            .records()?
            .into_iter()
            .map(|(_, r)| self.dir(&r))
            .collect();
        // In the root only temporary names; among the trees, any no record names.
        for (dir, any) in [(self.root.clone(), false), (self.root.join(TREES), true)] {
            for entry in fs::read_dir(&dir).map_err(io_err("read dir", &dir))? {
                let entry = entry.map_err(io_err("read dir", &dir))?;
                let p = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                let leftover = if any {
                    !named.contains(&p)
                } else {
                    is_temporary(&name)
                };
                if leftover {
                    tracing::info!(path = %p.display(), "removing interrupted snapshot work");
                    crate::fsutil::remove_any(&p).map_err(io_err("remove", &p))?;
                }
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> Result<Option<String>> {
        let txn = self.db.begin_read().map_err(db)?;
        let meta = txn.open_table(META).map_err(db)?;
        Ok(meta
            .get(BACKEND)
            .map_err(db)?
            .map(|v| v.value().to_string()))
    }

    pub fn set_backend(&self, name: &str) -> Result<()> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut meta = txn.open_table(META).map_err(db)?;
            if meta.get(BACKEND).map_err(db)?.is_none() {
                meta.insert(BACKEND, name).map_err(db)?;
            }
        }
        txn.commit().map_err(db)
    }

    pub fn get(&self, key: &str) -> Result<Record> {
        let txn = self.db.begin_read().map_err(db)?;
        let t = txn.open_table(SNAPSHOTS).map_err(db)?;
        let v = t.get(key).map_err(db)?.ok_or_else(|| not_found(key))?;
        decode(key, v.value())
    }

    /// `key`'s record, which must be of kind `want`.
    pub fn get_kind(&self, key: &str, want: Kind) -> Result<Record> {
        let rec = self.get(key)?;
        if rec.kind != want {
            return Err(SnapshotError::WrongKind {
                key: key.to_string(),
                kind: rec.kind,
                want: match want {
                    Kind::Active => "active",
                    Kind::Committed => "committed",
                    Kind::View => "a view",
                },
            });
        }
        Ok(rec)
    }

    pub fn info(&self, key: &str) -> Result<Info> {
        Ok(info(key, self.get(key)?))
    }

    /// The committed ancestors of a snapshot, nearest first.
    pub fn parents(&self, rec: &Record) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        let mut next = rec.parent.clone();
        while let Some(p) = next {
            let r = self.get(&p)?;
            next = r.parent.clone();
            out.push(r);
        }
        Ok(out)
    }

    fn records(&self) -> Result<Vec<(String, Record)>> {
        let txn = self.db.begin_read().map_err(db)?;
        let t = txn.open_table(SNAPSHOTS).map_err(db)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db)? {
            let (k, v) = item.map_err(db)?;
            out.push((k.value().to_string(), decode(k.value(), v.value())?));
        }
        Ok(out)
    }

    /// Every snapshot, sorted by name.
    pub fn walk(&self) -> Result<Vec<Info>> {
        Ok(self
            .records()?
            .into_iter()
            .map(|(k, r)| info(&k, r))
            .collect())
    }

    /// Creates snapshot `key` of `kind` on committed `parent`: `fill` makes its directory's
    /// content in a temporary directory, given the parent chain (nearest first). Filling
    /// runs outside any transaction: a long copy does not hold up other snapshots.
    pub fn create(
        &self,
        key: &str,
        parent: Option<&str>,
        kind: Kind,
        fill: &dyn Fn(&Path, &[Record]) -> Result<()>,
    ) -> Result<Record> {
        if self.get(key).is_ok() {
            return Err(SnapshotError::AlreadyExists {
                key: key.to_string(),
            });
        }
        let parents = match parent {
            Some(p) => {
                let rec = self.get_kind(p, Kind::Committed)?;
                let mut chain = self.parents(&rec)?;
                chain.insert(0, rec);
                chain
            }
            None => Vec::new(),
        };
        let tmp = self.root.join(format!("new-{}", unique_suffix()));
        private_dir(&tmp, PRIVATE_DIR).map_err(io_err("create", &tmp))?;
        let made = fill(&tmp, &parents)
            .and_then(|()| sync_dir(&tmp).map_err(io_err("fsync", &tmp)))
            .and_then(|()| self.record_new(key, parent, kind, &tmp));
        if made.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        made
    }

    fn record_new(
        &self,
        key: &str,
        parent: Option<&str>,
        kind: Kind,
        tmp: &Path,
    ) -> Result<Record> {
        let now = SystemTime::now();
        let txn = self.db.begin_write().map_err(db)?;
        let (rec, dst) = {
            let mut t = txn.open_table(SNAPSHOTS).map_err(db)?;
            if t.get(key).map_err(db)?.is_some() {
                return Err(SnapshotError::AlreadyExists {
                    key: key.to_string(),
                });
            }
            // The parent may have gone while we filled.
            if let Some(p) = parent {
                if t.get(p).map_err(db)?.is_none() {
                    return Err(not_found(p));
                }
            }
            let mut meta = txn.open_table(META).map_err(db)?;
            let id: u64 = match meta.get(NEXT_ID).map_err(db)? {
                Some(v) => v.value().parse().unwrap_or(1),
                None => 1,
            };
            meta.insert(NEXT_ID, (id + 1).to_string().as_str())
                .map_err(db)?;
            let rec = Record {
                kind,
                parent: parent.map(str::to_string),
                dir: format!("{TREES}/{id}"),
                created: now,
                updated: now,
                usage: None,
            };
            t.insert(key, encode(key, &rec)?.as_slice()).map_err(db)?;
            let dst = self.dir(&rec);
            (rec, dst)
        };
        fs::rename(tmp, &dst).map_err(io_err("rename into place", &dst))?;
        let trees = self.root.join(TREES);
        let committed = sync_dir(&trees)
            .map_err(io_err("fsync", &trees))
            .and_then(|()| txn.commit().map_err(db));
        if let Err(e) = committed {
            let _ = fs::rename(&dst, tmp);
            return Err(e);
        }
        Ok(rec)
    }

    /// Renames active `key` to committed `name` with its `usage`.
    pub fn commit(&self, name: &str, key: &str, usage: Usage) -> Result<()> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut t = txn.open_table(SNAPSHOTS).map_err(db)?;
            if t.get(name).map_err(db)?.is_some() {
                return Err(SnapshotError::AlreadyExists {
                    key: name.to_string(),
                });
            }
            let mut rec = match t.remove(key).map_err(db)? {
                Some(v) => decode(key, v.value())?,
                None => return Err(not_found(key)),
            };
            if rec.kind != Kind::Active {
                return Err(SnapshotError::WrongKind {
                    key: key.to_string(),
                    kind: rec.kind,
                    want: "active",
                });
            }
            rec.kind = Kind::Committed;
            rec.usage = Some(usage);
            rec.updated = SystemTime::now();
            t.insert(name, encode(name, &rec)?.as_slice()).map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    /// Removes `key`'s record, then its directory.
    pub fn remove(&self, key: &str) -> Result<()> {
        let txn = self.db.begin_write().map_err(db)?;
        let rec = {
            let mut t = txn.open_table(SNAPSHOTS).map_err(db)?;
            let rec = match t.get(key).map_err(db)? {
                Some(v) => decode(key, v.value())?,
                None => return Err(not_found(key)),
            };
            for item in t.iter().map_err(db)? {
                let (k, v) = item.map_err(db)?;
                if decode(k.value(), v.value())?.parent.as_deref() == Some(key) {
                    return Err(SnapshotError::HasChildren {
                        key: key.to_string(),
                    });
                }
            }
            t.remove(key).map_err(db)?;
            rec
        };
        txn.commit().map_err(db)?;
        let dir = self.dir(&rec);
        // Renamed first: a crash part-way leaves an `rm-*` that open deletes, never a half
        // tree under a name an older layout would take for a layer.
        let doomed = self.root.join(format!("rm-{}", unique_suffix()));
        match fs::rename(&dir, &doomed) {
            Ok(()) => fs::remove_dir_all(&doomed).map_err(io_err("remove", &doomed)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("rename", &dir)(e)),
        }
    }

    /// Records snapshots whose directories exist already (an older layout's layers);
    /// names recorded before are left alone.
    pub fn adopt(&self, entries: &[(String, Record)]) -> Result<()> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut t = txn.open_table(SNAPSHOTS).map_err(db)?;
            for (k, rec) in entries {
                if t.get(k.as_str()).map_err(db)?.is_none() {
                    t.insert(k.as_str(), encode(k, rec)?.as_slice())
                        .map_err(db)?;
                }
            }
        }
        txn.commit().map_err(db)
    }
}

fn info(key: &str, r: Record) -> Info {
    Info {
        name: key.to_string(),
        parent: r.parent,
        kind: r.kind,
        created: r.created,
        updated: r.updated,
    }
}

/// Names of work in progress in the store's root: `new-*` and `rm-*` (this layout),
/// `probe-*` (the overlay check), `*.tmp-*` (an older berth's unpacks and deletes).
fn is_temporary(name: &str) -> bool {
    name.starts_with("new-")
        || name.starts_with("rm-")
        || name.starts_with("probe-")
        || name.contains(".tmp-")
}
