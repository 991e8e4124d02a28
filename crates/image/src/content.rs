//! Content-addressed blob store: `<root>/content/sha256/<hex>`.
//! Writes go to `<root>/content/ingest/<unique>` while hashing, are fsynced and
//! then renamed into place, so a blob is either complete and verified or absent.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::digest::{Digest, HashingWriter};

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error("blob {digest} not found")]
    NotFound { digest: Digest },
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("content store I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ContentError {
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            ContentError::NotFound { .. } => crate::ErrorKind::NotFound,
            ContentError::DigestMismatch { .. } => crate::ErrorKind::InvalidArgument,
            ContentError::Io { .. } => crate::ErrorKind::Internal,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ContentError + '_ {
    move |source| ContentError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Unique suffix for temp names within this process (pid + counter + time).
pub(crate) fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}-{}-{:08x}", std::process::id(), n, nanos)
}

/// fsync a directory so a rename inside it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[derive(Debug, Clone)]
pub struct ContentStore {
    blobs: PathBuf,
    ingest: PathBuf,
}

/// Descriptor of a stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
}

impl ContentStore {
    /// Opens (creating) `<root>/content` and removes half-written ingests left by
    /// a crash.
    pub fn open(root: &Path) -> Result<ContentStore, ContentError> {
        let content = root.join("content");
        let blobs = content.join("sha256");
        let ingest = content.join("ingest");
        for d in [&content, &blobs, &ingest] {
            crate::perms::private_dir(d, crate::perms::PRIVATE_DIR).map_err(io_err(d))?;
        }
        for entry in fs::read_dir(&ingest).map_err(io_err(&ingest))? {
            let entry = entry.map_err(io_err(&ingest))?;
            let p = entry.path();
            tracing::info!(path = %p.display(), "removing interrupted ingest");
            let res = if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                fs::remove_dir_all(&p)
            } else {
                fs::remove_file(&p)
            };
            res.map_err(io_err(&p))?;
        }
        Ok(ContentStore { blobs, ingest })
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }

    /// Starts a streaming write; call [`ContentWriter::commit`] to store it.
    pub fn writer(&self) -> Result<ContentWriter, ContentError> {
        let tmp = self.ingest.join(unique_suffix());
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        Ok(ContentWriter {
            store: self.clone(),
            tmp,
            inner: Some(HashingWriter::new(file)),
        })
    }

    /// Stores everything `reader` yields and returns its digest and size.
    pub fn ingest(&self, reader: impl Read) -> Result<BlobInfo, ContentError> {
        self.ingest_inner(reader, None)
    }

    /// Like [`ContentStore::ingest`] but refuses (and deletes) content whose digest
    /// is not `expected`.
    pub fn ingest_verified(
        &self,
        reader: impl Read,
        expected: &Digest,
    ) -> Result<BlobInfo, ContentError> {
        self.ingest_inner(reader, Some(expected))
    }

    pub fn ingest_bytes(&self, bytes: &[u8]) -> Result<BlobInfo, ContentError> {
        self.ingest(bytes)
    }

    fn ingest_inner(
        &self,
        mut reader: impl Read,
        expected: Option<&Digest>,
    ) -> Result<BlobInfo, ContentError> {
        let mut w = self.writer()?;
        let tmp = w.tmp.clone();
        io::copy(&mut reader, &mut w).map_err(io_err(&tmp))?;
        match expected {
            Some(e) => w.commit_verified(e),
            None => w.commit(),
        }
    }

    pub fn exists(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    pub fn size(&self, digest: &Digest) -> Result<u64, ContentError> {
        let p = self.path(digest);
        match fs::metadata(&p) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ContentError::NotFound {
                digest: digest.clone(),
            }),
            Err(e) => Err(io_err(&p)(e)),
        }
    }

    pub fn open_blob(&self, digest: &Digest) -> Result<File, ContentError> {
        let p = self.path(digest);
        File::open(&p).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                ContentError::NotFound {
                    digest: digest.clone(),
                }
            } else {
                io_err(&p)(e)
            }
        })
    }

    /// Reads a whole (small) blob, checking its digest on the way.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, ContentError> {
        let mut buf = Vec::new();
        let p = self.path(digest);
        self.open_blob(digest)?
            .read_to_end(&mut buf)
            .map_err(io_err(&p))?;
        let actual = Digest::of(&buf);
        if &actual != digest {
            return Err(ContentError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        Ok(buf)
    }

    /// Deletes a blob; deleting a missing blob is not an error.
    pub fn delete(&self, digest: &Digest) -> Result<(), ContentError> {
        let p = self.path(digest);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&p)(e)),
        }
    }

    /// All stored blobs (names that are not valid digests are skipped).
    pub fn walk(&self) -> Result<Vec<BlobInfo>, ContentError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.blobs).map_err(io_err(&self.blobs))? {
            let entry = entry.map_err(io_err(&self.blobs))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Ok(digest) = Digest::from_hex(&name) else {
                continue;
            };
            let size = entry.metadata().map_err(io_err(&entry.path()))?.len();
            out.push(BlobInfo { digest, size });
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }
}

/// A blob being written. Dropping it without committing removes the temp file.
pub struct ContentWriter {
    store: ContentStore,
    tmp: PathBuf,
    inner: Option<HashingWriter<File>>,
}

impl ContentWriter {
    pub fn commit(self) -> Result<BlobInfo, ContentError> {
        self.finish(None)
    }

    pub fn commit_verified(self, expected: &Digest) -> Result<BlobInfo, ContentError> {
        self.finish(Some(expected))
    }

    fn finish(mut self, expected: Option<&Digest>) -> Result<BlobInfo, ContentError> {
        let tmp = self.tmp.clone();
        let Some(inner) = self.inner.take() else {
            return Err(io_err(&tmp)(io::Error::other("writer already finished")));
        };
        let (file, digest, size) = inner.finish();
        if let Some(e) = expected {
            if e != &digest {
                drop(file);
                // Drop removes the temp file.
                return Err(ContentError::DigestMismatch {
                    expected: e.clone(),
                    actual: digest,
                });
            }
        }
        file.sync_all().map_err(io_err(&tmp))?;
        drop(file);
        let dst = self.store.path(&digest);
        // Same digest means same bytes: an existing blob is as good as ours.
        fs::rename(&tmp, &dst).map_err(io_err(&dst))?;
        self.tmp = PathBuf::new();
        sync_dir(&self.store.blobs).map_err(io_err(&self.store.blobs))?;
        Ok(BlobInfo { digest, size })
    }
}

impl Write for ContentWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Some(w) => w.write(buf),
            None => Err(io::Error::other("writer already finished")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for ContentWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(dir: &Path) -> usize {
        fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn ingest_open_delete_walk() {
        let t = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(t.path()).unwrap();
        let info = cs.ingest(&b"hello"[..]).unwrap();
        assert_eq!(info.digest, Digest::of(b"hello"));
        assert_eq!(info.size, 5);
        assert!(cs.exists(&info.digest));
        assert_eq!(cs.read(&info.digest).unwrap(), b"hello");
        assert_eq!(
            cs.path(&info.digest),
            t.path().join("content/sha256").join(info.digest.hex())
        );
        // Same content again is fine.
        cs.ingest_bytes(b"hello").unwrap();
        assert_eq!(cs.walk().unwrap(), vec![info.clone()]);
        cs.delete(&info.digest).unwrap();
        cs.delete(&info.digest).unwrap();
        assert!(!cs.exists(&info.digest));
        assert!(matches!(
            cs.open_blob(&info.digest),
            Err(ContentError::NotFound { .. })
        ));
        assert_eq!(count(&t.path().join("content/ingest")), 0);
    }

    #[test]
    fn verified_mismatch_is_rejected_and_cleaned() {
        let t = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(t.path()).unwrap();
        let wrong = Digest::of(b"other");
        let e = cs.ingest_verified(&b"hello"[..], &wrong).unwrap_err();
        assert!(matches!(e, ContentError::DigestMismatch { .. }));
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        assert!(!cs.exists(&Digest::of(b"hello")));
        assert_eq!(count(&t.path().join("content/ingest")), 0);
        assert_eq!(count(&t.path().join("content/sha256")), 0);
        let ok = cs
            .ingest_verified(&b"hello"[..], &Digest::of(b"hello"))
            .unwrap();
        assert!(cs.exists(&ok.digest));
    }

    #[test]
    fn open_removes_leftover_ingests() {
        let t = tempfile::tempdir().unwrap();
        let cs = ContentStore::open(t.path()).unwrap();
        let mut w = cs.writer().unwrap();
        w.write_all(b"partial").unwrap();
        std::mem::forget(w); // simulate a crash: no Drop
        assert_eq!(count(&t.path().join("content/ingest")), 1);
        ContentStore::open(t.path()).unwrap();
        assert_eq!(count(&t.path().join("content/ingest")), 0);
    }
}
