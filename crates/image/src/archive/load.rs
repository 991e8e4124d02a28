//! Reading a docker-archive or an OCI image layout from one stream.
//!
//! Pass 1 reads the tar front to back: the few metadata files go to memory, every other
//! file to an ingest of the content store (a `tmp-` ref: a crash leaves nothing the next
//! open does not remove), `blobs/sha256/<hex>` checked against its name. Pass 2 records
//! each image: a docker-archive's layers are unpacked and stored gzip-compressed (as an
//! import); an OCI layout's blobs are committed as they are, its manifest kept so its
//! digest stays. What is made is held by a lease until the image record is written.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};

use serde::Deserialize;

use super::{ArchiveError, ArchiveManifest, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME};
use crate::config::{ImageConfig, Manifest};
use crate::content::local::temp_ref;
use crate::content::{
    ContentError, IngestManager, Ingester, Provider, SectionReader, Writer, WriterOpts,
};
use crate::digest::Digest;
use crate::fsutil::unique_suffix;
use crate::reference::Reference;
use crate::registry::{
    LayerStatus, Platform, Progress, ProgressSink, MEDIA_TYPE_DOCKER_MANIFEST_LIST,
    MEDIA_TYPE_OCI_INDEX,
};
use crate::snapshot::{chain_ids, Kind};
use crate::store::{ImageId, LayerRecord, Store};

/// Metadata files read into memory, and how large they may be.
const METADATA: [&str; 4] = ["manifest.json", "index.json", "oci-layout", "repositories"];
const MAX_METADATA: u64 = 16 << 20;
/// Configs and manifests read into memory.
const MAX_DOCUMENT: u64 = 16 << 20;

/// One image a load recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub id: ImageId,
    pub references: Vec<Reference>,
}

/// A file of the archive, staged.
struct Staged {
    digest: Digest,
    size: u64,
    /// Still an ingest (`None`: the blob was in the store already, or is committed now).
    writer: Option<Box<dyn Writer>>,
    reference: String,
}

/// What pass 1 found.
struct Stage<'a> {
    store: &'a Store,
    files: HashMap<String, Staged>,
    links: HashMap<String, String>,
    metadata: HashMap<String, Vec<u8>>,
}

impl Drop for Stage<'_> {
    fn drop(&mut self) {
        for s in self.files.values_mut() {
            if s.writer.take().is_some() {
                if let Err(e) = self.store.content().abort(&s.reference) {
                    tracing::warn!(reference = %s.reference, error = %e, "dropping a staged file");
                }
            }
        }
    }
}

/// `docker load`: records every image of the archive `input` (plain, gzip or zstd).
pub fn load(
    store: &Store,
    input: impl Read,
    progress: &dyn ProgressSink,
) -> Result<Vec<Loaded>, ArchiveError> {
    let plain =
        crate::layer_apply::decompress(input).map_err(|e| ArchiveError::Invalid(e.to_string()))?;
    let mut stage = read_archive(store, plain)?;
    let lease = format!("load-{}", unique_suffix());
    let res = if stage.metadata.contains_key("manifest.json") {
        load_docker(&stage, &lease, progress)
    } else if stage.metadata.contains_key("index.json") {
        load_oci(&mut stage, &lease, progress)
    } else {
        Err(ArchiveError::Invalid(
            "neither manifest.json nor index.json found: not an image archive".to_string(),
        ))
    };
    if let Err(e) = store.lease_release(&lease) {
        tracing::warn!(%lease, error = %e, "releasing a load's lease");
    }
    res
}

/// `a/./b/../c` → `a/c`; `None` for a path climbing out of the archive.
fn clean(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    Some(out.join("/"))
}

fn read_archive(store: &Store, input: impl Read) -> Result<Stage<'_>, ArchiveError> {
    let mut stage = Stage {
        store,
        files: HashMap::new(),
        links: HashMap::new(),
        metadata: HashMap::new(),
    };
    let mut ar = tar::Archive::new(input);
    let entries = ar
        .entries()
        .map_err(|e| ArchiveError::Invalid(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ArchiveError::Invalid(e.to_string()))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(path) = clean(&raw) else { continue };
        match entry.header().entry_type() {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                let base = if entry.header().entry_type() == tar::EntryType::Symlink {
                    path.rsplit_once('/')
                        .map(|(d, _)| d.to_string())
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                if let Some(t) = clean(&format!("{base}/{target}")) {
                    stage.links.insert(path, t);
                }
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if METADATA.contains(&path.as_str()) {
                    let mut buf = Vec::new();
                    (&mut entry)
                        .take(MAX_METADATA + 1)
                        .read_to_end(&mut buf)
                        .map_err(ArchiveError::io(format!("reading {path}")))?;
                    if buf.len() as u64 > MAX_METADATA {
                        return Err(ArchiveError::Invalid(format!("{path} is too large")));
                    }
                    stage.metadata.insert(path, buf);
                } else {
                    let staged = stage_file(store, &path, &mut entry)?;
                    stage.files.insert(path, staged);
                }
            }
            _ => {}
        }
    }
    Ok(stage)
}

/// The digest a `blobs/sha256/<hex>` path promises.
fn named_digest(path: &str) -> Option<Digest> {
    let hex = path.strip_prefix("blobs/sha256/")?;
    Digest::from_hex(hex).ok()
}

fn stage_file(store: &Store, path: &str, entry: &mut dyn Read) -> Result<Staged, ArchiveError> {
    let expected = named_digest(path);
    let opts = WriterOpts {
        reference: temp_ref("load"),
        total: None,
        expected: expected.clone(),
    };
    let mut w = match store.content().writer(&opts) {
        Ok(w) => w,
        Err(ContentError::AlreadyExists { digest }) => {
            let size = store
                .content()
                .path(&digest)
                .metadata()
                .map(|m| m.len())
                .unwrap_or(0);
            return Ok(Staged {
                digest,
                size,
                writer: None,
                reference: opts.reference,
            });
        }
        Err(e) => return Err(e.into()),
    };
    let copied = io::copy(entry, &mut w);
    let fail = |store: &Store, e: ArchiveError| {
        let _ = store.content().abort(&opts.reference);
        e
    };
    let size = match copied {
        Ok(n) => n,
        Err(e) => {
            drop(w);
            return Err(fail(
                store,
                ArchiveError::Invalid(format!("reading {path}: {e}")),
            ));
        }
    };
    let digest = w.digest();
    if let Some(want) = expected.filter(|d| *d != digest) {
        drop(w);
        return Err(fail(
            store,
            ArchiveError::BlobDigest {
                path: path.to_string(),
                expected: want,
                actual: digest,
            },
        ));
    }
    Ok(Staged {
        digest,
        size,
        writer: Some(w),
        reference: opts.reference,
    })
}

impl Stage<'_> {
    fn resolve(&self, path: &str) -> Result<&Staged, ArchiveError> {
        let mut p = clean(path).unwrap_or_default();
        for _ in 0..16 {
            if let Some(s) = self.files.get(&p) {
                return Ok(s);
            }
            match self.links.get(&p) {
                Some(t) => p = t.clone(),
                None => break,
            }
        }
        Err(ArchiveError::Invalid(format!(
            "{path} is not in the archive"
        )))
    }

    fn resolve_mut(&mut self, path: &str) -> Result<&mut Staged, ArchiveError> {
        let key = {
            let mut p = clean(path).unwrap_or_default();
            for _ in 0..16 {
                if self.files.contains_key(&p) {
                    break;
                }
                match self.links.get(&p) {
                    Some(t) => p = t.clone(),
                    None => break,
                }
            }
            p
        };
        self.files
            .get_mut(&key)
            .ok_or_else(|| ArchiveError::Invalid(format!("{path} is not in the archive")))
    }

    /// A staged file from its start.
    fn open(&self, s: &Staged) -> Result<Box<dyn Read>, ArchiveError> {
        if s.writer.is_some() {
            let p = self.store.content().ingest_data(&s.reference);
            let f = File::open(&p).map_err(ArchiveError::io(format!("opening {}", p.display())))?;
            return Ok(Box::new(f));
        }
        Ok(Box::new(SectionReader::new(
            self.store.content().reader_at(&s.digest)?,
        )))
    }

    fn read_small(&self, path: &str) -> Result<(Vec<u8>, Digest), ArchiveError> {
        let s = self.resolve(path)?;
        if s.size > MAX_DOCUMENT {
            return Err(ArchiveError::Invalid(format!("{path} is too large")));
        }
        let mut buf = Vec::new();
        self.open(s)?
            .read_to_end(&mut buf)
            .map_err(ArchiveError::io(format!("reading {path}")))?;
        let d = Digest::of(&buf);
        if d != s.digest {
            return Err(ArchiveError::Invalid(format!(
                "{path} changed while it was read"
            )));
        }
        Ok((buf, d))
    }

    /// Makes a staged file a blob of the content store (its digest checked again).
    fn commit(&mut self, path: &str) -> Result<Digest, ArchiveError> {
        let s = self.resolve_mut(path)?;
        if let Some(w) = s.writer.take() {
            match w.commit(None, Some(&s.digest)) {
                Ok(_) | Err(ContentError::AlreadyExists { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(s.digest.clone())
    }
}

fn parse<'a, T: Deserialize<'a>>(what: &str, bytes: &'a [u8]) -> Result<T, ArchiveError> {
    serde_json::from_slice(bytes).map_err(|e| ArchiveError::Invalid(format!("{what}: {e}")))
}

/// Points `refs` at `id`, saying so as docker does.
fn name_image(
    store: &Store,
    id: &ImageId,
    refs: &[Reference],
    progress: &dyn ProgressSink,
) -> Result<(), ArchiveError> {
    for r in refs {
        if let Ok(old) = store.resolve(&r.to_string()) {
            if &old != id {
                progress.send(Progress::Status(format!(
                    "The image {} already exists, renaming the old one with ID {old} to empty string",
                    r.familiar()
                )));
            }
        }
    }
    store.add_references(id, refs)?;
    if refs.is_empty() {
        progress.send(Progress::Status(format!("Loaded image ID: {id}")));
    }
    for r in refs {
        progress.send(Progress::Status(format!("Loaded image: {}", r.familiar())));
    }
    Ok(())
}

fn load_docker(
    stage: &Stage<'_>,
    lease: &str,
    progress: &dyn ProgressSink,
) -> Result<Vec<Loaded>, ArchiveError> {
    let store = stage.store;
    let entries: Vec<ArchiveManifest> = parse("manifest.json", &stage.metadata["manifest.json"])?;
    let mut out = Vec::new();
    for m in entries {
        let (config, id) = stage.read_small(&m.config)?;
        let image = ImageConfig::from_slice(&config, Some(&id))?;
        if image.rootfs.diff_ids.len() != m.layers.len() {
            return Err(ArchiveError::Invalid(format!(
                "image {id}: {} layers in manifest.json, {} in its config",
                m.layers.len(),
                image.rootfs.diff_ids.len()
            )));
        }
        let refs = m
            .repo_tags
            .iter()
            .map(|t| Reference::parse_tagged(t))
            .collect::<Result<Vec<_>, _>>()?;
        if store.image_record(&id)?.is_none() {
            let chains = chain_ids(&image.rootfs.diff_ids);
            store.lease_add(
                lease,
                &[],
                &chains.iter().map(Digest::to_string).collect::<Vec<_>>(),
            )?;
            let mut layers = Vec::new();
            for (i, path) in m.layers.iter().enumerate() {
                let parent = i.checked_sub(1).map(|p| &chains[p]);
                layers.push(docker_layer(
                    stage,
                    lease,
                    &id,
                    i,
                    path,
                    &image.rootfs.diff_ids[i],
                    &chains[i],
                    parent,
                    progress,
                )?);
            }
            let _g = store.shared_lock();
            store.add_image_locked(&config, layers, &[], None)?;
        }
        name_image(store, &id, &refs, progress)?;
        out.push(Loaded {
            id,
            references: refs,
        });
    }
    Ok(out)
}

/// Copies what is read into a writer (the compressed blob) as well.
struct Tee<R, W> {
    r: R,
    w: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.r.read(buf)?;
        self.w.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Counts what is read, reporting `Loading layer`.
struct Counted<'a, R> {
    r: R,
    count: u64,
    reported: u64,
    total: u64,
    id: &'a Digest,
    progress: &'a dyn ProgressSink,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.r.read(buf)?;
        self.count += n as u64;
        if self.count - self.reported >= 512 << 10 || (n > 0 && self.count == self.total) {
            self.reported = self.count;
            self.progress.send(Progress::layer(
                self.id,
                LayerStatus::Loading {
                    current: self.count,
                    total: self.total,
                },
            ));
        }
        Ok(n)
    }
}

/// One layer of a docker-archive: reused when an image has it, else unpacked and stored
/// gzip-compressed.
#[allow(clippy::too_many_arguments)]
fn docker_layer(
    stage: &Stage<'_>,
    lease: &str,
    image: &Digest,
    index: usize,
    path: &str,
    diff_id: &Digest,
    chain: &Digest,
    parent: Option<&Digest>,
    progress: &dyn ProgressSink,
) -> Result<LayerRecord, ArchiveError> {
    let store = stage.store;
    let committed = store
        .snapshots()
        .stat(&chain.to_string())
        .is_ok_and(|s| s.kind == Kind::Committed);
    if committed {
        if let Some(l) = store.find_layer(diff_id, chain)? {
            store.lease_add(lease, std::slice::from_ref(&l.blob), &[])?;
            return Ok(l);
        }
    }
    let staged = stage.resolve(path)?;
    let counted = Counted {
        r: stage.open(staged)?,
        count: 0,
        reported: 0,
        total: staged.size,
        id: diff_id,
        progress,
    };
    let plain = crate::layer_apply::decompress(counted)
        .map_err(|e| ArchiveError::Invalid(format!("{path}: {e}")))?;
    let write = temp_ref("load-layer");
    let blob = store.content().writer(&WriterOpts::new(&write))?;
    let gz = flate2::write::GzEncoder::new(blob, flate2::Compression::fast());
    let mut tee = Tee { r: plain, w: gz };
    let res = crate::unpack::unpack_layer(store.snapshots(), parent, &mut tee, Some(diff_id))
        .map_err(|e| match e {
            crate::snapshot::SnapshotError::Layer(
                crate::layer_apply::LayerError::DiffIdMismatch { expected, actual },
            ) => ArchiveError::DiffId {
                image: image.clone(),
                index,
                expected,
                actual,
            },
            e => e.into(),
        })
        .and_then(|u| {
            let w = tee
                .w
                .finish()
                .map_err(ArchiveError::io(format!("compressing {path}")))?;
            let d = w.digest();
            store.lease_add(lease, &[d], &[])?;
            Ok((u, w.commit(None, None)?))
        });
    let (u, info) = match res {
        Ok(v) => v,
        Err(e) => {
            let _ = store.content().abort(&write);
            return Err(e);
        }
    };
    Ok(LayerRecord {
        diff_id: u.diff_id,
        chain_id: u.chain_id,
        blob: info.digest,
        blob_size: info.size,
        size: u.size,
        tar_size: Some(u.tar_size),
    })
}

#[derive(Debug, Deserialize)]
struct IndexEntry {
    #[serde(default, rename = "mediaType")]
    media_type: String,
    digest: Digest,
    #[serde(default)]
    annotations: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

/// The reference an index entry names, if any: containerd's annotation, else the OCI one
/// when it is a whole reference (podman's), not a bare tag (Docker's).
fn entry_name(e: &IndexEntry) -> Option<Reference> {
    if let Some(n) = e.annotations.get(ANNOTATION_IMAGE_NAME) {
        return Reference::parse_tagged(n).ok();
    }
    let n = e.annotations.get(ANNOTATION_REF_NAME)?;
    if n.contains('/') || n.contains(':') {
        return Reference::parse_tagged(n).ok();
    }
    None
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

fn is_index(media_type: &str, bytes: &[u8]) -> bool {
    media_type == MEDIA_TYPE_OCI_INDEX
        || media_type == MEDIA_TYPE_DOCKER_MANIFEST_LIST
        || serde_json::from_slice::<serde_json::Value>(bytes)
            .is_ok_and(|v| v.get("manifests").is_some() && v.get("config").is_none())
}

fn load_oci(
    stage: &mut Stage<'_>,
    lease: &str,
    progress: &dyn ProgressSink,
) -> Result<Vec<Loaded>, ArchiveError> {
    let index: Index = parse("index.json", &stage.metadata["index.json"])?;
    // Manifest digest → names, in index order.
    let mut images: Vec<(Digest, Vec<Reference>)> = Vec::new();
    let host = Platform::host();
    for e in &index.manifests {
        let (bytes, _) = stage.read_small(&blob_path(&e.digest))?;
        let manifest = if is_index(&e.media_type, &bytes) {
            crate::registry::pick_platform(&bytes, &host)
                .map_err(|err| ArchiveError::Invalid(err.to_string()))?
                .0
        } else {
            e.digest.clone()
        };
        let name = entry_name(e);
        match images.iter_mut().find(|(d, _)| *d == manifest) {
            Some((_, names)) => names.extend(name),
            None => images.push((manifest, name.into_iter().collect())),
        }
    }
    let mut out = Vec::new();
    for (manifest_digest, refs) in images {
        let id = oci_image(stage, lease, &manifest_digest, progress)?;
        name_image(stage.store, &id, &refs, progress)?;
        out.push(Loaded {
            id,
            references: refs,
        });
    }
    Ok(out)
}

fn oci_image(
    stage: &mut Stage<'_>,
    lease: &str,
    manifest_digest: &Digest,
    progress: &dyn ProgressSink,
) -> Result<ImageId, ArchiveError> {
    let store = stage.store;
    let (bytes, _) = stage.read_small(&blob_path(manifest_digest))?;
    let manifest = Manifest::from_slice(&bytes, Some(manifest_digest))?;
    let (config, id) = stage.read_small(&blob_path(&manifest.config.digest))?;
    let image = ImageConfig::from_slice(&config, Some(&id))?;
    if image.rootfs.diff_ids.len() != manifest.layers.len() {
        return Err(ArchiveError::Invalid(format!(
            "image {id}: {} layers in its manifest, {} in its config",
            manifest.layers.len(),
            image.rootfs.diff_ids.len()
        )));
    }
    if store.image_record(&id)?.is_some() {
        return Ok(id);
    }
    let chains = chain_ids(&image.rootfs.diff_ids);
    let mut blobs: Vec<Digest> = manifest.layers.iter().map(|l| l.digest.clone()).collect();
    blobs.push(manifest_digest.clone());
    store.lease_add(
        lease,
        &blobs,
        &chains.iter().map(Digest::to_string).collect::<Vec<_>>(),
    )?;
    stage.commit(&blob_path(manifest_digest))?;
    let mut layers = Vec::new();
    for (i, desc) in manifest.layers.iter().enumerate() {
        stage.commit(&blob_path(&desc.digest))?;
        let chain = &chains[i];
        let committed = store
            .snapshots()
            .stat(&chain.to_string())
            .is_ok_and(|s| s.kind == Kind::Committed);
        let tar_size = if committed {
            None
        } else {
            let counted = Counted {
                r: SectionReader::new(store.content().reader_at(&desc.digest)?),
                count: 0,
                reported: 0,
                total: desc.size,
                id: &image.rootfs.diff_ids[i],
                progress,
            };
            let mut plain = crate::layer_apply::decompress(counted)
                .map_err(|e| ArchiveError::Invalid(format!("layer {}: {e}", desc.digest)))?;
            let parent = i.checked_sub(1).map(|p| &chains[p]);
            let u = crate::unpack::unpack_layer(
                store.snapshots(),
                parent,
                &mut plain,
                Some(&image.rootfs.diff_ids[i]),
            )
            .map_err(|e| match e {
                crate::snapshot::SnapshotError::Layer(
                    crate::layer_apply::LayerError::DiffIdMismatch { expected, actual },
                ) => ArchiveError::DiffId {
                    image: id.clone(),
                    index: i,
                    expected,
                    actual,
                },
                e => e.into(),
            })?;
            Some(u.tar_size)
        };
        layers.push(LayerRecord {
            diff_id: image.rootfs.diff_ids[i].clone(),
            chain_id: chain.clone(),
            blob: desc.digest.clone(),
            blob_size: desc.size,
            size: store.snapshots().usage(&chain.to_string())?.size,
            tar_size,
        });
    }
    store.add_image_with_manifest(&config, manifest_digest, layers, &[])?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_paths() {
        assert_eq!(clean("./a/b/../c").as_deref(), Some("a/c"));
        assert_eq!(clean("../x"), None);
        assert_eq!(clean("abc/../../x"), None);
        assert_eq!(clean("/manifest.json").as_deref(), Some("manifest.json"));
    }

    #[test]
    fn names_of_index_entries() {
        let e = |k: &str, v: &str| IndexEntry {
            media_type: String::new(),
            digest: Digest::of(b"x"),
            annotations: [(k.to_string(), v.to_string())].into_iter().collect(),
        };
        assert_eq!(
            entry_name(&e(ANNOTATION_REF_NAME, "latest")),
            None,
            "a bare tag names nothing"
        );
        assert_eq!(
            entry_name(&e(ANNOTATION_REF_NAME, "localhost/test/pm:1"))
                .unwrap()
                .to_string(),
            "localhost/test/pm:1"
        );
        assert_eq!(
            entry_name(&e(ANNOTATION_IMAGE_NAME, "busybox"))
                .unwrap()
                .to_string(),
            "docker.io/library/busybox:latest"
        );
    }
}
