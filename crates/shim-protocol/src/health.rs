//! Healthchecks as Docker has them: the configuration (`Config.Healthcheck`) and the state the
//! shim keeps and reports (`State.Health`), with Docker's JSON key names so the daemon can pass
//! them through.

use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// Name of the file holding the container's current [`Health`] in the state directory.
pub const HEALTH_FILE: &str = "health.json";

/// Docker's defaults for a zero duration or retry count.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_RETRIES: u32 = 3;
/// Docker keeps the last five results.
pub const MAX_LOG_ENTRIES: usize = 5;
/// Docker keeps the first 4096 bytes of a probe's output.
pub const MAX_OUTPUT: usize = 4096;

/// Docker's `HealthConfig`; durations in nanoseconds, 0 for Docker's default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `["NONE"]`, `["CMD", arg...]` or `["CMD-SHELL", command]`.
    #[serde(default)]
    pub test: Vec<String>,
    #[serde(default)]
    pub interval: i64,
    #[serde(default)]
    pub timeout: i64,
    #[serde(default)]
    pub start_period: i64,
    #[serde(default)]
    pub start_interval: i64,
    #[serde(default)]
    pub retries: i64,
    /// The container's `Config.Shell` for `CMD-SHELL` (empty: `/bin/sh -c`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shell: Vec<String>,
}

fn or_default(nanos: i64, default: Duration) -> Duration {
    if nanos > 0 {
        Duration::from_nanos(nanos as u64)
    } else {
        default
    }
}

impl HealthConfig {
    /// The probe's argv, or `None` for no probe (`NONE`, empty, unknown kind).
    pub fn probe_args(&self) -> Option<Vec<String>> {
        let (kind, rest) = self.test.split_first()?;
        match kind.as_str() {
            "CMD" if !rest.is_empty() => Some(rest.to_vec()),
            "CMD-SHELL" if !rest.is_empty() => {
                let mut argv = if self.shell.is_empty() {
                    vec!["/bin/sh".to_string(), "-c".to_string()]
                } else {
                    self.shell.clone()
                };
                argv.push(rest.join(" "));
                Some(argv)
            }
            _ => None,
        }
    }

    pub fn interval(&self) -> Duration {
        or_default(self.interval, DEFAULT_INTERVAL)
    }

    pub fn timeout(&self) -> Duration {
        or_default(self.timeout, DEFAULT_TIMEOUT)
    }

    pub fn start_period(&self) -> Duration {
        or_default(self.start_period, Duration::ZERO)
    }

    pub fn start_interval(&self) -> Duration {
        or_default(self.start_interval, DEFAULT_START_INTERVAL)
    }

    pub fn retries(&self) -> u32 {
        if self.retries > 0 {
            u32::try_from(self.retries).unwrap_or(u32::MAX)
        } else {
            DEFAULT_RETRIES
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    #[default]
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// Docker's `State.Health`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Health {
    pub status: HealthStatus,
    pub failing_streak: u32,
    /// The last [`MAX_LOG_ENTRIES`] results, oldest first.
    pub log: Vec<HealthResult>,
}

/// Docker's `HealthcheckResult`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    /// RFC 3339 with nanoseconds.
    pub start: String,
    pub end: String,
    /// 0 healthy, 1 unhealthy, -1 the probe could not run or timed out.
    pub exit_code: i64,
    pub output: String,
}

/// Reads the health a shim left in `state_dir`, if any.
pub fn read_health_file(state_dir: &Path) -> Option<Health> {
    serde_json::from_slice(&std::fs::read(state_dir.join(HEALTH_FILE)).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockers_defaults_and_probe_args() {
        let c = HealthConfig {
            test: vec!["CMD-SHELL".into(), "curl -f localhost".into()],
            ..Default::default()
        };
        assert_eq!(c.interval(), Duration::from_secs(30));
        assert_eq!(c.timeout(), Duration::from_secs(30));
        assert_eq!(c.start_period(), Duration::ZERO);
        assert_eq!(c.start_interval(), Duration::from_secs(5));
        assert_eq!(c.retries(), 3);
        assert_eq!(
            c.probe_args().unwrap(),
            ["/bin/sh", "-c", "curl -f localhost"]
        );
        let c = HealthConfig {
            test: vec!["CMD".into(), "true".into(), "x".into()],
            interval: 1_000_000_000,
            retries: 2,
            ..Default::default()
        };
        assert_eq!(c.probe_args().unwrap(), ["true", "x"]);
        assert_eq!(c.interval(), Duration::from_secs(1));
        assert_eq!(c.retries(), 2);
        for none in [vec!["NONE".to_string()], vec![], vec!["CMD".to_string()]] {
            let c = HealthConfig {
                test: none,
                ..Default::default()
            };
            assert_eq!(c.probe_args(), None);
        }
    }

    #[test]
    fn dockers_json_names() {
        let h = Health {
            status: HealthStatus::Healthy,
            failing_streak: 0,
            log: vec![HealthResult {
                start: "s".into(),
                end: "e".into(),
                exit_code: 0,
                output: "ok\n".into(),
            }],
        };
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"Status":"healthy","FailingStreak":0,"Log":[{"Start":"s","End":"e","ExitCode":0,"Output":"ok\n"}]}"#
        );
        let c: HealthConfig =
            serde_json::from_str(r#"{"Test":["NONE"],"Interval":5,"StartPeriod":7}"#).unwrap();
        assert_eq!((c.interval, c.start_period), (5, 7));
    }
}
