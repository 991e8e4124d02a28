//! `POST /containers/{id}/update` (`docker update`): new limits and restart policy, checked
//! as dockerd checks them, written to a running container's cgroup at once and kept in its
//! record for the next start.

use super::create::validate_restart_policy;
use crate::error::{EngineError, ErrorKind, Result};
use crate::Engine;
use berth_api::container::{ContainerUpdateRequest, HostConfig};
use berth_cgroups::limits::{self, Limits};
use std::sync::Arc;

/// Docker refuses memory limits below 6 MiB.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// The CFS period `--cpus` implies, in µs.
const CFS_PERIOD: i64 = 100_000;

impl Engine {
    /// Returns dockerd's warnings (e.g. a block I/O weight the kernel cannot apply).
    pub async fn update_container(
        self: &Arc<Self>,
        name: &str,
        mut req: ContainerUpdateRequest,
    ) -> Result<Vec<String>> {
        let c = self.container(name)?;
        let _op = c.op.lock().await;
        let rec = c.snapshot();
        if rec.state.dead || rec.state.status == "removing" {
            return Err(EngineError::conflict(
                "Container is marked for removal and cannot be \"update\".",
            ));
        }
        let mut warnings = Vec::new();
        if req.blkio_weight != 0 && !limits::supports_blkio_weight(&self.cgroup_layout) {
            warnings.push(
                "Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded."
                    .to_string(),
            );
            req.blkio_weight = 0;
        }
        check_resources(&req, self.host_info.cpus)?;
        let mut host = rec.host_config.clone();
        merge(&mut host, &req).map_err(|e| cannot_update(&rec.id, e))?;

        // A paused container is running; one waiting to restart gets the limits at its start.
        if rec.state.running && !rec.state.restarting {
            let changes = live_limits(&req, &host);
            let (layout, path) = (self.cgroup_layout.clone(), self.cgroup_path(&rec.id));
            tokio::task::spawn_blocking(move || limits::apply(&layout, &path, &changes))
                .await
                .map_err(|e| EngineError::internal(e.to_string()))?
                .map_err(|e| cannot_update(&rec.id, EngineError::internal(e.to_string())))?;
        }
        let rec = c.update(|r| r.host_config = host);
        self.persist(&rec)?;
        self.container_event(&rec, "update", &[]);
        Ok(warnings)
    }
}

/// dockerd's `errCannotUpdate`: its class stays the cause's.
fn cannot_update(id: &str, e: EngineError) -> EngineError {
    EngineError::new(
        e.kind,
        format!("Cannot update container {id}: {}", e.message),
    )
}

/// dockerd's checks of the request alone (`verifyPlatformContainerResources` for an update).
fn check_resources(r: &ContainerUpdateRequest, cpus: usize) -> Result<()> {
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return Err(EngineError::invalid("Minimum memory limit allowed is 6MB"));
    }
    if r.memory > 0 && r.memory_swap > 0 && r.memory_swap < r.memory {
        return Err(EngineError::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return Err(EngineError::invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ));
    }
    let max_nano = i64::try_from(cpus)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000);
    if r.nano_cpus < 0 || r.nano_cpus > max_nano {
        return Err(EngineError::invalid(format!(
            "Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
        )));
    }
    if r.blkio_weight != 0 && !(10..=1000).contains(&r.blkio_weight) {
        return Err(EngineError::invalid(
            "Range of blkio weight is from 10 to 1000",
        ));
    }
    if let Some(p) = &r.restart_policy {
        let mut p = p.clone();
        if !p.name.is_empty() {
            validate_restart_policy(&mut p)?;
        }
    }
    Ok(())
}

/// moby's `container.UpdateContainer`: the request over the stored config, with its conflicts.
fn merge(host: &mut HostConfig, r: &ContainerUpdateRequest) -> Result<()> {
    let conflict = |m: &str| Err(EngineError::new(ErrorKind::Conflict, m));
    // --cpus sets the CFS period and quota: one or the other, never both.
    if r.nano_cpus > 0 && host.cpu_period > 0 {
        return conflict(
            "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set",
        );
    }
    if r.nano_cpus > 0 && host.cpu_quota > 0 {
        return conflict(
            "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set",
        );
    }
    if r.cpu_period > 0 && host.nano_cpus > 0 {
        return conflict(
            "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set",
        );
    }
    if r.cpu_quota > 0 && host.nano_cpus > 0 {
        return conflict(
            "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set",
        );
    }
    if r.memory != 0 {
        if host.memory_swap > 0 && r.memory > host.memory_swap && r.memory_swap == 0 {
            return conflict("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time");
        }
        host.memory = r.memory;
    }
    if r.memory_swap != 0 {
        host.memory_swap = r.memory_swap;
    }
    if r.memory_reservation != 0 {
        host.memory_reservation = r.memory_reservation;
    }
    if r.blkio_weight != 0 {
        host.blkio_weight = r.blkio_weight;
    }
    if r.cpu_shares != 0 {
        host.cpu_shares = r.cpu_shares;
    }
    if r.nano_cpus != 0 {
        host.nano_cpus = r.nano_cpus;
    }
    if r.cpu_period != 0 {
        host.cpu_period = r.cpu_period;
    }
    if r.cpu_quota != 0 {
        host.cpu_quota = r.cpu_quota;
    }
    if !r.cpuset_cpus.is_empty() {
        host.cpuset_cpus = r.cpuset_cpus.clone();
    }
    if !r.cpuset_mems.is_empty() {
        host.cpuset_mems = r.cpuset_mems.clone();
    }
    if let Some(pids) = r.pids_limit {
        // 0 and -1 both mean unlimited; dockerd keeps it unset.
        host.pids_limit = (pids > 0).then_some(pids);
    }
    if let Some(policy) = r.restart_policy.as_ref().filter(|p| !p.name.is_empty()) {
        let mut policy = policy.clone();
        validate_restart_policy(&mut policy)?;
        if host.auto_remove && policy.name != "no" {
            return conflict(
                "Restart policy cannot be updated because AutoRemove is enabled for the container",
            );
        }
        host.restart_policy = Some(policy);
    }
    Ok(())
}

/// The cgroup writes for what the request changed, in the runtime's units.
fn live_limits(r: &ContainerUpdateRequest, merged: &HostConfig) -> Limits {
    let set = |v: i64| (v != 0).then_some(v);
    let (cpu_quota, cpu_period) = if r.nano_cpus > 0 {
        (
            Some(r.nano_cpus * CFS_PERIOD / 1_000_000_000),
            Some(CFS_PERIOD as u64),
        )
    } else {
        (set(r.cpu_quota), set(r.cpu_period).map(|p| p as u64))
    };
    Limits {
        memory: set(r.memory),
        // A new memory limit without a swap limit keeps dockerd's ratio of the stored config.
        memory_swap: set(r.memory_swap).or_else(|| set(r.memory).and(set(merged.memory_swap))),
        memory_reservation: set(r.memory_reservation),
        cpu_quota,
        cpu_period,
        cpu_shares: set(r.cpu_shares).map(|s| s as u64),
        cpuset_cpus: Some(r.cpuset_cpus.clone()).filter(|s| !s.is_empty()),
        cpuset_mems: Some(r.cpuset_mems.clone()).filter(|s| !s.is_empty()),
        pids: r.pids_limit.map(|p| if p > 0 { p } else { -1 }),
        blkio_weight: (r.blkio_weight != 0).then_some(r.blkio_weight),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> ContainerUpdateRequest {
        ContainerUpdateRequest::default()
    }

    #[test]
    fn cpus_and_cfs_values_exclude_each_other() {
        let mut host = HostConfig {
            nano_cpus: 1_000_000_000,
            ..HostConfig::default()
        };
        let e = merge(
            &mut host,
            &ContainerUpdateRequest {
                cpu_quota: 5000,
                ..req()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert!(e
            .message
            .contains("CPU Quota cannot be updated as NanoCPUs"));
        merge(
            &mut host,
            &ContainerUpdateRequest {
                nano_cpus: 500_000_000,
                ..req()
            },
        )
        .unwrap();
        assert_eq!(host.nano_cpus, 500_000_000);
    }

    #[test]
    fn memory_above_the_stored_swap_needs_a_swap_too() {
        let mut host = HostConfig {
            memory: 64 << 20,
            memory_swap: 128 << 20,
            ..HostConfig::default()
        };
        let grow = ContainerUpdateRequest {
            memory: 256 << 20,
            ..req()
        };
        let e = merge(&mut host.clone(), &grow).unwrap_err();
        assert!(e.message.starts_with("Memory limit should be smaller"));
        let with_swap = ContainerUpdateRequest {
            memory_swap: 512 << 20,
            ..grow
        };
        merge(&mut host, &with_swap).unwrap();
        assert_eq!((host.memory, host.memory_swap), (256 << 20, 512 << 20));
    }

    #[test]
    fn requests_are_checked_like_dockerd() {
        let small = ContainerUpdateRequest {
            memory: 1 << 20,
            ..req()
        };
        assert!(check_resources(&small, 2).is_err());
        let swap = ContainerUpdateRequest {
            memory: 64 << 20,
            memory_swap: 32 << 20,
            ..req()
        };
        assert!(check_resources(&swap, 2).is_err());
        let cpus = ContainerUpdateRequest {
            nano_cpus: 3_000_000_000,
            ..req()
        };
        let e = check_resources(&cpus, 2).unwrap_err();
        assert_eq!(
            e.message,
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        let mut policy = berth_api::container::RestartPolicy {
            name: "always".into(),
            maximum_retry_count: 3,
        };
        let bad = ContainerUpdateRequest {
            restart_policy: Some(policy.clone()),
            ..req()
        };
        assert!(check_resources(&bad, 2).is_err());
        policy.maximum_retry_count = 0;
        let mut host = HostConfig {
            auto_remove: true,
            ..HostConfig::default()
        };
        let e = merge(
            &mut host,
            &ContainerUpdateRequest {
                restart_policy: Some(policy),
                ..req()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Conflict);
    }

    #[test]
    fn cpus_become_a_quota_over_dockers_period() {
        let r = ContainerUpdateRequest {
            nano_cpus: 1_500_000_000,
            pids_limit: Some(0),
            ..req()
        };
        let l = live_limits(&r, &HostConfig::default());
        assert_eq!((l.cpu_quota, l.cpu_period), (Some(150_000), Some(100_000)));
        assert_eq!(l.pids, Some(-1));
        assert_eq!(l.memory, None);
    }
}
