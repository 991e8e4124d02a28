//! `docker pull`: resolve a reference to one image manifest (through a manifest list or
//! OCI index, for a platform), fetch its config, fetch its layers in parallel while
//! unpacking each as it arrives on top of the one below, and record the image last.
//!
//! Until the record is written nothing names what the pull made: its blobs and snapshots
//! are held by a lease (`pull-<manifest digest>`), which a retry of the same pull takes
//! over, so a retry reuses every blob and layer already stored and resumes the ingests of
//! those cut short.

use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::Semaphore;

use super::client::{
    FetchedManifest, Registry, Session, MEDIA_TYPE_DOCKER_MANIFEST_LIST, MEDIA_TYPE_OCI_INDEX,
};
use super::error::{RegistryError, Result};
use super::fetch::{self, Download};
use super::platform::{EntryPlatform, Platform};
use super::progress::{LayerStatus, Progress, ProgressSink};
use super::Credentials;
use crate::config::{
    Descriptor, ImageConfig, Manifest, MEDIA_TYPE_DOCKER_CONFIG, MEDIA_TYPE_DOCKER_MANIFEST,
    MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_OCI_MANIFEST,
};
use crate::digest::Digest;
use crate::reference::Reference;
use crate::snapshot::{chain_ids, Kind};
use crate::store::{ImageId, LayerRecord, Store};

/// Configs larger than this are refused.
const MAX_CONFIG_SIZE: u64 = 16 << 20;

/// How to pull.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// The image of a manifest list to take; the host's when `None`.
    pub platform: Option<Platform>,
    pub credentials: Option<Credentials>,
}

/// What a pull recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    pub id: ImageId,
    /// What the reference resolved to (a list's digest for a list): the repo digest.
    pub digest: Digest,
    /// The image manifest pulled (the platform's, for a list).
    pub manifest_digest: Digest,
    /// The references now pointing at the image (the tag, `name@digest`).
    pub references: Vec<Reference>,
    /// The reference pointed at this image already.
    pub up_to_date: bool,
}

/// One entry of a manifest list or OCI index.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexEntry {
    #[serde(default)]
    media_type: String,
    digest: Digest,
    #[serde(default)]
    platform: Option<EntryPlatform>,
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

/// The entry of `index` for `want`: the best-ranked match, the first among equals.
pub(crate) fn pick_platform(index_bytes: &[u8], want: &Platform) -> Result<(Digest, String)> {
    let index: Index = serde_json::from_slice(index_bytes).map_err(|e| RegistryError::Invalid {
        what: "manifest list".to_string(),
        reason: e.to_string(),
    })?;
    index
        .manifests
        .iter()
        .filter_map(|m| {
            let p = m.platform.as_ref()?.normalized();
            Some((want.rank(&p)?, m))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, m)| (m.digest.clone(), m.media_type.clone()))
        .ok_or_else(|| RegistryError::NoMatchingPlatform {
            platform: want.to_string(),
        })
}

fn is_index(media_type: &str) -> bool {
    media_type == MEDIA_TYPE_DOCKER_MANIFEST_LIST || media_type == MEDIA_TYPE_OCI_INDEX
}

fn is_manifest(media_type: &str) -> bool {
    media_type == MEDIA_TYPE_DOCKER_MANIFEST || media_type == MEDIA_TYPE_OCI_MANIFEST
}

/// Pulls `reference` (`busybox`, `localhost:5000/x:1`, `name@sha256:...`) into `store`.
pub async fn pull(
    store: Arc<Store>,
    registry: &Registry,
    reference: &Reference,
    opts: &PullOptions,
    progress: Arc<dyn ProgressSink>,
) -> Result<Pulled> {
    let reference = reference.clone().with_default_tag();
    progress.send(Progress::PullingFrom {
        id: reference.tag_or_digest().to_string(),
        repository: reference.path().to_string(),
    });
    let platform = opts.platform.clone().unwrap_or_else(Platform::host);
    let (session, top, manifest) = resolve(registry, &reference, &platform, opts).await?;
    let session = Arc::new(session);
    let parsed = Manifest::from_slice(&manifest.bytes, Some(&manifest.digest))?;
    check_media_types(&parsed)?;

    let lease = format!("pull-{}", manifest.digest.hex());
    let config_digest = parsed.config.digest.clone();
    // Under the store's shared lock, a blob seen here cannot be collected before the lease
    // holds it (a delete collects under the exclusive lock).
    let cached = {
        let _g = store.shared_lock();
        store.lease_add(
            &lease,
            &[config_digest.clone(), manifest.digest.clone()],
            &[],
        )?;
        store.content().read(&config_digest).ok()
    };
    let config = match cached {
        Some(c) => c,
        None => fetch_config(&store, &session, &parsed.config).await?,
    };
    let image = ImageConfig::from_slice(&config, Some(&config_digest))?;
    if image.rootfs.diff_ids.len() != parsed.layers.len() {
        return Err(RegistryError::Invalid {
            what: format!("image {config_digest}"),
            reason: format!(
                "its config lists {} layers, its manifest {}",
                image.rootfs.diff_ids.len(),
                parsed.layers.len()
            ),
        });
    }
    let before = store.resolve(&reference.to_string()).ok();
    let limit = registry.config().max_concurrent_downloads;
    let layers = fetch_layers(&store, &session, &lease, &parsed, &image, &progress, limit).await?;

    store.content().ingest_bytes(&manifest.bytes)?;
    let mut refs = vec![reference.clone()];
    if reference.digest().is_none() {
        refs.push(reference.with_digest(&top.to_string())?);
    }
    let id = Digest::of(&config);
    let existing = store.image_record(&id)?;
    match existing {
        // Same image (another name, or a local copy): keep its record, add the names.
        Some(_) => store.add_references(&id, &refs)?,
        None => {
            store.add_image_with_manifest(&config, &manifest.digest, layers, &refs)?;
        }
    }
    store.lease_release(&lease)?;
    let up_to_date = before.as_ref() == Some(&id);
    progress.send(Progress::Digest(top.clone()));
    progress.send(Progress::Status(format!(
        "Status: {} for {}",
        if up_to_date {
            "Image is up to date"
        } else {
            "Downloaded newer image"
        },
        reference.familiar()
    )));
    Ok(Pulled {
        id,
        digest: top,
        manifest_digest: manifest.digest,
        references: refs,
        up_to_date,
    })
}

/// The tags of `reference`'s repository (`docker pull -a`), sorted as the registry lists
/// them.
pub async fn list_tags(
    registry: &Registry,
    reference: &Reference,
    credentials: Option<&Credentials>,
) -> Result<Vec<String>> {
    let scopes = vec![format!("repository:{}:pull", reference.path())];
    let session = registry
        .connect(
            reference.domain(),
            reference.path(),
            credentials,
            scopes,
            true,
        )
        .await?;
    session.tags().await.map_err(|e| pull_error(e, reference))
}

/// Finds the image manifest: tries the endpoints in order (a mirror that fails passes on
/// to the next), follows a list to the platform's entry. Returns the session, the digest
/// the reference resolved to, and the image manifest.
async fn resolve(
    registry: &Registry,
    reference: &Reference,
    platform: &Platform,
    opts: &PullOptions,
) -> Result<(Session, Digest, FetchedManifest)> {
    let scopes = vec![format!("repository:{}:pull", reference.path())];
    let mut last = None;
    for ep in registry.endpoints(reference.domain(), true).await? {
        let attempt = async {
            let s = registry
                .session(
                    &ep,
                    reference.path(),
                    opts.credentials.as_ref(),
                    scopes.clone(),
                )
                .await?;
            let (top, m) = resolve_on(&s, reference, platform).await?;
            Ok::<_, RegistryError>((s, top, m))
        };
        match attempt.await {
            Ok(found) => return Ok(found),
            Err(e) if ep.mirror => {
                tracing::info!(mirror = %ep.base, error = %e, "mirror failed, trying the next endpoint");
                last = Some(e);
            }
            Err(e @ (RegistryError::Transport { .. } | RegistryError::Tls { .. })) => {
                tracing::debug!(endpoint = %ep.base, error = %e, "trying the next endpoint");
                last = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| RegistryError::Config("no registry endpoint".to_string())))
}

async fn resolve_on(
    s: &Session,
    reference: &Reference,
    platform: &Platform,
) -> Result<(Digest, FetchedManifest)> {
    let top = s
        .get_manifest(reference.tag_or_digest())
        .await
        .map_err(|e| pull_error(e, reference))?;
    let top_digest = top.digest.clone();
    if is_manifest(&top.media_type) {
        return Ok((top_digest, top));
    }
    if !is_index(&top.media_type) {
        return Err(RegistryError::UnsupportedManifest {
            reference: reference.familiar(),
            media_type: top.media_type,
        });
    }
    let (digest, _) = pick_platform(&top.bytes, platform)?;
    let m = s
        .get_manifest(&digest.to_string())
        .await
        .map_err(|e| pull_error(e, reference))?;
    if !is_manifest(&m.media_type) {
        return Err(RegistryError::UnsupportedManifest {
            reference: format!("{}@{digest}", reference.familiar_name()),
            media_type: m.media_type,
        });
    }
    Ok((top_digest, m))
}

/// dockerd's wording for a manifest that is not there or not ours to read.
fn pull_error(e: RegistryError, reference: &Reference) -> RegistryError {
    match e {
        RegistryError::Status {
            status: 404,
            detail,
            ..
        } if detail.starts_with("manifest unknown") => RegistryError::ManifestUnknown {
            reference: reference.familiar(),
            detail,
        },
        RegistryError::Status {
            status: 404,
            detail,
            ..
        } if detail.starts_with("name unknown") => RegistryError::PullDenied {
            repository: reference.familiar_name(),
            detail,
        },
        RegistryError::Status {
            status: 403,
            detail,
            ..
        }
        | RegistryError::Unauthorized { detail } => RegistryError::PullDenied {
            repository: reference.familiar_name(),
            detail,
        },
        RegistryError::Status {
            status: 404,
            detail,
            ..
        } => RegistryError::ManifestUnknown {
            reference: reference.familiar(),
            detail,
        },
        e => e,
    }
}

fn check_media_types(m: &Manifest) -> Result<()> {
    let c = m.config.media_type.as_str();
    if c != MEDIA_TYPE_DOCKER_CONFIG && c != MEDIA_TYPE_OCI_CONFIG {
        return Err(RegistryError::Invalid {
            what: "image manifest".to_string(),
            reason: format!("unsupported config media type {c:?}: not a container image"),
        });
    }
    for l in &m.layers {
        let t = l.media_type.as_str();
        let known = t.starts_with("application/vnd.oci.image.layer.v1.tar")
            || t.starts_with("application/vnd.docker.image.rootfs.diff.tar");
        let foreign = t.contains("foreign") || t.contains("nondistributable");
        if !known || foreign {
            return Err(RegistryError::UnsupportedLayer {
                digest: l.digest.clone(),
                media_type: t.to_string(),
            });
        }
    }
    Ok(())
}

async fn fetch_config(store: &Store, session: &Session, desc: &Descriptor) -> Result<Vec<u8>> {
    if desc.size > MAX_CONFIG_SIZE {
        return Err(RegistryError::TooLarge {
            what: format!("image config {}", desc.digest),
            limit: MAX_CONFIG_SIZE,
        });
    }
    let bytes = session
        .get_small_blob(&desc.digest, MAX_CONFIG_SIZE)
        .await?;
    store.content().ingest_bytes(&bytes)?;
    Ok(bytes)
}

/// What a layer needs.
#[derive(Clone)]
struct Plan {
    desc: Descriptor,
    diff_id: Digest,
    chain: Digest,
    parent: Option<Digest>,
    /// Its blob must be fetched (absent from the store).
    download: Option<Arc<Download>>,
    /// Its snapshot must be made.
    unpack: bool,
}

/// What each layer needs (a download, an unpack, or nothing), its blob and snapshot
/// leased first.
fn plan(
    store: &Store,
    lease: &str,
    manifest: &Manifest,
    image: &ImageConfig,
    progress: &dyn ProgressSink,
) -> Result<Vec<Plan>> {
    let chains = chain_ids(&image.rootfs.diff_ids);
    // Under the shared lock: what is seen here stays until the lease releases it.
    let _g = store.shared_lock();
    store.lease_add(
        lease,
        &manifest
            .layers
            .iter()
            .map(|l| l.digest.clone())
            .collect::<Vec<_>>(),
        &chains.iter().map(Digest::to_string).collect::<Vec<_>>(),
    )?;
    let mut plans = Vec::new();
    for (i, desc) in manifest.layers.iter().enumerate() {
        let chain = chains[i].clone();
        let unpacked = store
            .snapshots()
            .stat(&chain.to_string())
            .is_ok_and(|s| s.kind == Kind::Committed);
        let have = fetch::have_blob(store, &desc.digest);
        if unpacked && have {
            progress.send(Progress::layer(&desc.digest, LayerStatus::AlreadyExists));
        } else {
            progress.send(Progress::layer(&desc.digest, LayerStatus::PullingFsLayer));
        }
        plans.push(Plan {
            desc: desc.clone(),
            diff_id: image.rootfs.diff_ids[i].clone(),
            chain,
            parent: i.checked_sub(1).map(|p| chains[p].clone()),
            download: (!have).then(|| Download::new(desc.digest.clone(), desc.size)),
            unpack: !unpacked,
        });
    }
    Ok(plans)
}

async fn fetch_layers(
    store: &Arc<Store>,
    session: &Arc<Session>,
    lease: &str,
    manifest: &Manifest,
    image: &ImageConfig,
    progress: &Arc<dyn ProgressSink>,
    limit: usize,
) -> Result<Vec<LayerRecord>> {
    let plans = plan(store, lease, manifest, image, progress.as_ref())?;
    let slots = Arc::new(Semaphore::new(limit.max(1)));
    let mut tasks = Vec::new();
    for p in &plans {
        let Some(dl) = &p.download else { continue };
        if tasks.len() >= limit.max(1) {
            progress.send(Progress::layer(&p.desc.digest, LayerStatus::Waiting));
        }
        let (slots, session, store, dl, progress) = (
            slots.clone(),
            session.clone(),
            store.clone(),
            dl.clone(),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let Ok(_permit) = slots.acquire_owned().await else {
                let e = RegistryError::Cancelled("a download".to_string());
                dl.finish(&Err(RegistryError::Cancelled("a download".to_string())));
                return Err(e);
            };
            fetch::download(session, store, dl, progress).await
        }));
    }
    let unpack = {
        let store = store.clone();
        let progress = progress.clone();
        let work = plans.clone();
        tokio::task::spawn_blocking(move || unpack_all(&store, work, progress.as_ref()))
    };
    let unpacked = unpack.await.map_err(|e| RegistryError::Io {
        op: "unpacking layers".to_string(),
        source: std::io::Error::other(e),
    });
    // A download's own failure says more than the unpack that stopped on it.
    let mut first_download_error = None;
    for t in tasks {
        if unpacked.as_ref().is_ok_and(|r| r.is_ok()) {
            match t.await {
                Ok(Err(e)) => first_download_error = first_download_error.or(Some(e)),
                Err(e) => {
                    first_download_error = first_download_error.or(Some(RegistryError::Io {
                        op: "downloading".to_string(),
                        source: std::io::Error::other(e),
                    }))
                }
                Ok(Ok(())) => {}
            }
        } else {
            t.abort();
            if let Ok(Err(e)) = t.await {
                first_download_error = first_download_error.or(Some(e));
            }
        }
    }
    let sizes = match (unpacked?, first_download_error) {
        (_, Some(e)) => return Err(e),
        (Err(e), None) => return Err(e),
        (Ok(s), None) => s,
    };
    let mut out = Vec::new();
    for (p, tar_size) in plans.into_iter().zip(sizes) {
        let size = store.snapshots().usage(&p.chain.to_string())?.size;
        out.push(LayerRecord {
            diff_id: p.diff_id,
            chain_id: p.chain,
            blob: p.desc.digest,
            blob_size: p.desc.size,
            size,
            tar_size,
        });
    }
    Ok(out)
}

/// Unpacks the layers bottom first, each as its blob arrives; returns the uncompressed
/// size of each layer unpacked here.
fn unpack_all(
    store: &Store,
    work: Vec<Plan>,
    progress: &dyn ProgressSink,
) -> Result<Vec<Option<u64>>> {
    let mut sizes = Vec::new();
    for Plan {
        desc,
        diff_id,
        parent,
        download,
        unpack,
        ..
    } in work
    {
        if !unpack {
            if let Some(dl) = &download {
                dl.wait_done()
                    .map_err(RegistryError::io(format!("blob {}", desc.digest)))?;
                progress.send(Progress::layer(&desc.digest, LayerStatus::PullComplete));
            }
            sizes.push(None);
            continue;
        }
        let reader: Box<dyn std::io::Read + Send> = match &download {
            Some(dl) => dl
                .reader(store)
                .map_err(RegistryError::io(format!("reading blob {}", desc.digest)))?,
            None => Box::new(fetch::blob_reader(store, &desc.digest)?),
        };
        let mut counting = fetch::Counting {
            inner: reader,
            count: 0,
            reported: 0,
            digest: &desc.digest,
            total: desc.size,
            progress,
        };
        let mut plain = crate::layer_apply::decompress(&mut counting)
            .map_err(crate::snapshot::SnapshotError::from)?;
        let done = crate::unpack::unpack_layer_then(
            store.snapshots(),
            parent.as_ref(),
            &mut plain,
            Some(&diff_id),
            || -> Result<()> {
                if let Some(dl) = &download {
                    dl.wait_done()
                        .map_err(RegistryError::io(format!("blob {}", desc.digest)))?;
                }
                Ok(())
            },
        )
        .map_err(|e| match e {
            RegistryError::Snapshot(crate::snapshot::SnapshotError::Layer(
                crate::layer_apply::LayerError::DiffIdMismatch { expected, actual },
            )) => RegistryError::DigestMismatch {
                what: format!("layer {} (uncompressed)", desc.digest),
                expected,
                actual,
            },
            e => e,
        })?;
        progress.send(Progress::layer(&desc.digest, LayerStatus::PullComplete));
        sizes.push(Some(done.tar_size));
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_and_push_futures_are_send() {
        fn is_send<T: Send>(_: &T) {}
        #[allow(dead_code)]
        fn check(store: Arc<Store>, reg: &Registry, r: &Reference, p: Arc<dyn ProgressSink>) {
            let (po, so) = (
                PullOptions::default(),
                crate::registry::PushOptions::default(),
            );
            let f = pull(store.clone(), reg, r, &po, p.clone());
            is_send(&f);
            let g = crate::registry::push(store, reg, r, &so, p);
            is_send(&g);
        }
    }

    #[test]
    fn picks_the_platform() {
        let d1 = Digest::of(b"1");
        let d2 = Digest::of(b"2");
        let d3 = Digest::of(b"3");
        let list = format!(
            r#"{{"manifests":[
                {{"mediaType":"m","digest":"{d1}","size":1,"platform":{{"os":"linux","architecture":"arm","variant":"v6"}}}},
                {{"mediaType":"m","digest":"{d2}","size":1,"platform":{{"os":"linux","architecture":"arm64","variant":"v8"}}}},
                {{"mediaType":"m","digest":"{d3}","size":1,"platform":{{"os":"linux","architecture":"arm","variant":"v7"}}}}
            ]}}"#
        );
        let pick = |p: &str| pick_platform(list.as_bytes(), &Platform::parse(p).unwrap());
        assert_eq!(pick("linux/arm64/v8").unwrap().0, d2);
        assert_eq!(pick("linux/arm64").unwrap().0, d2);
        assert_eq!(pick("linux/arm/v7").unwrap().0, d3);
        assert_eq!(pick("linux/arm/v6").unwrap().0, d1);
        let e = pick("linux/s390x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "no matching manifest for linux/s390x in the manifest list entries"
        );
    }
}
