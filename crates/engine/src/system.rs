//! `GET /version` and `GET /info`.

use crate::Engine;
use serde_json::{json, Value};

/// The kernel release, as `uname -r` prints it.
pub fn kernel_version() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().to_string())
        .unwrap_or_default()
}

impl Engine {
    pub fn info(&self) -> Value {
        let recs: Vec<_> = self.all_containers().iter().map(|c| c.snapshot()).collect();
        let running = recs
            .iter()
            .filter(|r| r.state.running && !r.state.paused)
            .count();
        let paused = recs.iter().filter(|r| r.state.paused).count();
        let stopped = recs.len() - running - paused;
        let cgroup_version = if self.cgroup_layout.is_v1_stats() {
            "1"
        } else {
            "2"
        };
        let mem_total = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .unwrap_or(0)
            * 1024;
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().to_string())
            .unwrap_or_default();
        let os = std::fs::read_to_string("/etc/os-release")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                    .map(|v| v.trim_matches('"').to_string())
            })
            .unwrap_or_else(|| "Linux".into());
        let runtime = if self.config.runtime == "builtin" {
            "berth"
        } else {
            "runc"
        };
        json!({
            "ID": self.daemon_id(),
            "Containers": recs.len(),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": stopped,
            "Images": self.images.count(),
            "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
            "Plugins": {"Volume": ["local"], "Network": ["host", "null"], "Authorization": null, "Log": ["json-file"]},
            "MemoryLimit": true,
            "SwapLimit": true,
            "CpuCfsPeriod": true,
            "CpuCfsQuota": true,
            "CPUShares": true,
            "CPUSet": true,
            "PidsLimit": true,
            "IPv4Forwarding": true,
            "Debug": false,
            "NFd": std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0),
            "NGoroutines": 0,
            "SystemTime": crate::container::now_rfc3339(),
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": cgroup_version,
            "NEventsListener": 0,
            "KernelVersion": kernel_version(),
            "OperatingSystem": os,
            "OSVersion": "",
            "OSType": "linux",
            "Architecture": std::env::consts::ARCH,
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": self.registry_info(),
            "NCPU": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "MemTotal": mem_total,
            "DockerRootDir": self.config.data_root,
            "Name": hostname,
            "Labels": [],
            "ExperimentalBuild": false,
            "ServerVersion": env!("CARGO_PKG_VERSION"),
            "Runtimes": {runtime: {"path": if runtime == "berth" { "berth-shim (libcontainer)".to_string() } else { self.config.runtime.clone() }}},
            "DefaultRuntime": runtime,
            "Swarm": {"LocalNodeState": "inactive", "NodeID": "", "NodeAddr": "", "ControlAvailable": false, "Error": "", "RemoteManagers": null},
            "LiveRestoreEnabled": true,
            "Isolation": "",
            "InitBinary": self.config.init_binary.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            "SecurityOptions": ["name=seccomp,profile=builtin", "name=cgroupns"],
            "Warnings": [],
        })
    }

    /// A stable id for this daemon's data root.
    fn daemon_id(&self) -> String {
        let path = self.config.data_root.join("daemon-id");
        if let Ok(id) = std::fs::read_to_string(&path) {
            return id.trim().to_string();
        }
        let id = hex::encode(rand::random::<[u8; 16]>());
        let _ = std::fs::write(&path, &id);
        id
    }
}
