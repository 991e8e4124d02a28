//! Containers: create, inspect, list, wait, top. The shapes of moby's `api/types/container`
//! (and the endpoint settings of `api/types/network`), with its `omitempty` rules.

use crate::nullable::{is_empty, is_none, str_slice, zero};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Docker's `HealthConfig` (a durations in nanoseconds).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthConfig {
    #[serde(skip_serializing_if = "is_empty")]
    pub test: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub interval: i64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub timeout: i64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub start_period: i64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub start_interval: i64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub retries: i64,
}

/// `Config` of a container (the top level of `POST /containers/create`). Fields berth does not
/// know are kept in `extra` and given back by inspect, as Docker does.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    #[serde(deserialize_with = "zero")]
    pub hostname: String,
    #[serde(deserialize_with = "zero")]
    pub domainname: String,
    #[serde(deserialize_with = "zero")]
    pub user: String,
    #[serde(deserialize_with = "zero")]
    pub attach_stdin: bool,
    #[serde(deserialize_with = "zero")]
    pub attach_stdout: bool,
    #[serde(deserialize_with = "zero")]
    pub attach_stderr: bool,
    #[serde(skip_serializing_if = "is_empty")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(deserialize_with = "zero")]
    pub tty: bool,
    #[serde(deserialize_with = "zero")]
    pub open_stdin: bool,
    #[serde(deserialize_with = "zero")]
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    #[serde(deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub args_escaped: bool,
    #[serde(deserialize_with = "zero")]
    pub image: String,
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(deserialize_with = "zero")]
    pub working_dir: String,
    #[serde(deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub network_disabled: bool,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub mac_address: String,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "str_slice")]
    pub shell: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// "", "no", "always", "unless-stopped" or "on-failure".
    #[serde(deserialize_with = "zero")]
    pub name: String,
    #[serde(deserialize_with = "zero")]
    pub maximum_retry_count: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    #[serde(deserialize_with = "zero")]
    pub name: String,
    #[serde(deserialize_with = "zero")]
    pub hard: i64,
    #[serde(deserialize_with = "zero")]
    pub soft: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    #[serde(deserialize_with = "zero")]
    pub r#type: String,
    pub config: Option<BTreeMap<String, String>>,
}

/// One host address a container port is published on (`PortBindings`, `NetworkSettings.Ports`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct PortBinding {
    #[serde(rename = "HostIp", deserialize_with = "zero")]
    pub host_ip: String,
    #[serde(rename = "HostPort", deserialize_with = "zero")]
    pub host_port: String,
}

/// `"80/tcp"` → the addresses it is published on (`null` for none).
pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

/// `--device`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeviceMapping {
    #[serde(deserialize_with = "zero")]
    pub path_on_host: String,
    #[serde(deserialize_with = "zero")]
    pub path_in_container: String,
    #[serde(deserialize_with = "zero")]
    pub cgroup_permissions: String,
}

/// `--gpus` and other device-driver requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeviceRequest {
    #[serde(deserialize_with = "zero")]
    pub driver: String,
    #[serde(deserialize_with = "zero")]
    pub count: i64,
    #[serde(rename = "DeviceIDs")]
    pub device_ids: Option<Vec<String>>,
    pub capabilities: Option<Vec<Vec<String>>>,
    pub options: Option<BTreeMap<String, String>>,
}

/// `--blkio-weight-device`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct WeightDevice {
    #[serde(deserialize_with = "zero")]
    pub path: String,
    #[serde(deserialize_with = "zero")]
    pub weight: u16,
}

/// `--device-read-bps` and the other throttles.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ThrottleDevice {
    #[serde(deserialize_with = "zero")]
    pub path: String,
    #[serde(deserialize_with = "zero")]
    pub rate: u64,
}

/// `HostConfig.Mounts` (`--mount`). The per-type options are kept as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Mount {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub r#type: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub source: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub target: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub consistency: String,
    #[serde(skip_serializing_if = "is_none")]
    pub bind_options: Option<Value>,
    #[serde(skip_serializing_if = "is_none")]
    pub volume_options: Option<Value>,
    #[serde(skip_serializing_if = "is_none")]
    pub image_options: Option<Value>,
    #[serde(skip_serializing_if = "is_none")]
    pub tmpfs_options: Option<Value>,
    #[serde(skip_serializing_if = "is_none")]
    pub cluster_options: Option<Value>,
}

/// `HostConfig` of a container, with moby's `Resources` inlined. As with [`ContainerConfig`],
/// unknown fields stay in `extra`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    #[serde(rename = "ContainerIDFile", deserialize_with = "zero")]
    pub container_id_file: String,
    pub log_config: Option<LogConfig>,
    #[serde(deserialize_with = "zero")]
    pub network_mode: String,
    pub port_bindings: Option<PortMap>,
    pub restart_policy: Option<RestartPolicy>,
    #[serde(deserialize_with = "zero")]
    pub auto_remove: bool,
    #[serde(deserialize_with = "zero")]
    pub volume_driver: String,
    pub volumes_from: Option<Vec<String>>,
    /// `[height, width]`.
    pub console_size: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "is_empty")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "str_slice")]
    pub cap_add: Option<Vec<String>>,
    #[serde(deserialize_with = "str_slice")]
    pub cap_drop: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub cgroupns_mode: String,
    pub dns: Option<Vec<String>>,
    pub dns_options: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub extra_hosts: Option<Vec<String>>,
    pub group_add: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub ipc_mode: String,
    #[serde(deserialize_with = "zero")]
    pub cgroup: String,
    pub links: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub oom_score_adj: i64,
    #[serde(deserialize_with = "zero")]
    pub pid_mode: String,
    #[serde(deserialize_with = "zero")]
    pub privileged: bool,
    #[serde(deserialize_with = "zero")]
    pub publish_all_ports: bool,
    #[serde(deserialize_with = "zero")]
    pub readonly_rootfs: bool,
    pub security_opt: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_empty")]
    pub storage_opt: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "is_empty")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    #[serde(rename = "UTSMode", deserialize_with = "zero")]
    pub uts_mode: String,
    #[serde(deserialize_with = "zero")]
    pub userns_mode: String,
    #[serde(deserialize_with = "zero")]
    pub shm_size: i64,
    #[serde(skip_serializing_if = "is_empty")]
    pub sysctls: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub runtime: String,
    #[serde(deserialize_with = "zero")]
    pub isolation: String,
    // Resources.
    #[serde(deserialize_with = "zero")]
    pub cpu_shares: i64,
    #[serde(deserialize_with = "zero")]
    pub memory: i64,
    #[serde(deserialize_with = "zero")]
    pub nano_cpus: i64,
    #[serde(deserialize_with = "zero")]
    pub cgroup_parent: String,
    #[serde(deserialize_with = "zero")]
    pub blkio_weight: u16,
    pub blkio_weight_device: Option<Vec<WeightDevice>>,
    pub blkio_device_read_bps: Option<Vec<ThrottleDevice>>,
    pub blkio_device_write_bps: Option<Vec<ThrottleDevice>>,
    #[serde(rename = "BlkioDeviceReadIOps")]
    pub blkio_device_read_iops: Option<Vec<ThrottleDevice>>,
    #[serde(rename = "BlkioDeviceWriteIOps")]
    pub blkio_device_write_iops: Option<Vec<ThrottleDevice>>,
    #[serde(deserialize_with = "zero")]
    pub cpu_period: i64,
    #[serde(deserialize_with = "zero")]
    pub cpu_quota: i64,
    #[serde(deserialize_with = "zero")]
    pub cpu_realtime_period: i64,
    #[serde(deserialize_with = "zero")]
    pub cpu_realtime_runtime: i64,
    #[serde(deserialize_with = "zero")]
    pub cpuset_cpus: String,
    #[serde(deserialize_with = "zero")]
    pub cpuset_mems: String,
    pub devices: Option<Vec<DeviceMapping>>,
    pub device_cgroup_rules: Option<Vec<String>>,
    pub device_requests: Option<Vec<DeviceRequest>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub kernel_memory: i64,
    #[serde(
        rename = "KernelMemoryTCP",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub kernel_memory_tcp: i64,
    #[serde(deserialize_with = "zero")]
    pub memory_reservation: i64,
    #[serde(deserialize_with = "zero")]
    pub memory_swap: i64,
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: Option<bool>,
    pub pids_limit: Option<i64>,
    pub ulimits: Option<Vec<Ulimit>>,
    #[serde(deserialize_with = "zero")]
    pub cpu_count: i64,
    #[serde(deserialize_with = "zero")]
    pub cpu_percent: i64,
    #[serde(rename = "IOMaximumIOps", deserialize_with = "zero")]
    pub io_maximum_iops: u64,
    #[serde(rename = "IOMaximumBandwidth", deserialize_with = "zero")]
    pub io_maximum_bandwidth: u64,
    // End of resources.
    #[serde(skip_serializing_if = "is_empty")]
    pub mounts: Option<Vec<Mount>>,
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_none")]
    pub init: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// IPAM settings of an endpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EndpointIpamConfig {
    #[serde(
        rename = "IPv4Address",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub ipv4_address: String,
    #[serde(
        rename = "IPv6Address",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub ipv6_address: String,
    #[serde(rename = "LinkLocalIPs", skip_serializing_if = "is_empty")]
    pub link_local_ips: Option<Vec<String>>,
}

/// A container's endpoint on one network (create's `EndpointsConfig`, inspect's and list's
/// `Networks`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSettings {
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointIpamConfig>,
    pub links: Option<Vec<String>>,
    pub aliases: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub mac_address: String,
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "zero")]
    pub gw_priority: i64,
    #[serde(rename = "NetworkID", deserialize_with = "zero")]
    pub network_id: String,
    #[serde(rename = "EndpointID", deserialize_with = "zero")]
    pub endpoint_id: String,
    #[serde(deserialize_with = "zero")]
    pub gateway: String,
    #[serde(rename = "IPAddress", deserialize_with = "zero")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen", deserialize_with = "zero")]
    pub ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway", deserialize_with = "zero")]
    pub ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address", deserialize_with = "zero")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen", deserialize_with = "zero")]
    pub global_ipv6_prefix_len: i64,
    #[serde(rename = "DNSNames")]
    pub dns_names: Option<Vec<String>>,
}

/// `NetworkingConfig` of a create: the endpoint per network name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    pub endpoints_config: Option<BTreeMap<String, Option<EndpointSettings>>>,
}

/// Body of `POST /containers/create`: the container config at the top level, plus host and
/// networking configs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerCreateRequest {
    #[serde(flatten)]
    pub config: ContainerConfig,
    pub host_config: Option<HostConfig>,
    pub networking_config: Option<NetworkingConfig>,
}

/// Answer of `POST /containers/create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerCreateResponse {
    #[serde(deserialize_with = "zero")]
    pub id: String,
    #[serde(deserialize_with = "zero")]
    pub warnings: Vec<String>,
}

/// One health check run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct HealthcheckResult {
    #[serde(deserialize_with = "zero")]
    pub start: String,
    #[serde(deserialize_with = "zero")]
    pub end: String,
    #[serde(deserialize_with = "zero")]
    pub exit_code: i64,
    #[serde(deserialize_with = "zero")]
    pub output: String,
}

/// `State.Health`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Health {
    #[serde(deserialize_with = "zero")]
    pub status: String,
    #[serde(deserialize_with = "zero")]
    pub failing_streak: i64,
    pub log: Option<Vec<HealthcheckResult>>,
}

/// `State` of a container, as inspect shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerState {
    /// created, running, paused, restarting, removing, exited or dead.
    #[serde(deserialize_with = "zero")]
    pub status: String,
    #[serde(deserialize_with = "zero")]
    pub running: bool,
    #[serde(deserialize_with = "zero")]
    pub paused: bool,
    #[serde(deserialize_with = "zero")]
    pub restarting: bool,
    #[serde(rename = "OOMKilled", deserialize_with = "zero")]
    pub oom_killed: bool,
    #[serde(deserialize_with = "zero")]
    pub dead: bool,
    #[serde(deserialize_with = "zero")]
    pub pid: i32,
    #[serde(deserialize_with = "zero")]
    pub exit_code: i32,
    #[serde(deserialize_with = "zero")]
    pub error: String,
    #[serde(deserialize_with = "zero")]
    pub started_at: String,
    #[serde(deserialize_with = "zero")]
    pub finished_at: String,
    #[serde(skip_serializing_if = "is_none")]
    pub health: Option<Health>,
}

/// The zero time Go prints for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Default for ContainerState {
    fn default() -> Self {
        Self {
            status: "created".into(),
            running: false,
            paused: false,
            restarting: false,
            oom_killed: false,
            dead: false,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            started_at: ZERO_TIME.into(),
            finished_at: ZERO_TIME.into(),
            health: None,
        }
    }
}

/// A mount as inspect and `ps` show it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub r#type: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub name: String,
    #[serde(deserialize_with = "zero")]
    pub source: String,
    #[serde(deserialize_with = "zero")]
    pub destination: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub driver: String,
    #[serde(deserialize_with = "zero")]
    pub mode: String,
    #[serde(rename = "RW", deserialize_with = "zero")]
    pub rw: bool,
    #[serde(deserialize_with = "zero")]
    pub propagation: String,
}

/// Storage driver facts (`GraphDriver` of inspect).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct GraphDriverData {
    pub data: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "zero")]
    pub name: String,
}

/// `NetworkSettings` of inspect.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkSettings {
    #[serde(deserialize_with = "zero")]
    pub bridge: String,
    #[serde(rename = "SandboxID", deserialize_with = "zero")]
    pub sandbox_id: String,
    #[serde(deserialize_with = "zero")]
    pub hairpin_mode: bool,
    #[serde(rename = "LinkLocalIPv6Address", deserialize_with = "zero")]
    pub link_local_ipv6_address: String,
    #[serde(rename = "LinkLocalIPv6PrefixLen", deserialize_with = "zero")]
    pub link_local_ipv6_prefix_len: i64,
    pub ports: Option<PortMap>,
    #[serde(deserialize_with = "zero")]
    pub sandbox_key: String,
    #[serde(rename = "SecondaryIPAddresses")]
    pub secondary_ip_addresses: Option<Vec<Value>>,
    #[serde(rename = "SecondaryIPv6Addresses")]
    pub secondary_ipv6_addresses: Option<Vec<Value>>,
    #[serde(rename = "EndpointID", deserialize_with = "zero")]
    pub endpoint_id: String,
    #[serde(deserialize_with = "zero")]
    pub gateway: String,
    #[serde(rename = "GlobalIPv6Address", deserialize_with = "zero")]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen", deserialize_with = "zero")]
    pub global_ipv6_prefix_len: i64,
    #[serde(rename = "IPAddress", deserialize_with = "zero")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen", deserialize_with = "zero")]
    pub ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway", deserialize_with = "zero")]
    pub ipv6_gateway: String,
    #[serde(deserialize_with = "zero")]
    pub mac_address: String,
    pub networks: Option<BTreeMap<String, Option<EndpointSettings>>>,
}

/// Answer of `GET /containers/{id}/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerInspect {
    #[serde(deserialize_with = "zero")]
    pub id: String,
    #[serde(deserialize_with = "zero")]
    pub created: String,
    #[serde(deserialize_with = "zero")]
    pub path: String,
    pub args: Option<Vec<String>>,
    pub state: Option<ContainerState>,
    #[serde(deserialize_with = "zero")]
    pub image: String,
    #[serde(deserialize_with = "zero")]
    pub resolv_conf_path: String,
    #[serde(deserialize_with = "zero")]
    pub hostname_path: String,
    #[serde(deserialize_with = "zero")]
    pub hosts_path: String,
    #[serde(deserialize_with = "zero")]
    pub log_path: String,
    #[serde(deserialize_with = "zero")]
    pub name: String,
    #[serde(deserialize_with = "zero")]
    pub restart_count: i64,
    #[serde(deserialize_with = "zero")]
    pub driver: String,
    #[serde(deserialize_with = "zero")]
    pub platform: String,
    #[serde(deserialize_with = "zero")]
    pub mount_label: String,
    #[serde(deserialize_with = "zero")]
    pub process_label: String,
    #[serde(deserialize_with = "zero")]
    pub app_armor_profile: String,
    #[serde(rename = "ExecIDs")]
    pub exec_ids: Option<Vec<String>>,
    pub host_config: Option<HostConfig>,
    #[serde(deserialize_with = "zero")]
    pub graph_driver: GraphDriverData,
    #[serde(skip_serializing_if = "is_none")]
    pub size_rw: Option<i64>,
    #[serde(skip_serializing_if = "is_none")]
    pub size_root_fs: Option<i64>,
    pub mounts: Option<Vec<MountPoint>>,
    pub config: Option<ContainerConfig>,
    pub network_settings: Option<NetworkSettings>,
}

impl ContainerInspect {
    /// The state, or the zero state when the answer had none.
    pub fn state(&self) -> ContainerState {
        self.state.clone().unwrap_or_default()
    }

    /// `Config.Tty`.
    pub fn tty(&self) -> bool {
        self.config.as_ref().is_some_and(|c| c.tty)
    }

    /// `Config.OpenStdin`.
    pub fn open_stdin(&self) -> bool {
        self.config.as_ref().is_some_and(|c| c.open_stdin)
    }

    /// `HostConfig.AutoRemove`.
    pub fn auto_remove(&self) -> bool {
        self.host_config.as_ref().is_some_and(|h| h.auto_remove)
    }
}

/// A published port in a container summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Port {
    #[serde(
        rename = "IP",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub ip: String,
    #[serde(rename = "PrivatePort", deserialize_with = "zero")]
    pub private_port: u16,
    #[serde(
        rename = "PublicPort",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub public_port: u16,
    #[serde(rename = "Type", deserialize_with = "zero")]
    pub r#type: String,
}

/// `HostConfig` of a container summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct SummaryHostConfig {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub network_mode: String,
    #[serde(skip_serializing_if = "is_empty")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `NetworkSettings` of a container summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct SummaryNetworkSettings {
    pub networks: Option<BTreeMap<String, Option<EndpointSettings>>>,
}

/// One container of `GET /containers/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerSummary {
    #[serde(deserialize_with = "zero")]
    pub id: String,
    pub names: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub image: String,
    #[serde(rename = "ImageID", deserialize_with = "zero")]
    pub image_id: String,
    #[serde(deserialize_with = "zero")]
    pub command: String,
    #[serde(deserialize_with = "zero")]
    pub created: i64,
    pub ports: Option<Vec<Port>>,
    #[serde(skip_serializing_if = "is_none")]
    pub size_rw: Option<i64>,
    #[serde(skip_serializing_if = "is_none")]
    pub size_root_fs: Option<i64>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "zero")]
    pub state: String,
    #[serde(deserialize_with = "zero")]
    pub status: String,
    #[serde(deserialize_with = "zero")]
    pub host_config: SummaryHostConfig,
    pub network_settings: Option<SummaryNetworkSettings>,
    pub mounts: Option<Vec<MountPoint>>,
}

/// Body of `POST /containers/{id}/wait`'s answer. `Error` is written as `null` when there is
/// none, as dockerd does on the wire.
/// `POST /containers/{id}/update`: moby's `UpdateConfig`, the resources that can change on a
/// live container and the restart policy. Zero (or absent) leaves a value as it is.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerUpdateRequest {
    #[serde(deserialize_with = "zero")]
    pub cpu_shares: i64,
    #[serde(deserialize_with = "zero")]
    pub memory: i64,
    #[serde(deserialize_with = "zero")]
    pub nano_cpus: i64,
    #[serde(deserialize_with = "zero")]
    pub blkio_weight: u16,
    #[serde(deserialize_with = "zero")]
    pub cpu_period: i64,
    #[serde(deserialize_with = "zero")]
    pub cpu_quota: i64,
    #[serde(deserialize_with = "zero")]
    pub cpuset_cpus: String,
    #[serde(deserialize_with = "zero")]
    pub cpuset_mems: String,
    #[serde(deserialize_with = "zero")]
    pub memory_reservation: i64,
    #[serde(deserialize_with = "zero")]
    pub memory_swap: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// The other resources of moby's `Resources`, accepted and not changed by berth.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /containers/{id}/update`'s answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerUpdateResponse {
    pub warnings: Vec<String>,
}

/// `POST /containers/prune`'s answer; `ContainersDeleted` is `null` when nothing went, as
/// Go encodes a nil slice.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerPruneResponse {
    pub containers_deleted: Option<Vec<String>>,
    pub space_reclaimed: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WaitResponse {
    #[serde(deserialize_with = "zero")]
    pub status_code: i64,
    pub error: Option<WaitError>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WaitError {
    #[serde(deserialize_with = "zero")]
    pub message: String,
}

/// Answer of `GET /containers/{id}/top`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TopResponse {
    #[serde(deserialize_with = "zero")]
    pub titles: Vec<String>,
    #[serde(deserialize_with = "zero")]
    pub processes: Vec<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_body_keeps_docker_nulls_and_omissions() {
        let req = ContainerCreateRequest {
            config: ContainerConfig {
                image: "busybox".into(),
                cmd: Some(vec!["echo".into(), "hi".into()]),
                ..Default::default()
            },
            host_config: Some(HostConfig {
                console_size: Some(vec![0, 0]),
                ..Default::default()
            }),
            networking_config: None,
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["Env"], Value::Null);
        assert!(v.get("ExposedPorts").is_none());
        assert!(v.get("Healthcheck").is_none());
        assert!(v.get("StopSignal").is_none());
        let h = &v["HostConfig"];
        assert_eq!(h["Binds"], Value::Null);
        assert_eq!(h["ConsoleSize"], json!([0, 0]));
        assert_eq!(h["MemorySwappiness"], Value::Null);
        for omitted in [
            "Init",
            "Tmpfs",
            "Sysctls",
            "Mounts",
            "KernelMemory",
            "Runtime",
        ] {
            assert!(h.get(omitted).is_none(), "{omitted} in {h}");
        }
    }

    #[test]
    fn decoding_is_lenient_like_go() {
        let v = json!({
            "Id": "x", "Config": {"Tty": true, "Cmd": "sh", "Labels": null},
            "State": {"Running": true, "Pid": null},
            "HostConfig": {"AutoRemove": true, "PortBindings": {"80/tcp": null}}
        });
        let i: ContainerInspect = serde_json::from_value(v).unwrap();
        assert!(i.tty() && i.auto_remove() && !i.open_stdin());
        assert!(i.state().running);
        assert_eq!(i.state().pid, 0);
        assert_eq!(i.config.unwrap().cmd, Some(vec!["sh".to_string()]));
        let s: ContainerSummary =
            serde_json::from_value(json!({"Id": "y", "Ports": null})).unwrap();
        assert_eq!(s.id, "y");
        assert!(s.size_rw.is_none());
        let w: WaitResponse = serde_json::from_str(r#"{"Error":null,"StatusCode":5}"#).unwrap();
        assert_eq!(w.status_code, 5);
        assert_eq!(
            serde_json::to_string(&w).unwrap(),
            r#"{"StatusCode":5,"Error":null}"#
        );
    }

    #[test]
    fn unknown_fields_round_trip() {
        let v = json!({"Image": "busybox", "Foo": 1, "HostConfig": {"Bar": [1]}});
        let req: ContainerCreateRequest = serde_json::from_value(v).unwrap();
        assert_eq!(req.config.extra["Foo"], 1);
        let back = serde_json::to_value(&req).unwrap();
        assert_eq!(back["Foo"], 1);
        assert_eq!(back["HostConfig"]["Bar"], json!([1]));
    }
}
