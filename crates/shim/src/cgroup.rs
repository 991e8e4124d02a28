//! Just enough cgroup knowledge for the shim: find the container's cgroup on a v1, v2 or
//! hybrid host, read its OOM-kill counter and list its processes.

use std::path::PathBuf;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Cgroup {
    /// Mount point of the unified (v2) hierarchy, if any.
    v2_mount: Option<PathBuf>,
    /// v1 hierarchies: (controllers, mount point).
    v1_mounts: Vec<(Vec<String>, PathBuf)>,
    /// The container's cgroup path relative to each hierarchy root.
    rel: PathBuf,
}

impl Cgroup {
    /// `cgroups_path` is the spec's `linux.cgroupsPath` (cgroupfs style, e.g. `/berth/<id>`).
    pub fn new(cgroups_path: &str) -> Self {
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        Self::from_mountinfo(&mountinfo, cgroups_path)
    }

    fn from_mountinfo(mountinfo: &str, cgroups_path: &str) -> Self {
        let mut cg = Cgroup {
            rel: PathBuf::from(cgroups_path.trim_start_matches('/')),
            ..Default::default()
        };
        for line in mountinfo.lines() {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            let Some(mount_point) = pre.split(' ').nth(4) else {
                continue;
            };
            let mut post = post.split(' ');
            let fstype = post.next().unwrap_or("");
            let super_opts = post.nth(1).unwrap_or("");
            match fstype {
                "cgroup2" if cg.v2_mount.is_none() => {
                    cg.v2_mount = Some(PathBuf::from(mount_point));
                }
                "cgroup" => {
                    let ctrls = super_opts
                        .split(',')
                        .filter(|o| {
                            !o.contains('=')
                                && !matches!(
                                    *o,
                                    "rw" | "ro"
                                        | "xattr"
                                        | "noprefix"
                                        | "clone_children"
                                        | "cpuset_v2_mode"
                                )
                        })
                        .map(String::from)
                        .collect();
                    cg.v1_mounts.push((ctrls, PathBuf::from(mount_point)));
                }
                _ => {}
            }
        }
        cg
    }

    fn v2_dir(&self) -> Option<PathBuf> {
        let dir = self.v2_mount.as_ref()?.join(&self.rel);
        // On a hybrid host the unified tree usually holds no cgroup for the container.
        dir.join("cgroup.procs").exists().then_some(dir)
    }

    fn v1_dir(&self, controller: &str) -> Option<PathBuf> {
        self.v1_mounts
            .iter()
            .find(|(ctrls, _)| ctrls.iter().any(|c| c == controller))
            .map(|(_, mount)| mount.join(&self.rel))
            .filter(|d| d.exists())
    }

    /// Whether the kernel OOM killer killed a process of this cgroup.
    pub fn oom_killed(&self) -> bool {
        let count = |path: PathBuf| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|t| parse_oom_kill(&t))
        };
        if let Some(n) = self.v2_dir().and_then(|d| count(d.join("memory.events"))) {
            return n > 0;
        }
        if let Some(n) = self
            .v1_dir("memory")
            .and_then(|d| count(d.join("memory.oom_control")))
        {
            return n > 0;
        }
        false
    }

    /// Pids of every process in the cgroup.
    pub fn procs(&self) -> Vec<i32> {
        let dir = self.v2_dir().or_else(|| {
            ["pids", "memory", "freezer", "cpu", "devices"]
                .iter()
                .find_map(|c| self.v1_dir(c))
        });
        dir.and_then(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
            .map(|t| parse_procs(&t))
            .unwrap_or_default()
    }
}

/// The `oom_kill N` field of cgroup v2 `memory.events` or v1 `memory.oom_control`.
pub fn parse_oom_kill(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == "oom_kill").then(|| v.trim().parse().ok())?
    })
}

fn parse_procs(text: &str) -> Vec<i32> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Reads `linux.cgroupsPath` from a bundle's config.json.
pub fn cgroups_path_of(spec: &serde_json::Value) -> Option<String> {
    spec.pointer("/linux/cgroupsPath")?
        .as_str()
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 30 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
28 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
29 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
30 25 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
";

    #[test]
    fn mountinfo_hybrid() {
        let cg = Cgroup::from_mountinfo(HYBRID, "/berth/abc");
        assert_eq!(cg.v2_mount, Some(PathBuf::from("/sys/fs/cgroup/unified")));
        assert_eq!(cg.rel, PathBuf::from("berth/abc"));
        assert_eq!(cg.v1_mounts.len(), 3);
        assert_eq!(cg.v1_mounts[0].0, vec!["memory".to_string()]);
        assert_eq!(
            cg.v1_mounts[1].0,
            vec!["cpu".to_string(), "cpuacct".to_string()]
        );
        assert!(cg.v1_mounts[2].0.is_empty());
    }

    #[test]
    fn oom_fields() {
        let v2 = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(parse_oom_kill(v2), Some(1));
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n";
        assert_eq!(parse_oom_kill(v1), Some(0));
        assert_eq!(parse_oom_kill("oom 3\n"), None);
    }

    #[test]
    fn procs_list() {
        assert_eq!(parse_procs("1\n23\n\n"), vec![1, 23]);
    }
}
