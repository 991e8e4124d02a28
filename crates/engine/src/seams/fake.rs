//! In-memory fakes of the seams, for unit tests of the lifecycle without root or processes.
//! Each records the calls made to it, so tests can assert what the engine asked for.

use super::{Cgroups, Network, Rootfs, ShimLaunch, ShimProbe, Shims};
use crate::error::{EngineError, Result};
use berth_shim_protocol::ExitStatus;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One fake run: an init that exits when told to or when a signal it does not ignore comes.
struct Run {
    pid: i32,
    started: bool,
    exit: watch::Sender<Option<ExitStatus>>,
}

/// Fake shims, by state dir.
#[derive(Default)]
pub struct FakeShims {
    runs: Mutex<HashMap<PathBuf, Run>>,
    next_pid: AtomicI32,
    /// The init ignores SIGTERM (as a shell script without a trap does as PID 1).
    pub ignore_sigterm: AtomicBool,
    /// The next creates fail with this message.
    pub fail_create: Mutex<Option<String>>,
    /// `create`, `start`, `kill <n>`, `abort`, in order.
    pub calls: Mutex<Vec<String>>,
}

impl FakeShims {
    fn call(&self, what: String) {
        lock(&self.calls).push(what);
    }

    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }

    /// Init of the run in `state_dir` exits on its own with `code`.
    pub fn exit(&self, state_dir: &Path, code: i32) {
        if let Some(run) = lock(&self.runs).get(state_dir) {
            run.exit.send_replace(Some(status(code)));
        }
    }

    /// A run a previous daemon started, still alive (for recovery tests).
    pub fn adopt_running(&self, state_dir: &Path, pid: i32) {
        lock(&self.runs).insert(
            state_dir.to_path_buf(),
            Run {
                pid,
                started: true,
                exit: watch::channel(None).0,
            },
        );
    }

    pub fn is_running(&self, state_dir: &Path) -> bool {
        lock(&self.runs)
            .get(state_dir)
            .is_some_and(|r| r.started && r.exit.borrow().is_none())
    }
}

fn status(code: i32) -> ExitStatus {
    ExitStatus {
        exit_code: code,
        oom_killed: false,
        finished_at: crate::container::now_rfc3339(),
    }
}

impl Shims for FakeShims {
    fn create<'a>(&'a self, launch: &'a ShimLaunch) -> BoxFuture<'a, Result<i32>> {
        async move {
            self.call("create".into());
            if let Some(msg) = lock(&self.fail_create).clone() {
                return Err(EngineError::invalid(msg));
            }
            let pid = 1000 + self.next_pid.fetch_add(1, Ordering::SeqCst);
            lock(&self.runs).insert(
                launch.state_dir.clone(),
                Run {
                    pid,
                    started: false,
                    exit: watch::channel(None).0,
                },
            );
            Ok(pid)
        }
        .boxed()
    }

    fn start<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, Result<()>> {
        async move {
            self.call("start".into());
            match lock(&self.runs).get_mut(state_dir) {
                Some(run) => {
                    run.started = true;
                    Ok(())
                }
                None => Err(EngineError::internal("no such shim")),
            }
        }
        .boxed()
    }

    fn kill<'a>(&'a self, state_dir: &'a Path, signal: i32) -> BoxFuture<'a, Result<()>> {
        async move {
            self.call(format!("kill {signal}"));
            let runs = lock(&self.runs);
            let Some(run) = runs.get(state_dir).filter(|r| r.exit.borrow().is_none()) else {
                return Err(EngineError::internal("process already finished"));
            };
            if signal == libc::SIGTERM && self.ignore_sigterm.load(Ordering::SeqCst) {
                return Ok(());
            }
            run.exit.send_replace(Some(status(128 + signal)));
            Ok(())
        }
        .boxed()
    }

    fn wait<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, ExitStatus> {
        async move {
            let rx = lock(&self.runs).get(state_dir).map(|r| r.exit.subscribe());
            let Some(mut rx) = rx else {
                return status(255);
            };
            let st = match rx.wait_for(|e| e.is_some()).await {
                Ok(e) => e.clone().unwrap_or_else(|| status(255)),
                Err(_) => status(255),
            };
            // The shim is gone with its run.
            lock(&self.runs).remove(state_dir);
            st
        }
        .boxed()
    }

    fn health<'a>(
        &'a self,
        _state_dir: &'a Path,
        _from: Option<berth_shim_protocol::HealthStatus>,
    ) -> BoxFuture<'a, Option<berth_shim_protocol::Health>> {
        // The fake shims run no probes.
        async { None }.boxed()
    }

    fn probe<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, ShimProbe> {
        async move {
            match lock(&self.runs).get(state_dir) {
                Some(r) => match r.exit.borrow().clone() {
                    None => ShimProbe::Running { pid: r.pid },
                    Some(st) => ShimProbe::Exited(Some(st)),
                },
                None => ShimProbe::Gone,
            }
        }
        .boxed()
    }

    fn abort<'a>(&'a self, state_dir: &'a Path) -> BoxFuture<'a, ()> {
        async move {
            self.call("abort".into());
            lock(&self.runs).remove(state_dir);
        }
        .boxed()
    }
}

/// Fake cgroups: records `freeze`, `thaw`, `remove` and `kill_all` by path.
#[derive(Default)]
pub struct FakeCgroups {
    pub calls: Mutex<Vec<String>>,
}

impl FakeCgroups {
    pub fn calls(&self) -> Vec<String> {
        lock(&self.calls).clone()
    }
}

impl Cgroups for FakeCgroups {
    fn begin_grace_period(&self) {}
    fn freeze(&self, path: &str) -> Result<()> {
        lock(&self.calls).push(format!("freeze {path}"));
        Ok(())
    }
    fn thaw(&self, path: &str) -> Result<()> {
        lock(&self.calls).push(format!("thaw {path}"));
        Ok(())
    }
    fn remove(&self, path: &str) -> Result<()> {
        lock(&self.calls).push(format!("remove {path}"));
        Ok(())
    }
    fn kill_all(&self, path: &str) {
        lock(&self.calls).push(format!("kill_all {path}"));
    }
}

/// Fake network: counts the `lo` set-ups.
#[derive(Default)]
pub struct FakeNetwork {
    pub loopbacks: AtomicI32,
}

impl Network for FakeNetwork {
    fn loopback_up(&self, _pid: i32) -> Result<()> {
        self.loopbacks.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Fake rootfs: a plain directory at `<container_dir>/rootfs`, "mounted" while listed.
#[derive(Default)]
pub struct FakeRootfs {
    pub mounted: Mutex<Vec<PathBuf>>,
    pub removed: Mutex<Vec<String>>,
}

impl Rootfs for FakeRootfs {
    fn mount(&self, _id: &str, _layers: &[String], container_dir: &Path) -> Result<PathBuf> {
        let rootfs = container_dir.join("rootfs");
        std::fs::create_dir_all(&rootfs)?;
        lock(&self.mounted).push(rootfs.clone());
        Ok(rootfs)
    }
    fn unmount(&self, container_dir: &Path) -> Result<()> {
        let rootfs = container_dir.join("rootfs");
        lock(&self.mounted).retain(|m| *m != rootfs);
        Ok(())
    }
    fn remove(&self, id: &str, container_dir: &Path) -> Result<()> {
        self.unmount(container_dir)?;
        lock(&self.removed).push(id.to_string());
        Ok(())
    }
    fn collect_layers(&self, _in_use: &[String]) {}
}

/// All four fakes, and the [`super::EngineDeps`] that hands them to an engine.
#[derive(Default, Clone)]
pub struct Fakes {
    pub shims: Arc<FakeShims>,
    pub cgroups: Arc<FakeCgroups>,
    pub network: Arc<FakeNetwork>,
    pub rootfs: Arc<FakeRootfs>,
}

impl Fakes {
    pub fn deps(&self) -> super::EngineDeps {
        super::EngineDeps {
            shims: self.shims.clone(),
            cgroups: self.cgroups.clone(),
            network: self.network.clone(),
            rootfs: Some(self.rootfs.clone()),
        }
    }
}
