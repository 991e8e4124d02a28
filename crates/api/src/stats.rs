//! `GET /containers/{id}/stats`: moby's `container.StatsResponse` (snake_case keys; Go's
//! `omitempty` drops zero numbers, nil lists are `null`).

use crate::nullable::{is_empty, zero};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// CFS throttling counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ThrottlingData {
    #[serde(deserialize_with = "zero")]
    pub periods: u64,
    #[serde(deserialize_with = "zero")]
    pub throttled_periods: u64,
    #[serde(deserialize_with = "zero")]
    pub throttled_time: u64,
}

/// CPU time used, ns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuUsage {
    #[serde(deserialize_with = "zero")]
    pub total_usage: u64,
    #[serde(skip_serializing_if = "is_empty")]
    pub percpu_usage: Option<Vec<u64>>,
    #[serde(deserialize_with = "zero")]
    pub usage_in_kernelmode: u64,
    #[serde(deserialize_with = "zero")]
    pub usage_in_usermode: u64,
}

/// `cpu_stats` and `precpu_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuStats {
    #[serde(deserialize_with = "zero")]
    pub cpu_usage: CpuUsage,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub system_cpu_usage: u64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub online_cpus: u32,
    #[serde(deserialize_with = "zero")]
    pub throttling_data: ThrottlingData,
}

/// `memory_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub usage: u64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub max_usage: u64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub stats: BTreeMap<String, u64>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub failcnt: u64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub limit: u64,
    #[serde(
        rename = "commitbytes",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub commit: u64,
    #[serde(
        rename = "commitpeakbytes",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub commit_peak: u64,
    #[serde(
        rename = "privateworkingset",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub private_working_set: u64,
}

/// `pids_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PidsStats {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub current: u64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub limit: u64,
}

/// One block I/O counter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStatEntry {
    #[serde(deserialize_with = "zero")]
    pub major: u64,
    #[serde(deserialize_with = "zero")]
    pub minor: u64,
    /// "Read", "Write", "Total"... (v1) or "read", "write" (v2).
    #[serde(deserialize_with = "zero")]
    pub op: String,
    #[serde(deserialize_with = "zero")]
    pub value: u64,
}

/// `blkio_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BlkioStats {
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

/// `storage_stats` (Windows).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StorageStats {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub read_count_normalized: u64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub read_size_bytes: u64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub write_count_normalized: u64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub write_size_bytes: u64,
}

/// One network interface's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkStats {
    #[serde(deserialize_with = "zero")]
    pub rx_bytes: u64,
    #[serde(deserialize_with = "zero")]
    pub rx_packets: u64,
    #[serde(deserialize_with = "zero")]
    pub rx_errors: u64,
    #[serde(deserialize_with = "zero")]
    pub rx_dropped: u64,
    #[serde(deserialize_with = "zero")]
    pub tx_bytes: u64,
    #[serde(deserialize_with = "zero")]
    pub tx_packets: u64,
    #[serde(deserialize_with = "zero")]
    pub tx_errors: u64,
    #[serde(deserialize_with = "zero")]
    pub tx_dropped: u64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub endpoint_id: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub instance_id: String,
}

/// One stats sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatsResponse {
    #[serde(deserialize_with = "zero")]
    pub read: String,
    #[serde(deserialize_with = "zero")]
    pub preread: String,
    #[serde(deserialize_with = "zero")]
    pub pids_stats: PidsStats,
    #[serde(deserialize_with = "zero")]
    pub blkio_stats: BlkioStats,
    #[serde(deserialize_with = "zero")]
    pub num_procs: u32,
    #[serde(deserialize_with = "zero")]
    pub storage_stats: StorageStats,
    #[serde(deserialize_with = "zero")]
    pub cpu_stats: CpuStats,
    #[serde(deserialize_with = "zero")]
    pub precpu_stats: CpuStats,
    #[serde(deserialize_with = "zero")]
    pub memory_stats: MemoryStats,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub name: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub id: String,
    #[serde(skip_serializing_if = "is_empty")]
    pub networks: Option<BTreeMap<String, NetworkStats>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_numbers_are_left_out() {
        let s = StatsResponse::default();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["memory_stats"], serde_json::json!({}));
        assert_eq!(v["pids_stats"], serde_json::json!({}));
        assert_eq!(
            v["blkio_stats"]["io_service_bytes_recursive"],
            serde_json::Value::Null
        );
        assert!(v.get("networks").is_none());
        assert!(v["cpu_stats"].get("system_cpu_usage").is_none());
    }
}
