#![recursion_limit = "256"]
//! berth's engine: containers, images, exec and events as services. No HTTP here: the daemon
//! turns requests into calls on [`Engine`] and maps [`EngineError`] kinds to status codes.

pub mod config;
pub mod container;
pub mod error;
pub mod events;
pub mod image_transfer;
pub mod images;
pub mod model;
mod names;
mod netns;
pub mod seams;
mod store;
pub mod system;

pub use config::EngineConfig;
pub use error::{EngineError, ErrorKind, IoContext, Result};

use container::{Container, ContainerRecord};
use events::EventBus;
use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, RwLock};
use store::ContainerStore;

pub struct Engine {
    pub config: EngineConfig,
    pub images: Arc<images::ImageService>,
    registry: Arc<berth_image::registry::Registry>,
    pub events: Arc<EventBus>,
    store: ContainerStore,
    /// Facts about this host the OCI spec needs, read once.
    host_info: berth_spec::HostInfo,
    cgroup_layout: berth_cgroups::CgroupLayout,
    containers: RwLock<HashMap<String, Arc<Container>>>,
    /// Names taken by creates in progress, so two concurrent creates cannot share one.
    reserved_names: std::sync::Mutex<std::collections::HashSet<String>>,
    execs: container::exec::ExecTable,
    shims: Arc<dyn seams::Shims>,
    cgroups: Arc<dyn seams::Cgroups>,
    network: Arc<dyn seams::Network>,
    rootfs: Arc<dyn seams::Rootfs>,
}

impl Engine {
    /// Opens (or creates) the data and exec roots, loads every container and settles what
    /// happened while no daemon was running. `deps` are the edges it drives
    /// ([`seams::EngineDeps::real`] for the host's).
    pub async fn open(config: EngineConfig, deps: seams::EngineDeps) -> Result<Arc<Self>> {
        config.private_dirs()?;
        let db_path = config.data_root.join("metadata.redb");
        let db = redb::Database::create(&db_path).map_err(|e| store::StoreError::Db(e.into()))?;
        // It holds every container's environment.
        std::fs::set_permissions(&db_path, std::fs::Permissions::from_mode(0o600)).at(&db_path)?;
        let db = Arc::new(db);
        let store = ContainerStore::open(db.clone())?;
        let images = Arc::new(images::ImageService::open(&config.data_root, db)?);
        let rootfs = deps
            .rootfs
            .unwrap_or_else(|| images.clone() as Arc<dyn seams::Rootfs>);
        let registry = Arc::new(berth_image::registry::Registry::new(
            config.registry.clone(),
        )?);
        let engine = Arc::new(Self {
            config,
            images,
            registry,
            events: Arc::new(EventBus::default()),
            store,
            host_info: berth_spec::HostInfo::detect(),
            cgroup_layout: berth_cgroups::detect(),
            containers: RwLock::new(HashMap::new()),
            reserved_names: Default::default(),
            execs: Default::default(),
            shims: deps.shims,
            cgroups: deps.cgroups,
            network: deps.network,
            rootfs,
        });
        engine.recover().await?;
        Ok(engine)
    }

    fn events_handle(&self) -> Arc<EventBus> {
        self.events.clone()
    }

    fn all_containers(&self) -> Vec<Arc<Container>> {
        match self.containers.read() {
            Ok(m) => m.values().cloned().collect(),
            Err(p) => p.into_inner().values().cloned().collect(),
        }
    }

    /// Finds a container by full id, name, or unique id prefix, as Docker does.
    pub fn container(&self, name_or_id: &str) -> Result<Arc<Container>> {
        let key = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if key.is_empty() {
            return Err(EngineError::no_such_container(name_or_id));
        }
        let all = self.all_containers();
        if let Some(c) = all.iter().find(|c| c.snapshot().id == key) {
            return Ok(c.clone());
        }
        if let Some(c) = all.iter().find(|c| c.snapshot().name == key) {
            return Ok(c.clone());
        }
        let by_prefix: Vec<_> = all
            .iter()
            .filter(|c| c.snapshot().id.starts_with(key))
            .collect();
        match by_prefix.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(EngineError::no_such_container(name_or_id)),
            _ => Err(EngineError::invalid(format!(
                "multiple IDs found with provided prefix: {key}"
            ))),
        }
    }

    fn insert(&self, c: Arc<Container>) {
        let id = c.id();
        match self.containers.write() {
            Ok(mut m) => m.insert(id, c),
            Err(p) => p.into_inner().insert(id, c),
        };
    }

    fn forget(&self, id: &str) {
        match self.containers.write() {
            Ok(mut m) => m.remove(id),
            Err(p) => p.into_inner().remove(id),
        };
    }

    /// Claims `name` for a create in progress; false if a container or another create has it.
    fn reserve_name(&self, name: &str) -> bool {
        let Ok(mut reserved) = self.reserved_names.lock() else {
            return false;
        };
        if self.name_in_use(name).is_some() || reserved.contains(name) {
            return false;
        }
        reserved.insert(name.to_string())
    }

    fn release_name(&self, name: &str) {
        if let Ok(mut reserved) = self.reserved_names.lock() {
            reserved.remove(name);
        }
    }

    fn name_in_use(&self, name: &str) -> Option<String> {
        self.all_containers()
            .into_iter()
            .map(|c| c.snapshot())
            .find(|r| r.name == name)
            .map(|r| r.id)
    }

    /// Writes the record through to the metadata store.
    fn persist(&self, rec: &ContainerRecord) -> Result<()> {
        Ok(self.store.put(rec)?)
    }

    /// Publishes a container event with Docker's attributes (name, image, labels).
    fn container_event(&self, rec: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
        let mut attrs: BTreeMap<String, String> = rec.config.labels.clone().unwrap_or_default();
        attrs.insert("name".into(), rec.name.clone());
        attrs.insert("image".into(), rec.config.image.clone());
        for (k, v) in extra {
            attrs.insert((*k).to_string(), v.clone());
        }
        self.events.publish("container", action, &rec.id, attrs);
    }

    /// How many containers use an image (for `rmi` and `images`).
    pub fn containers_using(&self, image_id: &str) -> Vec<ContainerRecord> {
        self.all_containers()
            .into_iter()
            .map(|c| c.snapshot())
            .filter(|r| r.image_id == image_id)
            .collect()
    }
}
