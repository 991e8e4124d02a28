//! `GET /containers/{id}/json`: the record in Docker's inspect shape.

use super::ContainerRecord;
use crate::error::Result;
use crate::Engine;
use berth_api::container::MountPoint;
use serde_json::{json, Value};

impl Engine {
    pub fn inspect_container(&self, name: &str, size: bool) -> Result<Value> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        let mut v = self.inspect_value(&rec);
        if size {
            let (rw, root) = self.container_sizes(&rec);
            v["SizeRw"] = json!(rw);
            v["SizeRootFs"] = json!(root);
        }
        Ok(v)
    }

    pub(super) fn mount_points(rec: &ContainerRecord) -> Vec<MountPoint> {
        rec.host_config
            .binds
            .iter()
            .flatten()
            .filter_map(|b| super::spec::parse_bind(b).ok())
            .map(|b| MountPoint {
                r#type: "bind".into(),
                source: b.source.display().to_string(),
                destination: b.destination,
                mode: if b.readonly {
                    "ro".into()
                } else {
                    String::new()
                },
                rw: !b.readonly,
                propagation: b.propagation.unwrap_or_else(|| "rprivate".into()),
                ..MountPoint::default()
            })
            .collect()
    }

    fn inspect_value(&self, rec: &ContainerRecord) -> Value {
        let dir = self.config.container_dir(&rec.id);
        let path = |f: &str| dir.join(f).display().to_string();
        let (upper, work) = self.images.rootfs_dirs(&rec.id, &dir);
        let (upper, work) = (
            upper.display().to_string(),
            work.map(|w| w.display().to_string()),
        );
        let mut host_config = serde_json::to_value(&rec.host_config).unwrap_or(json!({}));
        host_config["Runtime"] = json!(if self.config.runtime == "builtin" {
            "berth"
        } else {
            "runc"
        });
        let networks = if rec.host_config.network_mode == "host" {
            json!({"host": {"NetworkID": "host", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""}})
        } else {
            json!({"none": {"NetworkID": "none", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""}})
        };
        json!({
            "Id": rec.id,
            "Created": rec.created,
            "Path": rec.path,
            "Args": rec.args,
            "State": rec.state,
            "Image": rec.image_id,
            "ResolvConfPath": path("resolv.conf"),
            "HostnamePath": path("hostname"),
            "HostsPath": path("hosts"),
            "LogPath": path(&format!("{}-json.log", rec.id)),
            "Name": format!("/{}", rec.name),
            "RestartCount": rec.restart_count,
            "Driver": "overlay2",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": Value::Null,
            "HostConfig": host_config,
            "GraphDriver": {
                "Name": "overlay2",
                "Data": {
                    "MergedDir": path("rootfs"),
                    "UpperDir": upper,
                    "WorkDir": work,
                }
            },
            "Mounts": Self::mount_points(rec),
            "Config": rec.config,
            "NetworkSettings": {
                "Bridge": "",
                "SandboxID": "",
                "HairpinMode": false,
                "LinkLocalIPv6Address": "",
                "LinkLocalIPv6PrefixLen": 0,
                "Ports": {},
                "SandboxKey": "",
                "SecondaryIPAddresses": Value::Null,
                "SecondaryIPv6Addresses": Value::Null,
                "EndpointID": "",
                "Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "IPAddress": "",
                "IPPrefixLen": 0,
                "IPv6Gateway": "",
                "MacAddress": "",
                "Networks": networks,
            }
        })
    }

    /// Bytes written by the container (its upper dir) and the whole rootfs (image + upper).
    pub(super) fn container_sizes(&self, rec: &ContainerRecord) -> (u64, u64) {
        let rw = self
            .images
            .rw_size(&rec.id)
            .unwrap_or_else(|| dir_size(&self.config.container_dir(&rec.id).join("upper")));
        let image = self.images.size_of(&rec.image_id).unwrap_or(0);
        (rw, rw + image)
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
