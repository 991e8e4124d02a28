//! `/info`: the engine's measured facts, plus what berth always answers.

use berth_api::event::{EventActor, EventMessage};
use berth_api::system as api;
use berth_engine::events::Event;
use berth_engine::system::SystemInfo;
use std::collections::BTreeMap;

pub fn info(i: SystemInfo) -> api::Info {
    let mut driver_status = vec![vec![
        "Backing Filesystem".to_string(),
        i.backing_filesystem.clone(),
    ]];
    if i.storage_driver == "overlay2" {
        // overlay needs d_type; the snapshotter checked it when it chose overlay.
        driver_status.push(vec!["Supports d_type".into(), "true".into()]);
    }
    let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    api::Info {
        id: i.id,
        containers: i.containers as i64,
        containers_running: i.containers_running as i64,
        containers_paused: i.containers_paused as i64,
        containers_stopped: i.containers_stopped as i64,
        images: i.images as i64,
        driver: i.storage_driver.to_string(),
        driver_status: Some(driver_status),
        plugins: api::PluginsInfo {
            volume: strings(&["local"]),
            network: strings(&["host", "null"]),
            authorization: None,
            log: strings(&["json-file"]),
        },
        memory_limit: i.cgroups.memory_limit,
        swap_limit: i.cgroups.swap_limit,
        cpu_cfs_period: i.cgroups.cpu_cfs_period,
        cpu_cfs_quota: i.cgroups.cpu_cfs_quota,
        cpu_shares: i.cgroups.cpu_shares,
        cpu_set: i.cgroups.cpuset,
        pids_limit: i.cgroups.pids_limit,
        oom_kill_disable: i.cgroups.oom_kill_disable,
        ipv4_forwarding: i.ipv4_forwarding,
        debug: false,
        n_fd: i.open_fds as i64,
        n_goroutines: 0,
        system_time: i.system_time,
        logging_driver: "json-file".into(),
        cgroup_driver: "cgroupfs".into(),
        cgroup_version: i.cgroup_version.into(),
        n_events_listener: 0,
        kernel_version: i.kernel_version,
        operating_system: i.operating_system,
        os_version: String::new(),
        os_type: "linux".into(),
        architecture: i.architecture.into(),
        index_server_address: "https://index.docker.io/v1/".into(),
        registry_config: Some(registry_config(&i.registries)),
        ncpu: i.ncpu as i64,
        mem_total: i.mem_total as i64,
        docker_root_dir: i.data_root.display().to_string(),
        name: i.hostname,
        labels: Some(Vec::new()),
        experimental_build: false,
        server_version: env!("CARGO_PKG_VERSION").into(),
        runtimes: Some(BTreeMap::from([(
            i.runtime.to_string(),
            api::Runtime {
                path: i.runtime_path,
                runtime_args: None,
            },
        )])),
        default_runtime: i.runtime.into(),
        swarm: api::SwarmInfo {
            local_node_state: "inactive".into(),
            ..Default::default()
        },
        live_restore_enabled: true,
        isolation: String::new(),
        init_binary: i
            .init_binary
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        security_options: strings(&["name=seccomp,profile=builtin", "name=cgroupns"]),
        warnings: Some(Vec::new()),
        ..Default::default()
    }
}

/// Docker's event message. Only container events still carry the pre-1.22 `status`, `id`
/// and `from` fields.
pub fn event(e: &Event) -> EventMessage {
    let legacy = e.kind == "container";
    EventMessage {
        kind: e.kind.clone(),
        action: e.action.clone(),
        actor: EventActor {
            id: e.actor_id.clone(),
            attributes: e.attributes.clone(),
        },
        scope: "local".into(),
        time: e.time_nano.div_euclid(1_000_000_000),
        time_nano: e.time_nano,
        status: legacy.then(|| e.action.clone()),
        id: legacy.then(|| e.actor_id.clone()),
        from: e.attributes.get("image").cloned().filter(|_| legacy),
    }
}

/// dockerd's `RegistryConfig`: insecure names as non-secure index configs, Docker Hub with
/// its mirrors.
fn registry_config(r: &berth_engine::system::RegistryFacts) -> api::RegistryConfig {
    let mut index = BTreeMap::new();
    for name in &r.insecure_names {
        index.insert(
            name.clone(),
            serde_json::json!({"Name": name, "Mirrors": [], "Secure": false, "Official": false}),
        );
    }
    index.insert(
        "docker.io".to_string(),
        serde_json::json!({"Name": "docker.io", "Mirrors": r.mirrors, "Secure": true, "Official": true}),
    );
    api::RegistryConfig {
        insecure_registry_cidrs: Some(r.insecure_cidrs.clone()),
        index_configs: Some(index),
        mirrors: Some(r.mirrors.clone()),
    }
}
