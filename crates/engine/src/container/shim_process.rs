//! The shim process of one run, held by a pidfd. A run is over only once its shim has exited:
//! a new run of the container uses the same paths (socket, OCI runtime state, cgroup), so it must
//! not begin while the old shim can still touch them. A failed start kills the shim and all
//! it forked.

use berth_shim_protocol::SHIM_PID_FILE;
use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// How long a shim may take to end after it answered `Wait` (it flushes the tails of attach
/// streams for up to two seconds) before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(5);

/// How long a killed shim may take to be gone.
const KILLED_GRACE: Duration = Duration::from_secs(5);

pub struct ShimProcess {
    pid: i32,
    fd: AsyncFd<OwnedFd>,
}

impl ShimProcess {
    /// The live shim that `state_dir/shim.pid` names; `None` when it has exited already.
    pub fn open(state_dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(state_dir.join(SHIM_PID_FILE)).ok()?;
        let pid: i32 = text.trim().parse().ok()?;
        let fd = pidfd_open(Pid::from_raw(pid)?, PidfdFlags::empty()).ok()?;
        // The pid comes from a file: only a process with this state dir on its command line
        // is the shim (a zombie's command line is empty, a recycled pid's is another one).
        if !names_state_dir(pid, state_dir) {
            return None;
        }
        // SAFETY: the OwnedFd is a valid open pidfd, moved into the AsyncFd, which owns it
        // (and so keeps it open and the same) until the AsyncFd is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }.ok()?;
        Some(Self { pid, fd })
    }

    /// Resolves once the shim has exited (a pidfd reads as ready then).
    pub async fn exited(&self) {
        let _ = self.fd.readable().await;
    }

    /// Waits up to `timeout` for the shim to exit; true when it did.
    pub async fn wait(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.exited()).await.is_ok()
    }

    /// SIGKILLs the shim and its process group: the child the shim forked to create and whatever that
    /// started before it joined the container.
    pub fn kill(&self) {
        // Through the pidfd first: that only reaches the shim itself, alive at that moment,
        // so its pid is still its process group's id for the group kill right after.
        if pidfd_send_signal(&self.fd, Signal::KILL).is_ok() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(self.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }

    /// Lets a shim that has told the exit finish on its own, killing it if it does not.
    pub async fn finish(&self) {
        if self.wait(EXIT_GRACE).await {
            return;
        }
        tracing::warn!(
            pid = self.pid,
            "shim did not exit after the container did; killing it"
        );
        self.kill_and_wait().await;
    }

    /// Kills the shim and waits for it to be gone.
    pub async fn kill_and_wait(&self) {
        self.kill();
        if !self.wait(KILLED_GRACE).await {
            tracing::warn!(pid = self.pid, "shim still there after SIGKILL");
        }
    }
}

fn names_state_dir(pid: i32, state_dir: &Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let want = state_dir.as_os_str().as_bytes();
    cmdline.split(|b| *b == 0).any(|arg| arg == want)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    fn alive(pid: i32) -> bool {
        // A zombie counts as gone: its parent (this test) just has not reaped it.
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(false)
    }

    /// A stand-in shim: a session leader with `state_dir` on its command line that forks a
    /// child of its own (the create), as the shim does.
    fn fake_shim(state_dir: &Path) -> (std::process::Child, i32) {
        std::fs::create_dir_all(state_dir).unwrap();
        let child_pid = state_dir.join("child.pid");
        let script = format!(
            "sleep 600 & echo $! > {}; echo $$ > {}/{SHIM_PID_FILE}; wait",
            child_pid.display(),
            state_dir.display()
        );
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script, "berth-shim", "--state"])
            .arg(state_dir)
            .process_group(0);
        let shim = cmd.spawn().unwrap();
        let start = std::time::Instant::now();
        let forked = loop {
            if let Ok(t) = std::fs::read_to_string(&child_pid) {
                if let Ok(p) = t.trim().parse::<i32>() {
                    if state_dir.join(SHIM_PID_FILE).exists() {
                        break p;
                    }
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "fake shim did not start"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        (shim, forked)
    }

    #[tokio::test]
    async fn kill_ends_the_shim_and_what_it_forked() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s");
        let (mut shim, forked) = fake_shim(&state);
        let p = ShimProcess::open(&state).expect("a live shim opens");
        assert!(!p.wait(Duration::from_millis(50)).await, "exited too early");
        assert!(alive(forked));
        p.kill();
        shim.wait().unwrap();
        assert!(p.wait(Duration::from_secs(10)).await);
        let start = std::time::Instant::now();
        while alive(forked) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the shim's child {forked} outlived the group kill"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn only_a_live_shim_of_this_state_dir_opens() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("s");
        std::fs::create_dir_all(&state).unwrap();
        assert!(ShimProcess::open(&state).is_none(), "no shim.pid");
        // Our own pid: a live process, but not a shim of that state dir.
        std::fs::write(state.join(SHIM_PID_FILE), std::process::id().to_string()).unwrap();
        assert!(ShimProcess::open(&state).is_none(), "a stranger opened");
        // A shim that has exited (and been reaped).
        let (mut shim, _forked) = fake_shim(&state);
        nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(shim.id() as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        shim.wait().unwrap();
        assert!(ShimProcess::open(&state).is_none(), "a dead shim opened");
    }
}
