//! Record migrations, one step per schema version. Each step reads the old layout with
//! types private to it (frozen with the version, whatever the engine's types become).

use super::{StoreError, SCHEMA_VERSION};
use crate::model::{ContainerStatus, State};
use serde::Deserialize;
use serde_json::Value;

/// Brings one stored record from schema `from` to [`SCHEMA_VERSION`].
pub fn record(id: &str, from: u64, bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let fail = |reason: String| StoreError::Migrate {
        id: id.to_string(),
        from,
        reason,
    };
    let mut rec: Value = serde_json::from_slice(bytes).map_err(|e| fail(e.to_string()))?;
    let mut version = from;
    while version < SCHEMA_VERSION {
        match version {
            1 => v1_to_v2(&mut rec).map_err(&fail)?,
            other => return Err(fail(format!("no migration from version {other}"))),
        }
        version += 1;
    }
    serde_json::to_vec(&rec).map_err(|e| fail(e.to_string()))
}

/// Schema 1 kept the Engine API's `State` (a status string next to flags that repeat it).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct V1State {
    status: String,
    running: bool,
    paused: bool,
    restarting: bool,
    #[serde(rename = "OOMKilled")]
    oom_killed: bool,
    dead: bool,
    pid: Option<i32>,
    exit_code: Option<i32>,
    error: Option<String>,
    started_at: Option<String>,
    finished_at: Option<String>,
}

impl V1State {
    /// The status string, or what the flags say when it is missing or unknown.
    fn status(&self) -> ContainerStatus {
        if let Some(s) = ContainerStatus::parse(&self.status) {
            return s;
        }
        match (self.running, self.paused, self.restarting, self.dead) {
            (_, _, _, true) => ContainerStatus::Dead,
            (_, _, true, _) => ContainerStatus::Restarting,
            (true, true, _, _) => ContainerStatus::Paused,
            (true, false, _, _) => ContainerStatus::Running,
            _ if self
                .started_at
                .as_deref()
                .is_some_and(|t| t != state_zero()) =>
            {
                ContainerStatus::Exited
            }
            _ => ContainerStatus::Created,
        }
    }
}

fn state_zero() -> &'static str {
    crate::model::state::ZERO_TIME
}

fn v1_to_v2(rec: &mut Value) -> Result<(), String> {
    let obj = rec.as_object_mut().ok_or("not an object")?;
    let old: V1State = match obj.get("state") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("state: {e}"))?,
        None => V1State::default(),
    };
    let mut st = State::restored(old.status());
    st.pid = old.pid.unwrap_or(0);
    st.exit_code = old.exit_code.unwrap_or(0);
    st.error = old.error.clone().unwrap_or_default();
    st.oom_killed = old.oom_killed;
    if let Some(t) = old.started_at.clone().filter(|t| !t.is_empty()) {
        st.started_at = t;
    }
    if let Some(t) = old.finished_at.clone().filter(|t| !t.is_empty()) {
        st.finished_at = t;
    }
    obj.insert(
        "state".into(),
        serde_json::to_value(&st).map_err(|e| e.to_string())?,
    );
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Records exactly as berth wrote them before schema versions (main at de4c89a).
    pub fn v1_fixtures() -> Vec<(&'static str, Vec<u8>)> {
        let running = r#"{"id":"aaaa","name":"web","created":"2026-12-01T10:00:00.1Z","image_id":"sha256:img","layers":["sha256:l1"],"config":{"Hostname":"aaaa","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["PATH=/bin"],"Cmd":["top"],"Image":"busybox","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{}},"host_config":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"json-file","Config":{}},"NetworkMode":"none","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"private","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"private","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":67108864,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"path":"top","args":[],"state":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":4242,"ExitCode":0,"Error":"","StartedAt":"2026-12-01T10:00:00.5Z","FinishedAt":"0001-01-01T00:00:00Z"},"restart_count":0,"manually_stopped":false}"#;
        let paused = r#"{"id":"bbbb","name":"frozen","created":"2026-12-01T10:00:00.1Z","image_id":"sha256:img","layers":[],"config":{"Image":"busybox"},"host_config":{"NetworkMode":"host"},"path":"sh","args":[],"state":{"Status":"paused","Running":true,"Paused":true,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":7,"ExitCode":0,"Error":"","StartedAt":"2026-12-01T10:00:00.5Z","FinishedAt":"0001-01-01T00:00:00Z"},"restart_count":0,"manually_stopped":false}"#;
        let stopped = r#"{"id":"cccc","name":"stopped","created":"2026-12-01T10:00:00.1Z","image_id":"sha256:img","layers":[],"config":{"Image":"busybox"},"host_config":{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3}},"path":"false","args":[],"state":{"Status":"exited","Running":false,"Paused":false,"Restarting":false,"OOMKilled":true,"Dead":false,"Pid":0,"ExitCode":3,"Error":"","StartedAt":"2026-12-01T10:00:00.5Z","FinishedAt":"2026-12-01T10:00:01Z"},"restart_count":2,"manually_stopped":true}"#;
        vec![
            ("aaaa", running.as_bytes().to_vec()),
            ("bbbb", paused.as_bytes().to_vec()),
            ("cccc", stopped.as_bytes().to_vec()),
        ]
    }

    #[test]
    fn a_missing_status_is_read_from_the_flags() {
        let s: V1State = serde_json::from_str(r#"{"Running":true,"Paused":true}"#).unwrap();
        assert_eq!(s.status(), ContainerStatus::Paused);
        let s: V1State = serde_json::from_str(r#"{"Restarting":true}"#).unwrap();
        assert_eq!(s.status(), ContainerStatus::Restarting);
        let s: V1State = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(s.status(), ContainerStatus::Created);
    }

    #[test]
    fn garbage_is_a_migration_error_naming_the_container() {
        let e = record("zz", 1, b"[1,2]").unwrap_err();
        assert!(e.to_string().contains("zz"), "{e}");
    }
}
