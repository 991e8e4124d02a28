//! `GET /containers/{id}/stats`: cgroup samples, once or every second.

use crate::error::Result;
use crate::Engine;
use berth_cgroups as cgroups;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub use berth_cgroups::{CpuStats as CgroupCpuStats, Stats as CgroupStats};

const INTERVAL: Duration = Duration::from_secs(1);

/// One sample of a container's statistics (the daemon shapes Docker's answer from it).
#[derive(Debug, Clone)]
pub struct StatsSample {
    /// RFC 3339: when `current` was read.
    pub read: String,
    /// RFC 3339: when `previous` was read (Go's zero time for none).
    pub preread: String,
    /// Without the leading `/`.
    pub name: String,
    pub id: String,
    /// None once the container does not run.
    pub current: Option<CgroupStats>,
    /// The CPU figures of the sample before, for CPU %.
    pub previous_cpu: Option<CgroupCpuStats>,
}

impl Engine {
    /// A channel of samples: one (after one interval, so CPU % can be computed, unless
    /// `one_shot`) or one per second while the container runs and the receiver listens.
    pub fn stats(
        self: &Arc<Self>,
        name: &str,
        stream: bool,
        one_shot: bool,
    ) -> Result<mpsc::Receiver<StatsSample>> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        let (tx, rx) = mpsc::channel(4);
        let engine = self.clone();
        tokio::spawn(async move {
            let path = engine.cgroup_path(&rec.id);
            let mut prev: Option<(CgroupStats, String)> = None;
            if !stream && !one_shot && c.snapshot().state.is_running() {
                prev = engine.sample(&path);
                tokio::time::sleep(INTERVAL).await;
            }
            loop {
                let running = c.snapshot().state.is_running();
                let cur = if running { engine.sample(&path) } else { None };
                let sample = StatsSample {
                    read: cur
                        .as_ref()
                        .map_or_else(crate::container::now_rfc3339, |c| c.1.clone()),
                    preread: prev.as_ref().map_or_else(
                        || crate::model::state::ZERO_TIME.to_string(),
                        |p| p.1.clone(),
                    ),
                    name: c.snapshot().name,
                    id: rec.id.clone(),
                    current: cur.as_ref().map(|c| c.0.clone()),
                    previous_cpu: prev.as_ref().map(|p| p.0.cpu_stats.clone()),
                };
                if tx.send(sample).await.is_err() || !stream || !running {
                    return;
                }
                prev = cur;
                tokio::time::sleep(INTERVAL).await;
            }
        });
        Ok(rx)
    }

    fn sample(&self, path: &str) -> Option<(CgroupStats, String)> {
        let s = cgroups::stats(&self.cgroup_layout, path).ok()?;
        Some((s, crate::container::now_rfc3339()))
    }
}
