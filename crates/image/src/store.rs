//! Image metadata in redb, plus the blobs and snapshots it points at.
//!
//! Tables (the daemon owns the `redb::Database`; ours are prefixed `images_`):
//! - `images_by_id`: `sha256:<hex>` image id → JSON [`ImageRecord`]
//! - `images_refs`: normalized reference (`docker.io/library/busybox:latest`,
//!   `name@sha256:...`) → image id
//! - `images_leases`: lease name → JSON [`LeaseRecord`]: the blobs and snapshots a pull or
//!   load in progress has made and no record names yet, kept from every collection until
//!   the lease is released or [`LEASE_EXPIRY`] passes (containerd's leases)
//!
//! Blobs and snapshots are written before the metadata that names them, and deleted after
//! the metadata that named them is gone, so a crash leaves at worst unnamed ones, which
//! `open` collects.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, ImageConfig, Manifest};
use crate::content::{self, ContentError, LocalStore, Manager};
use crate::digest::Digest;
use crate::reference::{Reference, ReferenceError};
use crate::snapshot::{self, chain_ids, Backend, Kind, SnapshotError, Snapshotter};

const IMAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("images_by_id");
const REFS: TableDefinition<&str, &str> = TableDefinition::new("images_refs");
const LEASES: TableDefinition<&str, &[u8]> = TableDefinition::new("images_leases");

/// A lease not touched for this long is dropped when the store opens: what it held is
/// garbage then.
pub const LEASE_EXPIRY: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// An image ID is the digest of its config bytes.
pub type ImageId = Digest;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("No such image: {reference}")]
    NotFound { reference: String },
    #[error("{message}")]
    Conflict { message: String },
    #[error("{message}")]
    InvalidArgument { message: String },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("image metadata database: {source}")]
    Db {
        #[source]
        source: redb::Error,
    },
    #[error("corrupt image record {key}: {source}")]
    Corrupt {
        key: String,
        #[source]
        source: serde_json::Error,
    },
}

impl StoreError {
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            StoreError::NotFound { .. } => crate::ErrorKind::NotFound,
            StoreError::Conflict { .. } => crate::ErrorKind::Conflict,
            StoreError::InvalidArgument { .. } => crate::ErrorKind::InvalidArgument,
            StoreError::Reference(_) => crate::ErrorKind::InvalidArgument,
            StoreError::Content(e) => e.kind(),
            StoreError::Snapshot(e) => e.kind(),
            StoreError::Config(e) => e.kind(),
            StoreError::Db { .. } | StoreError::Corrupt { .. } => crate::ErrorKind::Internal,
        }
    }
}

fn db<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Db { source: e.into() }
}

/// One layer of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    /// sha256 of the uncompressed tar.
    pub diff_id: Digest,
    /// Names the unpacked snapshot.
    pub chain_id: Digest,
    /// The compressed blob in the content store (what a manifest references).
    pub blob: Digest,
    pub blob_size: u64,
    /// Unpacked content size.
    pub size: u64,
    /// Bytes of the uncompressed layer tar (what `save` writes), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tar_size: Option<u64>,
}

/// What a lease holds: blobs and snapshots (by name) on their way into an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    /// Seconds since the epoch of the last change.
    pub updated: u64,
    pub blobs: std::collections::BTreeSet<Digest>,
    pub snapshots: std::collections::BTreeSet<String>,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    pub id: ImageId,
    pub config_digest: Digest,
    pub manifest_digest: Digest,
    /// Bottom layer first.
    pub layers: Vec<LayerRecord>,
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    /// Sum of the layers' unpacked sizes.
    pub size: u64,
}

impl ImageRecord {
    /// Chain ids, bottom first: the top one is the parent of a container's snapshot.
    pub fn chain_ids(&self) -> Vec<Digest> {
        self.layers.iter().map(|l| l.chain_id.clone()).collect()
    }
}

/// A record with its references (sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub record: ImageRecord,
    pub references: Vec<Reference>,
}

/// A container using an image, as reported by the caller of [`Store::delete`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerUse {
    pub container_id: String,
    pub running: bool,
}

/// One line of `docker rmi` output; serializes as `{"Untagged": ...}` / `{"Deleted": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeleteItem {
    Untagged(String),
    Deleted(String),
}

pub struct Store {
    root: PathBuf,
    db: Arc<redb::Database>,
    content: LocalStore,
    snapshots: Box<dyn Snapshotter>,
    /// Writers that add files take it shared; delete takes it exclusive, so a
    /// blob or snapshot is never collected while an import is about to use it.
    gc: RwLock<()>,
}

impl Store {
    /// Opens the store under `root`, creating `content/` and `snapshots/` and
    /// the tables, and finishing or rolling back work a crash interrupted:
    /// partial ingests and unpacks are removed, blobs no image names are deleted. Layers
    /// no image names wait for [`Store::gc_snapshots`]: only the caller knows which its
    /// containers need.
    pub fn open(root: &Path, db: Arc<redb::Database>) -> Result<Store, StoreError> {
        Self::open_with(root, db, Backend::Auto)
    }

    /// [`Store::open`] with a given snapshot backend (a store keeps the one it was made
    /// with).
    pub fn open_with(
        root: &Path,
        db: Arc<redb::Database>,
        backend: Backend,
    ) -> Result<Store, StoreError> {
        let content = LocalStore::open(root)?;
        let snapshots = snapshot::open(root, backend)?;
        let txn = db.begin_write().map_err(self::db)?;
        {
            txn.open_table(IMAGES).map_err(self::db)?;
            txn.open_table(REFS).map_err(self::db)?;
            let mut leases = txn.open_table(LEASES).map_err(self::db)?;
            let horizon = now_secs().saturating_sub(LEASE_EXPIRY.as_secs());
            leases
                .retain(|name, v| {
                    let keep = serde_json::from_slice::<LeaseRecord>(v)
                        .is_ok_and(|l| l.updated >= horizon);
                    if !keep {
                        tracing::info!(lease = name, "dropping an expired lease");
                    }
                    keep
                })
                .map_err(self::db)?;
        }
        txn.commit().map_err(self::db)?;
        let store = Store {
            root: root.to_path_buf(),
            db,
            content,
            snapshots,
            gc: RwLock::new(()),
        };
        crate::unpack::remove_interrupted(store.snapshots.as_ref())?;
        content::collect_garbage(&store.content, &store.used_blobs(None)?)?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn content(&self) -> &LocalStore {
        &self.content
    }

    pub fn snapshots(&self) -> &dyn Snapshotter {
        self.snapshots.as_ref()
    }

    pub(crate) fn shared_lock(&self) -> RwLockReadGuard<'_, ()> {
        self.gc.read().unwrap_or_else(|e| e.into_inner())
    }

    fn exclusive_lock(&self) -> RwLockWriteGuard<'_, ()> {
        self.gc.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Records an image whose layers are already unpacked (snapshots) and
    /// stored (blobs): writes the config and a manifest, then the record and
    /// `references` (moving those tags if they pointed elsewhere).
    pub fn add_image(
        &self,
        config: &[u8],
        layers: Vec<LayerRecord>,
        references: &[Reference],
    ) -> Result<ImageRecord, StoreError> {
        let _g = self.shared_lock();
        self.add_image_locked(config, layers, references, None)
    }

    /// Records an image that came with a manifest of its own (a pull, an OCI layout), kept
    /// byte for byte so its digest stays: `manifest` must be stored, and its layers are
    /// the blobs of `layers`.
    pub fn add_image_with_manifest(
        &self,
        config: &[u8],
        manifest: &Digest,
        layers: Vec<LayerRecord>,
        references: &[Reference],
    ) -> Result<ImageRecord, StoreError> {
        let _g = self.shared_lock();
        self.add_image_locked(config, layers, references, Some(manifest))
    }

    /// [`Store::add_image`] for callers already holding the shared lock; with `manifest`,
    /// that stored manifest instead of a new Docker one.
    pub(crate) fn add_image_locked(
        &self,
        config: &[u8],
        layers: Vec<LayerRecord>,
        references: &[Reference],
        manifest: Option<&Digest>,
    ) -> Result<ImageRecord, StoreError> {
        let id = Digest::of(config);
        let parsed = ImageConfig::from_slice(config, Some(&id))?;
        let diff_ids: Vec<Digest> = layers.iter().map(|l| l.diff_id.clone()).collect();
        if parsed.rootfs.diff_ids != diff_ids {
            return Err(StoreError::InvalidArgument {
                message: format!("image config {id} does not match its layers"),
            });
        }
        let chains = chain_ids(&diff_ids);
        for (l, c) in layers.iter().zip(&chains) {
            let committed = self
                .snapshots
                .stat(&c.to_string())
                .is_ok_and(|i| i.kind == Kind::Committed);
            if &l.chain_id != c || !committed || !self.content.exists(&l.blob) {
                return Err(StoreError::InvalidArgument {
                    message: format!("layer {} of image {id} is not stored", l.diff_id),
                });
            }
        }
        let config_info = self.content.ingest_bytes(config)?;
        let manifest_digest = match manifest {
            Some(m) => {
                let parsed = Manifest::from_slice(&self.content.read(m)?, Some(m))?;
                let blobs: Vec<&Digest> = parsed.layers.iter().map(|d| &d.digest).collect();
                let ours: Vec<&Digest> = layers.iter().map(|l| &l.blob).collect();
                if parsed.config.digest != id || blobs != ours {
                    return Err(StoreError::InvalidArgument {
                        message: format!("manifest {m} does not match image {id}"),
                    });
                }
                m.clone()
            }
            None => {
                let generated = Manifest::docker(
                    (config_info.digest.clone(), config_info.size),
                    &layers
                        .iter()
                        .map(|l| (l.blob.clone(), l.blob_size))
                        .collect::<Vec<_>>(),
                );
                self.content.ingest_bytes(&generated.to_vec()?)?.digest
            }
        };
        let record = ImageRecord {
            id: id.clone(),
            config_digest: config_info.digest,
            manifest_digest,
            size: layers.iter().map(|l| l.size).sum(),
            layers,
            created: parsed.created_time(),
        };
        let json = serde_json::to_vec(&record).map_err(|source| StoreError::Corrupt {
            key: id.to_string(),
            source,
        })?;
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut images = txn.open_table(IMAGES).map_err(db)?;
            images
                .insert(id.to_string().as_str(), json.as_slice())
                .map_err(db)?;
            let mut refs = txn.open_table(REFS).map_err(db)?;
            for r in references {
                refs.insert(r.to_string().as_str(), id.to_string().as_str())
                    .map_err(db)?;
            }
        }
        txn.commit().map_err(db)?;
        Ok(record)
    }

    /// Adds blobs and snapshots to lease `name` (made if new): none of them is collected
    /// until the lease is released or expires. Add before checking that a blob or
    /// snapshot exists, so a concurrent delete either ran before (it is gone: make it) or
    /// sees the lease.
    pub fn lease_add(
        &self,
        name: &str,
        blobs: &[Digest],
        snapshots: &[String],
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut leases = txn.open_table(LEASES).map_err(db)?;
            let mut rec: LeaseRecord = match leases.get(name).map_err(db)? {
                Some(v) => serde_json::from_slice(v.value()).unwrap_or_default(),
                None => LeaseRecord::default(),
            };
            rec.updated = now_secs();
            rec.blobs.extend(blobs.iter().cloned());
            rec.snapshots.extend(snapshots.iter().cloned());
            let json = serde_json::to_vec(&rec).map_err(|source| StoreError::Corrupt {
                key: name.to_string(),
                source,
            })?;
            leases.insert(name, json.as_slice()).map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    /// Drops lease `name` (the image naming its content is recorded, or the work is
    /// abandoned); missing is fine.
    pub fn lease_release(&self, name: &str) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut leases = txn.open_table(LEASES).map_err(db)?;
            leases.remove(name).map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    /// Every lease by name.
    pub fn leases(&self) -> Result<BTreeMap<String, LeaseRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let leases = txn.open_table(LEASES).map_err(db)?;
        let mut out = BTreeMap::new();
        for item in leases.iter().map_err(db)? {
            let (k, v) = item.map_err(db)?;
            let rec = serde_json::from_slice(v.value()).map_err(|source| StoreError::Corrupt {
                key: k.value().to_string(),
                source,
            })?;
            out.insert(k.value().to_string(), rec);
        }
        Ok(out)
    }

    fn leased(&self) -> Result<(HashSet<Digest>, HashSet<String>), StoreError> {
        let mut blobs = HashSet::new();
        let mut snaps = HashSet::new();
        for l in self.leases()?.into_values() {
            blobs.extend(l.blobs);
            snaps.extend(l.snapshots);
        }
        Ok((blobs, snaps))
    }

    /// Adds references (tags or `name@digest`) to an image.
    pub fn add_references(&self, id: &ImageId, references: &[Reference]) -> Result<(), StoreError> {
        if self.record(id)?.is_none() {
            return Err(StoreError::NotFound {
                reference: id.to_string(),
            });
        }
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut refs = txn.open_table(REFS).map_err(db)?;
            for r in references {
                refs.insert(r.to_string().as_str(), id.to_string().as_str())
                    .map_err(db)?;
            }
        }
        txn.commit().map_err(db)
    }

    /// The record of image `id`, if it exists.
    pub fn image_record(&self, id: &ImageId) -> Result<Option<ImageRecord>, StoreError> {
        self.record(id)
    }

    /// A stored layer with this diff id (its blob is in the content store and its chain
    /// is `chain_id`), from any image.
    pub fn find_layer(
        &self,
        diff_id: &Digest,
        chain_id: &Digest,
    ) -> Result<Option<LayerRecord>, StoreError> {
        Ok(self
            .all_records()?
            .into_iter()
            .flat_map(|r| r.layers)
            .find(|l| {
                &l.diff_id == diff_id && &l.chain_id == chain_id && self.content.exists(&l.blob)
            }))
    }

    fn record(&self, id: &ImageId) -> Result<Option<ImageRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let images = txn.open_table(IMAGES).map_err(db)?;
        let key = id.to_string();
        match images.get(key.as_str()).map_err(db)? {
            Some(v) => serde_json::from_slice(v.value())
                .map(Some)
                .map_err(|source| StoreError::Corrupt { key, source }),
            None => Ok(None),
        }
    }

    fn all_records(&self) -> Result<Vec<ImageRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let images = txn.open_table(IMAGES).map_err(db)?;
        let mut out = Vec::new();
        for item in images.iter().map_err(db)? {
            let (k, v) = item.map_err(db)?;
            out.push(
                serde_json::from_slice(v.value()).map_err(|source| StoreError::Corrupt {
                    key: k.value().to_string(),
                    source,
                })?,
            );
        }
        Ok(out)
    }

    /// All references, grouped by image id.
    fn all_refs(&self) -> Result<BTreeMap<String, Vec<Reference>>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let refs = txn.open_table(REFS).map_err(db)?;
        let mut out: BTreeMap<String, Vec<Reference>> = BTreeMap::new();
        for item in refs.iter().map_err(db)? {
            let (k, v) = item.map_err(db)?;
            match Reference::parse(k.value()) {
                Ok(r) => out.entry(v.value().to_string()).or_default().push(r),
                Err(e) => {
                    tracing::warn!(reference = k.value(), error = %e, "skipping bad stored reference")
                }
            }
        }
        for v in out.values_mut() {
            v.sort();
        }
        Ok(out)
    }

    /// All images, newest first.
    pub fn list(&self) -> Result<Vec<Image>, StoreError> {
        let mut refs = self.all_refs()?;
        let mut out: Vec<Image> = self
            .all_records()?
            .into_iter()
            .map(|record| Image {
                references: refs.remove(&record.id.to_string()).unwrap_or_default(),
                record,
            })
            .collect();
        out.sort_by(|a, b| {
            b.record
                .created
                .cmp(&a.record.created)
                .then(a.record.id.cmp(&b.record.id))
        });
        Ok(out)
    }

    /// References pointing at `id`, sorted.
    pub fn references_of(&self, id: &ImageId) -> Result<Vec<Reference>, StoreError> {
        Ok(self.all_refs()?.remove(&id.to_string()).unwrap_or_default())
    }

    /// Finds an image the way Docker does: a full id (`sha256:<hex>` or bare
    /// 64 hex), then a reference (`busybox` means `docker.io/library/busybox:latest`),
    /// then a unique prefix of the hex id (optionally `sha256:`-prefixed).
    pub fn resolve(&self, s: &str) -> Result<ImageId, StoreError> {
        let not_found = |reference: String| StoreError::NotFound { reference };
        // Full ids.
        let full = if crate::digest::is_hex64(s) {
            Digest::from_hex(s).ok()
        } else if s.starts_with("sha256:") {
            s.parse::<Digest>().ok()
        } else {
            None
        };
        if let Some(id) = full {
            return match self.record(&id)? {
                Some(_) => Ok(id),
                None => Err(not_found(s.to_string())),
            };
        }
        let named = Reference::parse(s)?;
        let tagged = named.with_default_tag();
        {
            let txn = self.db.begin_read().map_err(db)?;
            let refs = txn.open_table(REFS).map_err(db)?;
            if let Some(v) = refs.get(tagged.to_string().as_str()).map_err(db)? {
                if let Ok(id) = v.value().parse::<Digest>() {
                    if self.record(&id)?.is_some() {
                        return Ok(id);
                    }
                }
            }
        }
        let prefix = s.strip_prefix("sha256:").unwrap_or(s);
        if !prefix.is_empty()
            && prefix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            let txn = self.db.begin_read().map_err(db)?;
            let images = txn.open_table(IMAGES).map_err(db)?;
            let start = format!("sha256:{prefix}");
            let mut found = None;
            for item in images.range(start.as_str()..).map_err(db)? {
                let (k, _) = item.map_err(db)?;
                if !k.value().starts_with(&start) {
                    break;
                }
                if found.is_some() {
                    // Ambiguous prefix: Docker reports it as not found.
                    return Err(not_found(tagged.familiar()));
                }
                found = k.value().parse::<Digest>().ok();
            }
            if let Some(id) = found {
                return Ok(id);
            }
        }
        Err(not_found(tagged.familiar()))
    }

    pub fn get(&self, s: &str) -> Result<Image, StoreError> {
        let id = self.resolve(s)?;
        let record = self.record(&id)?.ok_or_else(|| StoreError::NotFound {
            reference: s.to_string(),
        })?;
        Ok(Image {
            references: self.references_of(&id)?,
            record,
        })
    }

    /// The config's exact bytes (its digest is the image id).
    pub fn config_bytes(&self, id: &ImageId) -> Result<Vec<u8>, StoreError> {
        Ok(self.content.read(id)?)
    }

    pub fn config(&self, id: &ImageId) -> Result<ImageConfig, StoreError> {
        Ok(ImageConfig::from_slice(&self.config_bytes(id)?, Some(id))?)
    }

    /// `docker tag SOURCE TARGET`: points `target` (default tag `latest`) at the
    /// image `source` resolves to, moving the tag if it existed.
    pub fn tag(&self, source: &str, target: &str) -> Result<Reference, StoreError> {
        let id = self.resolve(source)?;
        let target = Reference::parse_tagged(target)?;
        if target.digest().is_some() {
            return Err(StoreError::InvalidArgument {
                message: "refusing to create a tag with a digest reference".to_string(),
            });
        }
        if target.path() == "library/sha256" || target.familiar_name() == "sha256" {
            return Err(StoreError::InvalidArgument {
                message: "refusing to create an ambiguous tag using digest algorithm as name"
                    .to_string(),
            });
        }
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut refs = txn.open_table(REFS).map_err(db)?;
            refs.insert(target.to_string().as_str(), id.to_string().as_str())
                .map_err(db)?;
        }
        txn.commit().map_err(db)?;
        Ok(target)
    }

    /// Removes one reference; returns the image it pointed at.
    pub fn untag(&self, reference: &str) -> Result<ImageId, StoreError> {
        let r = Reference::parse_tagged(reference)?;
        let txn = self.db.begin_write().map_err(db)?;
        let id = {
            let mut refs = txn.open_table(REFS).map_err(db)?;
            let removed = refs.remove(r.to_string().as_str()).map_err(db)?;
            match removed {
                Some(v) => v.value().to_string(),
                None => {
                    return Err(StoreError::NotFound {
                        reference: r.familiar(),
                    })
                }
            }
        };
        txn.commit().map_err(db)?;
        id.parse::<Digest>()
            .map_err(|e| StoreError::InvalidArgument {
                message: e.to_string(),
            })
    }

    /// `docker rmi`, following Docker's rules:
    /// - by reference: untag it; if other references remain, that is all.
    ///   With one reference left and a container using the image, refuses
    ///   unless `force`.
    /// - by id (or id prefix): with references in more than one repository
    ///   (or several tags) refuses unless `force`; otherwise untags all and deletes.
    /// - deleting refuses while a running container uses the image (even with
    ///   `force`) or a stopped one (unless `force`).
    ///
    /// `in_use` is the caller's knowledge of containers: return the running one
    /// if any uses the image, else a stopped one, else `None`. When a stopped
    /// container keeps using a force-deleted image, the layers under its snapshot stay
    /// (a snapshot with children is never removed); [`Store::gc_snapshots`] collects them
    /// once it is gone.
    pub fn delete(
        &self,
        s: &str,
        force: bool,
        in_use: &dyn Fn(&ImageId) -> Option<ContainerUse>,
    ) -> Result<Vec<DeleteItem>, StoreError> {
        let _g = self.exclusive_lock();
        let id = self.resolve(s)?;
        let mut items = Vec::new();
        let mut refs = self.references_of(&id)?;
        let by_id = is_id_prefix(&id, s);
        let short = id.short().to_string();
        let usage = in_use(&id);

        if !by_id {
            let named = Reference::parse_tagged(s)?;
            if !force && is_single_reference(&refs) {
                if let Some(u) = &usage {
                    return Err(StoreError::Conflict {
                        message: format!(
                            "conflict: unable to remove repository reference \"{s}\" (must force) - container {} is using its referenced image {short}",
                            truncate(&u.container_id)
                        ),
                    });
                }
            }
            self.untag(&named.to_string())?;
            items.push(DeleteItem::Untagged(named.familiar()));
            refs.retain(|r| r != &named);
            // A removed tag takes the repository's digest references with it
            // when no other tag of that repository remains.
            if named.digest().is_none()
                && !refs
                    .iter()
                    .any(|r| r.digest().is_none() && r.name() == named.name())
            {
                let (same, rest): (Vec<_>, Vec<_>) =
                    refs.into_iter().partition(|r| r.name() == named.name());
                for r in same {
                    self.untag(&r.to_string())?;
                    items.push(DeleteItem::Untagged(r.familiar()));
                }
                refs = rest;
            }
            if !refs.is_empty() {
                return Ok(items);
            }
            // The last reference is gone: delete the image, but quietly keep
            // it (dangling) if a container still uses it.
            if usage.as_ref().is_some_and(|u| u.running || !force) {
                return Ok(items);
            }
        } else {
            if let Some(u) = usage.as_ref().filter(|u| u.running) {
                return Err(conflict(
                    &short,
                    true,
                    &format!(
                        "image is being used by running container {}",
                        truncate(&u.container_id)
                    ),
                ));
            }
            if !force {
                if let Some(u) = &usage {
                    return Err(conflict(
                        &short,
                        false,
                        &format!(
                            "image is being used by stopped container {}",
                            truncate(&u.container_id)
                        ),
                    ));
                }
                if !is_single_reference(&refs) {
                    return Err(conflict(
                        &short,
                        false,
                        "image is referenced in multiple repositories",
                    ));
                }
            }
            for r in std::mem::take(&mut refs) {
                self.untag(&r.to_string())?;
                items.push(DeleteItem::Untagged(r.familiar()));
            }
        }
        items.extend(self.remove_image(&id)?);
        Ok(items)
    }

    /// Deletes the record, then blobs and snapshots no other image or container uses.
    fn remove_image(&self, id: &ImageId) -> Result<Vec<DeleteItem>, StoreError> {
        let Some(record) = self.record(id)? else {
            return Ok(Vec::new());
        };
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut images = txn.open_table(IMAGES).map_err(db)?;
            images.remove(id.to_string().as_str()).map_err(db)?;
            // References may have been added meanwhile (e.g. by a concurrent tag).
            let mut refs = txn.open_table(REFS).map_err(db)?;
            let idstr = id.to_string();
            refs.retain(|_, v| v != idstr).map_err(db)?;
        }
        txn.commit().map_err(db)?;
        let mut items = vec![DeleteItem::Deleted(id.to_string())];

        let others = self.all_records()?;
        let used_blobs = self.used_blobs(Some(&others))?;
        let (_, leased_snapshots) = self.leased()?;
        for blob in [&record.config_digest, &record.manifest_digest]
            .into_iter()
            .chain(record.layers.iter().map(|l| &l.blob))
        {
            if !used_blobs.contains(blob) {
                self.content.delete(blob)?;
            }
        }
        let used: HashSet<&Digest> = others
            .iter()
            .flat_map(|r| r.layers.iter().map(|l| &l.chain_id))
            .collect();
        // Top layer first, as Docker lists them; a layer under another image's or a
        // container's snapshot stays, and so does everything below it.
        for l in record.layers.iter().rev() {
            if used.contains(&l.chain_id) || leased_snapshots.contains(&l.chain_id.to_string()) {
                break;
            }
            match self.snapshots.remove(&l.chain_id.to_string()) {
                Ok(()) => items.push(DeleteItem::Deleted(l.chain_id.to_string())),
                Err(SnapshotError::HasChildren { .. }) => break,
                Err(SnapshotError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(items)
    }

    fn used_blobs(&self, records: Option<&[ImageRecord]>) -> Result<HashSet<Digest>, StoreError> {
        let owned;
        let records = match records {
            Some(r) => r,
            None => {
                owned = self.all_records()?;
                &owned
            }
        };
        let (mut live, _) = self.leased()?;
        live.extend(records.iter().flat_map(|r| {
            [r.config_digest.clone(), r.manifest_digest.clone()]
                .into_iter()
                .chain(r.layers.iter().map(|l| l.blob.clone()))
        }));
        Ok(live)
    }

    /// Removes the committed snapshots (layers) no image uses, none in `keep` (those
    /// containers will stand on) and no other snapshot (a container's) stands on. Returns
    /// their names.
    pub fn gc_snapshots(&self, keep: &HashSet<String>) -> Result<Vec<String>, StoreError> {
        let _g = self.exclusive_lock();
        let mut used: HashSet<String> = self
            .all_records()?
            .into_iter()
            .flat_map(|r| r.layers.into_iter().map(|l| l.chain_id.to_string()))
            .collect();
        used.extend(keep.iter().cloned());
        used.extend(self.leased()?.1);
        let mut removed = Vec::new();
        // Each round removes the tops of unused chains, which frees the layers below.
        loop {
            let all = self.snapshots.walk()?;
            let parents: HashSet<&str> = all.iter().filter_map(|i| i.parent.as_deref()).collect();
            let doomed: Vec<&str> = all
                .iter()
                .filter(|i| i.kind == Kind::Committed)
                .map(|i| i.name.as_str())
                .filter(|n| !used.contains(*n) && !parents.contains(n))
                .collect();
            if doomed.is_empty() {
                return Ok(removed);
            }
            for name in doomed {
                tracing::info!(snapshot = name, "removing a layer no image uses");
                self.snapshots.remove(name)?;
                removed.push(name.to_string());
            }
        }
    }
}

fn conflict(short: &str, hard: bool, why: &str) -> StoreError {
    StoreError::Conflict {
        message: format!(
            "conflict: unable to delete {short} ({}) - {why}",
            if hard {
                "cannot be forced"
            } else {
                "must be forced"
            }
        ),
    }
}

fn truncate(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Whether `s` names the image by id (full or prefix) rather than by reference.
fn is_id_prefix(id: &ImageId, s: &str) -> bool {
    let full = id.to_string();
    !s.is_empty() && (full.starts_with(s) || id.hex().starts_with(s))
}

/// All references in one repository and at most one of them a tag.
fn is_single_reference(refs: &[Reference]) -> bool {
    let names: HashSet<String> = refs.iter().map(|r| r.name()).collect();
    let tags = refs.iter().filter(|r| r.digest().is_none()).count();
    names.len() <= 1 && tags <= 1
}

/// Convenience for callers that do not track containers.
pub fn not_in_use(_: &ImageId) -> Option<ContainerUse> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_is_shareable_across_threads() {
        fn is<T: Send + Sync>() {}
        is::<Store>();
    }

    #[test]
    fn single_reference_rule() {
        let r = |s: &str| Reference::parse_tagged(s).unwrap();
        let d = format!("a@{}", Digest::of(b"x"));
        assert!(is_single_reference(&[]));
        assert!(is_single_reference(&[r("a"), r(&d)]));
        assert!(!is_single_reference(&[r("a"), r("a:2")]));
        assert!(!is_single_reference(&[r("a"), r("b")]));
    }

    #[test]
    fn add_image_refuses_missing_layers() {
        let t = tempfile::tempdir().unwrap();
        let db = Arc::new(redb::Database::create(t.path().join("m.redb")).unwrap());
        let s = Store::open(t.path(), db).unwrap();
        let diff = Digest::of(b"layer");
        let cfg = format!(r#"{{"os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff}"]}}}}"#);
        let layer = LayerRecord {
            diff_id: diff.clone(),
            chain_id: diff.clone(),
            blob: Digest::of(b"blob"),
            blob_size: 1,
            size: 1,
            tar_size: None,
        };
        let e = s.add_image(cfg.as_bytes(), vec![layer], &[]).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        assert!(s.list().unwrap().is_empty());
        // A config without layers is a valid (empty) image.
        let empty = br#"{"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let rec = s
            .add_image(
                empty,
                vec![],
                &[Reference::parse_tagged("scratchy").unwrap()],
            )
            .unwrap();
        assert_eq!(rec.id, Digest::of(empty));
        assert_eq!(s.resolve("scratchy").unwrap(), rec.id);
        assert!(rec.chain_ids().is_empty());
    }
}
