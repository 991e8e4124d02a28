//! Images, just enough to run: references, a content-addressed blob store, layer
//! unpacking with OCI/Docker whiteout semantics, overlayfs snapshots, image
//! configs/manifests, the image metadata store (redb) and `docker import`.
//!
//! This crate knows nothing of containers: "is this image used by a container"
//! is asked of the caller (see [`store::Store::delete`]).

pub mod config;
pub mod content;
pub mod digest;
pub mod import;
pub mod layer_apply;
pub mod perms;
pub mod reference;
pub mod snapshot;
pub mod store;

pub use config::{ContainerConfig, ImageConfig, Manifest};
pub use content::ContentStore;
pub use digest::Digest;
pub use import::{import, ImportError};
pub use reference::Reference;
pub use snapshot::{Rootfs, RootfsKind, Snapshotter};
pub use store::{
    ContainerUse, DeleteItem, Image, ImageId, ImageRecord, LayerRecord, Store, StoreError,
};

/// The class of each of the crate's errors (their `kind()`), shared with the engine.
pub use berth_errdefs::ErrorKind;
