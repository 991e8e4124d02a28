//! Containers: inspect, list, state.

use super::path_string;
use berth_api::container as api;
use berth_api::units::human_duration;
use berth_engine::container::{ContainerDetails, ContainerSummary, MountView};
use berth_engine::model::{ContainerStatus, State};
use std::collections::BTreeMap;

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
        health: None,
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
    let mut host_config = rec.host_config.clone();
    host_config.runtime = d.runtime.to_string();
    let network = if rec.host_config.network_mode == "host" {
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
        host_config: Some(host_config),
        graph_driver: api::GraphDriverData {
            name: d.storage.driver.to_string(),
            data: Some(graph),
        },
        size_rw: d.sizes.map(|s| s.rw as i64),
        size_root_fs: d.sizes.map(|s| s.root_fs as i64),
        mounts: Some(d.mounts.iter().map(mount_point).collect()),
        config: Some(rec.config.clone()),
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
    let network = rec.host_config.network_mode.clone();
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

/// Docker's human status: `Up 5 seconds`, `Exited (0) 2 minutes ago`, `Created`...
pub fn status_text(s: &State) -> String {
    let ago = |t: &str| -> Option<String> {
        let t = chrono::DateTime::parse_from_rfc3339(t).ok()?;
        let secs = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds();
        Some(human_duration(secs.max(0) as f64))
    };
    use ContainerStatus as S;
    match s.status() {
        S::Running => format!("Up {}", ago(&s.started_at).unwrap_or_default()),
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
