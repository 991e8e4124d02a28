//! `POST /containers/{id}/start`: mount the rootfs, write the bundle, launch the shim, connect
//! early attaches, let init run.

use super::{now_rfc3339, Container, ContainerRecord};
use crate::error::{EngineError, IoContext, Result};
use crate::model::Event;
use crate::seams::ShimLaunch;
use crate::Engine;
use berth_image::perms::{private_dir, PRIVATE_DIR};
use berth_shim_protocol::ShimConfig;
use std::path::Path;
use std::sync::Arc;

/// Docker creates a missing working directory. Components are created one at a time and a
/// symlink on the way stops it: the OCI runtime resolves such paths inside the container.
fn ensure_workdir(rootfs: &Path, workdir: &str) -> Result<()> {
    let mut path = rootfs.to_path_buf();
    for part in Path::new(workdir).components() {
        let std::path::Component::Normal(part) = part else {
            continue;
        };
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => return Ok(()),
            Err(_) => {
                std::fs::create_dir(&path).map_err(|e| {
                    EngineError::invalid(format!("creating working directory {workdir}: {e}"))
                })?;
            }
        }
    }
    Ok(())
}

impl Engine {
    pub async fn start_container(self: &Arc<Self>, name: &str) -> Result<()> {
        let c = self.container(name)?;
        let result = {
            let _op = c.op.lock().await;
            self.start_locked(&c).await
        };
        // Like dockerd, an auto-remove container that cannot start is removed: `docker run
        // --rm` waits for that before it reports the error.
        if result.is_err() && c.snapshot().host_config.auto_remove {
            let _ = self.remove_container(&c.id(), true).await;
        }
        result
    }

    /// Starts `c`; the caller holds `c.op`.
    pub(super) async fn start_locked(self: &Arc<Self>, c: &Arc<Container>) -> Result<()> {
        let rec = c.snapshot();
        rec.state.check(&rec.id, Event::Start)?;
        match self.launch(&rec, c).await {
            Ok(pid) => {
                // `c.op` is held: nothing else moved the status since the check.
                let rec = c.transition(Event::Start, |r| {
                    r.state.pid = pid;
                    r.state.exit_code = 0;
                    r.state.error.clear();
                    r.state.oom_killed = false;
                    r.state.started_at = now_rfc3339();
                    // Each run's probes start afresh, as Docker's do.
                    r.state.health = super::health::healthcheck_of(r)
                        .map(|_| berth_shim_protocol::Health::default());
                    r.manually_stopped = false;
                })?;
                self.persist(&rec)?;
                self.container_event(&rec, "start", &[]);
                self.spawn_monitor(c.clone());
                Ok(())
            }
            Err(e) => {
                // Docker keeps the failed container, with the reason and the exit code the CLI
                // shows (127: command not found, 126: cannot be run).
                let message = e.message();
                let code = super::process_start_exit_code(&message, 128);
                let rec = c.update(|r| {
                    r.state.error = message.clone();
                    r.state.exit_code = code;
                });
                let _ = self.persist(&rec);
                self.release_run(&rec).await;
                self.fail_pending_attaches(c, &message);
                Err(e)
            }
        }
    }

    /// The OCI runtime moves init into its cgroups at start: let the kernel's wait for that run
    /// alongside other work (see `cgroups::begin_grace_period`). Called at create as well,
    /// since `docker run` starts right after it.
    pub(super) fn begin_cgroup_grace_period(&self) {
        self.cgroups.begin_grace_period();
    }

    /// Everything between "not running" and "init runs"; returns init's host pid. What fails
    /// once the shim runs is torn down here: the shim, all it forked and the container's
    /// processes (the caller then releases the run).
    async fn launch(&self, rec: &ContainerRecord, c: &Arc<Container>) -> Result<i32> {
        let t0 = std::time::Instant::now();
        self.begin_cgroup_grace_period();
        let dir = self.config.container_dir(&rec.id);
        // An older berth made it world-readable.
        private_dir(&dir, PRIVATE_DIR).at(&dir)?;
        let rootfs = self.rootfs.mount(&rec.id, &rec.layers, &dir)?;
        ensure_workdir(&rootfs, &rec.config.working_dir)?;
        let t_rootfs = t0.elapsed();
        let input = self.spec_input(rec, &rootfs)?;
        let spec =
            berth_spec::build_spec(&input).map_err(|e| EngineError::invalid(e.to_string()))?;
        let bundle = dir.join("bundle");
        private_dir(&bundle, PRIVATE_DIR).at(&bundle)?;
        berth_spec::write_bundle(&bundle, &spec).at(&bundle)?;

        let state_dir = self.config.shim_state_dir(&rec.id);
        let _ = std::fs::remove_dir_all(&state_dir);
        private_dir(&state_dir, PRIVATE_DIR).at(&state_dir)?;
        let shim_config = self.shim_config(rec)?;
        // No file is today's defaults: a plain `run` writes nothing more.
        if shim_config != ShimConfig::default() {
            shim_config.write(&state_dir).at(&state_dir)?;
        }
        let t_bundle = t0.elapsed();
        let launch = ShimLaunch {
            id: rec.id.clone(),
            bundle,
            state_dir: state_dir.clone(),
            log: dir.join(format!("{}-json.log", rec.id)),
            tty: rec.config.tty,
            stdin: rec.config.open_stdin,
            stdin_once: rec.config.stdin_once,
            program: rec.path.clone(),
        };
        let started = match self.shims.create(&launch).await {
            Ok(pid) => {
                let t_created = t0.elapsed();
                let started = self.start_created(rec, c, pid, &state_dir).await;
                tracing::debug!(
                    id = %rec.id,
                    rootfs = ?t_rootfs,
                    bundle = ?t_bundle,
                    created = ?t_created,
                    started = ?t0.elapsed(),
                    "start phases"
                );
                started.map(|()| pid)
            }
            Err(e) => Err(e),
        };
        if started.is_err() {
            self.abort_launch(rec, &state_dir).await;
        }
        started
    }

    /// From a created container to a running one: loopback, early attaches, `Start`.
    async fn start_created(
        &self,
        rec: &ContainerRecord,
        c: &Arc<Container>,
        pid: i32,
        state_dir: &Path,
    ) -> Result<()> {
        if rec.host_config.network_mode == crate::model::NetworkMode::None {
            self.network.loopback_up(pid)?;
        }
        self.connect_pending_attaches(c, state_dir).await;
        self.shims.start(state_dir).await
    }

    /// What the shim is to do beyond running init: the log driver with its options (and
    /// json-file's extra attributes), and the healthcheck.
    fn shim_config(&self, rec: &ContainerRecord) -> Result<ShimConfig> {
        let (driver, opts) = match &rec.host_config.log_config {
            Some(l) => (l.r#type.clone(), l.config.clone().unwrap_or_default()),
            None => (String::new(), Default::default()),
        };
        let wants_attrs = opts.keys().any(|k| {
            matches!(
                k.as_str(),
                "labels" | "labels-regex" | "env" | "env-regex" | "tag"
            )
        });
        let attrs = if wants_attrs {
            let info = berth_logging::ContainerInfo {
                id: rec.id.clone(),
                name: rec.name.clone(),
                image_name: rec.config.image.clone(),
                image_id: rec.image_id.clone(),
                labels: rec.config.labels.clone().unwrap_or_default(),
                env: rec.config.env.clone().unwrap_or_default(),
            };
            berth_logging::extra_attrs(&opts, &info)
                .map_err(|e| EngineError::invalid(e.to_string()))?
        } else {
            Default::default()
        };
        let json_file_default = driver.is_empty() || driver == "json-file";
        Ok(ShimConfig {
            log: berth_shim_protocol::LogConfig {
                driver: if json_file_default && opts.is_empty() {
                    String::new()
                } else {
                    driver
                },
                opts,
                attrs,
            },
            healthcheck: super::health::healthcheck_of(rec),
        })
    }

    /// Ends everything a failed start left running: the shim with the child it forked to
    /// create, and the processes in the container's cgroup (an init waiting for `Start`).
    /// Returns once the shim is gone, so releasing the run next races nothing.
    async fn abort_launch(&self, rec: &ContainerRecord, state_dir: &Path) {
        // The shim first, so that nothing it forked can go on making processes.
        self.shims.abort(state_dir).await;
        let (cgroups, path) = (self.cgroups.clone(), self.cgroup_path(&rec.id));
        let _ = tokio::task::spawn_blocking(move || cgroups.kill_all(&path)).await;
    }

    /// Undoes what start prepared for a container that is not running: shim state, rootfs mount.
    pub(super) async fn release_run(&self, rec: &ContainerRecord) {
        // The OCI runtime removes its cgroups, but libcontainer leaves v1 hierarchies behind. A
        // busy cgroup is retried with sleeps: off the async threads, while the rest goes on.
        let (cgroups, path) = (self.cgroups.clone(), self.cgroup_path(&rec.id));
        let removed = tokio::task::spawn_blocking(move || cgroups.remove(&path));
        let _ = std::fs::remove_dir_all(self.config.shim_state_dir(&rec.id));
        if let Err(e) = self.rootfs.unmount(&self.config.container_dir(&rec.id)) {
            tracing::warn!(id = %rec.id, "unmounting rootfs: {e}");
        }
        // A container that may start again needs its cgroups gone first (the OCI runtime makes
        // them anew); an auto-removed one never starts again.
        let id = rec.id.clone();
        let report = async move {
            if let Ok(Err(e)) = removed.await {
                tracing::warn!(%id, "removing cgroup: {e}");
            }
        };
        if rec.host_config.auto_remove {
            tokio::spawn(report);
        } else {
            report.await;
        }
    }
}
