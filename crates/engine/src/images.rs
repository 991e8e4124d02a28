//! The engine's view of images: what containers need from them (config defaults, a mounted
//! rootfs) and the image endpoints, over berth-image's store.

use crate::error::{EngineError, ErrorKind, Result};
use crate::Engine;
use berth_api::image::{ImageDeleteItem, ImageSummary};
use berth_image::store::{ContainerUse, DeleteItem, Store};
use berth_image::{Digest, Reference};
use serde_json::{json, Value};
use std::collections::BTreeMap;
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
}

pub struct ImageService {
    store: Arc<Store>,
}

impl From<berth_image::store::StoreError> for EngineError {
    fn from(e: berth_image::store::StoreError) -> Self {
        EngineError::new(e.kind(), e.to_string())
    }
}

impl From<berth_image::import::ImportError> for EngineError {
    fn from(e: berth_image::import::ImportError) -> Self {
        EngineError::new(e.kind(), e.to_string())
    }
}

impl From<berth_image::snapshot::SnapshotError> for EngineError {
    fn from(e: berth_image::snapshot::SnapshotError) -> Self {
        EngineError::new(e.kind(), e.to_string())
    }
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
        })
    }

    /// Mounts a container's rootfs (image layers + its own upper dir) if not mounted yet.
    pub fn mount_rootfs(&self, layers: &[String], container_dir: &Path) -> Result<PathBuf> {
        if berth_image::snapshot::is_mounted(container_dir)? {
            return Ok(container_dir.join("rootfs"));
        }
        let chain: Vec<Digest> = layers
            .iter()
            .map(|l| {
                l.parse::<Digest>()
                    .map_err(|e| EngineError::internal(format!("layer {l}: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(self
            .store
            .snapshots()
            .prepare_rootfs(&chain, container_dir)?
            .path)
    }

    pub fn unmount_rootfs(&self, container_dir: &Path) -> Result<()> {
        Ok(berth_image::snapshot::unmount(container_dir)?)
    }

    pub fn remove_rootfs(&self, container_dir: &Path) -> Result<()> {
        Ok(berth_image::snapshot::remove(container_dir)?)
    }

    pub fn size_of(&self, id: &str) -> Option<u64> {
        self.store.get(id).ok().map(|i| i.record.size)
    }

    pub fn inspect(&self, name: &str) -> Result<Value> {
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
        Ok(json!({
            "Id": image.record.id.to_string(),
            "RepoTags": repo_tags,
            "RepoDigests": repo_digests,
            "Parent": "",
            "Comment": cfg.history.last().and_then(|h| h.comment.clone()).unwrap_or_default(),
            "Created": created_rfc3339(image.record.created),
            "DockerVersion": "",
            "Author": cfg.author.clone().unwrap_or_default(),
            "Config": cfg.config,
            "Architecture": cfg.architecture,
            "Variant": cfg.variant,
            "Os": cfg.os,
            "Size": image.record.size,
            "GraphDriver": {"Name": "overlay2", "Data": null},
            "RootFS": {"Type": "layers", "Layers": cfg.rootfs.diff_ids.iter().map(|d| d.to_string()).collect::<Vec<_>>()},
            "Metadata": {"LastTagTime": berth_api::container::ZERO_TIME},
        }))
    }

    pub fn history(&self, name: &str) -> Result<Vec<Value>> {
        let image = self.store.get(name)?;
        let cfg = self.store.config(&image.record.id)?;
        let tags: Vec<String> = image.references.iter().map(|r| r.familiar()).collect();
        let mut layer_sizes = image.record.layers.iter().map(|l| l.size);
        let mut out: Vec<Value> = cfg
            .history
            .iter()
            .map(|h| {
                let size = if h.empty_layer {
                    0
                } else {
                    layer_sizes.next().unwrap_or(0)
                };
                json!({
                    "Id": "<missing>",
                    "Created": h.created.as_deref().and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok()).map_or(0, |t| t.timestamp()),
                    "CreatedBy": h.created_by.clone().unwrap_or_default(),
                    "Tags": null,
                    "Size": size,
                    "Comment": h.comment.clone().unwrap_or_default(),
                })
            })
            .collect();
        out.reverse();
        if let Some(top) = out.first_mut() {
            top["Id"] = json!(image.record.id.to_string());
            top["Tags"] = json!(tags);
        }
        Ok(out)
    }
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
                .find(|r| r.state.running)
                .or(users.first())
                .map(|r| ContainerUse {
                    container_id: r.id.clone(),
                    running: r.state.running,
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
