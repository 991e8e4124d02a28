//! Changing a running container's limits (`docker update`), as `runc update` does: only
//! the limits given are written, in an order the kernel accepts.

use crate::{read, write, CgroupError, CgroupLayout};
use std::path::Path;

/// New limits in the OCI runtime's units; `None` leaves a limit as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Bytes; -1 lifts the limit.
    pub memory: Option<i64>,
    /// Memory plus swap in bytes; -1 lifts the limit.
    pub memory_swap: Option<i64>,
    /// Soft limit in bytes.
    pub memory_reservation: Option<i64>,
    /// CFS quota in µs per period; -1 lifts it.
    pub cpu_quota: Option<i64>,
    /// CFS period in µs.
    pub cpu_period: Option<u64>,
    /// v1 shares (2-262144); turned into a v2 weight where there is no `cpu.shares`.
    pub cpu_shares: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// -1 lifts the limit.
    pub pids: Option<i64>,
    /// 10-1000.
    pub blkio_weight: Option<u16>,
}

/// Writes `limits` to the container's cgroup at `path` (its path under each hierarchy).
pub fn apply(layout: &CgroupLayout, path: &str, limits: &Limits) -> Result<(), CgroupError> {
    match layout {
        CgroupLayout::V2 { .. } => apply_v2(&layout.unified_dir(path)?, limits),
        _ => apply_v1(layout, path, limits),
    }
}

/// Whether the host can apply a block I/O weight to this layout (Docker discards it, with a
/// warning, where the kernel's I/O scheduler has none).
pub fn supports_blkio_weight(layout: &CgroupLayout) -> bool {
    match layout {
        CgroupLayout::V2 { root } => {
            root.join("io.weight").exists() || root.join("io.bfq.weight").exists()
        }
        _ => layout.controller_dir("blkio").is_some_and(|d| {
            d.join("blkio.weight").exists() || d.join("blkio.bfq.weight").exists()
        }),
    }
}

fn apply_v1(layout: &CgroupLayout, path: &str, l: &Limits) -> Result<(), CgroupError> {
    if l.memory.is_some() || l.memory_swap.is_some() || l.memory_reservation.is_some() {
        let dir = layout.controller_path("memory", path)?;
        memory_v1(&dir, l)?;
    }
    if l.cpu_quota.is_some() || l.cpu_period.is_some() || l.cpu_shares.is_some() {
        let dir = layout.controller_path("cpu", path)?;
        if let Some(shares) = l.cpu_shares {
            write(&dir.join("cpu.shares"), &shares.to_string())?;
        }
        // A shorter period with the old quota could exceed the parent's: period first
        // only when the quota is lifted or grows, as runc orders them.
        if let Some(period) = l.cpu_period {
            write(&dir.join("cpu.cfs_period_us"), &period.to_string())?;
        }
        if let Some(quota) = l.cpu_quota {
            write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
        }
    }
    if l.cpuset_cpus.is_some() || l.cpuset_mems.is_some() {
        let dir = layout.controller_path("cpuset", path)?;
        cpuset(&dir, l)?;
    }
    if let Some(pids) = l.pids {
        let dir = layout.controller_path("pids", path)?;
        write(&dir.join("pids.max"), &max_or(pids))?;
    }
    if let Some(w) = l.blkio_weight {
        let dir = layout.controller_path("blkio", path)?;
        let file = ["blkio.weight", "blkio.bfq.weight"]
            .into_iter()
            .map(|f| dir.join(f))
            .find(|f| f.exists());
        if let Some(file) = file {
            write(&file, &w.to_string())?;
        }
    }
    Ok(())
}

/// The kernel refuses a memory limit above memory+swap: when the limit grows past the
/// current memsw limit, memsw goes first.
fn memory_v1(dir: &Path, l: &Limits) -> Result<(), CgroupError> {
    let limit = dir.join("memory.limit_in_bytes");
    let memsw = dir.join("memory.memsw.limit_in_bytes");
    // Without swap accounting there is no memsw file: the swap limit is dropped, as Docker does.
    let swap = l.memory_swap.filter(|_| memsw.exists());
    let current_memsw = match swap {
        Some(_) => read(&memsw)?.trim().parse::<i64>().unwrap_or(i64::MAX),
        None => i64::MAX,
    };
    let grows_past_memsw = l.memory.is_some_and(|m| m == -1 || m > current_memsw);
    if grows_past_memsw {
        if let Some(s) = swap {
            write(&memsw, &s.to_string())?;
        }
        if let Some(m) = l.memory {
            write(&limit, &m.to_string())?;
        }
    } else {
        if let Some(m) = l.memory {
            write(&limit, &m.to_string())?;
        }
        if let Some(s) = swap {
            write(&memsw, &s.to_string())?;
        }
    }
    if let Some(r) = l.memory_reservation {
        write(&dir.join("memory.soft_limit_in_bytes"), &r.to_string())?;
    }
    Ok(())
}

fn apply_v2(dir: &Path, l: &Limits) -> Result<(), CgroupError> {
    if let Some(m) = l.memory {
        write(&dir.join("memory.max"), &max_or(m))?;
    }
    if let Some(s) = l.memory_swap {
        // v2 limits swap alone: memory+swap minus memory.
        let swap = match (s, l.memory) {
            (-1, _) => -1,
            (s, Some(m)) if m > 0 => (s - m).max(0),
            (s, _) => {
                let m = read(&dir.join("memory.max"))?;
                m.trim().parse::<i64>().map_or(-1, |m| (s - m).max(0))
            }
        };
        write(&dir.join("memory.swap.max"), &max_or(swap))?;
    }
    if let Some(r) = l.memory_reservation {
        write(&dir.join("memory.low"), &r.to_string())?;
    }
    if let Some(shares) = l.cpu_shares {
        write(
            &dir.join("cpu.weight"),
            &shares_to_weight(shares).to_string(),
        )?;
    }
    if l.cpu_quota.is_some() || l.cpu_period.is_some() {
        let file = dir.join("cpu.max");
        let old = read(&file)?;
        let mut parts = old.split_whitespace();
        let old_quota = parts.next().unwrap_or("max").to_string();
        let old_period = parts.next().unwrap_or("100000").to_string();
        let quota = l.cpu_quota.map_or(old_quota, max_or);
        let period = l.cpu_period.map_or(old_period, |p| p.to_string());
        write(&file, &format!("{quota} {period}"))?;
    }
    cpuset(dir, l)?;
    if let Some(pids) = l.pids {
        write(&dir.join("pids.max"), &max_or(pids))?;
    }
    if let Some(w) = l.blkio_weight {
        if dir.join("io.bfq.weight").exists() {
            write(&dir.join("io.bfq.weight"), &w.to_string())?;
        } else if dir.join("io.weight").exists() {
            write(
                &dir.join("io.weight"),
                &format!("default {}", blkio_to_io_weight(w)),
            )?;
        }
    }
    Ok(())
}

fn cpuset(dir: &Path, l: &Limits) -> Result<(), CgroupError> {
    // v1 names them with the controller's prefix too.
    if let Some(cpus) = &l.cpuset_cpus {
        write(&dir.join("cpuset.cpus"), cpus)?;
    }
    if let Some(mems) = &l.cpuset_mems {
        write(&dir.join("cpuset.mems"), mems)?;
    }
    Ok(())
}

/// `-1` (or anything negative) is the kernel's `max` on v2 and for pids.
fn max_or(v: i64) -> String {
    if v < 0 {
        "max".to_string()
    } else {
        v.to_string()
    }
}

/// runc's conversion of v1 shares (2-262144) to a v2 weight (1-10000).
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 100;
    }
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// runc's conversion of a blkio weight (10-1000) to an io.weight (1-10000).
fn blkio_to_io_weight(w: u16) -> u64 {
    1 + (u64::from(w.clamp(10, 1000)) - 10) * 9999 / 990
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn v1_fixture() -> (tempfile::TempDir, CgroupLayout) {
        let t = tempfile::tempdir().unwrap();
        let layout = CgroupLayout::v1(t.path());
        for (ctrl, files) in [
            (
                "memory",
                &[
                    "memory.limit_in_bytes",
                    "memory.memsw.limit_in_bytes",
                    "memory.soft_limit_in_bytes",
                ][..],
            ),
            (
                "cpu",
                &["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us"][..],
            ),
            ("cpuset", &["cpuset.cpus", "cpuset.mems"][..]),
            ("pids", &["pids.max"][..]),
        ] {
            let dir = t.path().join(ctrl).join("berth/c1");
            fs::create_dir_all(&dir).unwrap();
            for f in files {
                fs::write(dir.join(f), "9223372036854771712\n").unwrap();
            }
        }
        (t, layout)
    }

    fn v1_read(t: &tempfile::TempDir, ctrl: &str, file: &str) -> String {
        fs::read_to_string(t.path().join(ctrl).join("berth/c1").join(file)).unwrap()
    }

    #[test]
    fn v1_writes_only_what_is_given() {
        let (t, layout) = v1_fixture();
        let l = Limits {
            memory: Some(64 << 20),
            memory_swap: Some(128 << 20),
            cpu_quota: Some(50_000),
            cpu_period: Some(100_000),
            pids: Some(-1),
            cpuset_cpus: Some("0".into()),
            ..Limits::default()
        };
        apply(&layout, "/berth/c1", &l).unwrap();
        assert_eq!(v1_read(&t, "memory", "memory.limit_in_bytes"), "67108864");
        assert_eq!(
            v1_read(&t, "memory", "memory.memsw.limit_in_bytes"),
            "134217728"
        );
        assert_eq!(
            v1_read(&t, "memory", "memory.soft_limit_in_bytes"),
            "9223372036854771712\n"
        );
        assert_eq!(v1_read(&t, "cpu", "cpu.cfs_quota_us"), "50000");
        assert_eq!(v1_read(&t, "cpu", "cpu.shares"), "9223372036854771712\n");
        assert_eq!(v1_read(&t, "pids", "pids.max"), "max");
        assert_eq!(v1_read(&t, "cpuset", "cpuset.cpus"), "0");
    }

    #[test]
    fn v2_splits_swap_from_memory_and_keeps_the_other_half_of_cpu_max() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("berth/c1");
        fs::create_dir_all(&dir).unwrap();
        for f in [
            "memory.max",
            "memory.swap.max",
            "memory.low",
            "cpu.weight",
            "pids.max",
        ] {
            fs::write(dir.join(f), "max\n").unwrap();
        }
        fs::write(dir.join("cpu.max"), "max 100000\n").unwrap();
        let layout = CgroupLayout::v2(t.path());
        let l = Limits {
            memory: Some(64 << 20),
            memory_swap: Some(96 << 20),
            cpu_quota: Some(150_000),
            cpu_shares: Some(1024),
            ..Limits::default()
        };
        apply(&layout, "/berth/c1", &l).unwrap();
        let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(read("memory.max"), "67108864");
        assert_eq!(read("memory.swap.max"), "33554432");
        assert_eq!(read("cpu.max"), "150000 100000");
        assert_eq!(read("cpu.weight"), "39");
        assert_eq!(read("pids.max"), "max\n");
    }
}
