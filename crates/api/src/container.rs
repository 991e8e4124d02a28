//! Container configuration, state and listings.

use crate::nullable::zero;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `Config` of a container (the top level of `POST /containers/create`). Fields berth does not
/// act on yet are kept in `extra` and given back by inspect, as Docker does.
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
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(deserialize_with = "zero")]
    pub tty: bool,
    #[serde(deserialize_with = "zero")]
    pub open_stdin: bool,
    #[serde(deserialize_with = "zero")]
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub healthcheck: Option<Value>,
    #[serde(deserialize_with = "zero")]
    pub image: String,
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(deserialize_with = "zero")]
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    pub on_build: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
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
    pub soft: i64,
    #[serde(deserialize_with = "zero")]
    pub hard: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    #[serde(deserialize_with = "zero")]
    pub r#type: String,
    pub config: Option<BTreeMap<String, String>>,
}

/// `HostConfig` of a container. As with [`ContainerConfig`], unused fields stay in `extra`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    pub log_config: Option<LogConfig>,
    #[serde(deserialize_with = "zero")]
    pub network_mode: String,
    pub port_bindings: Option<BTreeMap<String, Value>>,
    pub restart_policy: Option<RestartPolicy>,
    #[serde(deserialize_with = "zero")]
    pub auto_remove: bool,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub dns: Option<Vec<String>>,
    pub dns_options: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub extra_hosts: Option<Vec<String>>,
    pub group_add: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub ipc_mode: String,
    #[serde(deserialize_with = "zero")]
    pub pid_mode: String,
    #[serde(deserialize_with = "zero")]
    pub privileged: bool,
    #[serde(deserialize_with = "zero")]
    pub readonly_rootfs: bool,
    pub security_opt: Option<Vec<String>>,
    pub tmpfs: Option<BTreeMap<String, String>>,
    #[serde(rename = "UTSMode", deserialize_with = "zero")]
    pub uts_mode: String,
    #[serde(deserialize_with = "zero")]
    pub shm_size: i64,
    pub sysctls: Option<BTreeMap<String, String>>,
    pub console_size: Option<Vec<u16>>,
    #[serde(deserialize_with = "zero")]
    pub oom_score_adj: i64,
    pub init: Option<bool>,
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
    pub pids_limit: Option<i64>,
    pub ulimits: Option<Vec<Ulimit>>,
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Body of `POST /containers/create`: the container config at the top level, plus host and
/// networking configs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerCreateRequest {
    pub host_config: Option<HostConfig>,
    pub networking_config: Option<Value>,
    #[serde(flatten)]
    pub config: ContainerConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerCreateResponse {
    pub id: String,
    pub warnings: Vec<String>,
}

/// `State` of a container, as inspect shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerState {
    /// created, running, paused, restarting, removing, exited or dead.
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i32,
    pub exit_code: i32,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
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
        }
    }
}

/// A mount as inspect and `ps` show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct MountPoint {
    pub r#type: String,
    pub source: String,
    pub destination: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitResponse {
    pub status_code: i64,
    pub error: Option<WaitError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitError {
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopResponse {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}
