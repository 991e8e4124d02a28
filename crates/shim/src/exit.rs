//! Reaping children as a subreaper, turning wait statuses into Docker exit codes, and
//! recording the exit for a daemon that may have gone away.

use berth_shim_protocol::{ExitStatus, EXIT_FILE};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Docker's exit code for a wait status: the code, or 128 + signal number.
pub fn exit_code(status: &WaitStatus) -> Option<(i32, i32)> {
    match *status {
        WaitStatus::Exited(pid, code) => Some((pid.as_raw(), code)),
        WaitStatus::Signaled(pid, sig, _) => Some((pid.as_raw(), 128 + sig as i32)),
        _ => None,
    }
}

/// Reaps every child that has ended, returning (pid, exit code) for each.
pub fn reap_all() -> Vec<(i32, i32)> {
    let mut done = Vec::new();
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
            Ok(status) => done.extend(exit_code(&status)),
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    done
}

/// SIGKILLs and reaps every child of the shim until none is left. The shim is a subreaper, so
/// the orphans of a child come to it when the child dies: this ends every process it started,
/// at any depth (what a failed create left behind).
pub fn kill_children() {
    // Bounded: each round ends one generation.
    for _ in 0..64 {
        let children = children();
        if children.is_empty() {
            return;
        }
        for &pid in &children {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        for pid in children {
            let _ = waitpid(Pid::from_raw(pid), None);
        }
    }
}

/// The shim's children, from `/proc/self/task/*/children`.
fn children() -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect()
}

/// Writes `exit.json` atomically (a temp file renamed into place): a daemon that restarts
/// reads either nothing or the whole record. Not fsynced: the file lives in the exec root,
/// state of the run that means nothing once the host has gone down.
pub fn write_exit_file(state_dir: &Path, status: &ExitStatus) -> io::Result<()> {
    let bytes = serde_json::to_vec(status)?;
    write_atomic(state_dir, EXIT_FILE, &bytes)
}

/// Writes `dir/name` through a temp file renamed into place. The temp file is this process's
/// own, so shims writing the same file at once never mix their bytes.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    File::create(&tmp)?.write_all(bytes)?;
    std::fs::rename(&tmp, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_from_wait_status() {
        let p = Pid::from_raw(7);
        assert_eq!(exit_code(&WaitStatus::Exited(p, 5)), Some((7, 5)));
        assert_eq!(
            exit_code(&WaitStatus::Signaled(p, Signal::SIGKILL, false)),
            Some((7, 137))
        );
        assert_eq!(
            exit_code(&WaitStatus::Signaled(p, Signal::SIGTERM, true)),
            Some((7, 143))
        );
        assert_eq!(exit_code(&WaitStatus::StillAlive), None);
    }

    #[test]
    fn exit_file_round_trip() {
        let dir = std::env::temp_dir().join(format!("berth-shim-exit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let st = ExitStatus {
            exit_code: 3,
            oom_killed: true,
            finished_at: "2026-01-01T00:00:00.000000000Z".into(),
        };
        write_exit_file(&dir, &st).unwrap();
        assert_eq!(berth_shim_protocol::read_exit_file(&dir), Some(st));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
