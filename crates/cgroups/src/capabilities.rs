//! Which resource limits this host's cgroups can enforce, as `docker info` reports them
//! (moby's `pkg/sysinfo`): from the controllers a v2 root offers, or the files v1
//! controllers have.

use crate::CgroupLayout;
use std::path::Path;

/// The limits the host's cgroups support.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    pub memory_limit: bool,
    pub swap_limit: bool,
    pub kernel_memory: bool,
    pub oom_kill_disable: bool,
    pub cpu_cfs_period: bool,
    pub cpu_cfs_quota: bool,
    pub cpu_shares: bool,
    pub cpuset: bool,
    pub pids_limit: bool,
}

/// Reads the capabilities of `layout`'s hierarchies.
pub fn capabilities(layout: &CgroupLayout) -> Capabilities {
    match layout {
        CgroupLayout::V2 { root } => v2(root),
        CgroupLayout::V1 { .. } | CgroupLayout::Hybrid { .. } => v1(layout),
    }
}

/// v2: what the root's `cgroup.controllers` offers. As moby: swap with memory, no kernel
/// memory and no OOM-kill disabling (cgroup v2 has neither).
fn v2(root: &Path) -> Capabilities {
    let controllers = std::fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
    let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
    let memory = has("memory");
    let cpu = has("cpu");
    Capabilities {
        memory_limit: memory,
        swap_limit: memory,
        kernel_memory: false,
        oom_kill_disable: false,
        cpu_cfs_period: cpu,
        cpu_cfs_quota: cpu,
        cpu_shares: cpu,
        cpuset: has("cpuset"),
        pids_limit: has("pids"),
    }
}

/// v1: a limit is supported when its controller is mounted and has the limit's file.
fn v1(layout: &CgroupLayout) -> Capabilities {
    let file = |controller: &str, name: &str| {
        layout
            .controller_dir(controller)
            .is_some_and(|d| d.join(name).exists())
    };
    let mounted = |controller: &str| {
        layout
            .controller_dir(controller)
            .is_some_and(|d| d.is_dir())
    };
    Capabilities {
        memory_limit: file("memory", "memory.limit_in_bytes"),
        swap_limit: file("memory", "memory.memsw.limit_in_bytes"),
        kernel_memory: file("memory", "memory.kmem.limit_in_bytes"),
        oom_kill_disable: file("memory", "memory.oom_control"),
        cpu_cfs_period: file("cpu", "cpu.cfs_period_us"),
        cpu_cfs_quota: file("cpu", "cpu.cfs_quota_us"),
        cpu_shares: file("cpu", "cpu.shares"),
        cpuset: mounted("cpuset"),
        pids_limit: mounted("pids"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn v2_reads_the_root_controllers() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("cgroup.controllers"),
            "cpuset cpu io memory\n",
        )
        .unwrap();
        let c = capabilities(&CgroupLayout::v2(dir.path()));
        assert!(c.memory_limit && c.swap_limit && c.cpu_shares && c.cpu_cfs_quota && c.cpuset);
        assert!(!c.pids_limit, "no pids controller");
        assert!(!c.kernel_memory && !c.oom_kill_disable);
    }

    #[test]
    fn v1_looks_for_each_limits_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("memory")).unwrap();
        fs::write(root.join("memory/memory.limit_in_bytes"), "").unwrap();
        fs::write(root.join("memory/memory.oom_control"), "").unwrap();
        fs::create_dir_all(root.join("cpu")).unwrap();
        fs::write(root.join("cpu/cpu.shares"), "").unwrap();
        fs::create_dir_all(root.join("pids")).unwrap();
        let c = capabilities(&CgroupLayout::v1(root));
        assert!(c.memory_limit && c.oom_kill_disable && c.cpu_shares && c.pids_limit);
        assert!(!c.swap_limit, "no memsw file: swap accounting off");
        assert!(!c.kernel_memory && !c.cpu_cfs_period && !c.cpu_cfs_quota && !c.cpuset);
    }
}
