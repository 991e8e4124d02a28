//! `DELETE /containers/{id}`.

use crate::error::{EngineError, Result};
use crate::model::Event;
use crate::Engine;
use std::sync::Arc;

impl Engine {
    pub async fn remove_container(self: &Arc<Self>, name: &str, force: bool) -> Result<()> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        let rec = c.snapshot();
        if rec.state.is_running() {
            if !force {
                let what = if rec.state.is_paused() {
                    "paused"
                } else {
                    "running"
                };
                return Err(EngineError::conflict(format!(
                    "cannot remove container \"/{}\": container is {what}: stop the container before removing or force remove",
                    rec.name
                )));
            }
            self.stop_locked(&c, libc::SIGKILL, 30).await?;
        }
        // A pending restart is cancelled; the status moves to `removing` in memory only (the
        // record is deleted next).
        let status = c.snapshot().state.status();
        if status == crate::model::ContainerStatus::Removing {
            // Another remove (auto-remove, `rm -f`) got here first.
            return Ok(());
        }
        if status == crate::model::ContainerStatus::Restarting {
            c.transition(Event::CancelRestart, |_| {})?;
        }
        let rec = c.transition(Event::Remove, |r| r.manually_stopped = true)?;
        // The record goes first: from here on the container does not exist, whatever happens
        // to its files (swept at the next start if we crash now).
        self.store.delete(&rec.id)?;
        self.forget(&rec.id);
        // The run (shim state, cgroup, mount) was released when the container exited.
        let dir = self.config.container_dir(&rec.id);
        match self.rootfs.unmount(&dir) {
            // Never delete through a rootfs that is still mounted: the start-up sweep retries.
            Err(e) => tracing::warn!(id = %rec.id, "removing rootfs: {e}"),
            // The files and the writable layer go in the background: nothing can reach them
            // any more (ids are never reused), and the start-up sweep finishes the job if the
            // daemon stops first.
            Ok(()) => {
                let (id, engine) = (rec.id.clone(), self.clone());
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = engine.rootfs.remove(&id, &dir) {
                        tracing::warn!(%id, "removing its writable layer: {e}");
                    }
                    // The layers of an image force-removed while this container used it.
                    let layers: Vec<String> = engine
                        .all_containers()
                        .iter()
                        .flat_map(|c| c.snapshot().layers)
                        .collect();
                    engine.rootfs.collect_layers(&layers);
                    if let Err(e) = std::fs::remove_dir_all(&dir) {
                        tracing::warn!(%id, "removing {}: {e}", dir.display());
                    }
                });
            }
        }
        self.container_event(&rec, "destroy", &[]);
        c.lifecycle.send_modify(|l| l.removed = true);
        Ok(())
    }
}
