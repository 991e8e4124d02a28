//! `docker stats` samples.

use berth_api::stats as api;
use berth_engine::container::stats::StatsSample;

/// The cgroup figures carry Docker's names (`berth-cgroups` writes them so): they are read
/// as the API's types through their JSON.
fn through_json<T: serde::de::DeserializeOwned + Default>(v: &impl serde::Serialize) -> T {
    serde_json::to_value(v)
        .and_then(serde_json::from_value)
        .unwrap_or_default()
}

pub fn sample(s: StatsSample) -> api::StatsResponse {
    let mut out = api::StatsResponse {
        read: s.read,
        preread: s.preread,
        name: format!("/{}", s.name),
        id: s.id,
        ..Default::default()
    };
    if let Some(cur) = &s.current {
        out.cpu_stats = through_json(&cur.cpu_stats);
        out.memory_stats = through_json(&cur.memory_stats);
        out.pids_stats = through_json(&cur.pids_stats);
        out.blkio_stats = through_json(&cur.blkio_stats);
    }
    if let Some(prev) = &s.previous_cpu {
        out.precpu_stats = through_json(prev);
    }
    out
}
