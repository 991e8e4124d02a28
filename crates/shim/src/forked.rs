//! Running a piece of work in a short-lived child of the shim.
//!
//! libcontainer's create and exec run a lot of code and allocate a lot, once. Run in a child
//! that exits right after, none of that stays in the memory of the shim, which lives as long
//! as the container. What the child leaves behind (init, an exec'd process) is re-parented to
//! the shim, their subreaper, as with an external OCI runtime. Work that must `setns` into the
//! container runs in a child too, so the shim keeps its own namespaces.

use anyhow::{anyhow, bail, Context, Result};
use nix::fcntl::OFlag;
use nix::sys::prctl;
use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, pipe2, ForkResult};
use std::io::Read;
use std::panic::AssertUnwindSafe;

/// Longest answer the child sends: it must fit in the pipe, since nobody reads it before
/// the child has exited.
const MAX_ANSWER: usize = 16 * 1024;

/// Runs `f` in a forked child and returns the number it produced (a pid, for the driver).
pub fn in_child(f: impl FnOnce() -> Result<i32>) -> Result<i32> {
    let (rd, wr) = pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).context("pipe")?;
    let shim = nix::unistd::getpid();
    // SAFETY: the shim is single-threaded (see main.rs), so the child may run any code.
    match unsafe { fork() }.context("fork")? {
        ForkResult::Child => {
            drop(rd);
            // A shim killed mid-create (a failed start is torn down that way) must not leave
            // libcontainer running on, re-parented to init.
            let orphaned = prctl::set_pdeathsig(Some(Signal::SIGKILL)).is_err()
                || nix::unistd::getppid() != shim;
            if orphaned {
                // SAFETY: as below, _exit runs nothing of the shim's state.
                unsafe { libc::_exit(1) }
            }
            let answer = match std::panic::catch_unwind(AssertUnwindSafe(f)) {
                Ok(Ok(pid)) => format!("ok {pid}"),
                Ok(Err(e)) => format!("error {e:#}"),
                Err(_) => "error the runtime panicked".to_string(),
            };
            let mut end = answer.len().min(MAX_ANSWER);
            while !answer.is_char_boundary(end) {
                end -= 1;
            }
            let _ = nix::unistd::write(&wr, &answer.as_bytes()[..end]);
            // SAFETY: _exit ends the child at once: no destructor or atexit handler of the
            // shim's state runs twice.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(wr);
            // Wait for the exit, not for the pipe's end: processes the child started hold
            // the write end until they exec.
            loop {
                match waitpid(child, None) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    other => {
                        other.context("waiting for the runtime")?;
                        break;
                    }
                }
            }
            let mut answer = String::new();
            let _ = std::fs::File::from(rd).read_to_string(&mut answer);
            parse(&answer)
        }
    }
}

fn parse(answer: &str) -> Result<i32> {
    if let Some(pid) = answer.strip_prefix("ok ") {
        return pid
            .trim()
            .parse()
            .map_err(|_| anyhow!("bad pid from the runtime: {pid:?}"));
    }
    match answer.strip_prefix("error ") {
        Some(msg) => bail!("{msg}"),
        None => bail!("the runtime ended without an answer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_childs_answer() {
        assert_eq!(in_child(|| Ok(42)).unwrap(), 42);
        let e = in_child(|| bail!("no such file")).unwrap_err();
        assert_eq!(format!("{e:#}"), "no such file");
    }

    #[test]
    fn parses_answers() {
        assert_eq!(parse("ok 17").unwrap(), 17);
        assert!(parse("").is_err());
        assert!(parse("ok x").is_err());
    }
}
