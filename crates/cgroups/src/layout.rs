//! Which cgroup hierarchies a host has and where they are mounted.

use crate::mountinfo::{self, Mount};
use crate::CgroupError;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The cgroup hierarchies of a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupLayout {
    /// Only v1 hierarchies, one per controller (or co-mounted group).
    V1 {
        /// Where the hierarchies live (normally /sys/fs/cgroup).
        root: PathBuf,
        /// Controller name ("memory", "cpuacct", ...) to its mount point.
        controllers: BTreeMap<String, PathBuf>,
    },
    /// The unified hierarchy only.
    V2 {
        /// Its mount point (normally /sys/fs/cgroup).
        root: PathBuf,
    },
    /// v1 controllers plus a controller-less cgroup2 (systemd's hybrid mode).
    /// Limits and statistics live in the v1 controllers.
    Hybrid {
        /// Where the v1 hierarchies live (normally /sys/fs/cgroup).
        root: PathBuf,
        /// Controller name to its mount point.
        controllers: BTreeMap<String, PathBuf>,
        /// The cgroup2 mount (normally /sys/fs/cgroup/unified).
        unified: PathBuf,
    },
}

/// Controllers assumed at `<root>/<name>` when a layout is built by hand.
const V1_CONTROLLERS: [&str; 12] = [
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
];

impl CgroupLayout {
    /// A v1 layout with each controller at `root/<controller>`.
    pub fn v1(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let controllers = V1_CONTROLLERS
            .iter()
            .map(|c| ((*c).to_string(), root.join(c)))
            .collect();
        CgroupLayout::V1 { root, controllers }
    }

    /// A v2 layout mounted at `root`.
    pub fn v2(root: impl Into<PathBuf>) -> Self {
        CgroupLayout::V2 { root: root.into() }
    }

    /// A hybrid layout: v1 controllers at `root/<controller>`, cgroup2 at `root/unified`.
    pub fn hybrid(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let unified = root.join("unified");
        match Self::v1(root) {
            CgroupLayout::V1 { root, controllers } => CgroupLayout::Hybrid {
                root,
                controllers,
                unified,
            },
            other => other,
        }
    }

    /// The mount point of a v1 controller, or the unified root on v2.
    pub fn controller_dir(&self, controller: &str) -> Option<PathBuf> {
        match self {
            CgroupLayout::V2 { root } => Some(root.clone()),
            CgroupLayout::V1 { controllers, .. } | CgroupLayout::Hybrid { controllers, .. } => {
                controllers.get(controller).cloned()
            }
        }
    }

    /// A container's directory in one v1 controller (or in the unified tree on v2).
    pub fn controller_path(&self, controller: &str, cgroup: &str) -> Result<PathBuf, CgroupError> {
        let base = self
            .controller_dir(controller)
            .ok_or_else(|| CgroupError::NoController(controller.to_string()))?;
        Ok(base.join(relative(cgroup)?))
    }

    /// A container's directory in the unified hierarchy.
    pub fn unified_dir(&self, cgroup: &str) -> Result<PathBuf, CgroupError> {
        match self {
            CgroupLayout::V2 { root } => Ok(root.join(relative(cgroup)?)),
            CgroupLayout::Hybrid { unified, .. } => Ok(unified.join(relative(cgroup)?)),
            CgroupLayout::V1 { .. } => Err(CgroupError::NoController("cgroup2".into())),
        }
    }

    /// True when statistics come from v1 controller files.
    pub fn is_v1_stats(&self) -> bool {
        !matches!(self, CgroupLayout::V2 { .. })
    }
}

/// `/berth/<id>` as a path relative to a hierarchy root; `..` is refused so a
/// bad id can never point outside the cgroup tree.
fn relative(cgroup: &str) -> Result<PathBuf, CgroupError> {
    let mut out = PathBuf::new();
    for c in Path::new(cgroup).components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::RootDir | Component::CurDir => {}
            _ => {
                return Err(CgroupError::Parse {
                    path: PathBuf::from(cgroup),
                    what: "a cgroup path without '..'".into(),
                })
            }
        }
    }
    Ok(out)
}

/// Finds the host's cgroup layout from /proc/self/mountinfo. Falls back to v2
/// at /sys/fs/cgroup when nothing is readable.
pub fn detect() -> CgroupLayout {
    std::fs::read_to_string("/proc/self/mountinfo")
        .ok()
        .and_then(|s| detect_from_mountinfo(&s))
        .unwrap_or_else(|| CgroupLayout::v2("/sys/fs/cgroup"))
}

/// Parses mountinfo text into a layout; `None` when no cgroup mount is listed.
pub fn detect_from_mountinfo(mountinfo: &str) -> Option<CgroupLayout> {
    let mut controllers: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut unified: Option<PathBuf> = None;
    for Mount {
        mount_point,
        fstype,
        super_options: opts,
    } in mountinfo::mounts(mountinfo)
    {
        match fstype {
            "cgroup2" => {
                unified.get_or_insert(mount_point);
            }
            "cgroup" => {
                for opt in opts.split(',') {
                    let name = opt.strip_prefix("name=").unwrap_or(opt);
                    let known = V1_CONTROLLERS.contains(&name)
                        || opt.starts_with("name=")
                        || matches!(name, "rdma" | "misc");
                    if known {
                        controllers
                            .entry(name.to_string())
                            .or_insert_with(|| mount_point.clone());
                    }
                }
            }
            _ => {}
        }
    }
    if controllers.is_empty() {
        return unified.map(|root| CgroupLayout::V2 { root });
    }
    // The v1 root is the common parent of the controller mounts.
    let root = controllers
        .values()
        .next()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup"));
    Some(match unified {
        Some(unified) => CgroupLayout::Hybrid {
            root,
            controllers,
            unified,
        },
        None => CgroupLayout::V1 { root, controllers },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn hybrid_mountinfo() {
        let l = detect_from_mountinfo(HYBRID).unwrap();
        let CgroupLayout::Hybrid {
            root,
            controllers,
            unified,
        } = &l
        else {
            panic!("{l:?}")
        };
        assert_eq!(root, Path::new("/sys/fs/cgroup"));
        assert_eq!(unified, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(controllers["cpuacct"], Path::new("/sys/fs/cgroup/cpuacct"));
        assert_eq!(controllers["systemd"], Path::new("/sys/fs/cgroup/systemd"));
        assert_eq!(
            l.controller_path("memory", "/berth/x").unwrap(),
            Path::new("/sys/fs/cgroup/memory/berth/x")
        );
        assert_eq!(
            l.unified_dir("/berth/x").unwrap(),
            Path::new("/sys/fs/cgroup/unified/berth/x")
        );
    }

    #[test]
    fn hybrid_with_comounted_controllers() {
        let mi = "\
25 30 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
28 25 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
29 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
30 25 0:28 / /sys/fs/cgroup/systemd rw,nosuid - cgroup cgroup rw,xattr,name=systemd
";
        let l = detect_from_mountinfo(mi).unwrap();
        let CgroupLayout::Hybrid {
            controllers,
            unified,
            ..
        } = &l
        else {
            panic!("{l:?}")
        };
        assert_eq!(unified, Path::new("/sys/fs/cgroup/unified"));
        let names: Vec<_> = controllers.keys().map(String::as_str).collect();
        assert_eq!(names, ["cpu", "cpuacct", "memory", "systemd"]);
        assert_eq!(controllers["cpu"], controllers["cpuacct"]);
        assert_eq!(
            l.controller_path("cpuacct", "/berth/abc").unwrap(),
            Path::new("/sys/fs/cgroup/cpu,cpuacct/berth/abc")
        );
        assert_eq!(
            l.unified_dir("/berth/abc").unwrap(),
            Path::new("/sys/fs/cgroup/unified/berth/abc")
        );
    }

    #[test]
    fn comounted_v1() {
        let mi = "\
25 24 0:22 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
26 24 0:23 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";
        let l = detect_from_mountinfo(mi).unwrap();
        assert!(matches!(l, CgroupLayout::V1 { .. }));
        assert_eq!(
            l.controller_dir("cpuacct").unwrap(),
            Path::new("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert!(l.unified_dir("/x").is_err());
    }

    #[test]
    fn pure_v2() {
        let mi = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            detect_from_mountinfo(mi).unwrap(),
            CgroupLayout::v2("/sys/fs/cgroup")
        );
        assert!(detect_from_mountinfo("1 0 0:1 / / rw - ext4 /dev/sda rw\n").is_none());
    }

    #[test]
    fn dotdot_refused() {
        let l = CgroupLayout::v2("/sys/fs/cgroup");
        assert!(l.unified_dir("/berth/../../etc").is_err());
    }
}
