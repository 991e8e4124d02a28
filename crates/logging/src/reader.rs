//! Reading a container's log across its rotated and compressed files, oldest first, with
//! Docker's `since`, `until` and `tail`.

use crate::config::Driver;
use crate::format::{log_path, Format};
use crate::record::{parse_rfc3339, Record};
use crate::rotate::rotated_path;
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// A container's log: the file being written and the rotated files beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFiles {
    pub path: PathBuf,
    pub format: Format,
}

/// Which records to return. Times are nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Only records at or after this time.
    pub since: Option<i64>,
    /// Only records at or before this time.
    pub until: Option<i64>,
    /// Only the last N of the records left by `since`/`until`.
    pub tail: Option<usize>,
}

impl ReadOptions {
    pub(crate) fn wants(&self, rec: &Record) -> bool {
        self.since.is_none_or(|s| rec.time >= s) && self.until.is_none_or(|u| rec.time <= u)
    }
}

/// Where the whole entries of the active file end, as a reader found them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ActiveEnd {
    pub len: u64,
    pub last_time: Option<i64>,
}

/// One file of a log.
#[derive(Debug, Clone)]
pub(crate) struct LogFile {
    pub path: PathBuf,
    pub compressed: bool,
}

impl LogFiles {
    /// The log `driver` keeps for the container whose json-file path is `json_path`; `None`
    /// for a driver that keeps nothing.
    pub fn for_driver(driver: Driver, json_path: &Path) -> Option<Self> {
        Some(LogFiles {
            path: log_path(driver, json_path)?,
            format: Format::of(driver)?,
        })
    }

    /// Rotated files, newest (`.1`) first. A file caught between rotation and compression
    /// (both `x.log.1` and `x.log.1.gz`) is read uncompressed: the gzip may be incomplete.
    pub(crate) fn rotated(&self) -> Vec<LogFile> {
        let mut files = Vec::new();
        let mut missing = 0;
        for n in 1.. {
            let plain = rotated_path(&self.path, n, false);
            let gz = rotated_path(&self.path, n, true);
            if plain.exists() {
                files.push(LogFile {
                    path: plain,
                    compressed: false,
                });
            } else if gz.exists() {
                files.push(LogFile {
                    path: gz,
                    compressed: true,
                });
            } else {
                // A rotation shifting names leaves one gap at a time.
                missing += 1;
                if missing == 2 {
                    break;
                }
                continue;
            }
            missing = 0;
        }
        files
    }

    /// Every path of the log, the active file included (for removal, disk usage).
    pub fn all_paths(&self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self.rotated().into_iter().map(|f| f.path).collect();
        paths.push(self.path.clone());
        paths
    }

    /// The records `opts` select, oldest first.
    pub fn read(&self, opts: &ReadOptions) -> io::Result<Vec<Record>> {
        let _lock = crate::lock::RotationLock::shared(&self.path);
        let active = match File::open(&self.path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let (records, _) = self.read_with_active(opts, active)?;
        Ok(records)
    }

    /// Reads the rotated files by name and the active file through `active` (to its end),
    /// returning the selected records and where `active`'s whole entries end: their length
    /// and the time of the last one (selected or not).
    pub(crate) fn read_with_active(
        &self,
        opts: &ReadOptions,
        active: Option<File>,
    ) -> io::Result<(Vec<Record>, ActiveEnd)> {
        use std::os::unix::fs::MetadataExt;
        let mut newest_first: Vec<Vec<Record>> = Vec::new();
        let mut count = 0;
        let mut end = ActiveEnd::default();
        let mut active_ino = None;
        if let Some(mut f) = active {
            active_ino = f.metadata().ok().map(|m| m.ino());
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes)?;
            let mut recs = Vec::new();
            end.len = self.format.decode_all(&bytes, &mut recs) as u64;
            end.last_time = recs.last().map(|r| r.time);
            recs.retain(|r| opts.wants(r));
            count += recs.len();
            newest_first.push(recs);
        }
        for file in self.rotated() {
            if opts.tail.is_some_and(|t| count >= t) {
                break;
            }
            if let Some(since) = opts.since {
                if last_time(&file).is_some_and(|t| t < since) {
                    break;
                }
            }
            // A rotation between opening the active file and listing: read it once only.
            if !file.compressed
                && active_ino.is_some()
                && std::fs::metadata(&file.path).ok().map(|m| m.ino()) == active_ino
            {
                continue;
            }
            let mut recs = match self.read_file(&file) {
                Ok(r) => r,
                // Removed by a rotation since it was listed.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            recs.retain(|r| opts.wants(r));
            count += recs.len();
            newest_first.push(recs);
        }
        let mut all: Vec<Record> = newest_first.into_iter().rev().flatten().collect();
        if let Some(t) = opts.tail {
            let skip = all.len().saturating_sub(t);
            all.drain(..skip);
        }
        Ok((all, end))
    }

    /// Every whole record of one file.
    pub(crate) fn read_file(&self, file: &LogFile) -> io::Result<Vec<Record>> {
        let mut bytes = Vec::new();
        let f = File::open(&file.path)?;
        if file.compressed {
            GzDecoder::new(f).read_to_end(&mut bytes)?;
        } else {
            let mut f = f;
            f.read_to_end(&mut bytes)?;
        }
        let mut recs = Vec::new();
        self.format.decode_all(&bytes, &mut recs);
        Ok(recs)
    }
}

/// A rotated file held open, so its name may change under the reader.
pub(crate) struct OpenedFile {
    pub file: File,
    pub ino: u64,
    pub compressed: bool,
}

impl LogFiles {
    /// The rotated files, newest first, opened. Rotations rename files while they are listed:
    /// the listing is taken again until every name still holds the file opened under it.
    pub(crate) fn open_rotated(&self) -> Vec<OpenedFile> {
        use std::os::unix::fs::MetadataExt;
        let mut opened = Vec::new();
        for _ in 0..8 {
            opened.clear();
            let mut names = Vec::new();
            for file in self.rotated() {
                if let Ok(f) = File::open(&file.path) {
                    if let Ok(m) = f.metadata() {
                        opened.push(OpenedFile {
                            file: f,
                            ino: m.ino(),
                            compressed: file.compressed,
                        });
                        names.push(file.path);
                    }
                }
            }
            let stable = names
                .iter()
                .zip(&opened)
                .all(|(path, f)| std::fs::metadata(path).ok().map(|m| m.ino()) == Some(f.ino))
                && self.rotated().len() == opened.len();
            if stable {
                break;
            }
        }
        opened
    }

    /// Every whole record of an opened file (none if it cannot be read).
    pub(crate) fn read_opened(&self, f: &OpenedFile) -> Vec<Record> {
        let mut bytes = Vec::new();
        let mut file = &f.file;
        let ok = if f.compressed {
            GzDecoder::new(file).read_to_end(&mut bytes).is_ok()
        } else {
            file.read_to_end(&mut bytes).is_ok()
        };
        let mut recs = Vec::new();
        if ok {
            self.format.decode_all(&bytes, &mut recs);
        }
        recs
    }
}

/// The time of a compressed file's last record, from its gzip header's comment.
fn last_time(file: &LogFile) -> Option<i64> {
    if !file.compressed {
        return None;
    }
    let gz = GzDecoder::new(File::open(&file.path).ok()?);
    let comment = gz.header()?.comment()?;
    parse_rfc3339(std::str::from_utf8(comment).ok()?)
}
