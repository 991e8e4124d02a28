//! berth-cgroups: finding, reading and driving a container's cgroup on cgroup v1, v2 and
//! hybrid hosts: pause/unpause, process lists, `docker stats` numbers, OOM detection,
//! removal, and the early start of the cgroup-move grace period.
//!
//! Every function takes a [`CgroupLayout`], which carries the directories the
//! hierarchies are mounted at: [`detect`] finds them from /proc/self/mountinfo,
//! and tests build a layout over a temporary directory of fixture files.

mod layout;
pub mod limits;
mod migration;
pub mod mountinfo;
mod stats;

pub use layout::{detect, detect_from_mountinfo, CgroupLayout};
pub use migration::begin_grace_period;
pub use stats::{
    oom_killed, pids, stats, stats_with_proc, BlkioStatEntry, BlkioStats, CpuStats, CpuUsage,
    MemoryStats, PidsStats, Stats, ThrottlingData,
};

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// Errors reading or writing cgroup files.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A cgroup file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A cgroup file did not hold what the kernel writes there.
    #[error("{path}: cannot parse {what}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was expected.
        what: String,
    },
    /// The controller is not mounted on this host.
    #[error("cgroup controller {0:?} is not available")]
    NoController(String),
    /// Freezing or thawing did not settle in time.
    #[error("cgroup {path}: timed out waiting for state {want}")]
    Timeout {
        /// The cgroup directory.
        path: PathBuf,
        /// The awaited state.
        want: String,
    },
}

pub(crate) fn read(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path).map_err(|source| CgroupError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, value: &str) -> Result<(), CgroupError> {
    fs::write(path, value).map_err(|source| CgroupError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// How long freeze/thaw wait for the kernel to report the new state.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Polls `check` until it returns true, backing off from 1 ms to 20 ms.
fn wait_until(
    dir: &Path,
    want: &str,
    mut check: impl FnMut() -> Result<bool, CgroupError>,
) -> Result<(), CgroupError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(1);
    loop {
        if check()? {
            return Ok(());
        }
        if start.elapsed() > SETTLE_TIMEOUT {
            return Err(CgroupError::Timeout {
                path: dir.to_path_buf(),
                want: want.to_string(),
            });
        }
        thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(20));
    }
}

/// Removes a container's cgroup from every hierarchy once its processes are gone. A directory
/// already absent is fine; one still busy is retried briefly, then reported.
pub fn remove(layout: &CgroupLayout, path: &str) -> Result<(), CgroupError> {
    let mut dirs: Vec<std::path::PathBuf> = match layout {
        CgroupLayout::V2 { .. } => vec![layout.unified_dir(path)?],
        CgroupLayout::V1 { controllers, .. } | CgroupLayout::Hybrid { controllers, .. } => {
            let mut d = Vec::new();
            for name in controllers.keys() {
                d.push(layout.controller_path(name, path)?);
            }
            if let Ok(u) = layout.unified_dir(path) {
                d.push(u);
            }
            d
        }
    };
    // Co-mounted controllers (cpu,cpuacct) share one directory.
    dirs.sort();
    dirs.dedup();
    let mut last_err = None;
    for dir in dirs {
        let mut delay = Duration::from_millis(1);
        loop {
            match fs::remove_dir(&dir) {
                Ok(()) => break,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) if delay < Duration::from_millis(200) => {
                    let _ = e;
                    thread::sleep(delay);
                    delay *= 2;
                }
                Err(source) => {
                    last_err = Some(CgroupError::Io { path: dir, source });
                    break;
                }
            }
        }
    }
    last_err.map_or(Ok(()), Err)
}

/// Freezes every process of the cgroup (`docker pause`) and returns once the
/// kernel reports the cgroup frozen.
pub fn freeze(layout: &CgroupLayout, path: &str) -> Result<(), CgroupError> {
    set_frozen(layout, path, true)
}

/// Thaws the cgroup (`docker unpause`) and returns once it runs again.
pub fn thaw(layout: &CgroupLayout, path: &str) -> Result<(), CgroupError> {
    set_frozen(layout, path, false)
}

/// Whether the cgroup is frozen (`docker pause`): v2's `frozen 1` in `cgroup.events`, v1's
/// `FROZEN` (or `FREEZING`, on its way) in `freezer.state`.
pub fn is_frozen(layout: &CgroupLayout, path: &str) -> Result<bool, CgroupError> {
    match layout {
        CgroupLayout::V2 { .. } => {
            let events = read(&layout.unified_dir(path)?.join("cgroup.events"))?;
            Ok(events
                .lines()
                .filter_map(|l| l.split_once(' '))
                .any(|(k, v)| k == "frozen" && v.trim() == "1"))
        }
        CgroupLayout::V1 { .. } | CgroupLayout::Hybrid { .. } => {
            let dir = layout.controller_path("freezer", path)?;
            let state = read(&dir.join("freezer.state"))?;
            Ok(matches!(state.trim(), "FROZEN" | "FREEZING"))
        }
    }
}

fn set_frozen(layout: &CgroupLayout, path: &str, frozen: bool) -> Result<(), CgroupError> {
    match layout {
        CgroupLayout::V2 { .. } => {
            let dir = layout.unified_dir(path)?;
            let events = dir.join("cgroup.events");
            write(&dir.join("cgroup.freeze"), if frozen { "1" } else { "0" })?;
            let want = if frozen { "1" } else { "0" };
            wait_until(&dir, &format!("frozen {want}"), || {
                let text = read(&events)?;
                Ok(text
                    .lines()
                    .filter_map(|l| l.split_once(' '))
                    .any(|(k, v)| k == "frozen" && v.trim() == want))
            })
        }
        CgroupLayout::V1 { .. } | CgroupLayout::Hybrid { .. } => {
            let dir = layout.controller_path("freezer", path)?;
            let state = dir.join("freezer.state");
            let want = if frozen { "FROZEN" } else { "THAWED" };
            write(&state, want)?;
            let res = wait_until(&dir, want, || {
                let now = read(&state)?;
                let now = now.trim();
                if now == want {
                    return Ok(true);
                }
                // A freeze can stall in FREEZING behind a task in an
                // uninterruptible sleep; asking again lets it make progress.
                if frozen && now == "FREEZING" {
                    write(&state, want)?;
                }
                Ok(false)
            });
            if res.is_err() && frozen {
                // Never leave a container half frozen.
                let _ = write(&state, "THAWED");
            }
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freeze_v1_fixture() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("freezer/berth/c1");
        fs::create_dir_all(&cg).unwrap();
        fs::write(cg.join("freezer.state"), "THAWED\n").unwrap();
        let layout = CgroupLayout::v1(dir.path());
        freeze(&layout, "/berth/c1").unwrap();
        assert_eq!(
            fs::read_to_string(cg.join("freezer.state")).unwrap(),
            "FROZEN"
        );
        thaw(&layout, "/berth/c1").unwrap();
        assert_eq!(
            fs::read_to_string(cg.join("freezer.state")).unwrap(),
            "THAWED"
        );
    }

    #[test]
    fn freeze_v2_fixture() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("berth/c1");
        fs::create_dir_all(&cg).unwrap();
        fs::write(cg.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        let layout = CgroupLayout::v2(dir.path());
        freeze(&layout, "/berth/c1").unwrap();
        assert_eq!(fs::read_to_string(cg.join("cgroup.freeze")).unwrap(), "1");
    }

    #[test]
    fn is_frozen_reads_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("freezer/berth/c1");
        fs::create_dir_all(&cg).unwrap();
        let layout = CgroupLayout::v1(dir.path());
        for (state, frozen) in [
            ("THAWED\n", false),
            ("FROZEN\n", true),
            ("FREEZING\n", true),
        ] {
            fs::write(cg.join("freezer.state"), state).unwrap();
            assert_eq!(is_frozen(&layout, "/berth/c1").unwrap(), frozen, "{state}");
        }
        let dir = tempfile::tempdir().unwrap();
        let cg = dir.path().join("berth/c1");
        fs::create_dir_all(&cg).unwrap();
        let layout = CgroupLayout::v2(dir.path());
        fs::write(cg.join("cgroup.events"), "populated 1\nfrozen 0\n").unwrap();
        assert!(!is_frozen(&layout, "/berth/c1").unwrap());
        fs::write(cg.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        assert!(is_frozen(&layout, "/berth/c1").unwrap());
        assert!(is_frozen(&layout, "/nope").is_err());
    }

    #[test]
    fn missing_cgroup_is_error() {
        let dir = tempfile::tempdir().unwrap();
        let layout = CgroupLayout::v2(dir.path());
        assert!(freeze(&layout, "/nope").is_err());
    }
}
