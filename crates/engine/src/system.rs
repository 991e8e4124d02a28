//! `GET /info`: facts about this host and daemon, measured (the daemon shapes Docker's
//! answer from them).

use crate::Engine;
use std::path::{Path, PathBuf};

pub use berth_cgroups::Capabilities as CgroupCapabilities;

/// The kernel release, as `uname -r` prints it.
pub fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().to_string())
        .unwrap_or_default()
}

/// What `/info` reports.
#[derive(Debug, Clone)]
pub struct SystemInfo {
    pub id: String,
    pub containers: usize,
    pub containers_running: usize,
    pub containers_paused: usize,
    pub containers_stopped: usize,
    pub images: usize,
    /// Docker's name for the storage driver in use (`overlay2` or `vfs`).
    pub storage_driver: &'static str,
    /// Docker's name for the file system the data root is on (`extfs`, `xfs`...).
    pub backing_filesystem: String,
    pub cgroups: CgroupCapabilities,
    /// `1` or `2`.
    pub cgroup_version: &'static str,
    /// `/proc/sys/net/ipv4/ip_forward` is 1.
    pub ipv4_forwarding: bool,
    pub open_fds: usize,
    pub system_time: String,
    pub kernel_version: String,
    pub operating_system: String,
    pub architecture: &'static str,
    pub ncpu: usize,
    pub mem_total: u64,
    pub data_root: PathBuf,
    pub hostname: String,
    /// The runtime's name (`berth` or `runc`) and what it runs.
    pub runtime: &'static str,
    pub runtime_path: String,
    pub init_binary: Option<PathBuf>,
    pub registries: RegistryFacts,
}

/// How the daemon reaches registries, as `RegistryConfig` of `/info` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryFacts {
    /// Insecure registries given as CIDRs (`127.0.0.0/8` unless loopback is verified).
    pub insecure_cidrs: Vec<String>,
    /// Insecure registries given by name.
    pub insecure_names: Vec<String>,
    /// Docker Hub's mirrors, each ending in `/`.
    pub mirrors: Vec<String>,
}

impl Engine {
    pub fn info(&self) -> SystemInfo {
        let recs: Vec<_> = self.all_containers().iter().map(|c| c.snapshot()).collect();
        let running = recs
            .iter()
            .filter(|r| r.state.is_running() && !r.state.is_paused())
            .count();
        let paused = recs.iter().filter(|r| r.state.is_paused()).count();
        let runtime = self.runtime_name();
        SystemInfo {
            id: self.daemon_id(),
            containers: recs.len(),
            containers_running: running,
            containers_paused: paused,
            containers_stopped: recs.len() - running - paused,
            images: self.images.count(),
            storage_driver: self.images.storage_driver(),
            backing_filesystem: backing_filesystem(&self.config.data_root),
            cgroups: berth_cgroups::capabilities(&self.cgroup_layout),
            cgroup_version: if self.cgroup_layout.is_v1_stats() {
                "1"
            } else {
                "2"
            },
            ipv4_forwarding: ipv4_forwarding(Path::new("/proc/sys/net/ipv4/ip_forward")),
            open_fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
            system_time: crate::container::now_rfc3339(),
            kernel_version: kernel_version(),
            operating_system: operating_system(),
            architecture: std::env::consts::ARCH,
            ncpu: std::thread::available_parallelism().map_or(1, |n| n.get()),
            mem_total: mem_total(),
            data_root: self.config.data_root.clone(),
            hostname: nix::unistd::gethostname()
                .map(|h| h.to_string_lossy().to_string())
                .unwrap_or_default(),
            runtime,
            runtime_path: if runtime == "berth" {
                "berth-shim (libcontainer)".to_string()
            } else {
                self.config.runtime.clone()
            },
            init_binary: self.config.init_binary.clone(),
            registries: self.registry_info(),
        }
    }

    /// A stable id for this daemon's data root.
    fn daemon_id(&self) -> String {
        let path = self.config.data_root.join("daemon-id");
        if let Ok(id) = std::fs::read_to_string(&path) {
            return id.trim().to_string();
        }
        let id = hex::encode(rand::random::<[u8; 16]>());
        let _ = std::fs::write(&path, &id);
        id
    }
}

fn mem_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

fn operating_system() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| "Linux".into())
}

/// Whether the kernel forwards IPv4 (the sysctl file holds `1`).
pub fn ipv4_forwarding(sysctl: &Path) -> bool {
    std::fs::read_to_string(sysctl).is_ok_and(|v| v.trim() == "1")
}

/// Docker's name for the file system `path` is on (moby's `FsNames`), `<unknown>` else.
pub fn backing_filesystem(path: &Path) -> String {
    match nix::sys::statfs::statfs(path) {
        Ok(st) => fs_name(st.filesystem_type().0).to_string(),
        Err(_) => "<unknown>".to_string(),
    }
}

/// moby's `graphdriver.FsNames`, by `statfs` magic number.
pub fn fs_name(magic: i64) -> &'static str {
    match magic {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        0x6969 => "nfs",
        0x6573_5546 => "fuse",
        0x858_458F6 => "ramfs",
        0x7371_7368 => "squashfs",
        0x6175_6673 => "aufs",
        0xF15F => "ecryptfs",
        0x5265_4973 => "reiserfs",
        0x3153_464A => "jfs",
        0x4D44 => "msdos",
        0x2846_4D48 | 0x28CD_3D45 => "cramfs",
        0x0000_4244 => "hfs",
        0x6462_6720 => "debugfs",
        0x6E73_6673 => "nsfs",
        0x6265_6572 => "sysfs",
        0x9FA0 => "proc",
        0xF2F5_2010 => "f2fs",
        _ => "<unknown>",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_reads_the_sysctl() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ip_forward");
        std::fs::write(&f, "1\n").unwrap();
        assert!(ipv4_forwarding(&f));
        std::fs::write(&f, "0\n").unwrap();
        assert!(!ipv4_forwarding(&f));
        assert!(!ipv4_forwarding(&dir.path().join("missing")));
    }

    #[test]
    fn filesystem_names_are_dockers() {
        assert_eq!(fs_name(0xEF53), "extfs");
        assert_eq!(fs_name(0x5846_5342), "xfs");
        assert_eq!(fs_name(0x0102_1994), "tmpfs");
        assert_eq!(fs_name(0x1234), "<unknown>");
        // /dev/shm is a tmpfs on every Linux host this runs on.
        assert_eq!(backing_filesystem(Path::new("/dev/shm")), "tmpfs");
    }
}
