//! Gzip of rotated files, off the writer's path. Two ways to run it in the background: a
//! thread, or (for a single-threaded process that forks, as the shim) a forked child.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Compresses `src` into `dst` (through a temp file renamed into place), then removes `src`.
/// The gzip header's comment holds the last record's time (RFC 3339) when known, so a reader
/// may skip a file older than `since` without inflating it.
pub fn gzip_file(src: &Path, dst: &Path, last_time: Option<&str>) -> io::Result<()> {
    let tmp = dst.with_extension("gz.tmp");
    let result = (|| {
        let mut input = BufReader::new(File::open(src)?);
        let out = File::create(&tmp)?;
        let mut builder = flate2::GzBuilder::new();
        if let Some(t) = last_time {
            builder = builder.comment(t.as_bytes());
        }
        let mut gz = builder.write(BufWriter::new(out), flate2::Compression::default());
        io::copy(&mut input, &mut gz)?;
        gz.finish()?.into_inner().map_err(|e| e.into_error())?;
        // `src` is `<log>.1`: readers see it or its gzip, never neither.
        let _lock = crate::lock::RotationLock::exclusive(&src.with_extension(""))?;
        std::fs::rename(&tmp, dst)?;
        std::fs::remove_file(src)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A compression job: the rotated file and where its gzip goes.
#[derive(Debug, Clone)]
pub struct Job {
    pub src: PathBuf,
    pub dst: PathBuf,
    pub last_time: Option<String>,
}

/// Runs compressions in the background, one at a time.
pub trait Compressor: Send {
    /// Starts `job`. The caller [`Compressor::wait`]s for the previous one first.
    fn start(&mut self, job: Job);
    /// Blocks until the running job (if any) has finished.
    fn wait(&mut self);
}

/// Compresses on a thread.
#[derive(Default)]
pub struct ThreadCompressor {
    running: Option<std::thread::JoinHandle<()>>,
}

impl Compressor for ThreadCompressor {
    fn start(&mut self, job: Job) {
        self.wait();
        self.running = Some(std::thread::spawn(move || {
            let _ = gzip_file(&job.src, &job.dst, job.last_time.as_deref());
        }));
    }

    fn wait(&mut self) {
        if let Some(t) = self.running.take() {
            let _ = t.join();
        }
    }
}

/// Compresses in a forked child: for a single-threaded process (the shim) that forks for other
/// reasons too and must stay single-threaded. The child's end of a pipe tells when it is done,
/// whoever reaps it (a subreaper's reaper may).
#[derive(Default)]
pub struct ForkCompressor {
    running: Option<(libc::pid_t, OwnedFd)>,
}

impl Compressor for ForkCompressor {
    fn start(&mut self, job: Job) {
        self.wait();
        let mut fds = [0; 2];
        // SAFETY: pipe2 writes two fds into the array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            // No pipe: compress in line rather than not at all.
            let _ = gzip_file(&job.src, &job.dst, job.last_time.as_deref());
            return;
        }
        // SAFETY: the fds were just made by pipe2 and are owned by nothing else.
        let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: the caller is single-threaded (the reason to use this compressor); the child
        // only compresses a file and leaves with _exit.
        match unsafe { libc::fork() } {
            0 => {
                drop(rd);
                let ok = gzip_file(&job.src, &job.dst, job.last_time.as_deref()).is_ok();
                drop(wr);
                // SAFETY: a forked child leaves without running the parent's destructors.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) }
            }
            pid if pid > 0 => {
                drop(wr);
                self.running = Some((pid, rd));
            }
            _ => {
                let _ = gzip_file(&job.src, &job.dst, job.last_time.as_deref());
            }
        }
    }

    fn wait(&mut self) {
        let Some((pid, rd)) = self.running.take() else {
            return;
        };
        // EOF once the child has exited (it holds the only write end).
        let mut f = File::from(rd);
        let mut byte = [0u8; 1];
        while matches!(f.read(&mut byte), Ok(n) if n > 0) {}
        // Reap it unless a subreaper's reaper did already (ECHILD then).
        let mut status = 0;
        // SAFETY: waitpid writes the status into the int it is given.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
}

impl Drop for ForkCompressor {
    fn drop(&mut self) {
        self.wait();
    }
}

impl Drop for ThreadCompressor {
    fn drop(&mut self) {
        self.wait();
    }
}
