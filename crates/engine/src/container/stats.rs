//! `GET /containers/{id}/stats`: cgroup samples in Docker's stats shape, once or every second.

use crate::error::{EngineError, Result};
use crate::Engine;
use berth_cgroups as cgroups;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

const INTERVAL: Duration = Duration::from_secs(1);

impl Engine {
    /// A channel of stats objects: one (after one interval, so CPU % can be computed, unless
    /// `one_shot`) or one per second while the container runs and the receiver listens.
    pub fn stats(
        self: &Arc<Self>,
        name: &str,
        stream: bool,
        one_shot: bool,
    ) -> Result<mpsc::Receiver<Value>> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        let (tx, rx) = mpsc::channel(4);
        let engine = self.clone();
        tokio::spawn(async move {
            let path = engine.cgroup_path(&rec.id);
            let mut prev: Option<(Value, String)> = None;
            if !stream && !one_shot && c.snapshot().state.running {
                prev = engine.sample(&path);
                tokio::time::sleep(INTERVAL).await;
            }
            loop {
                let running = c.snapshot().state.running;
                let cur = if running { engine.sample(&path) } else { None };
                let (cur_stats, read) = cur
                    .clone()
                    .unwrap_or((json!({}), crate::container::now_rfc3339()));
                let mut v = json!({
                    "read": read,
                    "preread": prev.as_ref().map_or(berth_api::container::ZERO_TIME.to_string(), |p| p.1.clone()),
                    "name": format!("/{}", c.snapshot().name),
                    "id": rec.id,
                    "num_procs": 0,
                    "storage_stats": {},
                });
                merge(&mut v, &cur_stats);
                v["precpu_stats"] = prev
                    .as_ref()
                    .and_then(|p| p.0.get("cpu_stats").cloned())
                    .unwrap_or_else(|| json!({"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0}, "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}));
                if tx.send(v).await.is_err() || !stream || !running {
                    return;
                }
                prev = cur;
                tokio::time::sleep(INTERVAL).await;
            }
        });
        Ok(rx)
    }

    fn sample(&self, path: &str) -> Option<(Value, String)> {
        let s = cgroups::stats(&self.cgroup_layout, path)
            .map_err(|e| EngineError::internal(e.to_string()))
            .ok()?;
        Some((
            serde_json::to_value(&s).ok()?,
            crate::container::now_rfc3339(),
        ))
    }
}

fn merge(into: &mut Value, from: &Value) {
    if let (Some(dst), Some(src)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in src {
            dst.insert(k.clone(), v.clone());
        }
    }
}
