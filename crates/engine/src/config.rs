//! Where the engine keeps things and which OCI runtime its shims drive.

use berth_image::perms::{private_dir, PRIVATE_DIR};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Persistent state: metadata.redb, content, snapshots, containers.
    pub data_root: PathBuf,
    /// State of running containers that dies with the host: shim sockets and state.
    pub exec_root: PathBuf,
    /// `builtin` (libcontainer inside the shim) or a path to a `runc` binary.
    pub runtime: String,
    /// The `berth-shim` executable.
    pub shim_binary: PathBuf,
    /// Parent of every container's cgroup, e.g. `/berth`.
    pub cgroup_parent: String,
    /// A tiny init run as PID 1 with `--init` (Docker uses tini as `docker-init`).
    pub init_binary: Option<PathBuf>,
    /// How registries are reached: insecure ones, mirrors, `certs.d`.
    pub registry: berth_image::registry::RegistryConfig,
    /// The daemon's `log-driver` and `log-opts`: what a container that names no driver gets.
    pub log_driver: String,
    pub log_opts: std::collections::BTreeMap<String, String>,
}

impl EngineConfig {
    /// Creates the data and exec roots and the directories holding each container's, private
    /// to root; tightens them when they exist with a looser mode.
    pub fn private_dirs(&self) -> std::io::Result<()> {
        for d in [
            &self.data_root,
            &self.containers_dir(),
            &self.exec_root,
            &self.exec_root.join("s"),
        ] {
            private_dir(d, PRIVATE_DIR)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", d.display())))?;
        }
        Ok(())
    }
    pub fn containers_dir(&self) -> PathBuf {
        self.data_root.join("containers")
    }
    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }
    /// Shim state lives under a short path: unix socket paths are limited to 108 bytes.
    pub fn shim_state_dir(&self, id: &str) -> PathBuf {
        self.exec_root.join("s").join(short_id(id))
    }
    /// Compiled seccomp filters the shims share (one per distinct profile).
    pub fn seccomp_cache_dir(&self) -> PathBuf {
        self.exec_root.join("seccomp")
    }
}

/// The 12-character form of an id that Docker prints.
pub fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}
