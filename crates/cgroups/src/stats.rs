//! Container statistics in the shape of the Engine API's `ContainerStatsResponse`.
//!
//! The field names and omission rules follow moby's `api/types/container/stats.go`
//! (Go's `omitempty` drops zero numbers; nil lists serialize as `null`), and the
//! values are filled the way moby's `daemon/stats_unix.go` does for v1 and v2.

use super::{read, CgroupError, CgroupLayout};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

fn is_zero(v: &u64) -> bool {
    *v == 0
}
fn is_zero32(v: &u32) -> bool {
    *v == 0
}

/// CFS throttling counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ThrottlingData {
    /// Enforcement periods elapsed.
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    pub throttled_periods: u64,
    /// Total time throttled, ns.
    pub throttled_time: u64,
}

/// CPU time used by the cgroup, ns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuUsage {
    /// Total CPU time.
    pub total_usage: u64,
    /// Per-CPU time (v1 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percpu_usage: Option<Vec<u64>>,
    /// Time in kernel mode.
    pub usage_in_kernelmode: u64,
    /// Time in user mode.
    pub usage_in_usermode: u64,
}

/// `cpu_stats` (and `precpu_stats`, the previous sample).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CpuStats {
    /// The cgroup's usage.
    pub cpu_usage: CpuUsage,
    /// The host's total CPU time from /proc/stat, ns.
    #[serde(skip_serializing_if = "is_zero")]
    pub system_cpu_usage: u64,
    /// CPUs listed in /proc/stat.
    #[serde(skip_serializing_if = "is_zero32")]
    pub online_cpus: u32,
    /// Throttling counters.
    pub throttling_data: ThrottlingData,
}

/// `memory_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemoryStats {
    /// Current usage, bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub usage: u64,
    /// Peak usage (v1 only).
    #[serde(skip_serializing_if = "is_zero")]
    pub max_usage: u64,
    /// memory.stat counters (v1: cache, rss, total_inactive_file...;
    /// v2: anon, file, inactive_file...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stats: BTreeMap<String, u64>,
    /// v1: memory.failcnt; v2: the `oom` count of memory.events.
    #[serde(skip_serializing_if = "is_zero")]
    pub failcnt: u64,
    /// The limit, or the host's memory when unlimited.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// `pids_stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PidsStats {
    /// Tasks in the cgroup.
    #[serde(skip_serializing_if = "is_zero")]
    pub current: u64,
    /// pids.max, 0 when unlimited.
    #[serde(skip_serializing_if = "is_zero")]
    pub limit: u64,
}

/// One block I/O counter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlkioStatEntry {
    /// Device major.
    pub major: u64,
    /// Device minor.
    pub minor: u64,
    /// "Read", "Write", "Sync", "Async", "Total" (v1) or "read"/"write" (v2).
    pub op: String,
    /// The count.
    pub value: u64,
}

/// `blkio_stats`. `None` lists serialize as `null`, like Docker's on v2.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BlkioStats {
    /// Bytes transferred.
    pub io_service_bytes_recursive: Option<Vec<BlkioStatEntry>>,
    /// I/O operations.
    pub io_serviced_recursive: Option<Vec<BlkioStatEntry>>,
    /// Queued operations (v1 CFQ).
    pub io_queue_recursive: Option<Vec<BlkioStatEntry>>,
    /// Service time (v1 CFQ).
    pub io_service_time_recursive: Option<Vec<BlkioStatEntry>>,
    /// Wait time (v1 CFQ).
    pub io_wait_time_recursive: Option<Vec<BlkioStatEntry>>,
    /// Merged operations (v1 CFQ).
    pub io_merged_recursive: Option<Vec<BlkioStatEntry>>,
    /// Disk time (v1 CFQ).
    pub io_time_recursive: Option<Vec<BlkioStatEntry>>,
    /// Sectors (v1 CFQ).
    pub sectors_recursive: Option<Vec<BlkioStatEntry>>,
}

/// The cgroup-derived part of a stats sample; the engine adds `read`, `preread`,
/// `precpu_stats`, `name`, `id` and `networks`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// CPU.
    pub cpu_stats: CpuStats,
    /// Memory.
    pub memory_stats: MemoryStats,
    /// Tasks.
    pub pids_stats: PidsStats,
    /// Block I/O.
    pub blkio_stats: BlkioStats,
}

/// Reads a file if it exists; a missing file is `None` (controllers differ by kernel).
fn read_opt(path: &Path) -> Result<Option<String>, CgroupError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CgroupError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse_u64(path: &Path, s: &str) -> Result<u64, CgroupError> {
    s.trim().parse().map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        what: format!("a number, got {:?}", s.trim()),
    })
}

/// A single-number file; "max" (v2 unlimited) reads as `u64::MAX`; missing as 0.
fn read_num(path: &Path) -> Result<u64, CgroupError> {
    match read_opt(path)? {
        None => Ok(0),
        Some(s) if s.trim() == "max" => Ok(u64::MAX),
        Some(s) => parse_u64(path, &s),
    }
}

/// "key value" lines (memory.stat, cpu.stat, memory.events...); missing file = empty.
fn read_kv(path: &Path) -> Result<BTreeMap<String, u64>, CgroupError> {
    let mut out = BTreeMap::new();
    if let Some(s) = read_opt(path)? {
        for line in s.lines() {
            let mut it = line.split_whitespace();
            if let (Some(k), Some(v)) = (it.next(), it.next()) {
                if let Ok(v) = v.parse() {
                    out.insert(k.to_string(), v);
                }
            }
        }
    }
    Ok(out)
}

/// Host facts from /proc: total CPU time (ns), CPU count, MemTotal (bytes).
fn proc_facts(proc_dir: &Path) -> Result<(u64, u32, u64), CgroupError> {
    let stat_path = proc_dir.join("stat");
    let stat = read(&stat_path)?;
    let mut total_ns = 0u64;
    let mut cpus = 0u32;
    for line in stat.lines() {
        if !line.starts_with("cpu") {
            break;
        }
        let mut fields = line.split_whitespace();
        let name = fields.next().unwrap_or_default();
        if name == "cpu" {
            // user nice system idle iowait irq softirq, in USER_HZ (100) ticks.
            let ticks: u64 = fields.take(7).filter_map(|v| v.parse::<u64>().ok()).sum();
            total_ns = ticks.saturating_mul(1_000_000_000 / CLOCK_TICKS);
        } else if name[3..].chars().all(|c| c.is_ascii_digit()) {
            cpus += 1;
        }
    }
    let meminfo = read_opt(&proc_dir.join("meminfo"))?.unwrap_or_default();
    let mem_total = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    Ok((total_ns, cpus, mem_total))
}

/// USER_HZ: a constant 100 on Linux (cpuacct.stat and /proc/stat count in it).
const CLOCK_TICKS: u64 = 100;

/// Reads the cgroup's statistics for `docker stats`, using the host's /proc.
pub fn stats(layout: &CgroupLayout, path: &str) -> Result<Stats, CgroupError> {
    stats_with_proc(layout, path, Path::new("/proc"))
}

/// As [`stats`], with /proc at `proc_dir` (tests give a fixture directory).
pub fn stats_with_proc(
    layout: &CgroupLayout,
    path: &str,
    proc_dir: &Path,
) -> Result<Stats, CgroupError> {
    let (system_ns, online, mem_total) = proc_facts(proc_dir)?;
    let mut s = if layout.is_v1_stats() {
        stats_v1(layout, path)?
    } else {
        stats_v2(layout, path)?
    };
    s.cpu_stats.system_cpu_usage = system_ns;
    s.cpu_stats.online_cpus = online;
    // Unlimited (or above the machine) reports the machine's memory, as Docker does.
    if mem_total > 0 && s.memory_stats.limit > mem_total {
        s.memory_stats.limit = mem_total;
    }
    Ok(s)
}

/// Docker's v1 memory.stat keys, always present (0 when the kernel lacks one).
const V1_MEMORY_KEYS: [&str; 32] = [
    "cache",
    "rss",
    "rss_huge",
    "mapped_file",
    "dirty",
    "writeback",
    "pgpgin",
    "pgpgout",
    "pgfault",
    "pgmajfault",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "hierarchical_memory_limit",
    "hierarchical_memsw_limit",
    "total_cache",
    "total_rss",
    "total_rss_huge",
    "total_mapped_file",
    "total_dirty",
    "total_writeback",
    "total_pgpgin",
    "total_pgpgout",
    "total_pgfault",
    "total_pgmajfault",
    "total_inactive_anon",
    "total_active_anon",
    "total_inactive_file",
    "total_active_file",
    "total_unevictable",
];

/// Docker's v2 memory.stat keys.
const V2_MEMORY_KEYS: [&str; 31] = [
    "anon",
    "file",
    "kernel_stack",
    "slab",
    "sock",
    "shmem",
    "file_mapped",
    "file_dirty",
    "file_writeback",
    "anon_thp",
    "inactive_anon",
    "active_anon",
    "inactive_file",
    "active_file",
    "unevictable",
    "slab_reclaimable",
    "slab_unreclaimable",
    "pgfault",
    "pgmajfault",
    "workingset_refault",
    "workingset_activate",
    "workingset_nodereclaim",
    "pgrefill",
    "pgscan",
    "pgsteal",
    "pgactivate",
    "pgdeactivate",
    "pglazyfree",
    "pglazyfreed",
    "thp_fault_alloc",
    "thp_collapse_alloc",
];

fn pick(all: &BTreeMap<String, u64>, keys: &[&str]) -> BTreeMap<String, u64> {
    keys.iter()
        .map(|k| ((*k).to_string(), all.get(*k).copied().unwrap_or(0)))
        .collect()
}

/// "8:0 Read 4096" (or "8:0 4096" for time/sectors) lines; "Total" lines skipped.
fn read_blkio(path: &Path) -> Result<Vec<BlkioStatEntry>, CgroupError> {
    let mut out = Vec::new();
    let Some(text) = read_opt(path)? else {
        return Ok(out);
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (dev, op, value) = match f.as_slice() {
            [dev, op, v] => (*dev, (*op).to_string(), *v),
            [dev, v] if dev.contains(':') => (*dev, String::new(), *v),
            _ => continue,
        };
        let Some((maj, min)) = dev.split_once(':') else {
            continue;
        };
        let (Ok(major), Ok(minor), Ok(value)) = (maj.parse(), min.parse(), value.parse()) else {
            continue;
        };
        out.push(BlkioStatEntry {
            major,
            minor,
            op,
            value,
        });
    }
    Ok(out)
}

fn stats_v1(layout: &CgroupLayout, path: &str) -> Result<Stats, CgroupError> {
    let mut s = Stats::default();

    if let Ok(dir) = layout.controller_path("cpuacct", path) {
        let percpu = read_opt(&dir.join("cpuacct.usage_percpu"))?.map(|t| {
            t.split_whitespace()
                .filter_map(|v| v.parse::<u64>().ok())
                .collect::<Vec<_>>()
        });
        let st = read_kv(&dir.join("cpuacct.stat"))?;
        let tick_ns = 1_000_000_000 / CLOCK_TICKS;
        s.cpu_stats.cpu_usage = CpuUsage {
            total_usage: read_num(&dir.join("cpuacct.usage"))?,
            percpu_usage: percpu.filter(|v| !v.is_empty()),
            usage_in_kernelmode: st.get("system").copied().unwrap_or(0) * tick_ns,
            usage_in_usermode: st.get("user").copied().unwrap_or(0) * tick_ns,
        };
    }
    if let Ok(dir) = layout.controller_path("cpu", path) {
        let st = read_kv(&dir.join("cpu.stat"))?;
        s.cpu_stats.throttling_data = ThrottlingData {
            periods: st.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: st.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: st.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Ok(dir) = layout.controller_path("memory", path) {
        let all = read_kv(&dir.join("memory.stat"))?;
        s.memory_stats = MemoryStats {
            usage: read_num(&dir.join("memory.usage_in_bytes"))?,
            max_usage: read_num(&dir.join("memory.max_usage_in_bytes"))?,
            stats: pick(&all, &V1_MEMORY_KEYS),
            failcnt: read_num(&dir.join("memory.failcnt"))?,
            limit: read_num(&dir.join("memory.limit_in_bytes"))?,
        };
    }
    if let Ok(dir) = layout.controller_path("pids", path) {
        let limit = read_num(&dir.join("pids.max"))?;
        s.pids_stats = PidsStats {
            current: read_num(&dir.join("pids.current"))?,
            limit: if limit == u64::MAX { 0 } else { limit },
        };
    }
    if let Ok(dir) = layout.controller_path("blkio", path) {
        let f = |name: &str| read_blkio(&dir.join(name));
        let mut b = BlkioStats {
            io_service_bytes_recursive: Some(f("blkio.io_service_bytes_recursive")?),
            io_serviced_recursive: Some(f("blkio.io_serviced_recursive")?),
            io_queue_recursive: Some(f("blkio.io_queued_recursive")?),
            io_service_time_recursive: Some(f("blkio.io_service_time_recursive")?),
            io_wait_time_recursive: Some(f("blkio.io_wait_time_recursive")?),
            io_merged_recursive: Some(f("blkio.io_merged_recursive")?),
            io_time_recursive: Some(f("blkio.time_recursive")?),
            sectors_recursive: Some(f("blkio.sectors_recursive")?),
        };
        // Without the CFQ scheduler only the throttle files count (as containerd reads them).
        if b.io_service_bytes_recursive
            .as_ref()
            .is_none_or(|v| v.is_empty())
        {
            b.io_service_bytes_recursive = Some(f("blkio.throttle.io_service_bytes_recursive")?);
            b.io_serviced_recursive = Some(f("blkio.throttle.io_serviced_recursive")?);
        }
        s.blkio_stats = b;
    }
    Ok(s)
}

fn stats_v2(layout: &CgroupLayout, path: &str) -> Result<Stats, CgroupError> {
    let dir = layout.unified_dir(path)?;
    let mut s = Stats::default();

    let cpu = read_kv(&dir.join("cpu.stat"))?;
    let g = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    s.cpu_stats.cpu_usage = CpuUsage {
        total_usage: g(&cpu, "usage_usec") * 1000,
        percpu_usage: None,
        usage_in_kernelmode: g(&cpu, "system_usec") * 1000,
        usage_in_usermode: g(&cpu, "user_usec") * 1000,
    };
    s.cpu_stats.throttling_data = ThrottlingData {
        periods: g(&cpu, "nr_periods"),
        throttled_periods: g(&cpu, "nr_throttled"),
        throttled_time: g(&cpu, "throttled_usec") * 1000,
    };

    let all = read_kv(&dir.join("memory.stat"))?;
    let events = read_kv(&dir.join("memory.events"))?;
    s.memory_stats = MemoryStats {
        usage: read_num(&dir.join("memory.current"))?,
        max_usage: 0,
        stats: pick(&all, &V2_MEMORY_KEYS),
        failcnt: g(&events, "oom"),
        limit: read_num(&dir.join("memory.max"))?,
    };

    let limit = read_num(&dir.join("pids.max"))?;
    s.pids_stats = PidsStats {
        current: read_num(&dir.join("pids.current"))?,
        limit: if limit == u64::MAX { 0 } else { limit },
    };

    let mut isbr = Vec::new();
    if let Some(text) = read_opt(&dir.join("io.stat"))? {
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let Some((maj, min)) = f.next().and_then(|d| d.split_once(':')) else {
                continue;
            };
            let (Ok(major), Ok(minor)) = (maj.parse::<u64>(), min.parse::<u64>()) else {
                continue;
            };
            let kv: BTreeMap<&str, u64> = f
                .filter_map(|p| p.split_once('='))
                .filter_map(|(k, v)| v.parse().ok().map(|v| (k, v)))
                .collect();
            for (op, key) in [("read", "rbytes"), ("write", "wbytes")] {
                isbr.push(BlkioStatEntry {
                    major,
                    minor,
                    op: op.to_string(),
                    value: kv.get(key).copied().unwrap_or(0),
                });
            }
        }
    }
    s.blkio_stats.io_service_bytes_recursive = (!isbr.is_empty()).then_some(isbr);
    Ok(s)
}

/// The container's processes (`docker top`, killing what is left on stop).
pub fn pids(layout: &CgroupLayout, path: &str) -> Result<Vec<i32>, CgroupError> {
    let dir = match layout {
        CgroupLayout::V2 { .. } => layout.unified_dir(path)?,
        _ => ["pids", "freezer", "memory", "cpu", "devices"]
            .iter()
            .filter_map(|c| layout.controller_path(c, path).ok())
            .find(|d| d.join("cgroup.procs").exists())
            .ok_or_else(|| CgroupError::NoController("pids".into()))?,
    };
    let file = dir.join("cgroup.procs");
    let text = read(&file)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim().parse().map_err(|_| CgroupError::Parse {
                path: file.clone(),
                what: format!("a pid, got {l:?}"),
            })
        })
        .collect()
}

/// Did the kernel's OOM killer kill a task of this cgroup (`State.OOMKilled`)?
/// Unreadable files count as "no".
pub fn oom_killed(layout: &CgroupLayout, path: &str) -> bool {
    let file = match layout {
        CgroupLayout::V2 { .. } => layout.unified_dir(path).map(|d| d.join("memory.events")),
        _ => layout
            .controller_path("memory", path)
            .map(|d| d.join("memory.oom_control")),
    };
    file.ok()
        .and_then(|f| read_kv(&f).ok())
        .and_then(|kv| kv.get("oom_kill").copied())
        .is_some_and(|n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;

    fn proc_fixture(dir: &Path) -> PathBuf {
        let p = dir.join("proc");
        fs::create_dir_all(&p).unwrap();
        fs::write(
            p.join("stat"),
            "cpu  100 0 50 700 10 5 5 0 0 0\ncpu0 50 0 25 350 5 2 3 0 0 0\ncpu1 50 0 25 350 5 3 2 0 0 0\nintr 1\n",
        )
        .unwrap();
        fs::write(
            p.join("meminfo"),
            "MemTotal:        2048000 kB\nMemFree: 1 kB\n",
        )
        .unwrap();
        p
    }

    fn v1_fixture(root: &Path) {
        let w = |ctrl: &str, file: &str, text: &str| {
            let d = root.join(ctrl).join("berth/c1");
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(file), text).unwrap();
        };
        w("cpuacct", "cpuacct.usage", "69202446\n");
        w("cpuacct", "cpuacct.usage_percpu", "22598844 46603602 \n");
        w("cpuacct", "cpuacct.stat", "user 3\nsystem 3\n");
        w(
            "cpu",
            "cpu.stat",
            "nr_periods 7\nnr_throttled 2\nthrottled_time 900\n",
        );
        w("memory", "memory.usage_in_bytes", "499712\n");
        w("memory", "memory.max_usage_in_bytes", "4079616\n");
        w("memory", "memory.failcnt", "0\n");
        w("memory", "memory.limit_in_bytes", "9223372036854771712\n");
        w(
            "memory",
            "memory.stat",
            "cache 4096\nrss 8192\ntotal_inactive_file 4096\ntotal_rss 8192\n",
        );
        w(
            "memory",
            "memory.oom_control",
            "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n",
        );
        w("pids", "pids.current", "1\n");
        w("pids", "pids.max", "max\n");
        w("pids", "cgroup.procs", "42\n43\n");
        w("blkio", "blkio.io_service_bytes_recursive", "Total 0\n");
        w(
            "blkio",
            "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\nTotal 12288\n",
        );
    }

    #[test]
    fn v1_stats_fixture() {
        let dir = tempfile::tempdir().unwrap();
        v1_fixture(dir.path());
        let proc_dir = proc_fixture(dir.path());
        let layout = CgroupLayout::v1(dir.path());
        let s = stats_with_proc(&layout, "/berth/c1", &proc_dir).unwrap();
        assert_eq!(s.cpu_stats.cpu_usage.total_usage, 69202446);
        assert_eq!(
            s.cpu_stats.cpu_usage.percpu_usage,
            Some(vec![22598844, 46603602])
        );
        assert_eq!(s.cpu_stats.cpu_usage.usage_in_kernelmode, 30_000_000);
        assert_eq!(s.cpu_stats.cpu_usage.usage_in_usermode, 30_000_000);
        // (100+0+50+700+10+5+5) ticks * 10ms
        assert_eq!(s.cpu_stats.system_cpu_usage, 870 * 10_000_000);
        assert_eq!(s.cpu_stats.online_cpus, 2);
        assert_eq!(s.cpu_stats.throttling_data.throttled_periods, 2);
        assert_eq!(s.memory_stats.usage, 499712);
        assert_eq!(s.memory_stats.max_usage, 4079616);
        assert_eq!(s.memory_stats.limit, 2048000 * 1024);
        assert_eq!(s.memory_stats.stats["total_inactive_file"], 4096);
        assert_eq!(s.memory_stats.stats["rss_huge"], 0);
        assert_eq!(s.memory_stats.stats.len(), 32);
        assert_eq!(s.pids_stats.current, 1);
        assert_eq!(s.pids_stats.limit, 0);
        let io = s.blkio_stats.io_service_bytes_recursive.clone().unwrap();
        assert_eq!(io.len(), 5);
        assert_eq!(io[0].op, "Read");
        assert_eq!(io[1].value, 8192);

        let json = serde_json::to_value(&s).unwrap();
        assert!(json["pids_stats"].get("limit").is_none());
        assert_eq!(
            json["blkio_stats"]["io_queue_recursive"],
            serde_json::json!([])
        );
        assert_eq!(json["memory_stats"]["max_usage"], 4079616);
        assert!(json["memory_stats"].get("failcnt").is_none());

        assert!(oom_killed(&layout, "/berth/c1"));
        assert_eq!(pids(&layout, "/berth/c1").unwrap(), vec![42, 43]);
    }

    #[test]
    fn oom_kill_counter_fields() {
        let dir = tempfile::tempdir().unwrap();
        let v2 = CgroupLayout::v2(dir.path());
        let events = dir.path().join("berth/c1/memory.events");
        fs::create_dir_all(events.parent().unwrap()).unwrap();
        fs::write(
            &events,
            "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n",
        )
        .unwrap();
        assert!(oom_killed(&v2, "/berth/c1"));
        // `oom` counts limit hits, not kills.
        fs::write(&events, "oom 3\n").unwrap();
        assert!(!oom_killed(&v2, "/berth/c1"));

        let v1 = CgroupLayout::v1(dir.path());
        let control = dir.path().join("memory/berth/c1/memory.oom_control");
        fs::create_dir_all(control.parent().unwrap()).unwrap();
        fs::write(&control, "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n").unwrap();
        assert!(!oom_killed(&v1, "/berth/c1"));
    }

    #[test]
    fn pids_skip_blank_lines() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("berth/c1");
        fs::create_dir_all(&cg).unwrap();
        fs::write(cg.join("cgroup.procs"), "1\n23\n\n").unwrap();
        let layout = CgroupLayout::v2(dir.path());
        assert_eq!(pids(&layout, "/berth/c1").unwrap(), vec![1, 23]);
    }

    #[test]
    fn v2_stats_fixture() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("cg/berth/c1");
        fs::create_dir_all(&cg).unwrap();
        let w = |f: &str, t: &str| fs::write(cg.join(f), t).unwrap();
        w(
            "cpu.stat",
            "usage_usec 69202\nuser_usec 30000\nsystem_usec 39202\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n",
        );
        w("memory.current", "499712\n");
        w("memory.max", "67108864\n");
        w(
            "memory.stat",
            "anon 8192\nfile 4096\ninactive_file 4096\nsock 0\n",
        );
        w("memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 0\n");
        w("pids.current", "2\n");
        w("pids.max", "100\n");
        w(
            "io.stat",
            "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
        );
        w("cgroup.procs", "7\n");
        let proc_dir = proc_fixture(dir.path());
        let layout = CgroupLayout::v2(dir.path().join("cg"));
        let s = stats_with_proc(&layout, "/berth/c1", &proc_dir).unwrap();
        assert_eq!(s.cpu_stats.cpu_usage.total_usage, 69_202_000);
        assert_eq!(s.cpu_stats.cpu_usage.usage_in_kernelmode, 39_202_000);
        assert!(s.cpu_stats.cpu_usage.percpu_usage.is_none());
        assert_eq!(s.memory_stats.usage, 499712);
        assert_eq!(s.memory_stats.limit, 67108864);
        assert_eq!(s.memory_stats.failcnt, 1);
        assert_eq!(s.memory_stats.stats["inactive_file"], 4096);
        assert_eq!(s.memory_stats.stats.len(), 31);
        assert_eq!(s.pids_stats.limit, 100);
        let io = s.blkio_stats.io_service_bytes_recursive.clone().unwrap();
        assert_eq!(io.len(), 2);
        assert_eq!((io[1].op.as_str(), io[1].value), ("write", 8192));

        let json = serde_json::to_value(&s).unwrap();
        assert!(json["cpu_stats"]["cpu_usage"].get("percpu_usage").is_none());
        assert!(json["blkio_stats"]["io_serviced_recursive"].is_null());
        assert!(json["memory_stats"].get("max_usage").is_none());

        assert!(!oom_killed(&layout, "/berth/c1"));
        w("memory.events", "oom 1\noom_kill 2\n");
        assert!(oom_killed(&layout, "/berth/c1"));
        assert_eq!(pids(&layout, "/berth/c1").unwrap(), vec![7]);
    }

    #[test]
    fn unlimited_v2_memory_is_host_memory() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("cg/x");
        fs::create_dir_all(&cg).unwrap();
        fs::write(cg.join("memory.max"), "max\n").unwrap();
        let proc_dir = proc_fixture(dir.path());
        let layout = CgroupLayout::v2(dir.path().join("cg"));
        let s = stats_with_proc(&layout, "/x", &proc_dir).unwrap();
        assert_eq!(s.memory_stats.limit, 2048000 * 1024);
        assert_eq!(s.pids_stats.limit, 0);
    }
}
