//! Makes the container's cgroup filesystem read-only before its process runs.
//!
//! The OCI spec asks for `/sys/fs/cgroup` with `ro`, but libcontainer mounts cgroup v1
//! hierarchies read-write, and a container could then create cgroups on the host or raise its
//! own limits. So the shim remounts every mount under `/sys/fs/cgroup` read-only from inside
//! the container's mount namespace, in a short-lived child (`setns` into a mount namespace
//! needs a single-threaded process; the shim is one, but a child keeps the shim's own view).

use crate::forked::in_child;
use anyhow::{Context, Result};
use berth_cgroups::mountinfo;
use nix::mount::{mount, MsFlags};
use nix::sched::{setns, CloneFlags};
use std::path::PathBuf;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Does the spec (config.json) ask for a read-only cgroup filesystem?
pub fn wanted(spec: &serde_json::Value) -> bool {
    spec["mounts"].as_array().into_iter().flatten().any(|m| {
        m["destination"] == CGROUP_ROOT
            && m["options"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x == "ro"))
    })
}

/// Mount points at or under `/sys/fs/cgroup`, deepest last, as `pid` sees them.
fn cgroup_mount_points(pid: i32) -> Result<Vec<PathBuf>> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/mountinfo"))
        .with_context(|| format!("reading mountinfo of {pid}"))?;
    Ok(mountinfo::mounts(&info)
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with(CGROUP_ROOT))
        .collect())
}

/// Remounts the cgroup mounts of the container whose init is `pid` read-only.
pub fn apply(pid: i32) -> Result<()> {
    let points = cgroup_mount_points(pid)?;
    if points.is_empty() {
        return Ok(());
    }
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/mnt")).context("opening mount ns")?;
    let root = std::fs::File::open(format!("/proc/{pid}/root")).context("opening root")?;
    let flags = MsFlags::MS_REMOUNT
        | MsFlags::MS_BIND
        | MsFlags::MS_RDONLY
        | MsFlags::MS_NOSUID
        | MsFlags::MS_NODEV
        | MsFlags::MS_NOEXEC;
    in_child(|| {
        setns(&ns, CloneFlags::CLONE_NEWNS).context("entering the mount namespace")?;
        nix::unistd::fchdir(std::os::fd::AsRawFd::as_raw_fd(&root)).context("fchdir")?;
        nix::unistd::chroot(".").context("chroot")?;
        for p in &points {
            mount(None::<&str>, p, None::<&str>, flags, None::<&str>)
                .with_context(|| format!("remounting {} read-only", p.display()))?;
        }
        Ok(0)
    })
    .context("making /sys/fs/cgroup read-only")?;
    Ok(())
}
