//! Leaving the daemon behind: own session, not its child, stdio on /dev/null. Only the
//! report pipe (the original stdout) stays, until the start report is written.

use anyhow::{Context, Result};
use berth_shim_protocol::StartReport;
use nix::fcntl::{fcntl, open, FcntlArg, OFlag};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::stat::Mode;
use nix::unistd::{dup2, fork, setsid, ForkResult};
use std::fs::File;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};

/// The pipe the daemon reads the one-line [`StartReport`] from.
pub struct Report {
    pipe: Option<File>,
}

impl Report {
    /// Writes the report and closes the pipe; later calls do nothing.
    pub fn send(&mut self, report: &StartReport) {
        if let Some(mut pipe) = self.pipe.take() {
            if let Ok(mut line) = serde_json::to_vec(report) {
                line.push(b'\n');
                let _ = pipe.write_all(&line);
            }
        }
    }
}

/// Clears the inheritable and ambient capabilities the daemon may have been started with
/// (e.g. under `setpriv --inh-caps`): whatever the shim forks, OCI runtime and container
/// processes, must not get them back through execve. Capabilities are per thread: called
/// while the shim has only one.
pub fn drop_inherited_caps() -> Result<()> {
    use caps::CapSet;
    if caps::runtime::ambient_set_supported().is_ok() {
        caps::clear(None, CapSet::Ambient).context("clearing the ambient capabilities")?;
    }
    caps::clear(None, CapSet::Inheritable).context("clearing the inheritable capabilities")
}

/// Forks; the parent exits at once so the shim is not the daemon's child, and the child
/// starts its own session.
pub fn detach() -> Result<Report> {
    // Keep the report pipe on a close-on-exec fd so no container process inherits it.
    let raw = fcntl(1, FcntlArg::F_DUPFD_CLOEXEC(3)).context("duplicating stdout")?;
    // SAFETY: F_DUPFD_CLOEXEC just returned a new fd that nothing else owns.
    let pipe = unsafe { File::from_raw_fd(raw) };

    close_inherited_fds(raw);

    // SAFETY: the shim is still single-threaded here (no tokio runtime built yet), so the child
    // may do anything after fork.
    match unsafe { fork() }.context("fork")? {
        // SAFETY: _exit skips atexit handlers and buffers, which belong to the child now.
        ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
        ForkResult::Child => {}
    }
    setsid().context("setsid")?;
    let null = open("/dev/null", OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .context("opening /dev/null")?;
    // SAFETY: open just returned this fd; we own it.
    let null = unsafe { OwnedFd::from_raw_fd(null) };
    for fd in 0..3 {
        dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd).context("dup2 /dev/null")?;
    }
    std::env::set_current_dir("/").context("chdir /")?;
    Ok(Report { pipe: Some(pipe) })
}

/// Closes every fd above stdio that the daemon let us inherit (except the report pipe), so
/// the long-lived shim holds nothing of the daemon's open.
fn close_inherited_fds(keep: i32) {
    let fds: Vec<i32> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => return,
    };
    for fd in fds {
        if fd > 2 && fd != keep {
            // SAFETY: nothing in the shim owns these fds yet (the directory iterator's own
            // fd is closed already, so closing a stale number is a harmless EBADF).
            unsafe { libc::close(fd) };
        }
    }
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// Gives the shim (and so the container, which inherits from it) default signal
/// dispositions and an empty mask. SIGPIPE gets a no-op handler rather than SIG_IGN: the
/// shim survives writes to gone clients, while exec() resets a handled signal to default,
/// so the container does not inherit an ignored SIGPIPE.
pub fn reset_signals() -> Result<()> {
    let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
    for sig in Signal::iterator() {
        if matches!(sig, Signal::SIGKILL | Signal::SIGSTOP) {
            continue;
        }
        // SAFETY: installing SIG_DFL is always sound.
        let _ = unsafe { sigaction(sig, &default) };
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
        .context("sigprocmask")?;
    let noop = SigAction::new(
        SigHandler::Handler(ignore_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing, so it is async-signal-safe.
    unsafe { sigaction(Signal::SIGPIPE, &noop) }.context("sigaction SIGPIPE")?;
    Ok(())
}
