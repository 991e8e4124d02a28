//! Container metadata in redb. A record exists only once its container is fully created, and
//! is deleted first when it is removed: a crash in between leaves files, never a half-made
//! container (the leftovers are swept at the next start).

use crate::container::ContainerRecord;
use crate::error::Result;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::sync::Arc;

const CONTAINERS: TableDefinition<&str, &[u8]> = TableDefinition::new("containers");

#[derive(Clone)]
pub struct ContainerStore {
    db: Arc<Database>,
}

impl ContainerStore {
    pub fn open(db: Arc<Database>) -> Result<Self> {
        let tx = db.begin_write()?;
        tx.open_table(CONTAINERS)?;
        tx.commit()?;
        Ok(Self { db })
    }

    pub fn put(&self, rec: &ContainerRecord) -> Result<()> {
        let bytes = serde_json::to_vec(rec)?;
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
            let (_, v) = row?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }
}
