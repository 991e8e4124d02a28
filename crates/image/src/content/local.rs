//! The content store on disk.
//!
//! - `<root>/content/sha256/<hex>`: committed blobs.
//! - `<root>/content/ingest/<sha256 of the ref>/`: an in-progress write: `ref` (its name),
//!   `data` (the bytes so far), `meta.json` (the size and digest announced, the start time).
//!
//! A commit fsyncs `data`, renames it to `sha256/<hex>` and fsyncs that directory, so after
//! a crash a blob is whole or absent, never partial or empty. A writer holds an exclusive
//! `flock` on `data` for as long as it lives: a second writer of the same ref, in this
//! process or another, is refused, and a crash lets go of it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rustix::fs::FlockOperation;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{
    ContentError, Info, InfoProvider, IngestManager, Ingester, Manager, Provider, ReaderAt, Result,
    Status, Writer, WriterOpts,
};
use crate::digest::Digest;
use crate::fsutil::{sync_dir, unique_suffix};
use crate::perms::{private_dir, PRIVATE_DIR};

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ContentError {
    let path = path.to_path_buf();
    move |source| ContentError::Io { op, path, source }
}

/// Refs of writes that no one will resume (their source was a stream): removed at open.
pub const TEMP_REF_PREFIX: &str = "tmp-";

#[derive(Debug, Clone)]
pub struct LocalStore {
    blobs: PathBuf,
    ingest: PathBuf,
}

/// `meta.json` of an ingest.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IngestMeta {
    total: Option<u64>,
    expected: Option<Digest>,
    started_at: SystemTime,
}

impl LocalStore {
    /// Opens (creating) `<root>/content`. In-progress writes are kept for their writers to
    /// resume, except temporary ones ([`TEMP_REF_PREFIX`]) and what an older berth left in
    /// `ingest/` (plain temporary files).
    pub fn open(root: &Path) -> Result<LocalStore> {
        let content = root.join("content");
        let blobs = content.join("sha256");
        let ingest = content.join("ingest");
        for d in [&content, &blobs, &ingest] {
            private_dir(d, PRIVATE_DIR).map_err(io_err("create", d))?;
        }
        for entry in fs::read_dir(&ingest).map_err(io_err("read dir", &ingest))? {
            let entry = entry.map_err(io_err("read dir", &ingest))?;
            let p = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            let reference = fs::read_to_string(p.join("ref")).ok();
            if is_dir && reference.is_some_and(|r| !r.starts_with(TEMP_REF_PREFIX)) {
                continue;
            }
            tracing::info!(path = %p.display(), "removing an unfinished write");
            let res = if is_dir {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            res.map_err(io_err("remove", &p))?;
        }
        Ok(LocalStore { blobs, ingest })
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }

    pub fn exists(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// A whole (small) blob, its digest checked.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>> {
        super::read_blob(self, digest)
    }

    /// Stores `bytes` (a config, a manifest).
    pub fn ingest_bytes(&self, bytes: &[u8]) -> Result<Info> {
        let opts = WriterOpts {
            reference: temp_ref("bytes"),
            total: Some(bytes.len() as u64),
            expected: Some(Digest::of(bytes)),
        };
        let res = super::write_blob(self, &opts, bytes);
        if res.is_err() {
            let _ = self.abort(&opts.reference);
        }
        res
    }

    /// Every committed blob.
    pub fn walk_all(&self) -> Vec<Info> {
        let mut all = Vec::new();
        let res = self.walk(&mut |i| {
            all.push(i.clone());
            Ok(())
        });
        if let Err(e) = res {
            tracing::warn!(error = %e, "walking the content store");
        }
        all
    }

    /// The file an in-progress write goes to: read while it is written (a pull unpacks a
    /// layer as it arrives), or after (a load's staged files).
    pub(crate) fn ingest_data(&self, reference: &str) -> PathBuf {
        self.ingest_dir(reference).join("data")
    }

    fn ingest_dir(&self, reference: &str) -> PathBuf {
        self.ingest.join(Digest::of(reference.as_bytes()).hex())
    }

    fn not_found(digest: &Digest, path: &Path) -> impl FnOnce(io::Error) -> ContentError {
        let (digest, path) = (digest.clone(), path.to_path_buf());
        move |e| {
            if e.kind() == io::ErrorKind::NotFound {
                ContentError::NotFound { digest }
            } else {
                io_err("open", &path)(e)
            }
        }
    }

    /// Opens and locks an ingest's `data`; `None` when that write does not exist.
    fn lock_data(&self, reference: &str, create: bool) -> Result<Option<(PathBuf, File)>> {
        let dir = self.ingest_dir(reference);
        let data = dir.join("data");
        // An abort may remove the directory between our open and our lock: then again.
        loop {
            if create {
                private_dir(&dir, PRIVATE_DIR).map_err(io_err("create", &dir))?;
            }
            let file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create(create)
                .truncate(false)
                .open(&data)
            {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::NotFound && !create => return Ok(None),
                Err(e) => return Err(io_err("open", &data)(e)),
            };
            match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {}
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    return Err(ContentError::Locked {
                        reference: reference.to_string(),
                    })
                }
                Err(e) => return Err(io_err("lock", &data)(e.into())),
            }
            let linked = file.metadata().map_err(io_err("stat", &data))?.nlink() > 0;
            if linked {
                return Ok(Some((dir, file)));
            }
            if !create {
                return Ok(None);
            }
        }
    }

    fn read_meta(dir: &Path) -> Option<IngestMeta> {
        let bytes = fs::read(dir.join("meta.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn status_of(&self, dir: &Path) -> Result<Status> {
        let ref_path = dir.join("ref");
        let reference = fs::read_to_string(&ref_path).map_err(io_err("read", &ref_path))?;
        let data = dir.join("data");
        let md = fs::metadata(&data).map_err(io_err("stat", &data))?;
        let meta = Self::read_meta(dir);
        let updated_at = md.modified().map_err(io_err("stat", &data))?;
        Ok(Status {
            reference,
            offset: md.len(),
            total: meta.as_ref().and_then(|m| m.total),
            expected: meta.as_ref().and_then(|m| m.expected.clone()),
            started_at: meta.map_or(updated_at, |m| m.started_at),
            updated_at,
        })
    }
}

/// A ref of its own for a write no one will resume.
pub fn temp_ref(what: &str) -> String {
    format!("{TEMP_REF_PREFIX}{what}-{}", unique_suffix())
}

impl InfoProvider for LocalStore {
    fn info(&self, digest: &Digest) -> Result<Info> {
        let p = self.path(digest);
        let md = fs::metadata(&p).map_err(Self::not_found(digest, &p))?;
        Ok(Info {
            digest: digest.clone(),
            size: md.len(),
        })
    }
}

struct LocalReader {
    file: File,
    size: u64,
}

impl ReaderAt for LocalReader {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }
    fn size(&self) -> u64 {
        self.size
    }
}

impl Provider for LocalStore {
    fn reader_at(&self, digest: &Digest) -> Result<Box<dyn ReaderAt>> {
        let p = self.path(digest);
        let file = File::open(&p).map_err(Self::not_found(digest, &p))?;
        let size = file.metadata().map_err(io_err("stat", &p))?.len();
        Ok(Box::new(LocalReader { file, size }))
    }
}

impl Ingester for LocalStore {
    fn writer(&self, opts: &WriterOpts) -> Result<Box<dyn Writer>> {
        if opts.reference.is_empty() {
            return Err(ContentError::InvalidRef {
                reference: opts.reference.clone(),
            });
        }
        if let Some(d) = opts.expected.as_ref().filter(|d| self.exists(d)) {
            return Err(ContentError::AlreadyExists { digest: d.clone() });
        }
        let Some((dir, mut file)) = self.lock_data(&opts.reference, true)? else {
            return Err(ContentError::IngestNotFound {
                reference: opts.reference.clone(),
            });
        };
        let old = Self::read_meta(&dir);
        let meta = IngestMeta {
            total: opts.total.or(old.as_ref().and_then(|m| m.total)),
            expected: (opts.expected.clone()).or(old.as_ref().and_then(|m| m.expected.clone())),
            started_at: old.as_ref().map_or_else(SystemTime::now, |m| m.started_at),
        };
        let meta_path = dir.join("meta.json");
        let json = serde_json::to_vec(&meta)
            .map_err(|e| io_err("encode", &meta_path)(io::Error::other(e)))?;
        fs::write(&meta_path, json).map_err(io_err("write", &meta_path))?;
        let ref_path = dir.join("ref");
        fs::write(&ref_path, &opts.reference).map_err(io_err("write", &ref_path))?;
        // Resuming: the digest so far is that of what is on disk.
        let data = dir.join("data");
        let mut hasher = Sha256::new();
        let offset =
            io::copy(&mut &file, &mut HashInto(&mut hasher)).map_err(io_err("read", &data))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(io_err("seek", &data))?;
        Ok(Box::new(LocalWriter {
            reference: opts.reference.clone(),
            blobs: self.blobs.clone(),
            dir,
            data,
            file,
            hasher,
            offset,
            total: meta.total,
            expected: meta.expected,
        }))
    }
}

struct HashInto<'a>(&'a mut Sha256);

impl Write for HashInto<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl IngestManager for LocalStore {
    fn status(&self, reference: &str) -> Result<Status> {
        let dir = self.ingest_dir(reference);
        if !dir.join("ref").is_file() {
            return Err(ContentError::IngestNotFound {
                reference: reference.to_string(),
            });
        }
        self.status_of(&dir)
    }

    fn list_statuses(&self) -> Result<Vec<Status>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.ingest).map_err(io_err("read dir", &self.ingest))? {
            let dir = entry.map_err(io_err("read dir", &self.ingest))?.path();
            match self.status_of(&dir) {
                Ok(s) => out.push(s),
                // Committed or aborted meanwhile.
                Err(ContentError::Io { source, .. })
                    if source.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.reference.cmp(&b.reference));
        Ok(out)
    }

    fn abort(&self, reference: &str) -> Result<()> {
        let Some((dir, _locked)) = self.lock_data(reference, false)? else {
            return Err(ContentError::IngestNotFound {
                reference: reference.to_string(),
            });
        };
        fs::remove_dir_all(&dir).map_err(io_err("remove", &dir))
    }
}

impl Manager for LocalStore {
    fn walk(&self, f: &mut dyn FnMut(&Info) -> Result<()>) -> Result<()> {
        let mut all = Vec::new();
        for entry in fs::read_dir(&self.blobs).map_err(io_err("read dir", &self.blobs))? {
            let entry = entry.map_err(io_err("read dir", &self.blobs))?;
            let Some(digest) = entry
                .file_name()
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
            else {
                continue;
            };
            let size = entry
                .metadata()
                .map_err(io_err("stat", &entry.path()))?
                .len();
            all.push(Info { digest, size });
        }
        all.sort_by(|a, b| a.digest.cmp(&b.digest));
        all.iter().try_for_each(f)
    }

    fn delete(&self, digest: &Digest) -> Result<()> {
        let p = self.path(digest);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("remove", &p)(e)),
        }
    }
}

struct LocalWriter {
    reference: String,
    blobs: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    /// Open (and locked) for as long as the writer lives.
    file: File,
    hasher: Sha256,
    offset: u64,
    total: Option<u64>,
    expected: Option<Digest>,
}

impl LocalWriter {
    fn discard(&self) {
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            tracing::warn!(path = %self.dir.display(), error = %e, "removing a refused write");
        }
    }
}

impl Write for LocalWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.offset += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Writer for LocalWriter {
    fn reference(&self) -> &str {
        &self.reference
    }

    fn offset(&self) -> u64 {
        self.offset
    }

    fn digest(&self) -> Digest {
        Digest::from_hasher(self.hasher.clone())
    }

    fn restart(&mut self) -> Result<()> {
        self.file
            .set_len(0)
            .map_err(io_err("truncate", &self.data))?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(io_err("seek", &self.data))?;
        self.hasher = Sha256::new();
        self.offset = 0;
        Ok(())
    }

    fn commit(self: Box<Self>, size: Option<u64>, expected: Option<&Digest>) -> Result<Info> {
        if let Some(want) = size.or(self.total).filter(|s| *s != self.offset) {
            // Short or long: the bytes so far stay for a resumed write to fix.
            return Err(ContentError::SizeMismatch {
                expected: want,
                actual: self.offset,
            });
        }
        let digest = self.digest();
        if let Some(want) = expected.or(self.expected.as_ref()) {
            if want != &digest {
                self.discard();
                return Err(ContentError::DigestMismatch {
                    expected: want.clone(),
                    actual: digest,
                });
            }
        }
        self.file.sync_all().map_err(io_err("fsync", &self.data))?;
        let dst = self.blobs.join(digest.hex());
        // Same digest, same bytes: a blob stored meanwhile is as good as ours.
        if !dst.is_file() {
            fs::rename(&self.data, &dst).map_err(io_err("rename into place", &dst))?;
            sync_dir(&self.blobs).map_err(io_err("fsync", &self.blobs))?;
        }
        fs::remove_dir_all(&self.dir).map_err(io_err("remove", &self.dir))?;
        Ok(Info {
            digest,
            size: self.offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{collect_garbage, write_blob, SectionReader};
    use super::*;
    use std::collections::HashSet;
    use std::io::Read;

    fn count(dir: &Path) -> usize {
        fs::read_dir(dir).unwrap().count()
    }

    fn all(cs: &LocalStore) -> Vec<Info> {
        let mut v = Vec::new();
        cs.walk(&mut |i| {
            v.push(i.clone());
            Ok(())
        })
        .unwrap();
        v
    }

    #[test]
    fn write_read_delete_walk() {
        let t = tempfile::tempdir().unwrap();
        let cs = LocalStore::open(t.path()).unwrap();
        let info = cs.ingest_bytes(b"hello").unwrap();
        assert_eq!(info.digest, Digest::of(b"hello"));
        assert_eq!(info.size, 5);
        assert_eq!(cs.info(&info.digest).unwrap(), info);
        assert_eq!(cs.read(&info.digest).unwrap(), b"hello");
        assert_eq!(
            cs.path(&info.digest),
            t.path().join("content/sha256").join(info.digest.hex())
        );
        // Same content again is fine.
        assert_eq!(cs.ingest_bytes(b"hello").unwrap(), info);
        assert_eq!(all(&cs), vec![info.clone()]);
        let r = cs.reader_at(&info.digest).unwrap();
        assert_eq!(r.size(), 5);
        let mut buf = [0u8; 3];
        assert_eq!(r.read_at(&mut buf, 2).unwrap(), 3);
        assert_eq!(&buf, b"llo");
        assert_eq!(r.read_at(&mut buf, 5).unwrap(), 0);
        let mut whole = String::new();
        SectionReader::new(r).read_to_string(&mut whole).unwrap();
        assert_eq!(whole, "hello");
        cs.delete(&info.digest).unwrap();
        cs.delete(&info.digest).unwrap();
        assert!(!cs.exists(&info.digest));
        let e = cs.reader_at(&info.digest).err().unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
        assert_eq!(count(&t.path().join("content/ingest")), 0);
    }

    #[test]
    fn a_dropped_write_resumes_where_it_stopped() {
        let t = tempfile::tempdir().unwrap();
        let cs = LocalStore::open(t.path()).unwrap();
        let opts = WriterOpts {
            reference: "layer-1".into(),
            total: Some(11),
            expected: Some(Digest::of(b"hello world")),
        };
        let mut w = cs.writer(&opts).unwrap();
        w.write_all(b"hello").unwrap();
        drop(w);
        // Nothing is visible as a blob, and the ingest says how far it got.
        assert!(all(&cs).is_empty());
        let st = cs.status("layer-1").unwrap();
        assert_eq!((st.offset, st.total), (5, Some(11)));
        assert_eq!(st.expected, opts.expected);
        assert_eq!(cs.list_statuses().unwrap(), vec![st]);
        // A new store on the same root (as after a restart) continues at offset 5.
        let cs = LocalStore::open(t.path()).unwrap();
        let mut w = cs.writer(&WriterOpts::new("layer-1")).unwrap();
        assert_eq!(w.offset(), 5);
        assert_eq!(w.digest(), Digest::of(b"hello"));
        w.write_all(b" world").unwrap();
        // Size and digest come from the first writer's announcement.
        let info = w.commit(None, None).unwrap();
        assert_eq!(info.digest, Digest::of(b"hello world"));
        assert_eq!(cs.read(&info.digest).unwrap(), b"hello world");
        assert_eq!(
            cs.status("layer-1").unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
        assert_eq!(count(&t.path().join("content/ingest")), 0);
    }

    #[test]
    fn a_wrong_digest_is_refused_and_nothing_is_stored() {
        let t = tempfile::tempdir().unwrap();
        let cs = LocalStore::open(t.path()).unwrap();
        let wrong = Digest::of(b"other");
        let mut w = cs.writer(&WriterOpts::new("r")).unwrap();
        w.write_all(b"hello").unwrap();
        let e = w.commit(None, Some(&wrong)).unwrap_err();
        assert!(matches!(e, ContentError::DigestMismatch { .. }), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        assert!(!cs.exists(&Digest::of(b"hello")));
        assert_eq!(count(&t.path().join("content/sha256")), 0);
        assert_eq!(count(&t.path().join("content/ingest")), 0);
        // Announced at open: the same.
        let opts = WriterOpts {
            reference: "r".into(),
            expected: Some(wrong),
            total: None,
        };
        let e = write_blob(&cs, &opts, &b"hello"[..]).unwrap_err();
        assert!(matches!(e, ContentError::DigestMismatch { .. }), "{e}");
        assert_eq!(count(&t.path().join("content/sha256")), 0);
        assert_eq!(count(&t.path().join("content/ingest")), 0);
    }

    #[test]
    fn a_wrong_size_is_refused_and_the_write_kept() {
        let t = tempfile::tempdir().unwrap();
        let cs = LocalStore::open(t.path()).unwrap();
        let mut w = cs.writer(&WriterOpts::new("r")).unwrap();
        w.write_all(b"hel").unwrap();
        let e = w.commit(Some(5), None).unwrap_err();
        assert!(
            matches!(
                e,
                ContentError::SizeMismatch {
                    expected: 5,
                    actual: 3
                }
            ),
            "{e}"
        );
        assert_eq!(count(&t.path().join("content/sha256")), 0);
        let mut w = cs.writer(&WriterOpts::new("r")).unwrap();
        w.write_all(b"lo").unwrap();
        let info = w.commit(Some(5), Some(&Digest::of(b"hello"))).unwrap();
        assert_eq!(info.size, 5);
    }

    #[test]
    fn a_ref_has_one_writer_at_a_time() {
        let t = tempfile::tempdir().unwrap();
        let cs = LocalStore::open(t.path()).unwrap();
        let mut w = cs.writer(&WriterOpts::new("busy")).unwrap();
        w.write_all(b"x").unwrap();
        let other = cs.clone();
        let e = std::thread::spawn(move || other.writer(&WriterOpts::new("busy")).err())
            .join()
            .unwrap()
            .unwrap();
        assert!(matches!(e, ContentError::Locked { .. }), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::Unavailable);
        assert!(matches!(cs.abort("busy"), Err(ContentError::Locked { .. })));
        // Another ref is independent.
        cs.writer(&WriterOpts::new("free")).unwrap();
        drop(w);
        let w = cs.writer(&WriterOpts::new("busy")).unwrap();
        assert_eq!(w.offset(), 1);
    }

    #[test]
    fn abort_removes_a_write() {
        let t = tempfile::tempdir().unwrap();
        let cs = LocalStore::open(t.path()).unwrap();
        let mut w = cs.writer(&WriterOpts::new("gone")).unwrap();
        w.write_all(b"partial").unwrap();
        drop(w);
        cs.abort("gone").unwrap();
        assert_eq!(
            cs.status("gone").unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
        assert_eq!(
            cs.abort("gone").unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
        assert_eq!(count(&t.path().join("content/ingest")), 0);
        let w = cs.writer(&WriterOpts::new("gone")).unwrap();
        assert_eq!(w.offset(), 0);
        assert_eq!(
            cs.writer(&WriterOpts::new("")).err().unwrap().kind(),
            crate::ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn a_known_blob_already_exists() {
        let t = tempfile::tempdir().unwrap();
        let cs = LocalStore::open(t.path()).unwrap();
        let info = cs.ingest_bytes(b"known").unwrap();
        let opts = WriterOpts {
            reference: "again".into(),
            expected: Some(info.digest.clone()),
            total: None,
        };
        let e = cs.writer(&opts).err().unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::AlreadyExists);
        assert_eq!(write_blob(&cs, &opts, &b"ignored"[..]).unwrap(), info);
        // A resumed write that cannot seek its reader starts over.
        let mut w = cs.writer(&WriterOpts::new("over")).unwrap();
        w.write_all(b"garbage").unwrap();
        drop(w);
        let i = write_blob(&cs, &WriterOpts::new("over"), &b"fresh"[..]).unwrap();
        assert_eq!(cs.read(&i.digest).unwrap(), b"fresh");
    }

    #[test]
    fn garbage_collection_keeps_live_blobs() {
        let t = tempfile::tempdir().unwrap();
        let cs = LocalStore::open(t.path()).unwrap();
        let live = cs.ingest_bytes(b"live").unwrap().digest;
        let dead = cs.ingest_bytes(b"dead").unwrap().digest;
        let removed = collect_garbage(&cs, &HashSet::from([live.clone()])).unwrap();
        assert_eq!(removed, vec![dead.clone()]);
        assert!(cs.exists(&live) && !cs.exists(&dead));
        assert!(collect_garbage(&cs, &HashSet::from([live]))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn open_removes_what_an_older_version_left() {
        let t = tempfile::tempdir().unwrap();
        let cs = LocalStore::open(t.path()).unwrap();
        let ingest = t.path().join("content/ingest");
        fs::write(ingest.join("123-0-abc"), b"partial").unwrap();
        fs::create_dir(ingest.join("half-made")).unwrap();
        let mut w = cs.writer(&WriterOpts::new("keep")).unwrap();
        w.write_all(b"k").unwrap();
        drop(w);
        let mut w = cs.writer(&WriterOpts::new(temp_ref("stream"))).unwrap();
        w.write_all(b"t").unwrap();
        drop(w);
        assert_eq!(count(&ingest), 4);
        LocalStore::open(t.path()).unwrap();
        assert_eq!(count(&ingest), 1);
        assert_eq!(cs.status("keep").unwrap().offset, 1);
    }
}
