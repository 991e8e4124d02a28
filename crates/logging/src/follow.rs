//! Following a log as it grows (`logs -f`), across rotations, without losing or repeating an
//! entry.
//!
//! The follower holds the active file open and remembers its inode. At each
//! [`Follower::poll`] it reads its file to the end (a rotated file keeps its inode, so what
//! was written before the rotation is still read through the open handle), then looks at the
//! path: a new inode there means one or more rotations. It then opens the active file and
//! the rotated ones (newest first, back to the file holding the last entry it returned) and
//! returns their entries newer than that one. Entry times are strictly increasing within a
//! log (the writer makes them so): keeping each time once, in order, returns every entry
//! once, whatever renames raced the reading, and however many rotations happened between
//! two polls. The same inode with a smaller size is a truncation (max-file=1): it reads again
//! from the start.

use crate::lock::RotationLock;
use crate::reader::{LogFiles, ReadOptions};
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
        let mut follower = Follower {
            files,
            current: None,
            buf: Vec::new(),
            until: opts.until,
            done: false,
            last: None,
        };
        let mut all = follower.read_newer(None)?;
        follower.note(&all);
        follower.done = all.last().zip(opts.until).is_some_and(|(r, u)| r.time > u);
        all.retain(|r| opts.wants(r));
        if let Some(t) = opts.tail {
            let skip = all.len().saturating_sub(t);
            all.drain(..skip);
        }
        Ok((all, follower))
    }

    pub fn finished(&self) -> bool {
        self.done
    }

    /// The entries written since the last call. Does not block.
    pub fn poll(&mut self) -> io::Result<Vec<Record>> {
        let mut out = Vec::new();
        if self.done {
            return Ok(out);
        }
        // What the followed file got since (through the handle: also after a rename).
        self.drain(&mut out)?;
        self.note(&out);
        let on_path = match std::fs::metadata(&self.files.path) {
            Ok(m) => Some((m.ino(), m.len())),
            // Between a rotation's rename and the new file's creation: next time.
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let moved = match (&mut self.current, on_path) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some((_, ino)), Some((path_ino, _))) if *ino != path_ino => true,
            (Some((f, _)), Some((_, len))) => {
                // The same file, shorter: truncated (max-file=1), read again from the start.
                if len < f.stream_position()? {
                    f.seek(SeekFrom::Start(0))?;
                    self.buf.clear();
                    let mut again = Vec::new();
                    self.drain(&mut again)?;
                    self.note(&again);
                    out.extend(again);
                }
                false
            }
        };
        if moved {
            let newer = self.read_newer(self.last)?;
            self.note(&newer);
            out.extend(newer);
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

    /// Every entry newer than `after`, from a view of the files taken through open handles
    /// (the active file first, then the rotated ones, newest first, back to the one holding
    /// `after`), and follows the active file from its end. Renames racing the listing can
    /// show one file twice: entry times are strictly increasing, so keeping each time once,
    /// in order, returns every entry once.
    fn read_newer(&mut self, after: Option<i64>) -> io::Result<Vec<Record>> {
        let _lock = RotationLock::shared(&self.files.path);
        let active = match File::open(&self.files.path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let mut newest_first: Vec<Vec<Record>> = Vec::new();
        let mut active_ino = None;
        if let Some(f) = active {
            let ino = f.metadata()?.ino();
            active_ino = Some(ino);
            self.current = Some((f, ino));
            self.buf.clear();
            let mut recs = Vec::new();
            self.drain(&mut recs)?;
            newest_first.push(recs);
        }
        for file in self.files.open_rotated() {
            if Some(file.ino) == active_ino {
                continue;
            }
            let recs = self.files.read_opened(&file);
            let reaches_back = after.is_some_and(|a| recs.first().is_some_and(|r| r.time <= a));
            newest_first.push(recs);
            if reaches_back {
                break;
            }
        }
        let mut out = Vec::new();
        let mut newest = after;
        for rec in newest_first.into_iter().rev().flatten() {
            if newest.is_none_or(|t| rec.time > t) {
                newest = Some(rec.time);
                out.push(rec);
            }
        }
        Ok(out)
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
