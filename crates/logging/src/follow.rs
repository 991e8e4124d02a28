//! Following a log as it grows (`logs -f`), across rotations, without losing or repeating an
//! entry.
//!
//! The follower holds the active file open and remembers its inode and how far it has read.
//! At each [`Follower::poll`] it reads its file to the end (a rotated file keeps its inode,
//! so what was written before the rotation is still read through the open handle), then looks
//! at the path: a new inode there means a rotation. It then finds its old file among the
//! rotated ones (`x.log.k`), reads the files rotated after it (`x.log.k-1` … `x.log.1`) whole,
//! and goes on with the new active file from its start. If its old file was compressed (or
//! removed) before it could be found, it reads the rotated files back to the one that starts
//! before the last entry it returned. Entry times are strictly increasing within a log (the
//! writer makes them so), so after a rotation only entries newer than the last one returned
//! are returned: nothing twice, whatever renames raced the reading. The same inode with a
//! smaller size is a truncation (max-file=1): it reads again from the start.

use crate::reader::{LogFiles, OpenedFile, ReadOptions};
use crate::record::Record;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;

pub struct Follower {
    files: LogFiles,
    /// The file being followed and its inode; `None` until it exists.
    current: Option<(File, u64)>,
    /// Read but not yet a whole entry.
    buf: Vec<u8>,
    until: Option<i64>,
    done: bool,
    /// The time of the newest entry returned.
    last: Option<i64>,
}

impl Follower {
    /// Starts following `files`: returns the records `opts` select from what is there (its
    /// `tail` applies to these only) and a follower positioned right after them.
    pub fn start(files: LogFiles, opts: &ReadOptions) -> io::Result<(Vec<Record>, Follower)> {
        let active = match File::open(&files.path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let current = match &active {
            Some(f) => Some((f.try_clone()?, f.metadata()?.ino())),
            None => None,
        };
        let (backlog, end) = files.read_with_active(opts, active)?;
        let mut follower = Follower {
            files,
            current,
            buf: Vec::new(),
            until: opts.until,
            done: false,
            last: None,
        };
        if let Some((f, _)) = &mut follower.current {
            f.seek(SeekFrom::Start(end.len))?;
            // The newest entry there, returned or not (tail, since): the rest comes after it.
            follower.last = end.last_time;
        }
        if follower.last.is_none() {
            follower.last = backlog.last().map(|r| r.time);
        }
        follower.done = backlog
            .last()
            .zip(opts.until)
            .is_some_and(|(r, u)| r.time > u);
        Ok((backlog, follower))
    }

    /// Whether a record after `until` was seen: nothing more will be returned.
    pub fn finished(&self) -> bool {
        self.done
    }

    /// The entries written since the last call. Does not block.
    pub fn poll(&mut self) -> io::Result<Vec<Record>> {
        let mut out = Vec::new();
        if self.done {
            return Ok(out);
        }
        self.drain(&mut out)?;
        self.note(&out);
        // Bounded: each round follows one rotation.
        for _ in 0..16 {
            let opened = match File::open(&self.files.path) {
                Ok(f) => f,
                // Between a rotation's rename and the new file's creation: next time.
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(e),
            };
            let ino = opened.metadata()?.ino();
            let old = match &mut self.current {
                Some((f, old)) if *old == ino => {
                    if f.metadata()?.len() < f.stream_position()? {
                        // Truncated (max-file=1): the file starts over.
                        f.seek(SeekFrom::Start(0))?;
                        self.buf.clear();
                        let mut more = Vec::new();
                        self.drain(&mut more)?;
                        out.extend(more.iter().cloned());
                        self.note(&more);
                    }
                    break;
                }
                Some((_, old)) => Some(*old),
                None => None,
            };
            if old.is_some() {
                // Renamed away, so complete now: what was written since the drain above.
                let mut rest = Vec::new();
                self.drain(&mut rest)?;
                self.note(&rest);
                out.extend(rest);
            }
            let mut more = Vec::new();
            self.catch_up(old, ino, &mut more);
            self.current = Some((opened, ino));
            self.buf.clear();
            self.drain(&mut more)?;
            self.push_newer(more, &mut out);
        }
        if let Some(u) = self.until {
            if let Some(i) = out.iter().position(|r| r.time > u) {
                out.truncate(i);
                self.done = true;
            }
        }
        Ok(out)
    }

    fn note(&mut self, recs: &[Record]) {
        if let Some(r) = recs.last() {
            self.last = Some(r.time);
        }
    }

    /// Returns the entries newer than the last one returned.
    fn push_newer(&mut self, recs: Vec<Record>, out: &mut Vec<Record>) {
        for rec in recs {
            if self.last.is_none_or(|t| rec.time > t) {
                self.last = Some(rec.time);
                out.push(rec);
            }
        }
    }

    /// Reads the files rotated after the one with inode `old` (all of them when there was
    /// none) and before the new active file `new`, which a second rotation may have renamed
    /// already: what came after it is left to the next round.
    fn catch_up(&self, old: Option<u64>, new: u64, out: &mut Vec<Record>) {
        let snapshot = self.files.open_rotated();
        // Newest first; only files older than `new`.
        let older: Vec<&OpenedFile> = match snapshot.iter().position(|f| f.ino == new) {
            Some(i) => snapshot[i + 1..].iter().collect(),
            None => snapshot.iter().collect(),
        };
        let found = old.and_then(|old| older.iter().position(|f| f.ino == old));
        let newest_first = match (found, self.last) {
            (Some(k), _) => older[..k]
                .iter()
                .map(|f| self.files.read_opened(f))
                .collect(),
            (None, None) => older.iter().map(|f| self.files.read_opened(f)).collect(),
            // Compressed or removed already: back to the file that starts before `last`.
            (None, Some(last)) => {
                let mut read = Vec::new();
                for f in &older {
                    let recs = self.files.read_opened(f);
                    let starts_before = recs.first().is_some_and(|r| r.time <= last);
                    read.push(recs);
                    if starts_before {
                        break;
                    }
                }
                read
            }
        };
        out.extend(newest_first.into_iter().rev().flatten());
    }

    /// Reads the current file to its end, decoding whole entries.
    fn drain(&mut self, out: &mut Vec<Record>) -> io::Result<()> {
        let Some((f, _)) = &mut self.current else {
            return Ok(());
        };
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            self.buf.extend_from_slice(&chunk[..n]);
            let used = self.files.format.decode_all(&self.buf, out);
            self.buf.drain(..used);
        }
        Ok(())
    }
}
