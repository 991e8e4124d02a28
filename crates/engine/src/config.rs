//! Where the engine keeps things and which runtime it drives.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Persistent state: metadata.redb, content, snapshots, containers.
    pub data_root: PathBuf,
    /// Runtime state that dies with the host: shim sockets and state.
    pub exec_root: PathBuf,
    /// `builtin` (libcontainer inside the shim) or a path to a `runc` binary.
    pub runtime: String,
    /// The `berth-shim` executable.
    pub shim_binary: PathBuf,
    /// Parent of every container's cgroup, e.g. `/berth`.
    pub cgroup_parent: String,
    /// A tiny init run as PID 1 with `--init` (Docker uses tini as `docker-init`).
    pub init_binary: Option<PathBuf>,
}

impl EngineConfig {
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
