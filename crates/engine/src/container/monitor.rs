//! Watches a running container through its shim and settles its exit: state, cleanup, events,
//! waiters, restart policy and auto-remove.

use super::{restart_policy, Container};
use crate::model::Event;
use crate::Engine;
use berth_shim_protocol::ExitStatus;
use std::sync::Arc;

impl Engine {
    /// Watches the container's run until init exits (and its shim is gone), then settles it.
    pub(super) fn spawn_monitor(self: &Arc<Self>, c: Arc<Container>) {
        let engine = self.clone();
        tokio::spawn(async move {
            let state_dir = engine.config.shim_state_dir(&c.id());
            engine.spawn_health_watch(c.clone());
            let status = engine.shims.wait(&state_dir).await;
            engine.settle_exit(&c, status).await;
        });
    }

    /// Records that the container's init exited, and does what follows from it.
    pub(super) async fn settle_exit(self: &Arc<Self>, c: &Arc<Container>, st: ExitStatus) {
        // The run is released before the container reads as exited: a start, which waits for
        // that, then never overlaps the release (unmount, state dir, cgroups) of the run before.
        self.release_run(&c.snapshot()).await;
        let record_exit = |r: &mut super::ContainerRecord| {
            r.state.pid = 0;
            r.state.exit_code = st.exit_code;
            r.state.oom_killed = st.oom_killed;
            r.state.finished_at = st.finished_at.clone();
        };
        let rec = match c.transition(Event::Exit, record_exit) {
            Ok(rec) => rec,
            Err(e) => {
                tracing::error!(id = %c.id(), "settling an exit: {e}");
                c.snapshot()
            }
        };
        // An auto-removed container's record is deleted in a moment; were the daemon to stop
        // first, it would settle (and remove) the container again at its next start.
        if !rec.host_config.auto_remove {
            if let Err(e) = self.persist(&rec) {
                tracing::error!(id = %rec.id, "persisting exit: {e}");
            }
        }
        if st.oom_killed {
            self.container_event(&rec, "oom", &[]);
        }
        self.container_event(&rec, "die", &[("exitCode", st.exit_code.to_string())]);
        c.lifecycle.send_modify(|l| {
            l.exits += 1;
            l.last_exit_code = st.exit_code as i64;
        });

        if rec.host_config.auto_remove {
            let engine = self.clone();
            let id = rec.id.clone();
            tokio::spawn(async move {
                if let Err(e) = engine.remove_container(&id, true).await {
                    tracing::warn!(%id, "auto-remove: {e}");
                }
            });
            return;
        }
        if let Some(delay) = restart_policy::after_exit(&rec) {
            let engine = self.clone();
            let c = c.clone();
            if let Err(e) = c.transition(Event::ScheduleRestart, |_| {}) {
                tracing::error!(id = %rec.id, "scheduling a restart: {e}");
                return;
            }
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _op = c.op.lock().await;
                let rec = c.snapshot();
                if rec.manually_stopped || !rec.state.is_restarting() {
                    return;
                }
                let rec = c.update(|r| r.restart_count += 1);
                engine.container_event(&rec, "restart", &[]);
                if let Err(e) = engine.start_locked(&c).await {
                    tracing::warn!(id = %rec.id, "restart failed: {e}");
                    if let Ok(rec) = c.transition(Event::CancelRestart, |_| {}) {
                        let _ = engine.persist(&rec);
                    }
                }
            });
        }
    }
}
