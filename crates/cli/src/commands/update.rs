//! `berth update [OPTIONS] CONTAINER...`: new limits and restart policy for each container,
//! its name printed on success, dockerd's warnings after.

use anyhow::{bail, Result};
use berth_api::container::ContainerUpdateRequest;
use berth_client::Client;
use clap::Args;

use super::container_opts::{parse_bytes, parse_nano_cpus, parse_restart, parse_swap};
use super::finish;

#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long = "blkio-weight", value_name = "uint16")]
    pub blkio_weight: Option<u16>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long = "cpu-period", value_name = "int")]
    pub cpu_period: Option<i64>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long = "cpu-quota", value_name = "int", allow_negative_numbers = true)]
    pub cpu_quota: Option<i64>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares", value_name = "int")]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long = "cpus", value_name = "decimal", value_parser = parse_nano_cpus)]
    pub cpus: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-mems", value_name = "string")]
    pub cpuset_mems: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long = "memory", value_name = "bytes", value_parser = parse_bytes)]
    pub memory: Option<i64>,
    /// Memory soft limit
    #[arg(long = "memory-reservation", value_name = "bytes", value_parser = parse_bytes)]
    pub memory_reservation: Option<i64>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", value_parser = parse_swap, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Restart policy to apply when a container exits
    #[arg(long = "restart", value_name = "string")]
    pub restart: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

impl UpdateArgs {
    fn request(&self) -> Result<ContainerUpdateRequest> {
        let any = self.blkio_weight.is_some()
            || self.cpu_period.is_some()
            || self.cpu_quota.is_some()
            || self.cpu_shares.is_some()
            || self.cpus.is_some()
            || self.cpuset_cpus.is_some()
            || self.cpuset_mems.is_some()
            || self.memory.is_some()
            || self.memory_reservation.is_some()
            || self.memory_swap.is_some()
            || self.pids_limit.is_some()
            || self.restart.is_some();
        if !any {
            bail!("you must provide one or more flags when using this command");
        }
        Ok(ContainerUpdateRequest {
            blkio_weight: self.blkio_weight.unwrap_or(0),
            cpu_period: self.cpu_period.unwrap_or(0),
            cpu_quota: self.cpu_quota.unwrap_or(0),
            cpu_shares: self.cpu_shares.unwrap_or(0),
            nano_cpus: self.cpus.unwrap_or(0),
            cpuset_cpus: self.cpuset_cpus.clone().unwrap_or_default(),
            cpuset_mems: self.cpuset_mems.clone().unwrap_or_default(),
            memory: self.memory.unwrap_or(0),
            memory_reservation: self.memory_reservation.unwrap_or(0),
            memory_swap: self.memory_swap.unwrap_or(0),
            pids_limit: self.pids_limit,
            restart_policy: self.restart.as_deref().map(parse_restart).transpose()?,
            ..ContainerUpdateRequest::default()
        })
    }
}

pub async fn run(client: &Client, a: UpdateArgs) -> Result<i32> {
    let body = a.request()?;
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for c in &a.containers {
        match client.container_update(c, &body).await {
            Ok(r) => {
                outln!("{c}");
                warnings.extend(r.warnings);
            }
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !warnings.is_empty() {
        outln!("{}", warnings.join("\n"));
    }
    finish(errors)
}
