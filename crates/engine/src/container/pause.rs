//! `pause` and `unpause`, through the cgroup freezer.

use crate::error::{EngineError, Result};
use crate::model::Event;
use crate::Engine;

impl Engine {
    pub async fn pause_container(&self, name: &str) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        let rec = c.snapshot();
        rec.state.check(&rec.id, Event::Pause)?;
        let (cgroups, path) = (self.cgroups.clone(), self.cgroup_path(&rec.id));
        // The kernel may take a while to freeze: wait on a blocking thread, not tokio's workers.
        tokio::task::spawn_blocking(move || cgroups.freeze(&path))
            .await
            .map_err(|e| EngineError::internal(format!("pausing container: {e}")))??;
        let rec = c.transition(Event::Pause, |_| {})?;
        self.persist(&rec)?;
        self.container_event(&rec, "pause", &[]);
        Ok(())
    }

    pub async fn unpause_container(&self, name: &str) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        let rec = c.snapshot();
        rec.state.check(&rec.id, Event::Unpause)?;
        self.thaw(&rec.id)?;
        let rec = c.transition(Event::Unpause, |_| {})?;
        self.persist(&rec)?;
        self.container_event(&rec, "unpause", &[]);
        Ok(())
    }

    pub(super) fn thaw(&self, id: &str) -> Result<()> {
        self.cgroups.thaw(&self.cgroup_path(id))
    }
}
