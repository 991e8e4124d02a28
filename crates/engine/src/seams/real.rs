//! The real edges: `berth-shim` processes over shim-protocol, the host's cgroups, the
//! network namespace, and the image service's snapshotter.

use super::{Cgroups, Network, Rootfs, ShimLaunch, ShimProbe, Shims};
use crate::container::shim_process::ShimProcess;
use crate::error::{EngineError, IoContext, Result};
use crate::images::ImageService;
use berth_shim_protocol::client::ShimClient;
use berth_shim_protocol::{read_exit_file, ExitStatus, Request, Response, StartReport};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long a shim may take to create a container.
const SHIM_CREATE_TIMEOUT: Duration = Duration::from_secs(60);

/// `berth-shim` processes.
pub struct ShimProcesses {
    binary: PathBuf,
    runtime: String,
    seccomp_cache: PathBuf,
}

impl ShimProcesses {
    pub fn new(config: &crate::EngineConfig) -> Self {
        Self {
            binary: config.shim_binary.clone(),
            runtime: config.runtime.clone(),
            seccomp_cache: config.seccomp_cache_dir(),
        }
    }

    /// Runs `berth-shim start` and waits for its one-line report.
    async fn spawn(&self, l: &ShimLaunch) -> Result<i32> {
        let stderr_path = l.state_dir.join("shim.stderr");
        let stderr = std::fs::File::create(&stderr_path).at(&stderr_path)?;
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.arg("start")
            .arg("--id")
            .arg(crate::config::short_id(&l.id))
            .arg("--bundle")
            .arg(&l.bundle)
            .arg("--state")
            .arg(&l.state_dir)
            .arg("--log")
            .arg(&l.log)
            .arg("--runtime")
            .arg(&self.runtime)
            .arg("--seccomp-cache")
            .arg(&self.seccomp_cache);
        if l.tty {
            cmd.arg("--tty");
        }
        if l.stdin {
            cmd.arg("--stdin");
        }
        if l.stdin_once {
            cmd.arg("--stdin-once");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(false);
        let mut child = cmd.spawn().map_err(|e| {
            EngineError::internal(format!("cannot run {}: {e}", self.binary.display()))
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
            || std::fs::read_to_string(l.state_dir.join("shim.stderr")).unwrap_or_default();
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
                crate::container::process_start_error(&l.program, &message)
            ))),
            Err(e) => Err(EngineError::internal(format!(
                "bad report from shim ({e}): {line}"
            ))),
        }
    }
}

fn answer(r: std::io::Result<Response>, doing: &str) -> Result<()> {
    match r {
        Ok(Response::Ok) => Ok(()),
        Ok(Response::Error { message }) => Err(EngineError::internal(message)),
        Ok(other) => Err(EngineError::internal(format!(
            "unexpected answer from shim: {other:?}"
        ))),
        Err(e) => Err(EngineError::internal(format!("{doing}: {e}"))),
    }
}

impl Shims for ShimProcesses {
    fn create<'a>(&'a self, launch: &'a ShimLaunch) -> BoxFuture<'a, Result<i32>> {
        self.spawn(launch).boxed()
    }

    fn start<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, Result<()>> {
        async move {
            let r = ShimClient::new(state_dir).call(&Request::Start).await;
            answer(r, "starting container")
        }
        .boxed()
    }

    fn kill<'a>(&'a self, state_dir: &'a Path, signal: i32) -> BoxFuture<'a, Result<()>> {
        async move {
            let r = ShimClient::new(state_dir)
                .call(&Request::Kill { signal, all: false })
                .await;
            answer(r, "signalling container")
        }
        .boxed()
    }

    fn health<'a>(
        &'a self,
        state_dir: &'a Path,
        from: Option<berth_shim_protocol::HealthStatus>,
    ) -> BoxFuture<'a, Option<berth_shim_protocol::Health>> {
        async move {
            let req = Request::Health {
                wait_change_from: from,
            };
            match ShimClient::new(state_dir).call(&req).await {
                Ok(Response::Health(h)) => Some(h),
                _ => None,
            }
        }
        .boxed()
    }

    fn wait<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, ExitStatus> {
        async move {
            let shim = ShimProcess::open(state_dir);
            let answer = ShimClient::new(state_dir).call(&Request::Wait).await;
            // The run ends with its shim: only then may its paths be released and reused.
            if let Some(shim) = &shim {
                shim.finish().await;
            }
            match answer {
                Ok(Response::Exited(st)) => st,
                other => {
                    // The shim is gone without answering: trust what it left on disk (once
                    // it is surely done writing).
                    if shim.is_none() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    read_exit_file(state_dir).unwrap_or_else(|| {
                        tracing::warn!(dir = %state_dir.display(), "shim lost: {other:?}");
                        ExitStatus {
                            exit_code: 255,
                            oom_killed: false,
                            finished_at: crate::container::now_rfc3339(),
                        }
                    })
                }
            }
        }
        .boxed()
    }

    fn probe<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, ShimProbe> {
        async move {
            match ShimClient::new(state_dir).call(&Request::State).await {
                Ok(Response::State(s)) if s.status == "running" => {
                    ShimProbe::Running { pid: s.pid }
                }
                Ok(Response::State(s)) => ShimProbe::Exited(s.exit),
                _ => ShimProbe::Gone,
            }
        }
        .boxed()
    }

    fn abort<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, ()> {
        async move {
            if let Some(shim) = ShimProcess::open(state_dir) {
                shim.kill_and_wait().await;
            }
        }
        .boxed()
    }
}

/// The host's cgroups.
pub struct HostCgroups {
    layout: berth_cgroups::CgroupLayout,
}

impl HostCgroups {
    pub fn new(layout: berth_cgroups::CgroupLayout) -> Self {
        Self { layout }
    }
}

impl Cgroups for HostCgroups {
    fn begin_grace_period(&self) {
        let layout = self.layout.clone();
        tokio::task::spawn_blocking(move || {
            let _ = berth_cgroups::begin_grace_period(&layout);
        });
    }

    fn freeze(&self, path: &str) -> Result<()> {
        berth_cgroups::freeze(&self.layout, path)
            .map_err(|e| EngineError::internal(format!("pausing container: {e}")))
    }

    fn thaw(&self, path: &str) -> Result<()> {
        berth_cgroups::thaw(&self.layout, path)
            .map_err(|e| EngineError::internal(format!("unpausing container: {e}")))
    }

    fn remove(&self, path: &str) -> Result<()> {
        berth_cgroups::remove(&self.layout, path).map_err(|e| EngineError::internal(e.to_string()))
    }

    fn kill_all(&self, path: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let pids = berth_cgroups::pids(&self.layout, path).unwrap_or_default();
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
}

/// Network namespaces through setns and netlink.
pub struct HostNetwork;

impl Network for HostNetwork {
    fn loopback_up(&self, pid: i32) -> Result<()> {
        crate::netns::loopback_up(pid)
            .map_err(|e| EngineError::internal(format!("setting up lo: {e}")))
    }
}

impl Rootfs for ImageService {
    fn mount(&self, id: &str, layers: &[String], container_dir: &Path) -> Result<PathBuf> {
        self.mount_rootfs(id, layers, container_dir)
    }
    fn unmount(&self, container_dir: &Path) -> Result<()> {
        self.unmount_rootfs(container_dir)
    }
    fn remove(&self, id: &str, container_dir: &Path) -> Result<()> {
        self.remove_rootfs(id, container_dir)
    }
    fn collect_layers(&self, in_use: &[String]) {
        ImageService::collect_layers(self, in_use)
    }
}
