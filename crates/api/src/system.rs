//! `GET /version` and `GET /info` (moby's `types.Version` and `system.Info`).

use crate::nullable::{is_empty, is_none, zero};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Platform {
    #[serde(deserialize_with = "zero")]
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct VersionComponent {
    #[serde(deserialize_with = "zero")]
    pub name: String,
    #[serde(deserialize_with = "zero")]
    pub version: String,
    #[serde(skip_serializing_if = "is_empty")]
    pub details: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Version {
    #[serde(deserialize_with = "zero")]
    pub platform: Platform,
    #[serde(skip_serializing_if = "is_empty")]
    pub components: Option<Vec<VersionComponent>>,
    #[serde(deserialize_with = "zero")]
    pub version: String,
    #[serde(deserialize_with = "zero")]
    pub api_version: String,
    #[serde(
        rename = "MinAPIVersion",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub min_api_version: String,
    #[serde(deserialize_with = "zero")]
    pub git_commit: String,
    #[serde(deserialize_with = "zero")]
    pub go_version: String,
    #[serde(deserialize_with = "zero")]
    pub os: String,
    #[serde(deserialize_with = "zero")]
    pub arch: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub kernel_version: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub experimental: bool,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub build_time: String,
}

/// `Plugins` of info.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct PluginsInfo {
    pub volume: Option<Vec<String>>,
    pub network: Option<Vec<String>>,
    pub authorization: Option<Vec<String>>,
    pub log: Option<Vec<String>>,
}

/// `RegistryConfig` of info.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegistryConfig {
    #[serde(rename = "InsecureRegistryCIDRs")]
    pub insecure_registry_cidrs: Option<Vec<String>>,
    pub index_configs: Option<BTreeMap<String, Value>>,
    pub mirrors: Option<Vec<String>>,
}

/// A runtime of `Runtimes`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Runtime {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub path: String,
    #[serde(rename = "runtimeArgs", skip_serializing_if = "is_empty")]
    pub runtime_args: Option<Vec<String>>,
}

/// `Swarm` of info (berth has no swarm: only the local node's state matters).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct SwarmInfo {
    #[serde(rename = "NodeID", deserialize_with = "zero")]
    pub node_id: String,
    #[serde(deserialize_with = "zero")]
    pub node_addr: String,
    #[serde(deserialize_with = "zero")]
    pub local_node_state: String,
    #[serde(deserialize_with = "zero")]
    pub control_available: bool,
    #[serde(deserialize_with = "zero")]
    pub error: String,
    pub remote_managers: Option<Vec<Value>>,
}

/// A component's commit (`ContainerdCommit`, `RuncCommit`, `InitCommit`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Commit {
    #[serde(rename = "ID", deserialize_with = "zero")]
    pub id: String,
}

/// Answer of `GET /info`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Info {
    #[serde(rename = "ID", deserialize_with = "zero")]
    pub id: String,
    #[serde(deserialize_with = "zero")]
    pub containers: i64,
    #[serde(deserialize_with = "zero")]
    pub containers_running: i64,
    #[serde(deserialize_with = "zero")]
    pub containers_paused: i64,
    #[serde(deserialize_with = "zero")]
    pub containers_stopped: i64,
    #[serde(deserialize_with = "zero")]
    pub images: i64,
    #[serde(deserialize_with = "zero")]
    pub driver: String,
    pub driver_status: Option<Vec<Vec<String>>>,
    #[serde(skip_serializing_if = "is_empty")]
    pub system_status: Option<Vec<Vec<String>>>,
    #[serde(deserialize_with = "zero")]
    pub plugins: PluginsInfo,
    #[serde(deserialize_with = "zero")]
    pub memory_limit: bool,
    #[serde(deserialize_with = "zero")]
    pub swap_limit: bool,
    #[serde(deserialize_with = "zero")]
    pub cpu_cfs_period: bool,
    #[serde(deserialize_with = "zero")]
    pub cpu_cfs_quota: bool,
    #[serde(rename = "CPUShares", deserialize_with = "zero")]
    pub cpu_shares: bool,
    #[serde(rename = "CPUSet", deserialize_with = "zero")]
    pub cpu_set: bool,
    #[serde(deserialize_with = "zero")]
    pub pids_limit: bool,
    #[serde(rename = "IPv4Forwarding", deserialize_with = "zero")]
    pub ipv4_forwarding: bool,
    #[serde(deserialize_with = "zero")]
    pub debug: bool,
    #[serde(rename = "NFd", deserialize_with = "zero")]
    pub n_fd: i64,
    #[serde(deserialize_with = "zero")]
    pub oom_kill_disable: bool,
    #[serde(rename = "NGoroutines", deserialize_with = "zero")]
    pub n_goroutines: i64,
    #[serde(deserialize_with = "zero")]
    pub system_time: String,
    #[serde(deserialize_with = "zero")]
    pub logging_driver: String,
    #[serde(deserialize_with = "zero")]
    pub cgroup_driver: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub cgroup_version: String,
    #[serde(rename = "NEventsListener", deserialize_with = "zero")]
    pub n_events_listener: i64,
    #[serde(deserialize_with = "zero")]
    pub kernel_version: String,
    #[serde(deserialize_with = "zero")]
    pub operating_system: String,
    #[serde(rename = "OSVersion", deserialize_with = "zero")]
    pub os_version: String,
    #[serde(rename = "OSType", deserialize_with = "zero")]
    pub os_type: String,
    #[serde(deserialize_with = "zero")]
    pub architecture: String,
    #[serde(deserialize_with = "zero")]
    pub index_server_address: String,
    pub registry_config: Option<RegistryConfig>,
    #[serde(rename = "NCPU", deserialize_with = "zero")]
    pub ncpu: i64,
    #[serde(deserialize_with = "zero")]
    pub mem_total: i64,
    pub generic_resources: Option<Vec<Value>>,
    #[serde(deserialize_with = "zero")]
    pub docker_root_dir: String,
    #[serde(rename = "HttpProxy", deserialize_with = "zero")]
    pub http_proxy: String,
    #[serde(rename = "HttpsProxy", deserialize_with = "zero")]
    pub https_proxy: String,
    #[serde(deserialize_with = "zero")]
    pub no_proxy: String,
    #[serde(deserialize_with = "zero")]
    pub name: String,
    pub labels: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub experimental_build: bool,
    #[serde(deserialize_with = "zero")]
    pub server_version: String,
    pub runtimes: Option<BTreeMap<String, Runtime>>,
    #[serde(deserialize_with = "zero")]
    pub default_runtime: String,
    #[serde(deserialize_with = "zero")]
    pub swarm: SwarmInfo,
    #[serde(deserialize_with = "zero")]
    pub live_restore_enabled: bool,
    #[serde(deserialize_with = "zero")]
    pub isolation: String,
    #[serde(deserialize_with = "zero")]
    pub init_binary: String,
    #[serde(deserialize_with = "zero")]
    pub containerd_commit: Commit,
    #[serde(deserialize_with = "zero")]
    pub runc_commit: Commit,
    #[serde(deserialize_with = "zero")]
    pub init_commit: Commit,
    pub security_options: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub product_license: String,
    /// Never `null`: dockerd turns a nil list into `[]` here (`promoteNil`), and the spec
    /// does not allow `null`.
    #[serde(rename = "CDISpecDirs", deserialize_with = "zero")]
    pub cdi_spec_dirs: Vec<String>,
    #[serde(skip_serializing_if = "is_none")]
    pub containerd: Option<Value>,
    pub warnings: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_leaves_out_empty_optional_fields() {
        let v = Version {
            platform: Platform {
                name: "berth".into(),
            },
            version: "0.1.0".into(),
            api_version: "1.47".into(),
            ..Default::default()
        };
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["Platform"]["Name"], "berth");
        for omitted in ["Components", "MinAPIVersion", "KernelVersion", "BuildTime"] {
            assert!(j.get(omitted).is_none(), "{omitted}");
        }
        let i: Info = serde_json::from_str(
            r#"{"Containers":1,"DriverStatus":[["Backing Filesystem","extfs"]],"Runtimes":{"runc":{"path":"runc"}},"Swarm":null}"#,
        )
        .unwrap();
        assert_eq!(i.containers, 1);
        assert_eq!(i.runtimes.unwrap()["runc"].path, "runc");
    }

    #[test]
    fn info_cdi_spec_dirs_is_a_list_never_null() {
        let j = serde_json::to_value(Info::default()).unwrap();
        assert_eq!(j["CDISpecDirs"], serde_json::json!([]));
        let i: Info = serde_json::from_str(r#"{"CDISpecDirs":null}"#).unwrap();
        assert!(i.cdi_spec_dirs.is_empty());
        let i: Info = serde_json::from_str(r#"{"CDISpecDirs":["/etc/cdi"]}"#).unwrap();
        assert_eq!(i.cdi_spec_dirs, vec!["/etc/cdi".to_string()]);
    }
}
