//! `docker update`'s request, in the engine's types: zero (or `None`) leaves a value as it is.

use super::RestartPolicy;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceUpdate {
    pub cpu_shares: i64,
    pub memory: i64,
    pub nano_cpus: i64,
    pub blkio_weight: u16,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub memory_reservation: i64,
    pub memory_swap: i64,
    pub pids_limit: Option<i64>,
    /// Checked when the request was read (dockerd's messages).
    pub restart_policy: Option<RestartPolicy>,
}
