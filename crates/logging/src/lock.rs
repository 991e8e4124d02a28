//! The rotation lock: a writer renames a log's files only under an exclusive `flock` of
//! `<log>.lock`, and readers list and open them under a shared one, so a reader never sees
//! the names halfway through a shift (a file missed, or seen twice under two names). The
//! writer is the container's shim, the readers are the daemon: two processes, hence flock.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Held until dropped.
pub(crate) struct RotationLock {
    file: File,
}

fn lock_path(log: &Path) -> PathBuf {
    let mut s = log.as_os_str().to_os_string();
    s.push(".lock");
    PathBuf::from(s)
}

impl RotationLock {
    /// For the writer, around a rotation.
    pub(crate) fn exclusive(log: &Path) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o640)
            .open(lock_path(log))?;
        Self::take(file, libc::LOCK_EX)
    }

    /// For a reader; `None` when the log never rotated (no lock file) or it cannot be
    /// opened: then there is nothing to race.
    pub(crate) fn shared(log: &Path) -> Option<Self> {
        let file = File::open(lock_path(log)).ok()?;
        Self::take(file, libc::LOCK_SH).ok()
    }

    fn take(file: File, how: libc::c_int) -> io::Result<Self> {
        loop {
            // SAFETY: flock(2) on a descriptor this function owns; no memory is passed.
            if unsafe { libc::flock(file.as_raw_fd(), how) } == 0 {
                return Ok(Self { file });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

impl Drop for RotationLock {
    fn drop(&mut self) {
        // SAFETY: as above; closing the file would release the lock as well.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}
