//! Containers: inspect, list, state.

use super::path_string;
use berth_api::container as api;
use berth_api::units::human_duration;
use berth_engine::container::{ContainerDetails, ContainerSummary, MountView};
use berth_engine::model::{self, ContainerStatus, State};
use berth_engine::EngineError;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// The engine's config types carry Docker's field names for what they type, and keep the
/// rest as it came: the conversions go through that JSON, so no field can be dropped.
fn through_json<T: DeserializeOwned>(v: &impl serde::Serialize) -> Result<T, EngineError> {
    serde_json::to_value(v)
        .and_then(serde_json::from_value)
        .map_err(|e| EngineError::invalid(e.to_string()))
}

/// A create request's configs, as the engine's. The restart policy is checked here, with
/// Docker's messages.
pub fn create_request(
    req: api::ContainerCreateRequest,
) -> Result<(model::ContainerConfig, model::HostConfig), EngineError> {
    let config = through_json(&req.config)?;
    let host = req.host_config.unwrap_or_default();
    let policy = host.restart_policy.clone().unwrap_or_default();
    let mut host_config: model::HostConfig = through_json(&host)?;
    host_config.restart_policy =
        model::RestartPolicy::parse(&policy.name, policy.maximum_retry_count)
            .map_err(EngineError::invalid)?;
    Ok((config, host_config))
}

/// `docker update`'s request; a restart policy with a name is checked here, with dockerd's
/// messages (one without a name changes nothing).
pub fn update_request(
    r: api::ContainerUpdateRequest,
) -> Result<model::ResourceUpdate, EngineError> {
    let restart_policy = r
        .restart_policy
        .filter(|p| !p.name.is_empty())
        .map(|p| model::RestartPolicy::parse(&p.name, p.maximum_retry_count))
        .transpose()
        .map_err(EngineError::invalid)?;
    Ok(model::ResourceUpdate {
        cpu_shares: r.cpu_shares,
        memory: r.memory,
        nano_cpus: r.nano_cpus,
        blkio_weight: r.blkio_weight,
        cpu_period: r.cpu_period,
        cpu_quota: r.cpu_quota,
        cpuset_cpus: r.cpuset_cpus,
        cpuset_mems: r.cpuset_mems,
        memory_reservation: r.memory_reservation,
        memory_swap: r.memory_swap,
        pids_limit: r.pids_limit,
        restart_policy,
    })
}

pub fn config(c: &model::ContainerConfig) -> api::ContainerConfig {
    through_json(c).unwrap_or_default()
}

pub fn host_config(h: &model::HostConfig) -> api::HostConfig {
    through_json(h).unwrap_or_default()
}

/// inspect's `State`: the flags Docker repeats next to the status.
pub fn state(s: &State) -> api::ContainerState {
    let status = s.status();
    api::ContainerState {
        status: status.as_str().to_string(),
        running: status.is_running(),
        paused: status == ContainerStatus::Paused,
        restarting: status == ContainerStatus::Restarting,
        oom_killed: s.oom_killed,
        dead: status == ContainerStatus::Dead,
        pid: s.pid,
        exit_code: s.exit_code,
        error: s.error.clone(),
        started_at: s.started_at.clone(),
        finished_at: s.finished_at.clone(),
        health: s.health.as_ref().map(health),
    }
}

/// `State.Health`.
pub fn health(h: &berth_shim_protocol::Health) -> api::Health {
    api::Health {
        status: h.status.as_str().to_string(),
        failing_streak: i64::from(h.failing_streak),
        log: Some(
            h.log
                .iter()
                .map(|r| api::HealthcheckResult {
                    start: r.start.clone(),
                    end: r.end.clone(),
                    exit_code: r.exit_code,
                    output: r.output.clone(),
                })
                .collect(),
        ),
    }
}

pub fn mount_point(m: &MountView) -> api::MountPoint {
    api::MountPoint {
        r#type: "bind".into(),
        source: path_string(&m.source),
        destination: m.destination.clone(),
        mode: if m.readonly {
            "ro".into()
        } else {
            String::new()
        },
        rw: !m.readonly,
        propagation: m.propagation.clone(),
        ..Default::default()
    }
}

/// The endpoint of a container on the `host` or `none` network.
fn endpoint(network: &str) -> api::EndpointSettings {
    api::EndpointSettings {
        network_id: network.to_string(),
        ..Default::default()
    }
}

pub fn inspect(d: ContainerDetails) -> api::ContainerInspect {
    let rec = d.record;
    let mut host_cfg = host_config(&rec.host_config);
    host_cfg.runtime = d.runtime.to_string();
    let network = if rec.host_config.network_mode == model::NetworkMode::Host {
        "host"
    } else {
        "none"
    };
    let mut graph = BTreeMap::new();
    graph.insert("MergedDir".to_string(), path_string(&d.storage.merged_dir));
    graph.insert("UpperDir".to_string(), path_string(&d.storage.upper_dir));
    if let Some(w) = &d.storage.work_dir {
        graph.insert("WorkDir".to_string(), path_string(w));
    }
    api::ContainerInspect {
        id: rec.id.clone(),
        created: rec.created.clone(),
        path: rec.path.clone(),
        args: Some(rec.args.clone()),
        state: Some(state(&rec.state)),
        image: rec.image_id.clone(),
        resolv_conf_path: path_string(&d.resolv_conf_path),
        hostname_path: path_string(&d.hostname_path),
        hosts_path: path_string(&d.hosts_path),
        log_path: path_string(&d.log_path),
        name: format!("/{}", rec.name),
        restart_count: rec.restart_count,
        driver: d.storage.driver.to_string(),
        platform: "linux".into(),
        mount_label: String::new(),
        process_label: String::new(),
        app_armor_profile: String::new(),
        exec_ids: None,
        host_config: Some(host_cfg),
        graph_driver: api::GraphDriverData {
            name: d.storage.driver.to_string(),
            data: Some(graph),
        },
        size_rw: d.sizes.map(|s| s.rw as i64),
        size_root_fs: d.sizes.map(|s| s.root_fs as i64),
        mounts: Some(d.mounts.iter().map(mount_point).collect()),
        config: Some(config(&rec.config)),
        network_settings: Some(api::NetworkSettings {
            ports: Some(BTreeMap::new()),
            networks: Some(BTreeMap::from([(
                network.to_string(),
                Some(endpoint(network)),
            )])),
            ..Default::default()
        }),
    }
}

pub fn summary(s: ContainerSummary) -> api::ContainerSummary {
    let rec = s.record;
    let network = rec.host_config.network_mode.as_str().to_string();
    api::ContainerSummary {
        id: rec.id.clone(),
        names: Some(vec![format!("/{}", rec.name)]),
        image: rec.config.image.clone(),
        image_id: rec.image_id.clone(),
        command: s.command,
        created: s.created,
        ports: Some(Vec::new()),
        size_rw: s.sizes.map(|s| s.rw as i64),
        size_root_fs: s.sizes.map(|s| s.root_fs as i64),
        labels: Some(rec.config.labels.clone().unwrap_or_default()),
        state: rec.state.status().as_str().to_string(),
        status: status_text(&rec.state),
        host_config: api::SummaryHostConfig {
            network_mode: network.clone(),
            annotations: None,
        },
        network_settings: Some(api::SummaryNetworkSettings {
            networks: Some(BTreeMap::from([(
                network.clone(),
                Some(endpoint(&network)),
            )])),
        }),
        mounts: Some(s.mounts.iter().map(mount_point).collect()),
    }
}

pub fn top(t: berth_engine::container::ProcessTable) -> api::TopResponse {
    api::TopResponse {
        titles: t.titles,
        processes: t.processes,
    }
}

/// Docker's human status: `Up 5 seconds`, `Exited (0) 2 minutes ago`, `Created`...
pub fn status_text(s: &State) -> String {
    let ago = |t: &str| -> Option<String> {
        let t = chrono::DateTime::parse_from_rfc3339(t).ok()?;
        let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds();
        Some(human_duration(secs.max(0) as f64))
    };
    use ContainerStatus as S;
    match s.status() {
        S::Running => {
            let up = format!("Up {}", ago(&s.started_at).unwrap_or_default());
            match &s.health {
                Some(h) if h.status == berth_shim_protocol::HealthStatus::Starting => {
                    format!("{up} (health: starting)")
                }
                Some(h) => format!("{up} ({})", h.status.as_str()),
                None => up,
            }
        }
        S::Paused => format!("Up {} (Paused)", ago(&s.started_at).unwrap_or_default()),
        S::Restarting => format!(
            "Restarting ({}) {} ago",
            s.exit_code,
            ago(&s.finished_at).unwrap_or_default()
        ),
        S::Exited => format!(
            "Exited ({}) {} ago",
            s.exit_code,
            ago(&s.finished_at).unwrap_or_default()
        ),
        S::Created => "Created".into(),
        other => other.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_round_trip_through_the_engine_model_with_nothing_lost() {
        let body = serde_json::json!({
            "Image": "busybox", "Cmd": ["sh"], "Env": ["A=1"], "Tty": true,
            "ExposedPorts": {"80/tcp": {}}, "Healthcheck": {"Test": ["CMD", "true"]},
            "StopSignal": "SIGUSR1", "FutureField": 1,
            "HostConfig": {
                "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
                "NetworkMode": "host", "Memory": 10485760, "Init": true,
                "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/x", "CgroupPermissions": "rwm"}],
                "Tmpfs": {"/t": "size=1m"}, "Ulimits": [{"Name": "nofile", "Hard": 10, "Soft": 5}],
                "ConsoleSize": [24, 80], "Annotations": {"a": "b"}, "Bar": [1]
            }
        });
        let req: api::ContainerCreateRequest = serde_json::from_value(body).unwrap();
        let (c, h) = create_request(req.clone()).unwrap();
        assert_eq!(h.network_mode, model::NetworkMode::Host);
        assert_eq!(
            h.restart_policy,
            model::RestartPolicy::OnFailure { max_retries: 3 }
        );
        assert_eq!(config(&c), req.config);
        assert_eq!(host_config(&h), req.host_config.unwrap());
    }

    #[test]
    fn a_bad_restart_policy_is_refused_in_dockers_words() {
        let req: api::ContainerCreateRequest = serde_json::from_value(serde_json::json!({
            "Image": "busybox",
            "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}
        }))
        .unwrap();
        let e = create_request(req).unwrap_err();
        assert_eq!(e.kind(), berth_engine::ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("unknown policy 'sometimes'"), "{e}");
    }

    #[test]
    fn the_state_flags_follow_the_status() {
        let mut s = State::default();
        let v = state(&s);
        assert_eq!(v.status, "created");
        assert!(!v.running && !v.paused && !v.restarting && !v.dead);
        assert_eq!(v.started_at, api::ZERO_TIME);
        s.apply("c", berth_engine::model::Event::Start).unwrap();
        s.apply("c", berth_engine::model::Event::Pause).unwrap();
        let v = state(&s);
        assert!(
            v.running && v.paused,
            "Docker shows a paused container as running"
        );
        assert_eq!(v.status, "paused");
        assert!(status_text(&s).ends_with("(Paused)"));
    }
}
