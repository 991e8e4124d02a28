//! Images, just enough to run: references, a content-addressed blob store, layer
//! unpacking with OCI/Docker whiteout semantics, snapshots (overlay or copies), image
//! configs/manifests, the image metadata store (redb) and `docker import`.
//! `docs/storage.md` tells how content and snapshots flow and sit on disk.
//!
//! This crate knows nothing of containers: "is this image used by a container"
//! is asked of the caller (see [`store::Store::delete`]).

pub mod archive;
pub mod config;
pub mod content;
pub mod digest;
mod fsutil;
pub mod import;
pub mod layer_apply;
pub mod perms;
pub mod reference;
pub mod registry;
pub mod snapshot;
pub mod store;
pub mod unpack;
pub mod xattr;

pub use config::{ContainerConfig, ImageConfig, Manifest};
pub use content::LocalStore;
pub use digest::Digest;
pub use import::{import, ImportError};
pub use reference::Reference;
pub use snapshot::{Mount, Snapshotter};
pub use store::{
    ContainerUse, DeleteItem, Image, ImageId, ImageRecord, LayerRecord, Store, StoreError,
};

/// The class of each of the crate's errors (their `kind()`), shared with the engine.
pub use berth_errdefs::ErrorKind;
