//! Starting early the wait that moving a process between cgroups begins with.
//!
//! The kernel guards cgroup migrations with a per-cpu rwsem whose writer first waits for an
//! RCU grace period (5–15 ms on this kind of host), unless another writer used it within the
//! last grace period. Every container start moves the container's init into its cgroups, so
//! that wait sits on the start path. Moving the daemon into the cgroup it already belongs to
//! changes nothing, but begins the grace period while the daemon still mounts the rootfs and
//! the shim starts; the OCI runtime's own move then mostly finds the semaphore ready.

use super::{read, write, CgroupError, CgroupLayout};
use std::path::{Path, PathBuf};

/// A no-op migration of the calling process; blocks for one grace period.
pub fn begin_grace_period(layout: &CgroupLayout) -> Result<(), CgroupError> {
    let own = read(Path::new("/proc/self/cgroup"))?;
    let procs = own_procs_file(layout, &own)?;
    write(&procs, &std::process::id().to_string())
}

/// The `cgroup.procs` of the cgroup the process is in, in one hierarchy (`pids` on v1, any
/// hierarchy serves: they share the semaphore).
fn own_procs_file(layout: &CgroupLayout, proc_self_cgroup: &str) -> Result<PathBuf, CgroupError> {
    let v1 = layout.is_v1_stats();
    for line in proc_self_cgroup.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let dir = if v1 {
            if !controllers.split(',').any(|c| c == "pids") {
                continue;
            }
            layout.controller_path("pids", path)?
        } else if controllers.is_empty() {
            layout.unified_dir(path)?
        } else {
            continue;
        };
        return Ok(dir.join("cgroup.procs"));
    }
    Err(CgroupError::Parse {
        path: PathBuf::from("/proc/self/cgroup"),
        what: "the process's own cgroup".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "12:pids:/user.slice/x\n11:cpu,cpuacct:/user.slice\n0::/user.slice/x\n";

    #[test]
    fn finds_the_own_cgroup_in_pids_on_v1_and_hybrid() {
        let got = own_procs_file(&CgroupLayout::hybrid("/cg"), HYBRID).unwrap();
        assert_eq!(got, PathBuf::from("/cg/pids/user.slice/x/cgroup.procs"));
    }

    #[test]
    fn finds_the_own_cgroup_in_the_unified_tree_on_v2() {
        let got = own_procs_file(
            &CgroupLayout::v2("/cg"),
            "0::/system.slice/berthd.service\n",
        )
        .unwrap();
        assert_eq!(
            got,
            PathBuf::from("/cg/system.slice/berthd.service/cgroup.procs")
        );
    }

    #[test]
    fn refuses_a_file_without_the_hierarchy() {
        assert!(own_procs_file(&CgroupLayout::v1("/cg"), "3:memory:/\n").is_err());
        assert!(own_procs_file(&CgroupLayout::v2("/cg"), "0::/../../etc\n").is_err());
    }
}
