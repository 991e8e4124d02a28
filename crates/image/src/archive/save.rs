//! Writing images as one tar: an OCI image layout that is a docker-archive too.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};

use serde_json::json;
use sha2::{Digest as _, Sha256};

use super::{
    ArchiveError, ArchiveManifest, ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, MEDIA_TYPE_OCI_LAYER,
};
use crate::config::{MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_OCI_MANIFEST};
use crate::content::{Provider, SectionReader};
use crate::digest::Digest;
use crate::reference::Reference;
use crate::registry::MEDIA_TYPE_OCI_INDEX;
use crate::store::{ImageRecord, LayerRecord, Store};

/// `docker save NAME...` into `out`. A name is a reference (`busybox:1`), a repository
/// (`busybox`: every tag of it), or an image id; an image named by id alone is saved
/// without tags.
pub fn save(store: &Store, names: &[String], out: &mut dyn Write) -> Result<(), ArchiveError> {
    let _g = store.shared_lock();
    let images = select(store, names)?;
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    dir(&mut tar, "blobs/")?;
    dir(&mut tar, "blobs/sha256/")?;
    let mut written = HashSet::new();
    let mut index = Vec::new();
    let mut manifest_json = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (rec, tags) in &images {
        for l in &rec.layers {
            if written.insert(l.diff_id.clone()) {
                write_layer(store, &mut tar, l)?;
            }
        }
        let config = store.config_bytes(&rec.id)?;
        if written.insert(rec.id.clone()) {
            file(&mut tar, &blob_path(&rec.id), &config)?;
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": MEDIA_TYPE_OCI_MANIFEST,
            "config": {"mediaType": MEDIA_TYPE_OCI_CONFIG, "digest": rec.id, "size": config.len()},
            "layers": rec.layers.iter().map(|l| json!({
                "mediaType": MEDIA_TYPE_OCI_LAYER,
                "digest": l.diff_id,
                "size": l.tar_size.unwrap_or_default(),
            })).collect::<Vec<_>>(),
        }))
        .map_err(|e| ArchiveError::Invalid(e.to_string()))?;
        let manifest_digest = Digest::of(&manifest);
        if written.insert(manifest_digest.clone()) {
            file(&mut tar, &blob_path(&manifest_digest), &manifest)?;
        }
        let desc = json!({
            "mediaType": MEDIA_TYPE_OCI_MANIFEST,
            "digest": manifest_digest,
            "size": manifest.len(),
        });
        if tags.is_empty() {
            index.push(desc.clone());
        }
        for t in tags {
            let mut d = desc.clone();
            // A full reference in both: podman reads the OCI one, containerd its own.
            d["annotations"] = json!({
                ANNOTATION_IMAGE_NAME: t.to_string(),
                ANNOTATION_REF_NAME: t.to_string(),
            });
            index.push(d);
            if let (Some(tag), Some(top)) = (t.tag(), rec.layers.last()) {
                repositories
                    .entry(t.familiar_name())
                    .or_default()
                    .insert(tag.to_string(), top.diff_id.hex().to_string());
            }
        }
        manifest_json.push(ArchiveManifest {
            config: blob_path(&rec.id),
            repo_tags: tags.iter().map(Reference::familiar).collect(),
            layers: rec.layers.iter().map(|l| blob_path(&l.diff_id)).collect(),
        });
    }
    let index = json!({"schemaVersion": 2, "mediaType": MEDIA_TYPE_OCI_INDEX, "manifests": index});
    file(&mut tar, "index.json", &json_bytes(&index)?)?;
    file(&mut tar, "manifest.json", &json_bytes(&manifest_json)?)?;
    file(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    if !repositories.is_empty() {
        file(&mut tar, "repositories", &json_bytes(&repositories)?)?;
    }
    tar.into_inner()
        .map_err(ArchiveError::io("finishing the archive"))?
        .flush()
        .map_err(ArchiveError::io("writing the archive"))
}

fn json_bytes<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, ArchiveError> {
    serde_json::to_vec(v).map_err(|e| ArchiveError::Invalid(e.to_string()))
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

/// The images `names` select, each once, with the tags to save it under.
fn select(
    store: &Store,
    names: &[String],
) -> Result<Vec<(ImageRecord, Vec<Reference>)>, ArchiveError> {
    let mut out: Vec<(ImageRecord, Vec<Reference>)> = Vec::new();
    let all = store.list()?;
    for name in names {
        let mut picked: Vec<(crate::store::ImageId, Option<Reference>)> = Vec::new();
        match Reference::parse(name) {
            Ok(r) if r.tag().is_none() && r.digest().is_none() => {
                // A repository: every tag of it, else an id prefix or `name:latest`.
                for img in &all {
                    for t in img.references.iter().filter(|t| {
                        t.name() == r.name() && t.tag().is_some() && t.digest().is_none()
                    }) {
                        picked.push((img.record.id.clone(), Some(t.clone())));
                    }
                }
                if picked.is_empty() {
                    picked.push((store.resolve(name)?, None));
                }
            }
            Ok(r) => {
                let id = store.resolve(name)?;
                picked.push((id, r.tag().map(|_| r.clone())));
            }
            Err(_) => picked.push((store.resolve(name)?, None)),
        }
        for (id, tag) in picked {
            let pos = match out.iter().position(|(rec, _)| rec.id == id) {
                Some(p) => p,
                None => {
                    let img = store.get(&id.to_string())?;
                    out.push((img.record, Vec::new()));
                    out.len() - 1
                }
            };
            if let Some(t) = tag {
                if !out[pos].1.contains(&t) {
                    out[pos].1.push(t);
                }
            }
        }
    }
    Ok(out)
}

fn header(size: u64, kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn dir(tar: &mut tar::Builder<&mut dyn Write>, path: &str) -> Result<(), ArchiveError> {
    let mut h = header(0, tar::EntryType::Directory, 0o755);
    tar.append_data(&mut h, path, io::empty())
        .map_err(ArchiveError::io(format!("writing {path}")))
}

fn file(
    tar: &mut tar::Builder<&mut dyn Write>,
    path: &str,
    data: &[u8],
) -> Result<(), ArchiveError> {
    let mut h = header(data.len() as u64, tar::EntryType::Regular, 0o644);
    tar.append_data(&mut h, path, data)
        .map_err(ArchiveError::io(format!("writing {path}")))
}

/// The layer's uncompressed tar, streamed from its blob: its size first (a counting pass
/// when the record does not know it), its diff id checked after.
fn write_layer(
    store: &Store,
    tar: &mut tar::Builder<&mut dyn Write>,
    l: &LayerRecord,
) -> Result<(), ArchiveError> {
    let open = || -> Result<Box<dyn Read>, ArchiveError> {
        let r = SectionReader::new(store.content().reader_at(&l.blob)?);
        crate::layer_apply::decompress(r)
            .map_err(|e| ArchiveError::Invalid(format!("layer {}: {e}", l.blob)))
    };
    let size = match l.tar_size {
        Some(s) => s,
        None => io::copy(&mut open()?, &mut io::sink())
            .map_err(ArchiveError::io(format!("reading layer {}", l.blob)))?,
    };
    let path = blob_path(&l.diff_id);
    let mut checked = Checked {
        inner: open()?.take(size),
        hasher: Sha256::new(),
        count: 0,
    };
    let mut h = header(size, tar::EntryType::Regular, 0o644);
    tar.append_data(&mut h, &path, &mut checked)
        .map_err(ArchiveError::io(format!("writing layer {}", l.diff_id)))?;
    let actual = Digest::from_hasher(checked.hasher);
    if checked.count != size || actual != l.diff_id {
        return Err(ArchiveError::Invalid(format!(
            "stored layer {} is corrupt: diff id {actual}, {} bytes",
            l.diff_id, checked.count
        )));
    }
    Ok(())
}

/// Hashes and counts what passes.
struct Checked<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}
