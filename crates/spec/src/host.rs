//! Facts about the host that change the spec Docker would generate.

use super::caps::{caps_from_mask, ALL_CAPABILITIES};
use crate::seccomp::{native_arch, KernelVersion};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Host facts [`super::build_spec`] depends on. `Default` describes a modern host
/// where the engine holds every capability, on cgroup v1/hybrid, without AppArmor.
#[derive(Debug, Clone)]
pub struct HostInfo {
    /// Capabilities the engine holds (its bounding set): what `--privileged`
    /// and `--cap-add ALL` grant.
    pub capabilities: Vec<String>,
    /// Running kernel, for seccomp `minKernel` rules (`None` = assume new enough).
    pub kernel: Option<KernelVersion>,
    /// libseccomp's native arch name ("amd64"...).
    pub arch: String,
    /// The host is pure cgroup v2 (private cgroup namespace by default).
    pub cgroup_v2: bool,
    /// The memory controller can limit swap (v1 `memory.memsw.*`, v2 `memory.swap.max`).
    pub swap_limit: bool,
    /// AppArmor is enabled.
    pub apparmor: bool,
    /// Online CPUs (bounds `--cpus`).
    pub cpus: usize,
    /// Paths masked on top of Docker's list because they exist here
    /// (`/sys/devices/system/cpu/cpuN/thermal_throttle`).
    pub extra_masked_paths: Vec<String>,
    /// `net.ipv4.ping_group_range` exists.
    pub sysctl_ping_group_range: bool,
    /// `net.ipv4.ip_unprivileged_port_start` exists.
    pub sysctl_unprivileged_port_start: bool,
    /// Device nodes of the host, given to privileged containers.
    pub devices: Vec<LinuxDevice>,
    /// The engine's hard `RLIMIT_NOFILE` (`None` = unknown): the default
    /// `nofile` is capped at it, since the OCI runtime cannot raise it without
    /// CAP_SYS_RESOURCE.
    pub nofile_hard: Option<u64>,
}

impl Default for HostInfo {
    fn default() -> Self {
        Self {
            capabilities: ALL_CAPABILITIES.iter().map(|c| (*c).to_string()).collect(),
            kernel: None,
            arch: native_arch().to_string(),
            cgroup_v2: false,
            swap_limit: true,
            apparmor: false,
            cpus: 1024,
            extra_masked_paths: Vec::new(),
            sysctl_ping_group_range: true,
            sysctl_unprivileged_port_start: true,
            devices: Vec::new(),
            nofile_hard: None,
        }
    }
}

impl HostInfo {
    /// Reads the facts from the running system. Anything unreadable keeps its default.
    pub fn detect() -> Self {
        let mut h = Self::default();
        if let Some(mask) = fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| parse_cap_bnd(&s))
        {
            h.capabilities = caps_from_mask(mask);
        }
        h.kernel = KernelVersion::host();
        let layout = berth_cgroups::detect();
        h.cgroup_v2 = matches!(layout, berth_cgroups::CgroupLayout::V2 { .. });
        h.swap_limit = match &layout {
            berth_cgroups::CgroupLayout::V2 { root } => {
                root.join("memory.swap.max").exists()
                    || fs::read_to_string(root.join("cgroup.controllers"))
                        .map(|c| c.split_whitespace().any(|x| x == "memory"))
                        .unwrap_or(false)
            }
            other => other
                .controller_dir("memory")
                .map(|d| d.join("memory.memsw.limit_in_bytes").exists())
                .unwrap_or(false),
        };
        h.apparmor = fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .map(|s| s.trim() == "Y")
            .unwrap_or(false);
        h.cpus = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1);
        h.extra_masked_paths = thermal_throttle_paths();
        h.sysctl_ping_group_range = Path::new("/proc/sys/net/ipv4/ping_group_range").exists();
        h.sysctl_unprivileged_port_start =
            Path::new("/proc/sys/net/ipv4/ip_unprivileged_port_start").exists();
        h.devices = host_devices(Path::new("/dev"));
        h.nofile_hard = fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|s| parse_nofile_hard(&s));
        h
    }
}

fn parse_cap_bnd(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// The hard column of "Max open files" in /proc/self/limits.
fn parse_nofile_hard(limits: &str) -> Option<u64> {
    let rest = limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?;
    match rest.split_whitespace().nth(1)? {
        "unlimited" => Some(u64::MAX),
        v => v.parse().ok(),
    }
}

/// Docker masks each CPU's thermal_throttle directory when present (GHSA-6fw5-f8r9-fgfm).
fn thermal_throttle_paths() -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir("/sys/devices/system/cpu") else {
        return out;
    };
    let mut cpus: Vec<u32> = entries
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("cpu"))
                .and_then(|n| n.parse().ok())
        })
        .collect();
    cpus.sort_unstable();
    for n in cpus {
        let p = format!("/sys/devices/system/cpu/cpu{n}/thermal_throttle");
        if Path::new(&p).exists() {
            out.push(p);
        }
    }
    out
}

/// glibc's `major()`/`minor()` on a `dev_t`.
fn dev_major(rdev: u64) -> i64 {
    (((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff)) as i64
}
fn dev_minor(rdev: u64) -> i64 {
    (((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff)) as i64
}

/// Device nodes under `dir`, skipping what containerd's `HostDevices` skips
/// (pts, shm, fd, mqueue and the console).
pub(crate) fn host_devices(dir: &Path) -> Vec<LinuxDevice> {
    let mut out = Vec::new();
    walk_devices(dir, &mut out);
    out
}

fn walk_devices(dir: &Path, out: &mut Vec<LinuxDevice>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Ok(md) = fs::symlink_metadata(e.path()) else {
            continue;
        };
        let ft = md.file_type();
        if ft.is_dir() {
            if matches!(
                name.as_ref(),
                "pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev"
            ) {
                continue;
            }
            walk_devices(&e.path(), out);
            continue;
        }
        if name == "console" {
            continue;
        }
        let typ = if ft.is_char_device() {
            LinuxDeviceType::C
        } else if ft.is_block_device() {
            LinuxDeviceType::B
        } else {
            continue;
        };
        let mut d = LinuxDevice::default();
        d.set_path(e.path());
        d.set_typ(typ);
        d.set_major(dev_major(md.rdev()));
        d.set_minor(dev_minor(md.rdev()));
        d.set_file_mode(Some(md.mode() & 0o7777));
        d.set_uid(Some(md.uid()));
        d.set_gid(Some(md.gid()));
        out.push(d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_bnd_parse() {
        let s = "Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\n";
        assert_eq!(parse_cap_bnd(s), Some(0x1fffeffffff));
    }

    #[test]
    fn nofile_parse() {
        let s = "Limit  Soft Limit Hard Limit Units\nMax open files            1024                20000                files     \n";
        assert_eq!(parse_nofile_hard(s), Some(20000));
    }

    #[test]
    fn dev_numbers() {
        // /dev/null is 1:3, /dev/pts/0 136:0; encoded the glibc way.
        assert_eq!((dev_major(0x103), dev_minor(0x103)), (1, 3));
        let big: u64 = (259u64 << 8) | 5 | ((0x100u64) << 12);
        assert_eq!((dev_major(big), dev_minor(big)), (259, 0x100 | 5));
    }

    #[test]
    fn finds_null() {
        let devs = host_devices(Path::new("/dev"));
        if Path::new("/dev/null").exists() {
            let null = devs
                .iter()
                .find(|d| d.path() == Path::new("/dev/null"))
                .expect("null");
            assert_eq!((null.major(), null.minor()), (1, 3));
        }
    }
}
