//! The container's cgroup as the shim needs it: its OOM-kill counter and its processes, on a
//! v1, v2 or hybrid host (found by berth-cgroups).

use berth_cgroups::CgroupLayout;

#[derive(Debug, Clone)]
pub struct Cgroup {
    layout: CgroupLayout,
    /// The spec's `linux.cgroupsPath` (cgroupfs style, e.g. `/berth/<id>`).
    path: String,
}

impl Cgroup {
    /// `cgroups_path` is the spec's `linux.cgroupsPath`; the host's hierarchies are read from
    /// the shim's mountinfo.
    pub fn new(cgroups_path: &str) -> Self {
        Self {
            layout: berth_cgroups::detect(),
            path: cgroups_path.to_string(),
        }
    }

    /// Whether the kernel OOM killer killed a process of this cgroup.
    pub fn oom_killed(&self) -> bool {
        berth_cgroups::oom_killed(&self.layout, &self.path)
    }

    /// Whether the container is paused (its cgroup frozen); false when it cannot be read.
    pub fn frozen(&self) -> bool {
        berth_cgroups::is_frozen(&self.layout, &self.path).unwrap_or(false)
    }

    /// Pids of every process in the cgroup; none when it cannot be read.
    pub fn procs(&self) -> Vec<i32> {
        berth_cgroups::pids(&self.layout, &self.path).unwrap_or_default()
    }
}

/// Reads `linux.cgroupsPath` from a bundle's config.json.
pub fn cgroups_path_of(spec: &serde_json::Value) -> Option<String> {
    spec.pointer("/linux/cgroupsPath")?
        .as_str()
        .map(String::from)
}
