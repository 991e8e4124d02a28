//! `GET /containers/{id}/json`: what inspect shows of a container, in the engine's terms (the
//! daemon shapes Docker's answer from it).

use super::ContainerRecord;
use crate::error::Result;
use crate::Engine;
use std::path::PathBuf;

/// A container as inspect shows it.
#[derive(Debug, Clone)]
pub struct ContainerDetails {
    pub record: ContainerRecord,
    /// The OCI runtime's name as `/info` lists it (`berth` or `runc`).
    pub runtime: &'static str,
    pub resolv_conf_path: PathBuf,
    pub hostname_path: PathBuf,
    pub hosts_path: PathBuf,
    pub log_path: PathBuf,
    pub storage: StorageDetails,
    pub mounts: Vec<MountView>,
    /// Only when asked for (they walk the writable layer).
    pub sizes: Option<Sizes>,
}

/// The storage driver's facts about a container's rootfs (`GraphDriver`).
#[derive(Debug, Clone)]
pub struct StorageDetails {
    /// Docker's driver name: `overlay2`, or `vfs` for the copying backend.
    pub driver: &'static str,
    pub merged_dir: PathBuf,
    pub upper_dir: PathBuf,
    pub work_dir: Option<PathBuf>,
}

/// Bytes written by the container, and its whole rootfs (image + writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub rw: u64,
    pub root_fs: u64,
}

/// A bind mount of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountView {
    pub source: PathBuf,
    pub destination: String,
    pub readonly: bool,
    /// `rprivate` unless asked otherwise.
    pub propagation: String,
}

impl Engine {
    pub fn inspect_container(&self, name: &str, size: bool) -> Result<ContainerDetails> {
        let c = self.container(name)?;
        let mut rec = c.snapshot();
        // The shim keeps every probe's result in its state dir; the record has the last
        // status change. Show the latest, as Docker's inspect does.
        if rec.state.health.is_some() && rec.state.is_running() {
            let state_dir = self.config.shim_state_dir(&rec.id);
            if let Some(h) = berth_shim_protocol::read_health_file_in(&state_dir) {
                rec.state.health = Some(h);
            }
        }
        Ok(self.details(rec, size))
    }

    /// `berth` for the built-in runtime, else `runc`.
    pub fn runtime_name(&self) -> &'static str {
        if self.config.runtime == "builtin" {
            "berth"
        } else {
            "runc"
        }
    }

    pub(super) fn mount_points(rec: &ContainerRecord) -> Vec<MountView> {
        rec.host_config
            .binds
            .iter()
            .flatten()
            .filter_map(|b| super::spec::parse_bind(b).ok())
            .map(|b| MountView {
                source: b.source,
                destination: b.destination,
                readonly: b.readonly,
                propagation: b.propagation.unwrap_or_else(|| "rprivate".into()),
            })
            .collect()
    }

    fn details(&self, rec: ContainerRecord, size: bool) -> ContainerDetails {
        let dir = self.config.container_dir(&rec.id);
        let (upper_dir, work_dir) = self.images.rootfs_dirs(&rec.id, &dir);
        ContainerDetails {
            runtime: self.runtime_name(),
            resolv_conf_path: dir.join("resolv.conf"),
            hostname_path: dir.join("hostname"),
            hosts_path: dir.join("hosts"),
            log_path: dir.join(format!("{}-json.log", rec.id)),
            storage: StorageDetails {
                driver: self.images.storage_driver(),
                merged_dir: dir.join("rootfs"),
                upper_dir,
                work_dir,
            },
            mounts: Self::mount_points(&rec),
            sizes: size.then(|| self.container_sizes(&rec)),
            record: rec,
        }
    }

    /// Bytes written by the container (its upper dir) and the whole rootfs (image + upper).
    pub(super) fn container_sizes(&self, rec: &ContainerRecord) -> Sizes {
        let rw = self
            .images
            .rw_size(&rec.id)
            .unwrap_or_else(|| dir_size(&self.config.container_dir(&rec.id).join("upper")));
        let image = self.images.size_of(&rec.image_id).unwrap_or(0);
        Sizes {
            rw,
            root_fs: rw + image,
        }
    }
}

/// Apparent size of the regular files under `path` (symlinks not followed).
pub fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
