//! `POST /containers/{id}/rename`.

use crate::error::{EngineError, Result};
use crate::{names, Engine};

impl Engine {
    pub async fn rename_container(&self, name: &str, new_name: &str) -> Result<()> {
        if new_name.is_empty() {
            return Err(EngineError::invalid(
                "Neither old nor new names may be empty",
            ));
        }
        // As dockerd: an unknown container is a 404 whatever the new name is.
        let c = self.container(name)?;
        let new_name = names::validate(new_name)?;
        let _op = c.op.lock().await;
        let old = c.snapshot().name;
        if old == new_name {
            return Err(EngineError::invalid(
                "Renaming a container with the same name as its current name",
            ));
        }
        if let Some(other) = self.name_in_use(&new_name) {
            return Err(EngineError::conflict(format!(
                "Conflict. The container name \"/{new_name}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
            )));
        }
        let rec = c.update(|r| r.name = new_name.clone());
        self.persist(&rec)?;
        self.container_event(&rec, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }
}
