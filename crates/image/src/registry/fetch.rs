//! Downloading one blob into the content store while another thread reads it.
//!
//! A download writes the blob into a resumable ingest named `pull-<digest>`: a retry after
//! a failure or a crash continues where the bytes on disk end (an HTTP `Range` request;
//! from zero when the registry ignores the range). The blob is committed only once its
//! size and digest are right; a wrong digest discards the ingest.
//!
//! A [`Download`] tells how far the ingest's file is written; a [`FollowReader`] reads that
//! file up to there and waits for more, so a layer is unpacked while it arrives without
//! being held in memory.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;

use super::client::{transport, Session};
use super::error::{RegistryError, Result};
use super::progress::{LayerStatus, Progress, ProgressSink, PROGRESS_STEP};
use crate::content::{
    ContentError, InfoProvider, Ingester, Provider, ReaderAt, SectionReader, Writer, WriterOpts,
};
use crate::digest::Digest;
use crate::store::Store;

/// The ingest ref a pull writes blob `d` under: the same for every pull of it, so any
/// retry resumes it.
pub(crate) fn ingest_ref(d: &Digest) -> String {
    format!("pull-{d}")
}

#[derive(Debug, Clone)]
enum State {
    /// Not begun (waiting for a download slot, or connecting).
    Pending,
    /// Bytes `0..written` of the ingest `reference` are on disk.
    Writing { reference: String, written: u64 },
    /// The blob is committed (or failed: the message).
    Done(Result<(), String>),
}

/// How far a download is, shared between its writer and its reader.
pub(crate) struct Download {
    pub digest: Digest,
    pub size: u64,
    state: Mutex<State>,
    cv: Condvar,
}

impl Download {
    pub fn new(digest: Digest, size: u64) -> Arc<Download> {
        Arc::new(Download {
            digest,
            size,
            state: Mutex::new(State::Pending),
            cv: Condvar::new(),
        })
    }

    fn set(&self, s: State) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = s;
        self.cv.notify_all();
    }

    pub fn finish(&self, res: &Result<()>) {
        self.set(State::Done(
            res.as_ref().map(|_| ()).map_err(|e| e.to_string()),
        ));
    }

    /// Waits until the state passes `pred`, returning it.
    fn wait_for(&self, pred: impl Fn(&State) -> bool) -> State {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !pred(&g) {
            g = self.cv.wait(g).unwrap_or_else(|e| e.into_inner());
        }
        g.clone()
    }

    /// Blocks until the blob is committed; the download's failure as an I/O error.
    pub fn wait_done(&self) -> io::Result<()> {
        match self.wait_for(|s| matches!(s, State::Done(_))) {
            State::Done(Ok(())) => Ok(()),
            State::Done(Err(m)) => Err(io::Error::other(m)),
            _ => Err(io::Error::other("download state")),
        }
    }

    /// A reader of the blob from its first byte: the committed blob, or the ingest as it
    /// is written.
    pub fn reader(self: &Arc<Self>, store: &Store) -> io::Result<Box<dyn Read + Send>> {
        loop {
            match self.wait_for(|s| !matches!(s, State::Pending)) {
                State::Done(Err(m)) => return Err(io::Error::other(m)),
                State::Done(Ok(())) => {
                    let r = store
                        .content()
                        .reader_at(&self.digest)
                        .map_err(io::Error::other)?;
                    return Ok(Box::new(SectionReader::new(r)));
                }
                State::Writing { reference, .. } => {
                    match File::open(store.content().ingest_data(&reference)) {
                        Ok(file) => {
                            return Ok(Box::new(FollowReader {
                                file,
                                offset: 0,
                                dl: self.clone(),
                            }))
                        }
                        // Committed meanwhile: the next round opens the blob.
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {
                            self.wait_for(|s| matches!(s, State::Done(_)));
                        }
                        Err(e) => return Err(e),
                    }
                }
                State::Pending => {}
            }
        }
    }
}

/// Reads an ingest's file while it grows, up to what its download says is written.
struct FollowReader {
    file: File,
    offset: u64,
    dl: Arc<Download>,
}

impl Read for FollowReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let offset = self.offset;
        let state = self.dl.wait_for(|s| match s {
            State::Writing { written, .. } => *written > offset,
            _ => true,
        });
        let limit = match state {
            State::Writing { written, .. } => written,
            State::Done(Ok(())) => self.dl.size,
            State::Done(Err(m)) => return Err(io::Error::other(m)),
            State::Pending => return Err(io::Error::other("download restarted")),
        };
        if self.offset >= limit {
            return Ok(0);
        }
        let want = buf.len().min((limit - self.offset) as usize);
        let n = self.file.read_at(&mut buf[..want], self.offset)?;
        self.offset += n as u64;
        Ok(n)
    }
}

/// Fetches blob `dl.digest` into the content store (resuming an ingest left by an earlier
/// attempt), publishing progress. Another pull writing the same blob is waited for.
pub(crate) async fn download(
    session: Arc<Session>,
    store: Arc<Store>,
    dl: Arc<Download>,
    progress: Arc<dyn ProgressSink>,
) -> Result<()> {
    let res = download_inner(&session, &store, &dl, progress.as_ref()).await;
    dl.finish(&res);
    res
}

async fn download_inner(
    session: &Session,
    store: &Arc<Store>,
    dl: &Arc<Download>,
    progress: &dyn ProgressSink,
) -> Result<()> {
    let opts = WriterOpts {
        reference: ingest_ref(&dl.digest),
        total: Some(dl.size),
        expected: Some(dl.digest.clone()),
    };
    let mut writer = loop {
        match store.content().writer(&opts) {
            Ok(w) => break w,
            Err(ContentError::AlreadyExists { .. }) => return Ok(()),
            // Another pull is fetching it: wait for it to finish or give up.
            Err(ContentError::Locked { .. }) => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            Err(e) => return Err(e.into()),
        }
    };
    let offset = writer.offset();
    if offset < dl.size {
        let (res, ranged) = session.get_blob(&dl.digest, offset).await?;
        if offset > 0 && !ranged {
            writer.restart()?;
        }
        dl.set(State::Writing {
            reference: opts.reference.clone(),
            written: writer.offset(),
        });
        writer = stream_into(res, writer, dl, progress).await?;
    }
    progress.send(Progress::layer(&dl.digest, LayerStatus::VerifyingChecksum));
    let committed = tokio::task::spawn_blocking(move || writer.commit(None, None))
        .await
        .map_err(|e| RegistryError::Io {
            op: "committing a blob".to_string(),
            source: io::Error::other(e),
        })?;
    match committed {
        Ok(_) => {}
        Err(ContentError::DigestMismatch { expected, actual }) => {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {expected}"),
                expected,
                actual,
            })
        }
        Err(ContentError::SizeMismatch { expected, actual }) => {
            return Err(RegistryError::SizeMismatch {
                what: "blob",
                digest: dl.digest.clone(),
                expected,
                actual,
            })
        }
        Err(e) => return Err(e.into()),
    }
    progress.send(Progress::layer(&dl.digest, LayerStatus::DownloadComplete));
    Ok(())
}

/// Writes the response body into `writer` on a blocking thread (chunks pass through a
/// small channel), refusing more bytes than the blob has.
async fn stream_into(
    res: reqwest::Response,
    writer: Box<dyn Writer>,
    dl: &Arc<Download>,
    progress: &dyn ProgressSink,
) -> Result<Box<dyn Writer>> {
    let url = res.url().clone();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Bytes>(4);
    let d = dl.clone();
    let reference = writer.reference().to_string();
    let blocking = tokio::task::spawn_blocking(move || write_chunks(writer, rx, &d, &reference));
    let mut stream = res.bytes_stream();
    let mut sent = 0u64;
    let mut reported = 0u64;
    let mut failure = None;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                failure = Some(transport("GET", &url)(e));
                break;
            }
        };
        sent += chunk.len() as u64;
        if tx.send(chunk).is_err() {
            break;
        }
        if sent - reported >= PROGRESS_STEP || sent == dl.size {
            reported = sent;
            progress.send(Progress::layer(
                &dl.digest,
                LayerStatus::Downloading {
                    current: sent,
                    total: dl.size,
                },
            ));
        }
    }
    drop(tx);
    let written = blocking.await.map_err(|e| RegistryError::Io {
        op: "writing a blob".to_string(),
        source: io::Error::other(e),
    })?;
    let writer = written?;
    if let Some(f) = failure {
        return Err(f);
    }
    if writer.offset() != dl.size {
        return Err(RegistryError::SizeMismatch {
            what: "blob",
            digest: dl.digest.clone(),
            expected: dl.size,
            actual: writer.offset(),
        });
    }
    Ok(writer)
}

fn write_chunks(
    mut writer: Box<dyn Writer>,
    rx: std::sync::mpsc::Receiver<Bytes>,
    dl: &Download,
    reference: &str,
) -> Result<Box<dyn Writer>> {
    use std::io::Write;
    for chunk in rx {
        if writer.offset() + chunk.len() as u64 > dl.size {
            return Err(RegistryError::SizeMismatch {
                what: "blob",
                digest: dl.digest.clone(),
                expected: dl.size,
                actual: writer.offset() + chunk.len() as u64,
            });
        }
        writer
            .write_all(&chunk)
            .map_err(RegistryError::io(format!("writing blob {}", dl.digest)))?;
        dl.set(State::Writing {
            reference: reference.to_string(),
            written: writer.offset(),
        });
    }
    Ok(writer)
}

/// Whether the store holds blob `d`.
pub(crate) fn have_blob(store: &Store, d: &Digest) -> bool {
    store.content().info(d).is_ok()
}

/// A reader counting what passes, reporting `Extracting` progress.
pub(crate) struct Counting<'a, R> {
    pub inner: R,
    pub count: u64,
    pub reported: u64,
    pub digest: &'a Digest,
    pub total: u64,
    pub progress: &'a dyn ProgressSink,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        if self.count - self.reported >= PROGRESS_STEP || (n > 0 && self.count == self.total) {
            self.reported = self.count;
            self.progress.send(Progress::layer(
                self.digest,
                LayerStatus::Extracting {
                    current: self.count,
                    total: self.total,
                },
            ));
        }
        Ok(n)
    }
}

/// A committed blob as a reader from its start.
pub(crate) fn blob_reader(store: &Store, d: &Digest) -> Result<SectionReader> {
    let r: Box<dyn ReaderAt> = store.content().reader_at(d)?;
    Ok(SectionReader::new(r))
}
