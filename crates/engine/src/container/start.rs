//! `POST /containers/{id}/start`: mount the rootfs, write the bundle, launch the shim, connect
//! early attaches, let init run.

use super::shim_process::ShimProcess;
use super::{now_rfc3339, Container, ContainerRecord};
use crate::error::{EngineError, Result};
use crate::model::Event;
use crate::Engine;
use berth_image::perms::{private_dir, PRIVATE_DIR};
use berth_shim_protocol::client::ShimClient;
use berth_shim_protocol::{Request, Response, StartReport};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long a shim may take to create a container.
const SHIM_CREATE_TIMEOUT: Duration = Duration::from_secs(60);

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
            Ok((pid, shim)) => {
                // `c.op` is held: nothing else moved the status since the check.
                let rec = c.transition(Event::Start, |r| {
                    r.state.pid = pid;
                    r.state.exit_code = 0;
                    r.state.error.clear();
                    r.state.oom_killed = false;
                    r.state.started_at = now_rfc3339();
                    r.manually_stopped = false;
                })?;
                self.persist(&rec)?;
                self.container_event(&rec, "start", &[]);
                self.spawn_monitor(c.clone(), shim);
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
        let layout = self.cgroup_layout.clone();
        tokio::task::spawn_blocking(move || {
            let _ = berth_cgroups::begin_grace_period(&layout);
        });
    }

    /// Everything between "not running" and "init runs"; returns init's host pid and the
    /// shim. What fails once the shim runs is torn down here: the shim, all it forked and the
    /// container's processes (the caller then releases the run).
    async fn launch(
        &self,
        rec: &ContainerRecord,
        c: &Arc<Container>,
    ) -> Result<(i32, Option<ShimProcess>)> {
        let t0 = std::time::Instant::now();
        self.begin_cgroup_grace_period();
        let dir = self.config.container_dir(&rec.id);
        // An older berth made it world-readable.
        private_dir(&dir, PRIVATE_DIR)?;
        let rootfs = self.images.mount_rootfs(&rec.id, &rec.layers, &dir)?;
        ensure_workdir(&rootfs, &rec.config.working_dir)?;
        let t_rootfs = t0.elapsed();
        let input = self.spec_input(rec, &rootfs)?;
        let spec =
            berth_spec::build_spec(&input).map_err(|e| EngineError::invalid(e.to_string()))?;
        let bundle = dir.join("bundle");
        private_dir(&bundle, PRIVATE_DIR)?;
        berth_spec::write_bundle(&bundle, &spec)?;

        let state_dir = self.config.shim_state_dir(&rec.id);
        let _ = std::fs::remove_dir_all(&state_dir);
        private_dir(&state_dir, PRIVATE_DIR)?;
        let t_bundle = t0.elapsed();
        let created = self.spawn_shim(rec, &bundle, &state_dir).await;
        // The shim wrote its pid before it reported, whatever the report says.
        let shim = ShimProcess::open(&state_dir);
        let started = match created {
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
        match started {
            Ok(pid) => Ok((pid, shim)),
            Err(e) => {
                self.abort_launch(rec, shim.as_ref()).await;
                Err(e)
            }
        }
    }

    /// From a created container to a running one: loopback, early attaches, `Start`.
    async fn start_created(
        &self,
        rec: &ContainerRecord,
        c: &Arc<Container>,
        pid: i32,
        state_dir: &Path,
    ) -> Result<()> {
        if rec.host_config.network_mode == "none" {
            crate::netns::loopback_up(pid)
                .map_err(|e| EngineError::internal(format!("setting up lo: {e}")))?;
        }
        let shim = ShimClient::new(state_dir);
        self.connect_pending_attaches(c, &shim).await;
        match shim.call(&Request::Start).await {
            Ok(Response::Ok) => Ok(()),
            Ok(Response::Error { message }) => Err(EngineError::internal(message)),
            Ok(other) => Err(EngineError::internal(format!(
                "unexpected answer from shim: {other:?}"
            ))),
            Err(e) => Err(EngineError::internal(format!("starting container: {e}"))),
        }
    }

    /// Ends everything a failed start left running: the shim with the child it forked to create, and
    /// the processes in the container's cgroup (an init waiting for `Start`). Returns once the
    /// shim is gone, so releasing the run next races nothing.
    async fn abort_launch(&self, rec: &ContainerRecord, shim: Option<&ShimProcess>) {
        if let Some(shim) = shim {
            shim.kill();
        }
        let (layout, path) = (self.cgroup_layout.clone(), self.cgroup_path(&rec.id));
        let _ = tokio::task::spawn_blocking(move || kill_cgroup(&layout, &path)).await;
        if let Some(shim) = shim {
            shim.kill_and_wait().await;
        }
    }

    /// Runs `berth-shim start` and waits for its one-line report.
    async fn spawn_shim(
        &self,
        rec: &ContainerRecord,
        bundle: &std::path::Path,
        state_dir: &std::path::Path,
    ) -> Result<i32> {
        let dir = self.config.container_dir(&rec.id);
        let log = dir.join(format!("{}-json.log", rec.id));
        let stderr = std::fs::File::create(state_dir.join("shim.stderr"))?;
        let mut cmd = tokio::process::Command::new(&self.config.shim_binary);
        cmd.arg("start")
            .arg("--id")
            .arg(crate::config::short_id(&rec.id))
            .arg("--bundle")
            .arg(bundle)
            .arg("--state")
            .arg(state_dir)
            .arg("--log")
            .arg(&log)
            .arg("--runtime")
            .arg(&self.config.runtime)
            .arg("--seccomp-cache")
            .arg(self.config.seccomp_cache_dir());
        if rec.config.tty {
            cmd.arg("--tty");
        }
        if rec.config.open_stdin {
            cmd.arg("--stdin");
        }
        if rec.config.stdin_once {
            cmd.arg("--stdin-once");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(false);
        let mut child = cmd.spawn().map_err(|e| {
            EngineError::internal(format!(
                "cannot run {}: {e}",
                self.config.shim_binary.display()
            ))
        })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| EngineError::internal("shim has no stdout"))?;
        // The launched process forks the long-lived shim and exits; reap it in the background.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        let mut line = String::new();
        let read = tokio::time::timeout(
            SHIM_CREATE_TIMEOUT,
            BufReader::new(stdout).read_line(&mut line),
        )
        .await;
        let shim_err =
            || std::fs::read_to_string(state_dir.join("shim.stderr")).unwrap_or_default();
        match read {
            Ok(Ok(n)) if n > 0 => {}
            _ => {
                return Err(EngineError::internal(format!(
                    "shim did not report: {}",
                    shim_err().trim()
                )))
            }
        }
        match serde_json::from_str::<StartReport>(&line) {
            Ok(StartReport::Created { pid }) => Ok(pid),
            Ok(StartReport::Failed { message }) => Err(EngineError::invalid(format!(
                "failed to create task for container: OCI runtime create failed: {}: unknown",
                super::process_start_error(&rec.path, &message)
            ))),
            Err(e) => Err(EngineError::internal(format!(
                "bad report from shim ({e}): {line}"
            ))),
        }
    }

    /// Undoes what start prepared for a container that is not running: shim state, rootfs mount.
    pub(super) async fn release_run(&self, rec: &ContainerRecord) {
        // The OCI runtime removes its cgroups, but libcontainer leaves v1 hierarchies behind. A
        // busy cgroup is retried with sleeps: off the async threads, while the rest goes on.
        let (layout, path) = (self.cgroup_layout.clone(), self.cgroup_path(&rec.id));
        let cgroups = tokio::task::spawn_blocking(move || berth_cgroups::remove(&layout, &path));
        let _ = std::fs::remove_dir_all(self.config.shim_state_dir(&rec.id));
        if let Err(e) = self
            .images
            .unmount_rootfs(&self.config.container_dir(&rec.id))
        {
            tracing::warn!(id = %rec.id, "unmounting rootfs: {e}");
        }
        // A container that may start again needs its cgroups gone first (the OCI runtime makes
        // them anew); an auto-removed one never starts again.
        let id = rec.id.clone();
        let report = async move {
            if let Ok(Err(e)) = cgroups.await {
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

/// SIGKILLs every process in the container's cgroup and waits (briefly) until none is left,
/// so that the cgroup can be removed.
fn kill_cgroup(layout: &berth_cgroups::CgroupLayout, path: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let pids = berth_cgroups::pids(layout, path).unwrap_or_default();
        if pids.is_empty() || std::time::Instant::now() > deadline {
            return;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
