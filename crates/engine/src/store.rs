//! Container metadata in redb. A record exists only once its container is fully created, and
//! is deleted first when it is removed: a crash in between leaves files, never a half-made
//! container (the leftovers are swept at the next start).
//!
//! The `meta` table holds the schema version of the container records ([`SCHEMA_VERSION`]).
//! Opening a store written by an older berth migrates its records in the same transaction
//! that records the new version; a store written by a newer berth is refused, not misread.
//! The image tables in the same file belong to `berth-image` and are not versioned here.

mod migrate;

use crate::container::ContainerRecord;
use berth_errdefs::ErrorKind;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::sync::Arc;

const CONTAINERS: TableDefinition<&str, &[u8]> = TableDefinition::new("containers");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const SCHEMA_KEY: &str = "containers_schema_version";

/// The version of the container records this berth writes.
/// 1: berth before the engine model (no version key; wire types as records).
/// 2: the engine's own model (`model::State` with a typed status; `model::ContainerConfig`
/// and `model::HostConfig`, stored under Docker's field names as in 1).
pub const SCHEMA_VERSION: u64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("metadata store: {0}")]
    Db(#[from] redb::Error),
    #[error("metadata store: decoding container {id}: {source}")]
    Decode {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("metadata store: encoding container {id}: {source}")]
    Encode {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("metadata store: migrating container {id} from schema version {from}: {reason}")]
    Migrate {
        id: String,
        from: u64,
        reason: String,
    },
    #[error("metadata store: schema version {found} was written by a newer berth (this one knows up to {known}); run that berth or use another data root")]
    NewerSchema { found: u64, known: u64 },
}

impl StoreError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Internal
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Db(redb::Error::from(e))
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

#[derive(Clone)]
pub struct ContainerStore {
    db: Arc<Database>,
}

impl ContainerStore {
    /// Opens the tables, migrating records of an older schema (one write transaction, as
    /// before versions existed: no extra commit on a current store).
    pub fn open(db: Arc<Database>) -> Result<Self> {
        let tx = db.begin_write()?;
        {
            let mut meta = tx.open_table(META)?;
            let mut containers = tx.open_table(CONTAINERS)?;
            let stored = meta.get(SCHEMA_KEY)?.map(|v| v.value());
            let version = match stored {
                Some(v) => v,
                // No key: a new store, or one from before versions (schema 1).
                None if containers.iter()?.next().is_none() => SCHEMA_VERSION,
                None => 1,
            };
            if version > SCHEMA_VERSION {
                return Err(StoreError::NewerSchema {
                    found: version,
                    known: SCHEMA_VERSION,
                });
            }
            if version < SCHEMA_VERSION {
                let mut rows = Vec::new();
                for row in containers.iter()? {
                    let (k, v) = row?;
                    rows.push((k.value().to_string(), v.value().to_vec()));
                }
                for (id, bytes) in rows {
                    let new = migrate::record(&id, version, &bytes)?;
                    containers.insert(id.as_str(), new.as_slice())?;
                }
                tracing::info!(
                    from = version,
                    to = SCHEMA_VERSION,
                    "migrated container records"
                );
            }
            if stored != Some(SCHEMA_VERSION) {
                meta.insert(SCHEMA_KEY, SCHEMA_VERSION)?;
            }
        }
        tx.commit()?;
        Ok(Self { db })
    }

    pub fn put(&self, rec: &ContainerRecord) -> Result<()> {
        let bytes = serde_json::to_vec(rec).map_err(|source| StoreError::Encode {
            id: rec.id.clone(),
            source,
        })?;
        let tx = self.db.begin_write()?;
        tx.open_table(CONTAINERS)?
            .insert(rec.id.as_str(), bytes.as_slice())?;
        tx.commit()?;
        Ok(())
    }

    pub fn delete(&self, id: &str) -> Result<()> {
        let tx = self.db.begin_write()?;
        tx.open_table(CONTAINERS)?.remove(id)?;
        tx.commit()?;
        Ok(())
    }

    pub fn all(&self) -> Result<Vec<ContainerRecord>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(CONTAINERS)?;
        let mut out = Vec::new();
        for row in table.iter()? {
            let (k, v) = row?;
            out.push(
                serde_json::from_slice(v.value()).map_err(|source| StoreError::Decode {
                    id: k.value().to_string(),
                    source,
                })?,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ContainerStatus;

    fn db(dir: &tempfile::TempDir) -> Arc<Database> {
        Arc::new(Database::create(dir.path().join("m.redb")).unwrap())
    }

    fn version(db: &Database) -> Option<u64> {
        let tx = db.begin_read().unwrap();
        let t = tx.open_table(META).unwrap();
        t.get(SCHEMA_KEY).unwrap().map(|v| v.value())
    }

    #[test]
    fn a_new_store_gets_the_current_version() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir);
        ContainerStore::open(db.clone()).unwrap();
        assert_eq!(version(&db), Some(SCHEMA_VERSION));
    }

    #[test]
    fn records_of_schema_1_are_migrated_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir);
        {
            let tx = db.begin_write().unwrap();
            let mut t = tx.open_table(CONTAINERS).unwrap();
            for (id, bytes) in migrate::tests::v1_fixtures() {
                t.insert(id, bytes.as_slice()).unwrap();
            }
            drop(t);
            tx.commit().unwrap();
        }
        let store = ContainerStore::open(db.clone()).unwrap();
        assert_eq!(version(&db), Some(SCHEMA_VERSION));
        let mut recs = store.all().unwrap();
        recs.sort_by(|a, b| a.name.cmp(&b.name));
        let [paused, stopped, running] = recs.as_slice() else {
            panic!("three records expected: {recs:?}");
        };
        assert_eq!(running.state.status(), ContainerStatus::Running);
        assert_eq!(running.state.pid, 4242);
        assert_eq!(running.state.started_at, "2026-12-01T10:00:00.5Z");
        assert_eq!(paused.state.status(), ContainerStatus::Paused);
        assert_eq!(stopped.state.status(), ContainerStatus::Exited);
        assert_eq!(stopped.state.exit_code, 3);
        assert!(stopped.state.oom_killed);
        assert_eq!(stopped.restart_count, 2);
        assert!(stopped.manually_stopped);
        // The rest of the record is read back as it was written.
        assert_eq!(running.config.image, "busybox");
        assert_eq!(running.config.cmd, Some(vec!["top".to_string()]));
        assert!(running.host_config.auto_remove);
        assert_eq!(running.layers, vec!["sha256:l1".to_string()]);
        // Opening again is a no-op.
        let again = ContainerStore::open(db).unwrap().all().unwrap();
        assert_eq!(again.len(), 3);
    }

    #[test]
    fn a_newer_schema_is_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let db = db(&dir);
        {
            let tx = db.begin_write().unwrap();
            tx.open_table(META)
                .unwrap()
                .insert(SCHEMA_KEY, SCHEMA_VERSION + 1)
                .unwrap();
            tx.commit().unwrap();
        }
        let err = ContainerStore::open(db).err().expect("refused");
        assert!(matches!(err, StoreError::NewerSchema { .. }));
        assert!(err.to_string().contains("newer berth"), "{err}");
    }
}
