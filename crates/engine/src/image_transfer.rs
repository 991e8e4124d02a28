//! Images in and out of the engine: pull, push and login against registries, save and load
//! as archives. Each long operation runs as a task of its own and hands back a
//! [`Transfer`]: the typed progress it makes ([`TransferEvent`]) and, at its end, what it
//! made. The daemon turns the events into Docker's JSON progress lines; the engine knows
//! no HTTP.
//!
//! A dropped [`Transfer`] cancels a pull or push (the client went away, as dockerd's
//! context would); what it stored is held by its lease and reused by a retry.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use berth_api::auth::AuthConfig;
use berth_image::archive::{self, ArchiveError};
use berth_image::registry::{
    self, Credentials, Platform, ProgressSink, PullOptions, PushOptions, RegistryError,
};
use berth_image::Reference;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use berth_image::archive::Loaded;
pub use berth_image::registry::{
    LayerStatus, LoginOutcome, Message, Progress, Pulled, Pushed, RegistryConfig,
};

use crate::error::{EngineError, Result};
use crate::events::EventBus;
use crate::Engine;

impl From<RegistryError> for EngineError {
    fn from(e: RegistryError) -> Self {
        EngineError::new(e.kind(), e.to_string())
    }
}

impl From<ArchiveError> for EngineError {
    fn from(e: ArchiveError) -> Self {
        EngineError::new(e.kind(), e.to_string())
    }
}

/// One step of a transfer, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferEvent {
    Progress(Progress),
    /// A tag of a push is in the registry (dockerd's `aux` message follows its status).
    Pushed(Pushed),
}

/// A running pull, push or load: its events, then its outcome.
pub struct Transfer<T> {
    events: mpsc::UnboundedReceiver<TransferEvent>,
    task: JoinHandle<Result<T>>,
    outcome: Option<Result<T>>,
}

impl<T> Drop for Transfer<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where a task's progress goes: the channel of its [`Transfer`].
#[derive(Clone)]
struct ChannelSink(mpsc::UnboundedSender<TransferEvent>);

impl ProgressSink for ChannelSink {
    fn send(&self, p: Progress) {
        // The receiver is gone only when the transfer was dropped: nobody is listening.
        let _ = self.0.send(TransferEvent::Progress(p));
    }
}

fn joined<T>(r: std::result::Result<Result<T>, tokio::task::JoinError>) -> Result<T> {
    r.unwrap_or_else(|e| Err(EngineError::internal(format!("transfer task: {e}"))))
}

impl<T: Send + 'static> Transfer<T> {
    fn spawn<F, Fut>(run: F) -> Transfer<T>
    where
        F: FnOnce(ChannelSink) -> Fut,
        Fut: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(ChannelSink(tx)));
        Transfer {
            events: rx,
            task,
            outcome: None,
        }
    }

    fn spawn_blocking<F>(run: F) -> Transfer<T>
    where
        F: FnOnce(ChannelSink) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = mpsc::unbounded_channel();
        let sink = ChannelSink(tx);
        let task = tokio::task::spawn_blocking(move || run(sink));
        Transfer {
            events: rx,
            task,
            outcome: None,
        }
    }

    /// The next event; `None` once the operation has ended and every event was read.
    pub async fn next(&mut self) -> Option<TransferEvent> {
        if let Ok(ev) = self.events.try_recv() {
            return Some(ev);
        }
        if self.outcome.is_some() {
            return None;
        }
        tokio::select! {
            biased;
            ev = self.events.recv() => match ev {
                Some(ev) => Some(ev),
                None => {
                    self.outcome = Some(joined((&mut self.task).await));
                    None
                }
            },
            r = &mut self.task => {
                self.outcome = Some(joined(r));
                self.events.try_recv().ok()
            }
        }
    }

    /// What the operation made, or why it failed (waits for its end).
    pub async fn outcome(mut self) -> Result<T> {
        while self.next().await.is_some() {}
        self.outcome
            .take()
            .unwrap_or_else(|| Err(EngineError::internal("transfer ended without an outcome")))
    }
}

/// What `POST /images/create?fromImage=` asks for.
#[derive(Debug, Clone, Default)]
pub struct PullRequest {
    /// `fromImage`: `busybox`, `127.0.0.1:5000/x/y`, maybe with a tag or digest.
    pub image: String,
    /// `tag`: a tag or a digest; empty means the one in `image`, else every tag of the
    /// repository (`docker pull -a`).
    pub tag: String,
    /// `platform`: `linux/arm64/v8`; empty for the host's.
    pub platform: String,
    pub auth: AuthConfig,
}

impl PullRequest {
    /// A repository named alone (no tag in `tag` or `image`): dockerd pulls every tag.
    pub fn wants_all_tags(&self) -> Result<bool> {
        let r = Reference::parse(self.image.trim()).map_err(invalid_reference)?;
        Ok(self.tag.trim().is_empty() && r.tag().is_none() && r.digest().is_none())
    }

    /// dockerd's reading of `fromImage` and `tag`: a digest in `tag` pins the image.
    pub fn reference(&self) -> Result<Reference> {
        let r = Reference::parse(self.image.trim()).map_err(invalid_reference)?;
        let r = match self.tag.trim() {
            "" => r,
            t if t.contains(':') => r.with_digest(t).map_err(invalid_reference)?,
            t => r.with_tag(t).map_err(invalid_reference)?,
        };
        Ok(r.with_default_tag())
    }
}

fn invalid_reference(e: berth_image::reference::ReferenceError) -> EngineError {
    EngineError::invalid(e.to_string())
}

/// The registry credentials of an `X-Registry-Auth` header or an `/auth` body.
pub fn credentials(auth: &AuthConfig) -> Option<Credentials> {
    let (username, password) = auth.user_password();
    let c = Credentials {
        username,
        password,
        identity_token: auth.identity_token.clone(),
        registry_token: auth.registry_token.clone(),
    };
    (!c.is_empty()).then_some(c)
}

/// A login refused by the registry (dockerd answers `401`), or another failure.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("{0}")]
    Unauthorized(String),
    #[error(transparent)]
    Other(#[from] EngineError),
}

/// Forwards progress, dropping the `The push refers to repository` of every push but the
/// first when one request pushes several tags.
struct OneHeader {
    inner: ChannelSink,
    seen: std::sync::atomic::AtomicBool,
}

impl ProgressSink for OneHeader {
    fn send(&self, p: Progress) {
        if matches!(p, Progress::PushingTo { .. })
            && self.seen.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return;
        }
        self.inner.send(p);
    }
}

fn image_event(events: &EventBus, action: &str, id: &str, name: Option<String>) {
    let attrs: BTreeMap<String, String> =
        name.map(|n| ("name".to_string(), n)).into_iter().collect();
    events.publish("image", action, id, attrs);
}

impl Engine {
    /// `RegistryConfig` of `GET /info`, as dockerd fills it: insecure CIDRs (127.0.0.0/8
    /// unless verified), insecure names, Docker Hub's mirrors.
    pub fn registry_info(&self) -> crate::system::RegistryFacts {
        let cfg = self.registry.config();
        let mut facts = crate::system::RegistryFacts::default();
        for entry in &cfg.insecure_registries {
            let e = entry
                .trim()
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_end_matches('/');
            if e.contains('/') {
                facts.insecure_cidrs.push(e.to_string());
            } else if !e.is_empty() {
                facts.insecure_names.push(e.to_string());
            }
        }
        if cfg.insecure_loopback {
            facts.insecure_cidrs.push("127.0.0.0/8".to_string());
        }
        facts.mirrors = cfg
            .mirrors
            .iter()
            .map(|m| {
                let m = m.trim();
                if m.ends_with('/') {
                    m.to_string()
                } else {
                    format!("{m}/")
                }
            })
            .collect();
        facts
    }

    /// `docker pull`: checks the request, then pulls in a task of its own (every tag of
    /// the repository, one after the other, for a name alone).
    pub fn pull_image(&self, req: &PullRequest) -> Result<Transfer<Vec<Pulled>>> {
        let all_tags = req.wants_all_tags()?;
        let reference = req.reference()?;
        let platform = match req.platform.trim() {
            "" => None,
            p => Some(Platform::parse(p).map_err(EngineError::from)?),
        };
        let opts = PullOptions {
            platform,
            credentials: credentials(&req.auth),
        };
        let store = self.images.store.clone();
        let registry = self.registry.clone();
        let events = self.events_handle();
        Ok(Transfer::spawn(move |sink| async move {
            let targets = if all_tags {
                let tags =
                    registry::list_tags(&registry, &reference, opts.credentials.as_ref()).await?;
                tags.iter()
                    .map(|t| reference.with_tag(t))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(invalid_reference)?
            } else {
                vec![reference]
            };
            let sink = Arc::new(sink);
            let mut pulled = Vec::new();
            for r in targets {
                pulled
                    .push(registry::pull(store.clone(), &registry, &r, &opts, sink.clone()).await?);
                image_event(&events, "pull", &r.familiar(), Some(r.familiar()));
            }
            Ok(pulled)
        }))
    }

    /// `docker push NAME[:TAG]`: an empty `tag` with no tag in `name` pushes every tag of
    /// the repository, in order.
    pub fn push_image(
        &self,
        name: &str,
        tag: &str,
        auth: &AuthConfig,
    ) -> Result<Transfer<Vec<Pushed>>> {
        let base = Reference::parse(name).map_err(invalid_reference)?;
        let targets = match (tag.trim(), base.tag().or(base.digest())) {
            ("", Some(_)) => vec![base],
            ("", None) => self.repository_tags(&base)?,
            (t, _) => vec![base.with_tag(t).map_err(invalid_reference)?],
        };
        let store = self.images.store.clone();
        let registry = self.registry.clone();
        let events = self.events_handle();
        let opts = PushOptions {
            credentials: credentials(auth),
        };
        Ok(Transfer::spawn(move |sink| async move {
            let progress = Arc::new(OneHeader {
                inner: sink.clone(),
                seen: Default::default(),
            });
            let mut pushed = Vec::new();
            for r in targets {
                let p =
                    registry::push(store.clone(), &registry, &r, &opts, progress.clone()).await?;
                let _ = sink.0.send(TransferEvent::Pushed(p.clone()));
                image_event(&events, "push", &r.familiar(), Some(r.familiar()));
                pushed.push(p);
            }
            Ok(pushed)
        }))
    }

    /// Every tag of `repo`'s repository, sorted; dockerd's message when there is none.
    fn repository_tags(&self, repo: &Reference) -> Result<Vec<Reference>> {
        let mut tags: Vec<Reference> = self
            .images
            .store
            .list()?
            .into_iter()
            .flat_map(|i| i.references)
            .filter(|r| r.name() == repo.name() && r.tag().is_some() && r.digest().is_none())
            .collect();
        tags.sort();
        tags.dedup();
        if tags.is_empty() {
            return Err(EngineError::not_found(format!(
                "An image does not exist locally with the tag: {}",
                repo.familiar_name()
            )));
        }
        Ok(tags)
    }

    /// `docker login`: checks the credentials with the registry they name (Docker Hub when
    /// `serveraddress` is empty).
    pub async fn login(&self, auth: &AuthConfig) -> std::result::Result<LoginOutcome, LoginError> {
        let creds = credentials(auth).unwrap_or_default();
        match self.registry.login(&auth.server_address, &creds).await {
            Ok(o) => Ok(o),
            Err(e) if e.is_unauthorized() => Err(LoginError::Unauthorized(e.to_string())),
            Err(e) => Err(LoginError::Other(e.into())),
        }
    }

    /// `docker save NAME...`: the archive as chunks of bytes, written by a blocking task as
    /// the receiver takes them (at most a few chunks are buffered). A failure before the
    /// first byte (no such image) is the last item, and the only one.
    pub fn save_images(&self, names: Vec<String>) -> SaveStream {
        let (tx, rx) = mpsc::channel(4);
        let store = self.images.store.clone();
        let events = self.events_handle();
        tokio::task::spawn_blocking(move || {
            let mut out =
                std::io::BufWriter::with_capacity(SAVE_CHUNK, ChunkWriter { tx: tx.clone() });
            let res = archive::save(&store, &names, &mut out)
                .map_err(EngineError::from)
                .and_then(|()| out.flush().map_err(EngineError::from));
            match res {
                Ok(()) => {
                    for n in &names {
                        image_event(&events, "save", n, Some(n.clone()));
                    }
                }
                Err(e) => {
                    drop(out);
                    let _ = tx.blocking_send(Err(e));
                }
            }
        });
        SaveStream { rx }
    }

    /// `docker load`: reads the archive from `input` on a blocking thread, never whole.
    pub fn load_images(
        &self,
        input: impl tokio::io::AsyncRead + Send + Unpin + 'static,
    ) -> Transfer<Vec<Loaded>> {
        let store = self.images.store.clone();
        let events = self.events_handle();
        let reader = tokio_util::io::SyncIoBridge::new(input);
        Transfer::spawn_blocking(move |sink| {
            let loaded = archive::load(&store, reader, &sink)?;
            for l in &loaded {
                let name = l.references.first().map(|r| r.familiar());
                image_event(&events, "load", &l.id.to_string(), name);
            }
            Ok(loaded)
        })
    }
}

/// Bytes per chunk of a saved archive.
const SAVE_CHUNK: usize = 256 << 10;

/// A save's archive, chunk by chunk; an `Err` ends it.
pub struct SaveStream {
    rx: mpsc::Receiver<Result<Bytes>>,
}

impl SaveStream {
    pub async fn next(&mut self) -> Option<Result<Bytes>> {
        self.rx.recv().await
    }
}

/// Sends what is written to a [`SaveStream`], waiting while the receiver is behind.
struct ChunkWriter {
    tx: mpsc::Sender<Result<Bytes>>,
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn pull(image: &str, tag: &str) -> Result<String> {
        PullRequest {
            image: image.into(),
            tag: tag.into(),
            ..Default::default()
        }
        .reference()
        .map(|r| r.to_string())
    }

    #[test]
    fn pull_references_read_as_dockerd_s() {
        let all = |image: &str, tag: &str| {
            PullRequest {
                image: image.into(),
                tag: tag.into(),
                ..Default::default()
            }
            .wants_all_tags()
            .unwrap()
        };
        assert!(all("busybox", ""));
        assert!(!all("busybox:1", "") && !all("busybox", "1"));
        assert_eq!(
            pull("busybox:1.36", "").unwrap(),
            "docker.io/library/busybox:1.36"
        );
        assert_eq!(
            pull("busybox", "1.36").unwrap(),
            "docker.io/library/busybox:1.36"
        );
        assert_eq!(
            pull("127.0.0.1:5000/x/y", "2").unwrap(),
            "127.0.0.1:5000/x/y:2"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            pull("localhost:5000/x", &d).unwrap(),
            format!("localhost:5000/x@{d}")
        );
        assert!(pull("Busybox", "").is_err());
        assert!(pull("busybox", "sha256:nothex").is_err());
        assert_eq!(
            pull("busybox", "bad tag").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn credentials_come_from_fields_or_auth() {
        assert!(credentials(&AuthConfig::default()).is_none());
        let c = credentials(&AuthConfig {
            auth: "Ym9iOmh1bnRlcjI=".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("bob", "hunter2")
        );
    }

    #[tokio::test]
    async fn a_transfer_yields_every_event_then_its_outcome() {
        let t: Transfer<u32> = Transfer::spawn(|sink| async move {
            for i in 0..100 {
                sink.send(Progress::Status(format!("line {i}")));
            }
            Ok(7)
        });
        let mut t = t;
        let mut n = 0;
        while let Some(ev) = t.next().await {
            assert_eq!(
                ev,
                TransferEvent::Progress(Progress::Status(format!("line {n}")))
            );
            n += 1;
        }
        assert_eq!(n, 100);
        assert_eq!(t.outcome().await.unwrap(), 7);

        let failed: Transfer<u32> =
            Transfer::spawn_blocking(|_| Err(EngineError::not_found("gone")));
        let e = failed.outcome().await.unwrap_err();
        assert_eq!(
            (e.kind(), e.message().as_str()),
            (ErrorKind::NotFound, "gone")
        );
    }
}
