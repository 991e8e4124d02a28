//! The edges the engine drives, as traits: the shim (launching `berth-shim` and talking
//! shim-protocol to it), the container's cgroup, the network namespace, and the rootfs
//! (the snapshotter's mounts). [`EngineDeps::real`] builds the real implementations in one
//! place; unit tests hand the engine in-memory fakes (`fake.rs`) and so run create, start,
//! stop, kill, restart policies and recovery without root or processes.
//!
//! What stays outside the seams: attach/logs/exec streams and `top` (they talk to the
//! shim's streams or the kernel directly and are covered by the e2e suite), and the spec
//! and bundle writing (plain files under the container directory).

#[cfg(test)]
pub mod fake;
pub mod real;

use crate::error::Result;
use berth_shim_protocol::ExitStatus;
use futures_util::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What launching a shim for one run takes.
#[derive(Debug, Clone)]
pub struct ShimLaunch {
    /// Full container id.
    pub id: String,
    pub bundle: PathBuf,
    pub state_dir: PathBuf,
    pub log: PathBuf,
    pub tty: bool,
    pub stdin: bool,
    pub stdin_once: bool,
    /// The program of init, for Docker's "executable file not found" wording.
    pub program: String,
}

/// What a shim says about its container when the daemon starts.
#[derive(Debug, Clone, PartialEq)]
pub enum ShimProbe {
    /// Init runs: the shim is re-attached.
    Running { pid: i32 },
    /// The shim answered that init exited (with its status when it knows it).
    Exited(Option<ExitStatus>),
    /// No shim answered.
    Gone,
}

/// The shim of each run: launched per start, then driven over shim-protocol.
pub trait Shims: Send + Sync {
    /// Launches the shim, which creates init (waiting for `start`); returns init's pid.
    fn create<'a>(&'a self, launch: &'a ShimLaunch) -> BoxFuture<'a, Result<i32>>;
    /// Lets init run.
    fn start<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, Result<()>>;
    fn kill<'a>(&'a self, state_dir: &'a Path, signal: i32) -> BoxFuture<'a, Result<()>>;
    /// Resolves with init's exit, once the shim is gone too (never before: a new run uses
    /// the same paths). A shim that vanished without answering is settled from the exit
    /// file it left, else as exit 255.
    fn wait<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, ExitStatus>;
    fn probe<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, ShimProbe>;
    /// The container's health: at once (`from: None`), or once its status differs from
    /// `from` (or the container exited). `None` when the shim is gone.
    fn health<'a>(
        &'a self,
        state_dir: &'a Path,
        from: Option<berth_shim_protocol::HealthStatus>,
    ) -> BoxFuture<'a, Option<berth_shim_protocol::Health>>;
    /// Ends a shim whose start failed, with all it forked; returns once it is gone.
    fn abort<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, ()>;
}

/// A container's cgroup (`path` as [`crate::Engine::cgroup_path`] gives it).
pub trait Cgroups: Send + Sync {
    /// Lets the kernel's wait for the cgroup move run alongside other work.
    fn begin_grace_period(&self);
    fn freeze(&self, path: &str) -> Result<()>;
    fn thaw(&self, path: &str) -> Result<()>;
    /// Removes the cgroup (blocking: a busy one is retried).
    fn remove(&self, path: &str) -> Result<()>;
    /// SIGKILLs what is left in the cgroup (blocking, briefly).
    fn kill_all(&self, path: &str);
}

/// The network namespace chores before init runs.
pub trait Network: Send + Sync {
    /// `--network none`: `lo` up in init's namespace.
    fn loopback_up(&self, pid: i32) -> Result<()>;
}

/// A container's rootfs: its writable snapshot, mounted at `<container_dir>/rootfs`.
pub trait Rootfs: Send + Sync {
    /// Mounts (unless mounted) and returns the rootfs path.
    fn mount(&self, id: &str, layers: &[String], container_dir: &Path) -> Result<PathBuf>;
    fn unmount(&self, container_dir: &Path) -> Result<()>;
    /// Unmounts and removes the writable layer.
    fn remove(&self, id: &str, container_dir: &Path) -> Result<()>;
    /// Drops image layers no image and none of `in_use` needs.
    fn collect_layers(&self, in_use: &[String]);
}

/// The engine's seams. `rootfs: None` means the image service's own snapshotter (it
/// exists only once the engine opened its metadata store).
#[derive(Clone)]
pub struct EngineDeps {
    pub shims: Arc<dyn Shims>,
    pub cgroups: Arc<dyn Cgroups>,
    pub network: Arc<dyn Network>,
    pub rootfs: Option<Arc<dyn Rootfs>>,
}

impl EngineDeps {
    /// The real implementations: `berth-shim` processes, the host's cgroups, netlink, and
    /// the snapshotter.
    pub fn real(config: &crate::EngineConfig) -> Self {
        let layout = berth_cgroups::detect();
        Self {
            shims: Arc::new(real::ShimProcesses::new(config)),
            cgroups: Arc::new(real::HostCgroups::new(layout)),
            network: Arc::new(real::HostNetwork),
            rootfs: None,
        }
    }
}
