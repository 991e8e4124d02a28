//! `pause` and `unpause`, through the cgroup freezer.

use crate::error::{EngineError, Result};
use crate::model::Event;
use crate::Engine;
use berth_cgroups as cgroups;

impl Engine {
    pub async fn pause_container(&self, name: &str) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        let rec = c.snapshot();
        rec.state.check(&rec.id, Event::Pause)?;
        let (layout, path) = (self.cgroup_layout.clone(), self.cgroup_path(&rec.id));
        // The kernel may take a while to freeze: wait on a blocking thread, not tokio's workers.
        tokio::task::spawn_blocking(move || cgroups::freeze(&layout, &path))
            .await
            .map_err(|e| EngineError::internal(format!("pausing container: {e}")))?
            .map_err(|e| EngineError::internal(format!("pausing container: {e}")))?;
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
        cgroups::thaw(&self.cgroup_layout, &self.cgroup_path(id))
            .map_err(|e| EngineError::internal(format!("unpausing container: {e}")))
    }
}
