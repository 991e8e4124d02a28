//! The engine's view of images: what containers need from them (config defaults, a mounted
//! rootfs) and the image endpoints, over berth-image's store.
//!
//! A container's writable layer is the active snapshot keyed by its id, made at create on
//! its image's top layer and mounted at `containers/<id>/rootfs` at start. A container an
//! older berth created keeps its changes in `containers/<id>/upper/`: they move into the
//! snapshot store at its next start (or it runs from the copy in `rootfs/` the older copy
//! fallback made, marked by `rootfs.copied`).

use crate::error::{EngineError, ErrorKind, Result};
use crate::Engine;
use berth_api::image::{ImageDeleteItem, ImageSummary};
use berth_image::snapshot::{self, mount, Kind, SnapshotError};
use berth_image::store::{ContainerUse, DeleteItem, Store};
use berth_image::{Digest, Reference};
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What creating a container takes from its image.
#[derive(Debug, Clone, Default)]
pub struct ResolvedImage {
    pub id: String,
    /// Snapshot chain ids, bottom first.
    pub layers: Vec<String>,
    pub env: Vec<String>,
    pub cmd: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub working_dir: String,
    pub user: String,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    /// `HEALTHCHECK`, as Docker's JSON.
    pub healthcheck: Option<serde_json::Value>,
    /// `SHELL`.
    pub shell: Option<Vec<String>>,
}

pub struct ImageService {
    pub(crate) store: Arc<Store>,
}

/// Where an older berth's copy fallback left a container's rootfs.
const LEGACY_COPIED: &str = "rootfs.copied";

/// The parent of a container's snapshot: its image's top layer.
fn top_layer(layers: &[String]) -> Result<Option<String>> {
    match layers.last() {
        Some(l) => l
            .parse::<Digest>()
            .map(|d| Some(d.to_string()))
            .map_err(|e| EngineError::internal(format!("layer {l}: {e}"))),
        None => Ok(None),
    }
}

/// Docker's driver name for a snapshotter's.
fn storage_driver_name(snapshotter: &str) -> &'static str {
    match snapshotter {
        "overlay" => "overlay2",
        _ => "vfs",
    }
}

/// Containers' snapshot keys are their ids: 64 hex characters.
fn is_container_id(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

fn created_rfc3339(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_else(|| berth_api::container::ZERO_TIME.to_string())
}

impl ImageService {
    pub fn open(data_root: &Path, db: Arc<redb::Database>) -> Result<Self> {
        Ok(Self {
            store: Arc::new(Store::open(data_root, db)?),
        })
    }

    /// Docker's name for the storage driver in use: `overlay2` for the overlay snapshotter,
    /// `vfs` (Docker's copying driver) for the native one.
    pub fn storage_driver(&self) -> &'static str {
        storage_driver_name(self.store.snapshots().name())
    }

    pub fn count(&self) -> usize {
        self.store.list().map(|l| l.len()).unwrap_or(0)
    }

    /// Resolves a name for `docker run`/`create`: Docker's "No such image" when absent.
    pub fn resolve(&self, name: &str) -> Result<ResolvedImage> {
        let image = self.store.get(name).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                let shown = Reference::parse(name)
                    .map(|r| r.with_default_tag().familiar())
                    .unwrap_or_else(|_| name.to_string());
                EngineError::not_found(format!("No such image: {shown}"))
            } else {
                e.into()
            }
        })?;
        let cfg = self.store.config(&image.record.id)?;
        let c = cfg.config.unwrap_or_default();
        Ok(ResolvedImage {
            id: image.record.id.to_string(),
            layers: image
                .record
                .chain_ids()
                .iter()
                .map(|d| d.to_string())
                .collect(),
            env: c.env.unwrap_or_default(),
            cmd: c.cmd,
            entrypoint: c.entrypoint,
            working_dir: c.working_dir.unwrap_or_default(),
            user: c.user.unwrap_or_default(),
            labels: c.labels.unwrap_or_default(),
            stop_signal: c.stop_signal,
            healthcheck: c
                .healthcheck
                .as_ref()
                .and_then(|h| serde_json::to_value(h).ok()),
            shell: c.shell,
        })
    }

    /// Makes container `id`'s writable layer on its image's `layers` (chain ids, bottom
    /// first).
    pub fn prepare_rootfs(&self, id: &str, layers: &[String]) -> Result<()> {
        let parent = top_layer(layers)?;
        self.store.snapshots().prepare(id, parent.as_deref())?;
        Ok(())
    }

    /// Mounts container `id`'s rootfs at `<container_dir>/rootfs` unless it is mounted, and
    /// returns that path. What an older berth made is taken over (see the module's doc).
    pub fn mount_rootfs(
        &self,
        id: &str,
        layers: &[String],
        container_dir: &Path,
    ) -> Result<PathBuf> {
        let rootfs = container_dir.join("rootfs");
        if mount::is_mounted(&rootfs)? || container_dir.join(LEGACY_COPIED).exists() {
            return Ok(rootfs);
        }
        let sn = self.store.snapshots();
        let parent = top_layer(layers)?;
        let legacy_upper = container_dir.join("upper");
        let mounts = if legacy_upper.is_dir() {
            let mounts = snapshot::adopt_upper(sn, id, parent.as_deref(), &legacy_upper)?;
            for old in ["work", "lower-empty"] {
                let _ = std::fs::remove_dir_all(container_dir.join(old));
            }
            mounts
        } else {
            match sn.mounts(id) {
                Err(SnapshotError::NotFound { .. }) => sn.prepare(id, parent.as_deref())?,
                other => other?,
            }
        };
        // The overlay's root is the snapshot's: the mount point only needs to exist.
        berth_image::perms::dir_with_mode(&rootfs, 0o755)?;
        mount::mount_all(&mounts, &rootfs)?;
        Ok(rootfs)
    }

    pub fn unmount_rootfs(&self, container_dir: &Path) -> Result<()> {
        Ok(mount::unmount(&container_dir.join("rootfs"))?)
    }

    /// Unmounts container `id`'s rootfs and removes its writable layer. Files in
    /// `container_dir` are the caller's.
    pub fn remove_rootfs(&self, id: &str, container_dir: &Path) -> Result<()> {
        self.unmount_rootfs(container_dir)?;
        match self.store.snapshots().remove(id) {
            Ok(()) | Err(SnapshotError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the layers no image names and no container stands on or will (`layers`:
    /// every container's, as its record has them): those of an image force-removed while a
    /// container used it, once that container is gone, or of an import a crash cut short.
    pub fn collect_layers<'a>(&self, layers: impl IntoIterator<Item = &'a String>) {
        let keep: HashSet<String> = layers
            .into_iter()
            .filter_map(|l| l.parse::<Digest>().ok())
            .map(|d| d.to_string())
            .collect();
        if let Err(e) = self.store.gc_snapshots(&keep) {
            tracing::warn!("collecting unused layers: {e}");
        }
    }

    /// Removes the writable layers of containers not in `known`: a crash between a
    /// container's record and its layer leaves them.
    pub fn sweep_rootfs(&self, known: &HashSet<String>) {
        let sn = self.store.snapshots();
        let infos = match sn.walk() {
            Ok(i) => i,
            Err(e) => return tracing::warn!("listing snapshots: {e}"),
        };
        for info in infos {
            let is_container = info.kind == Kind::Active && is_container_id(&info.name);
            if !is_container || known.contains(&info.name) {
                continue;
            }
            tracing::info!(id = %info.name, "removing the writable layer of a removed container");
            if let Err(e) = sn.remove(&info.name) {
                tracing::warn!(id = %info.name, "removing its writable layer: {e}");
            }
        }
    }

    /// The directory taking container `id`'s writes, and the overlay's work dir (as
    /// `docker inspect` shows them under GraphDriver).
    pub fn rootfs_dirs(&self, id: &str, container_dir: &Path) -> (PathBuf, Option<PathBuf>) {
        let legacy = (
            container_dir.join("upper"),
            Some(container_dir.join("work")),
        );
        let Ok(mounts) = self.store.snapshots().mounts(id) else {
            return legacy;
        };
        match mounts.first() {
            Some(m) => match m.writable_dir() {
                Some(upper) => (upper, m.option("workdir").map(PathBuf::from)),
                None => legacy,
            },
            None => legacy,
        }
    }

    /// Bytes container `id` wrote (its writable layer's usage: Docker's `SizeRw`); `None`
    /// for a container an older berth made and that has not started since.
    pub fn rw_size(&self, id: &str) -> Option<u64> {
        self.store.snapshots().usage(id).ok().map(|u| u.size)
    }

    pub fn size_of(&self, id: &str) -> Option<u64> {
        self.store.get(id).ok().map(|i| i.record.size)
    }

    pub fn inspect(&self, name: &str) -> Result<ImageDetails> {
        let image = self.store.get(name).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                EngineError::not_found(format!("No such image: {name}"))
            } else {
                e.into()
            }
        })?;
        let cfg = self.store.config(&image.record.id)?;
        let repo_tags: Vec<String> = image
            .references
            .iter()
            .filter(|r| r.tag().is_some())
            .map(|r| r.familiar())
            .collect();
        let repo_digests: Vec<String> = image
            .references
            .iter()
            .filter(|r| r.digest().is_some())
            .map(|r| r.familiar())
            .collect();
        Ok(ImageDetails {
            id: image.record.id.to_string(),
            repo_tags,
            repo_digests,
            comment: cfg
                .history
                .last()
                .and_then(|h| h.comment.clone())
                .unwrap_or_default(),
            created: created_rfc3339(image.record.created),
            author: cfg.author.clone().unwrap_or_default(),
            config: cfg.config,
            architecture: cfg.architecture,
            variant: cfg.variant,
            os: cfg.os,
            size: image.record.size,
            driver: self.storage_driver(),
            diff_ids: cfg.rootfs.diff_ids.iter().map(|d| d.to_string()).collect(),
        })
    }

    /// The image's layers, newest first: only the top one carries the image's id and tags.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let image = self.store.get(name)?;
        let cfg = self.store.config(&image.record.id)?;
        let tags: Vec<String> = image.references.iter().map(|r| r.familiar()).collect();
        let mut layer_sizes = image.record.layers.iter().map(|l| l.size);
        let mut out: Vec<HistoryEntry> = cfg
            .history
            .iter()
            .map(|h| {
                let size = if h.empty_layer {
                    0
                } else {
                    layer_sizes.next().unwrap_or(0)
                };
                HistoryEntry {
                    id: None,
                    created: h
                        .created
                        .as_deref()
                        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                        .map_or(0, |t| t.timestamp()),
                    created_by: h.created_by.clone().unwrap_or_default(),
                    tags: None,
                    size,
                    comment: h.comment.clone().unwrap_or_default(),
                }
            })
            .collect();
        out.reverse();
        if let Some(top) = out.first_mut() {
            top.id = Some(image.record.id.to_string());
            top.tags = Some(tags);
        }
        Ok(out)
    }
}

/// An image as inspect shows it.
#[derive(Debug, Clone)]
pub struct ImageDetails {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub comment: String,
    /// RFC 3339 (Go's zero time when unknown).
    pub created: String,
    pub author: String,
    pub config: Option<berth_image::config::ContainerConfig>,
    pub architecture: String,
    pub variant: Option<String>,
    pub os: String,
    pub size: u64,
    /// Docker's storage driver name (`overlay2` or `vfs`).
    pub driver: &'static str,
    pub diff_ids: Vec<String>,
}

/// One layer of an image's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The image's id on the top layer only.
    pub id: Option<String>,
    /// Unix seconds.
    pub created: i64,
    pub created_by: String,
    /// The image's references on the top layer only.
    pub tags: Option<Vec<String>>,
    pub size: u64,
    pub comment: String,
}

impl Engine {
    pub fn list_images(
        &self,
        _all: bool,
        filters: &BTreeMap<String, Vec<String>>,
    ) -> Result<Vec<ImageSummary>> {
        let mut out = Vec::new();
        for image in self.images.store.list()? {
            let id = image.record.id.to_string();
            let labels = self
                .images
                .store
                .config(&image.record.id)
                .ok()
                .and_then(|c| c.config)
                .and_then(|c| c.labels)
                .unwrap_or_default();
            let repo_tags: Vec<String> = image
                .references
                .iter()
                .filter(|r| r.tag().is_some())
                .map(|r| r.familiar())
                .collect();
            let keep = filters.iter().all(|(k, vals)| {
                vals.iter().any(|v| match k.as_str() {
                    "reference" => repo_tags
                        .iter()
                        .any(|t| t == v || t.split(':').next() == Some(v.as_str())),
                    "label" => match v.split_once('=') {
                        Some((lk, lv)) => labels.get(lk).map(String::as_str) == Some(lv),
                        None => labels.contains_key(v),
                    },
                    "dangling" => (v == "true") == repo_tags.is_empty(),
                    _ => true,
                })
            });
            if !keep {
                continue;
            }
            out.push(ImageSummary {
                id: id.clone(),
                parent_id: String::new(),
                repo_digests: image
                    .references
                    .iter()
                    .filter(|r| r.digest().is_some())
                    .map(|r| r.familiar())
                    .collect(),
                repo_tags,
                created: image.record.created.map_or(0, |t| t.timestamp()),
                size: image.record.size as i64,
                shared_size: -1,
                virtual_size: Some(image.record.size as i64),
                labels,
                containers: self.containers_using(&id).len() as i64,
            });
        }
        out.sort_by_key(|i| std::cmp::Reverse(i.created));
        Ok(out)
    }

    pub fn tag_image(&self, source: &str, repo: &str, tag: &str) -> Result<()> {
        if repo.is_empty() {
            return Err(EngineError::invalid(
                "repository name must have at least one component",
            ));
        }
        let target = if tag.is_empty() {
            repo.to_string()
        } else {
            format!("{repo}:{tag}")
        };
        let r = self.images.store.tag(source, &target)?;
        let id = self.images.store.resolve(source)?;
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), r.familiar());
        self.events.publish("image", "tag", &id.to_string(), attrs);
        Ok(())
    }

    pub fn remove_image(&self, name: &str, force: bool) -> Result<Vec<ImageDeleteItem>> {
        let in_use = |id: &Digest| -> Option<ContainerUse> {
            let users = self.containers_using(&id.to_string());
            users
                .iter()
                .find(|r| r.state.is_running())
                .or(users.first())
                .map(|r| ContainerUse {
                    container_id: r.id.clone(),
                    running: r.state.is_running(),
                })
        };
        let items = self.images.store.delete(name, force, &in_use)?;
        Ok(items
            .into_iter()
            .map(|i| {
                let (action, id, item) = match i {
                    DeleteItem::Untagged(r) => (
                        "untag",
                        r.clone(),
                        ImageDeleteItem {
                            untagged: Some(r),
                            deleted: None,
                        },
                    ),
                    DeleteItem::Deleted(d) => (
                        "delete",
                        d.clone(),
                        ImageDeleteItem {
                            untagged: None,
                            deleted: Some(d),
                        },
                    ),
                };
                self.events.publish("image", action, &id, BTreeMap::new());
                item
            })
            .collect())
    }

    /// `docker import`: runs the (blocking) unpack off the async threads.
    pub async fn import_image(
        &self,
        reader: Box<dyn tokio::io::AsyncRead + Send + Unpin>,
        repo: &str,
        tag: &str,
        changes: &[String],
        message: &str,
    ) -> Result<String> {
        let reference: Option<String> = match (repo.is_empty(), tag.is_empty()) {
            (true, _) => None,
            (false, true) => Some(repo.to_string()),
            (false, false) => Some(format!("{repo}:{tag}")),
        };
        let store = self.images.store.clone();
        let changes = changes.to_vec();
        let for_import = reference.clone();
        let message = message.to_string();
        let sync_reader = tokio_util::io::SyncIoBridge::new(reader);
        let record = tokio::task::spawn_blocking(move || {
            let reader: Box<dyn Read> = Box::new(sync_reader);
            berth_image::import::import(&store, reader, &changes, for_import.as_deref(), &message)
        })
        .await
        .map_err(|e| EngineError::internal(format!("import task: {e}")))??;
        let id = record.id.to_string();
        // dockerd reports the tag, then the import named by the id.
        if let Some(r) = reference.and_then(|r| Reference::parse_tagged(&r).ok()) {
            let tag = BTreeMap::from([("name".to_string(), r.familiar())]);
            self.events.publish("image", "tag", &id, tag);
        }
        let named = BTreeMap::from([("name".to_string(), id.clone())]);
        self.events.publish("image", "import", &id, named);
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_image::snapshot::mount::is_mounted;

    #[test]
    fn driver_names_are_dockers() {
        assert_eq!(storage_driver_name("overlay"), "overlay2");
        assert_eq!(storage_driver_name("native"), "vfs");
    }
    use serde_json::json;
    use std::fs;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A data root as the previous berth left it: one layer unpacked at
    /// `snapshots/<chain>/fs` with its `meta.json`, no snapshot metadata, and a container
    /// whose changes are in `containers/<id>/upper`.
    fn old_data_root(root: &Path) -> (String, PathBuf) {
        let chain = Digest::of(b"the layer's tar");
        let layer = root.join("snapshots").join(chain.hex());
        fs::create_dir_all(layer.join("fs/etc")).unwrap();
        fs::write(layer.join("fs/etc/os-release"), b"ID=old\n").unwrap();
        fs::write(layer.join("fs/etc/removed-later"), b"x").unwrap();
        let meta = json!({"chain_id": chain, "diff_id": chain, "parent": null, "size": 9});
        fs::write(layer.join("meta.json"), meta.to_string()).unwrap();
        let dir = root.join("containers").join(ID);
        fs::create_dir_all(dir.join("upper/data")).unwrap();
        fs::create_dir_all(dir.join("work/work")).unwrap();
        fs::write(dir.join("upper/data/written"), b"by the container").unwrap();
        // The container deleted a file of its image: an overlay whiteout in its upper dir.
        fs::create_dir_all(dir.join("upper/etc")).unwrap();
        nix::sys::stat::mknod(
            &dir.join("upper/etc/removed-later"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
        fs::create_dir_all(dir.join("rootfs")).unwrap();
        (chain.to_string(), dir)
    }

    fn service(root: &Path) -> ImageService {
        let db = redb::Database::create(root.join("metadata.redb")).unwrap();
        ImageService::open(root, Arc::new(db)).unwrap()
    }

    fn check_rootfs(rootfs: &Path) {
        assert_eq!(
            fs::read(rootfs.join("etc/os-release")).unwrap(),
            b"ID=old\n"
        );
        assert_eq!(
            fs::read(rootfs.join("data/written")).unwrap(),
            b"by the container"
        );
        assert!(!rootfs.join("etc/removed-later").exists());
    }

    #[test]
    fn a_container_of_the_previous_layout_starts_with_its_changes() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test mounts overlays: run it as root"
        );
        let t = tempfile::tempdir().unwrap();
        let (chain, dir) = old_data_root(t.path());
        let images = service(t.path());
        let layers = vec![chain.clone()];

        // It was running when the daemon was upgraded: its old mount is left alone.
        let old = snapshot::Mount::overlay(
            &[t.path().join("snapshots").join(&chain[7..]).join("fs")],
            Some((&dir.join("upper"), &dir.join("work"))),
        )
        .unwrap();
        old.mount(&dir.join("rootfs")).unwrap();
        assert_eq!(
            images.mount_rootfs(ID, &layers, &dir).unwrap(),
            dir.join("rootfs")
        );
        check_rootfs(&dir.join("rootfs"));
        assert!(dir.join("upper").is_dir());
        images.unmount_rootfs(&dir).unwrap();

        // Its next start moves its changes into the snapshot store.
        let rootfs = images.mount_rootfs(ID, &layers, &dir).unwrap();
        assert!(is_mounted(&rootfs).unwrap());
        check_rootfs(&rootfs);
        assert!(!dir.join("upper").exists() && !dir.join("work").exists());
        let (upper, _) = images.rootfs_dirs(ID, &dir);
        assert!(
            upper.starts_with(t.path().join("snapshots/snapshots")),
            "{upper:?}"
        );
        assert_eq!(images.rw_size(ID), Some(16));
        fs::write(rootfs.join("data/after"), b"new").unwrap();
        images.unmount_rootfs(&dir).unwrap();

        // And it keeps them, across a daemon restart too.
        drop(images);
        let images = service(t.path());
        let rootfs = images.mount_rootfs(ID, &layers, &dir).unwrap();
        check_rootfs(&rootfs);
        assert_eq!(fs::read(rootfs.join("data/after")).unwrap(), b"new");

        // Removed, it leaves nothing; its layer (no image names it) goes with it.
        images.remove_rootfs(ID, &dir).unwrap();
        assert!(!is_mounted(&rootfs).unwrap());
        images.collect_layers(&[]);
        assert!(images.store.snapshots().walk().unwrap().is_empty());
        assert!(!t.path().join("snapshots").join(&chain[7..]).exists());
    }

    #[test]
    fn a_container_the_old_copy_fallback_made_runs_from_its_copy() {
        let t = tempfile::tempdir().unwrap();
        let images = service(t.path());
        let dir = t.path().join("containers").join(ID);
        fs::create_dir_all(dir.join("rootfs/bin")).unwrap();
        fs::write(dir.join("rootfs/bin/sh"), b"copied").unwrap();
        fs::write(dir.join(LEGACY_COPIED), b"").unwrap();
        let rootfs = images.mount_rootfs(ID, &[], &dir).unwrap();
        assert!(!is_mounted(&rootfs).unwrap());
        assert_eq!(fs::read(rootfs.join("bin/sh")).unwrap(), b"copied");
        assert!(images.store.snapshots().walk().unwrap().is_empty());
    }

    #[test]
    fn writable_layers_of_unknown_containers_are_swept() {
        let t = tempfile::tempdir().unwrap();
        let images = service(t.path());
        let other = "f".repeat(64);
        images.prepare_rootfs(ID, &[]).unwrap();
        images.prepare_rootfs(&other, &[]).unwrap();
        images
            .store
            .snapshots()
            .prepare("not-a-container", None)
            .unwrap();
        images.sweep_rootfs(&HashSet::from([ID.to_string()]));
        let names: Vec<String> = images
            .store
            .snapshots()
            .walk()
            .unwrap()
            .into_iter()
            .map(|i| i.name)
            .collect();
        assert_eq!(names, vec![ID.to_string(), "not-a-container".to_string()]);
    }
}
