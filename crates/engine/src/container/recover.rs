//! Daemon start: load containers, re-attach to live shims, settle the ones that exited while
//! no daemon watched, sweep half-made leftovers, and apply restart policies.

use super::{now_rfc3339, restart_policy, Container};
use crate::error::Result;
use crate::seams::ShimProbe;
use crate::Engine;
use berth_image::perms::{private_dir, PRIVATE_DIR};
use berth_shim_protocol::{read_exit_file, ExitStatus};
use std::collections::HashSet;
use std::sync::Arc;

impl Engine {
    pub(crate) async fn recover(self: &Arc<Self>) -> Result<()> {
        let records = self.store.all()?;
        let known: HashSet<String> = records.iter().map(|r| r.id.clone()).collect();
        self.sweep_orphans(&known);
        let in_use: Vec<String> = records.iter().flat_map(|r| r.layers.clone()).collect();
        self.rootfs.collect_layers(&in_use);
        let mut to_restart = Vec::new();
        for rec in records {
            let c = Arc::new(Container::new(rec.clone()));
            self.insert(c.clone());
            if !(rec.state.is_running() || rec.state.is_restarting()) {
                if restart_policy::at_daemon_start(&rec) {
                    to_restart.push(c);
                }
                continue;
            }
            let state_dir = self.config.shim_state_dir(&rec.id);
            match self.shims.probe(&state_dir).await {
                ShimProbe::Running { pid } => {
                    tracing::info!(id = %rec.id, pid, "re-attached to running container");
                    self.spawn_monitor(c);
                }
                probe => {
                    let st = match probe {
                        ShimProbe::Exited(st) => st,
                        _ => None,
                    }
                    .or_else(|| read_exit_file(&state_dir))
                    .unwrap_or(ExitStatus {
                        exit_code: 255,
                        oom_killed: false,
                        finished_at: now_rfc3339(),
                    });
                    tracing::info!(id = %rec.id, code = st.exit_code, "container exited while the daemon was away");
                    self.settle_exit(&c, st).await;
                    let rec = c.snapshot();
                    if !rec.host_config.auto_remove
                        && restart_policy::at_daemon_start(&rec)
                        && !rec.state.is_restarting()
                    {
                        to_restart.push(c);
                    }
                }
            }
        }
        for c in to_restart {
            let engine = self.clone();
            tokio::spawn(async move {
                let _op = c.op.lock().await;
                if let Err(e) = engine.start_locked(&c).await {
                    tracing::warn!(id = %c.id(), "restart at daemon start: {e}");
                }
            });
        }
        Ok(())
    }

    /// Container directories without a record are what a crash during create or remove left,
    /// and so are writable layers without one.
    fn sweep_orphans(&self, known: &HashSet<String>) {
        // Never delete the layer of a rootfs still mounted: keep it as if known.
        let mut keep = known.clone();
        for e in std::fs::read_dir(self.config.containers_dir())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().to_string();
            if known.contains(&name) {
                self.tighten(&name);
                continue;
            }
            tracing::info!(id = %name, "removing leftovers of an unfinished create or remove");
            // remove_rootfs unmounts first; a rootfs still mounted is left alone.
            match self.images.remove_rootfs(&name, &e.path()) {
                Ok(()) => {
                    let _ = std::fs::remove_dir_all(e.path());
                }
                Err(err) => {
                    tracing::warn!(id = %name, "leftover rootfs: {err}");
                    keep.insert(name);
                }
            }
        }
        self.images.sweep_rootfs(&keep);
    }

    /// An older berth made a container's directories world-readable.
    fn tighten(&self, id: &str) {
        let dir = self.config.container_dir(id);
        let dirs = [dir.join("bundle"), dir, self.config.shim_state_dir(id)];
        for d in dirs.iter().filter(|d| d.is_dir()) {
            if let Err(err) = private_dir(d, PRIVATE_DIR) {
                tracing::warn!(%id, "tightening {}: {err}", d.display());
            }
        }
    }
}
