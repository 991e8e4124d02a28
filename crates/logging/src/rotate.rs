//! A log file that rotates: `x.log` → `x.log.1` → … → `x.log.<max-file - 1>`, the oldest
//! removed, rotated files optionally gzipped (`x.log.1.gz`) in the background. Each file stays
//! within `max-size` (an entry is never split across files).

use crate::compress::{Compressor, Job};
use crate::config::Rotation;
use crate::error::{LogError, Result};
use crate::lock::RotationLock;
use crate::record::format_rfc3339_nano;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The name of rotated file `n` (≥ 1) of `path`.
pub fn rotated_path(path: &Path, n: u32, compressed: bool) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{n}{}", if compressed { ".gz" } else { "" }));
    PathBuf::from(s)
}

pub struct RotatingFile {
    path: PathBuf,
    file: File,
    size: u64,
    rotation: Rotation,
    compressor: Box<dyn Compressor>,
    /// Entries not written yet (written at [`RotatingFile::flush`] or before a rotation).
    pending: Vec<u8>,
    /// Time of the newest entry appended (for the gzip header of the file it ends).
    last_time: Option<i64>,
}

/// Opens (creating) a log file with Docker's mode, 0640, whatever the umask.
fn open_log(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o640))?;
    Ok(file)
}

impl RotatingFile {
    pub fn open(path: &Path, rotation: Rotation, compressor: Box<dyn Compressor>) -> Result<Self> {
        let file = open_log(path).map_err(|e| LogError::io("opening", path, e))?;
        let size = file
            .metadata()
            .map_err(|e| LogError::io("reading", path, e))?
            .len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            size,
            rotation,
            compressor,
            pending: Vec::new(),
            last_time: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Queues one encoded entry of time `time`; rotates first if it would take the file past
    /// `max-size`.
    pub fn append(&mut self, entry: &[u8], time: i64) -> io::Result<()> {
        if let Some(max) = self.rotation.max_size {
            let used = self.size + self.pending.len() as u64;
            if used > 0 && used + entry.len() as u64 > max {
                self.flush()?;
                self.rotate()?;
            }
        }
        self.pending.extend_from_slice(entry);
        self.last_time = Some(time);
        Ok(())
    }

    /// Writes the queued entries.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.pending);
        // Counted even on a short write (a full disk): the size check stays conservative.
        self.size += self.pending.len() as u64;
        self.pending.clear();
        if self.pending.capacity() > 256 * 1024 {
            // Don't keep a large buffer around after a burst.
            self.pending = Vec::new();
        }
        result
    }

    /// Blocks until a background compression has finished (tests, shutdown).
    pub fn wait_compression(&mut self) {
        self.compressor.wait();
    }

    fn rotate(&mut self) -> io::Result<()> {
        let max_files = self.rotation.max_files;
        if max_files < 2 {
            // Docker's max-file=1: start the one file over.
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        let compress = self.rotation.compress;
        // The previous file must be compressed before the names shift.
        self.compressor.wait();
        // Readers list the files under the shared lock: they see the names before or after.
        let _lock = RotationLock::exclusive(&self.path)?;
        let oldest = rotated_path(&self.path, max_files - 1, compress);
        ignore_missing(std::fs::remove_file(&oldest))?;
        for n in (2..max_files).rev() {
            ignore_missing(std::fs::rename(
                rotated_path(&self.path, n - 1, compress),
                rotated_path(&self.path, n, compress),
            ))?;
        }
        let first = rotated_path(&self.path, 1, false);
        std::fs::rename(&self.path, &first)?;
        self.file = open_log(&self.path)?;
        self.size = 0;
        if compress {
            self.compressor.start(Job {
                src: first,
                dst: rotated_path(&self.path, 1, true),
                last_time: self.last_time.map(format_rfc3339_nano),
            });
        }
        Ok(())
    }
}

impl Drop for RotatingFile {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}
