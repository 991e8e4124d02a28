//! What a container runs and with which host settings, in the engine's types.
//!
//! The fields the engine acts on are typed here (the restart policy and the network mode as
//! enums). The rest of what a client set — fields the engine never reads, such as
//! `ExposedPorts`, `Healthcheck`, `PortBindings`, `Devices`, the blkio throttles, and
//! fields unknown to berth — is kept in [`Passthrough`], untouched, so that inspect gives
//! back everything a client sent: converting those adds nothing until the engine uses them
//! (move a field out of the passthrough when it does).
//!
//! Records are stored with Docker's field names (`PascalCase`), the layout schema 1
//! already had, so older records read as they are.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Wire fields the engine does not act on, kept as the client sent them (see the module
/// documentation for why they are not converted).
pub type Passthrough = Map<String, Value>;

/// Docker's `Config`, merged with the image's defaults at create.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    pub hostname: String,
    pub domainname: String,
    pub user: String,
    pub attach_stdin: bool,
    pub attach_stdout: bool,
    pub attach_stderr: bool,
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub env: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub image: String,
    pub working_dir: String,
    pub entrypoint: Option<Vec<String>>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    #[serde(flatten)]
    pub passthrough: Passthrough,
}

/// A restart policy (`--restart`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    UnlessStopped,
    /// Restarts after a failure, at most `max_retries` times (0: no limit).
    OnFailure {
        max_retries: i64,
    },
}

impl RestartPolicy {
    /// Docker's policy name.
    pub fn name(self) -> &'static str {
        match self {
            Self::No => "no",
            Self::Always => "always",
            Self::UnlessStopped => "unless-stopped",
            Self::OnFailure { .. } => "on-failure",
        }
    }

    pub fn max_retries(self) -> i64 {
        match self {
            Self::OnFailure { max_retries } => max_retries,
            _ => 0,
        }
    }

    /// Docker's name and count, with Docker's refusals.
    pub fn parse(name: &str, max_retries: i64) -> Result<Self, String> {
        let policy = match name {
            "" | "no" => Self::No,
            "always" => Self::Always,
            "unless-stopped" => Self::UnlessStopped,
            "on-failure" => {
                if max_retries < 0 {
                    return Err(
                        "invalid restart policy: maximum retry count cannot be negative".into(),
                    );
                }
                return Ok(Self::OnFailure { max_retries });
            }
            other => {
                return Err(format!(
                    "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
                ))
            }
        };
        if max_retries != 0 {
            return Err(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'"
                    .into(),
            );
        }
        Ok(policy)
    }
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StoredRestartPolicy {
    name: String,
    maximum_retry_count: i64,
}

impl Serialize for RestartPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredRestartPolicy {
            name: self.name().to_string(),
            maximum_retry_count: self.max_retries(),
        }
        .serialize(s)
    }
}

/// Lenient, unlike [`RestartPolicy::parse`]: what create accepted once must always read back
/// (an unknown name reads as `no`, a stray count is dropped).
impl<'de> Deserialize<'de> for RestartPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = Option::<StoredRestartPolicy>::deserialize(d)?.unwrap_or_default();
        Ok(match p.name.as_str() {
            "always" => Self::Always,
            "unless-stopped" => Self::UnlessStopped,
            "on-failure" => Self::OnFailure {
                max_retries: p.maximum_retry_count.max(0),
            },
            _ => Self::No,
        })
    }
}

/// The network a container joins (`--network`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkMode {
    /// A network namespace of its own with only `lo` (berth's default, for now).
    #[default]
    None,
    /// The host's network namespace.
    Host,
    /// Any other network, by name (refused at create until networks exist).
    Named(String),
}

impl NetworkMode {
    /// `""` and `default` are the default network.
    pub fn parse(s: &str) -> Self {
        match s {
            "" | "default" | "none" => Self::None,
            "host" => Self::Host,
            other => Self::Named(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::None => "none",
            Self::Host => "host",
            Self::Named(n) => n,
        }
    }
}

impl Serialize for NetworkMode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for NetworkMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(
            &Option::<String>::deserialize(d)?.unwrap_or_default(),
        ))
    }
}

/// `--log-driver` and `--log-opt`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    pub r#type: String,
    pub config: Option<BTreeMap<String, String>>,
}

/// `--ulimit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    pub name: String,
    pub hard: i64,
    pub soft: i64,
}

fn is_empty_map(m: &Option<BTreeMap<String, String>>) -> bool {
    m.as_ref().is_none_or(|m| m.is_empty())
}

/// Docker's `HostConfig` (with `Resources`): the fields the engine acts on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    pub log_config: Option<LogConfig>,
    pub network_mode: NetworkMode,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub cgroupns_mode: String,
    pub dns: Option<Vec<String>>,
    pub dns_options: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub extra_hosts: Option<Vec<String>>,
    pub group_add: Option<Vec<String>>,
    pub ipc_mode: String,
    pub oom_score_adj: i64,
    pub pid_mode: String,
    pub privileged: bool,
    pub readonly_rootfs: bool,
    pub security_opt: Option<Vec<String>>,
    #[serde(rename = "UTSMode")]
    pub uts_mode: String,
    pub shm_size: i64,
    #[serde(skip_serializing_if = "is_empty_map")]
    pub sysctls: Option<BTreeMap<String, String>>,
    pub cpu_shares: i64,
    pub memory: i64,
    pub blkio_weight: u16,
    pub nano_cpus: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub memory_reservation: i64,
    pub memory_swap: i64,
    pub memory_swappiness: Option<i64>,
    pub oom_kill_disable: Option<bool>,
    pub pids_limit: Option<i64>,
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// `[height, width]`.
    pub console_size: Option<Vec<u16>>,
    #[serde(skip_serializing_if = "is_empty_map")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    pub ulimits: Option<Vec<Ulimit>>,
    #[serde(flatten)]
    pub passthrough: Passthrough,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_parse_with_dockers_refusals() {
        assert_eq!(RestartPolicy::parse("", 0), Ok(RestartPolicy::No));
        assert_eq!(
            RestartPolicy::parse("on-failure", 3),
            Ok(RestartPolicy::OnFailure { max_retries: 3 })
        );
        assert!(RestartPolicy::parse("always", 2)
            .unwrap_err()
            .contains("can only be used with 'on-failure'"));
        assert!(RestartPolicy::parse("on-failure", -1)
            .unwrap_err()
            .contains("cannot be negative"));
        assert!(RestartPolicy::parse("sometimes", 0)
            .unwrap_err()
            .contains("unknown policy 'sometimes'"));
    }

    #[test]
    fn stored_records_keep_dockers_names_and_unknown_fields() {
        let json = r#"{"NetworkMode":"host","RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2},"PortBindings":{"80/tcp":null},"Memory":5}"#;
        let h: HostConfig = serde_json::from_str(json).unwrap();
        assert_eq!(h.network_mode, NetworkMode::Host);
        assert_eq!(
            h.restart_policy,
            RestartPolicy::OnFailure { max_retries: 2 }
        );
        assert_eq!(h.memory, 5);
        assert!(h.passthrough.contains_key("PortBindings"));
        let back = serde_json::to_value(&h).unwrap();
        assert_eq!(back["PortBindings"], serde_json::json!({"80/tcp": null}));
        assert_eq!(back["RestartPolicy"]["MaximumRetryCount"], 2);
        assert_eq!(back["NetworkMode"], "host");
    }
}
