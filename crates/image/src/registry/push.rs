//! `docker push`: upload what the registry lacks of an image's blobs, then its manifest.
//!
//! The manifest pushed is the one the image record names, byte for byte: the Docker
//! schema2 manifest berth wrote for an image it made or imported, the original one for a
//! pulled image (so its digest is the same as where it came from). Each blob is skipped
//! when the registry has it (`HEAD`), mounted from another repository of the same registry
//! that the image is known under when it can be, or uploaded in chunks (`PATCH` with
//! `Content-Range`, then `PUT ?digest=`).

use std::io::Read;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use futures_util::future::try_join_all;
use tokio::sync::Semaphore;

use super::client::{manifest_media_type, Registry, Session, UploadStart};
use super::error::{RegistryError, Result};
use super::fetch::blob_reader;
use super::progress::{LayerStatus, Progress, ProgressSink};
use super::Credentials;
use crate::config::{Descriptor, Manifest};
use crate::content::SectionReader;
use crate::digest::Digest;
use crate::reference::Reference;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub credentials: Option<Credentials>,
}

/// What a push sent: `<tag>: digest: <digest> size: <size>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    pub tag: String,
    pub digest: Digest,
    /// Bytes of the manifest.
    pub size: u64,
}

/// Pushes the local image `reference` names (default tag `latest`) to its registry.
pub async fn push(
    store: Arc<Store>,
    registry: &Registry,
    reference: &Reference,
    opts: &PushOptions,
    progress: Arc<dyn ProgressSink>,
) -> Result<Pushed> {
    let reference = reference.clone().with_default_tag();
    let Some(tag) = reference.tag().filter(|_| reference.digest().is_none()) else {
        return Err(RegistryError::BadRequest {
            message: format!("cannot push a digest reference: {}", reference.familiar()),
        });
    };
    let tag = tag.to_string();
    let image = match store.get(&reference.to_string()) {
        Ok(i) => i,
        Err(StoreError::NotFound { .. }) => {
            return Err(RegistryError::NoSuchLocalImage {
                reference: reference.familiar(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    progress.send(Progress::PushingTo {
        repository: reference.name(),
    });
    let manifest_bytes = store.content().read(&image.record.manifest_digest)?;
    let media_type = manifest_media_type("", &manifest_bytes);
    let manifest = Manifest::from_slice(&manifest_bytes, Some(&image.record.manifest_digest))?;

    // Other repositories of this registry the image is in: blobs can be mounted from them.
    let mut sources: Vec<String> = image
        .references
        .iter()
        .filter(|r| r.domain() == reference.domain() && r.path() != reference.path())
        .map(|r| r.path().to_string())
        .collect();
    sources.sort();
    sources.dedup();
    let mut scopes = vec![format!("repository:{}:pull,push", reference.path())];
    scopes.extend(sources.iter().map(|s| format!("repository:{s}:pull")));
    let session = Arc::new(
        registry
            .connect(
                reference.domain(),
                reference.path(),
                opts.credentials.as_ref(),
                scopes,
                false,
            )
            .await?,
    );

    for l in &manifest.layers {
        progress.send(Progress::layer(&l.digest, LayerStatus::Preparing));
    }
    let slots = Arc::new(Semaphore::new(
        registry.config().max_concurrent_uploads.max(1),
    ));
    let chunk = registry.config().chunk_size.max(1);
    let uploads = manifest.layers.iter().map(|l| {
        let (slots, session, store, progress, sources) = (
            slots.clone(),
            session.clone(),
            store.clone(),
            progress.clone(),
            sources.clone(),
        );
        let l = l.clone();
        async move {
            let _permit = slots
                .acquire_owned()
                .await
                .map_err(|_| RegistryError::Cancelled("an upload".to_string()))?;
            push_blob(
                &session,
                &store,
                &l,
                &sources,
                chunk,
                Some(progress.as_ref()),
            )
            .await
        }
    });
    try_join_all(uploads).await?;
    push_blob(&session, &store, &manifest.config, &sources, chunk, None).await?;

    let digest = session
        .put_manifest(&tag, &media_type, Bytes::from(manifest_bytes.clone()))
        .await?;
    let size = manifest_bytes.len() as u64;
    store.add_references(
        &image.record.id,
        &[reference.with_digest(&digest.to_string())?],
    )?;
    progress.send(Progress::Status(format!(
        "{tag}: digest: {digest} size: {size}"
    )));
    Ok(Pushed { tag, digest, size })
}

/// Makes sure the registry has blob `desc`.
async fn push_blob(
    session: &Session,
    store: &Arc<Store>,
    desc: &Descriptor,
    sources: &[String],
    chunk: usize,
    progress: Option<&dyn ProgressSink>,
) -> Result<()> {
    let report = |s: LayerStatus| {
        if let Some(p) = progress {
            p.send(Progress::layer(&desc.digest, s));
        }
    };
    if session.blob_size(&desc.digest).await?.is_some() {
        report(LayerStatus::LayerAlreadyExists);
        return Ok(());
    }
    let mut location = None;
    for from in sources {
        match session.start_upload(Some((&desc.digest, from))).await {
            Ok(UploadStart::Mounted) => {
                report(LayerStatus::MountedFrom {
                    repository: from.clone(),
                });
                return Ok(());
            }
            // Not mounted: the registry opened an upload instead; use it.
            Ok(UploadStart::Session(url)) => {
                location = Some(url);
                break;
            }
            Err(e) => tracing::debug!(from, error = %e, "cross-repository mount refused"),
        }
    }
    let mut url = match location {
        Some(u) => u,
        None => match session.start_upload(None).await? {
            UploadStart::Session(u) => u,
            UploadStart::Mounted => return Ok(()),
        },
    };
    let reader = Arc::new(std::sync::Mutex::new(blob_reader(store, &desc.digest)?));
    let mut offset = 0u64;
    loop {
        let next = read_chunk(reader.clone(), chunk).await?;
        if next.is_empty() {
            break;
        }
        let len = next.len() as u64;
        url = session.upload_chunk(&url, offset, next).await?;
        offset += len;
        report(LayerStatus::Pushing {
            current: offset,
            total: desc.size,
        });
    }
    if offset != desc.size {
        return Err(RegistryError::SizeMismatch {
            what: "local blob",
            digest: desc.digest.clone(),
            expected: desc.size,
            actual: offset,
        });
    }
    session.finish_upload(&url, &desc.digest).await?;
    report(LayerStatus::Pushed);
    Ok(())
}

/// Up to `size` bytes of the blob, read on a blocking thread.
async fn read_chunk(reader: Arc<std::sync::Mutex<SectionReader>>, size: usize) -> Result<Bytes> {
    tokio::task::spawn_blocking(move || {
        let mut r = reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut buf = BytesMut::zeroed(size);
        let mut filled = 0;
        while filled < size {
            let n = r.read(&mut buf[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        buf.truncate(filled);
        Ok::<_, std::io::Error>(buf.freeze())
    })
    .await
    .map_err(|e| RegistryError::Io {
        op: "reading a blob".to_string(),
        source: std::io::Error::other(e),
    })?
    .map_err(RegistryError::io("reading a blob to push"))
}
