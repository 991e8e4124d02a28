//! `berth info` / `system info`: `GET /info` in docker's layout.

use anyhow::Result;
use berth_api::system::Info;
use berth_client::Client;
use clap::Args;

use crate::error::Exit;
use crate::format::{self, units};

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
}

pub fn render(i: &Info) -> String {
    let mut o = String::new();
    let mut line = |text: String| {
        o.push_str(&text);
        o.push('\n');
    };
    line("Client:".into());
    line(format!(" Version:    {}", env!("CARGO_PKG_VERSION")));
    line(" Context:    default".into());
    line(" Debug Mode: false".into());
    line(String::new());
    line("Server:".into());
    line(format!(" Containers: {}", i.containers));
    line(format!("  Running: {}", i.containers_running));
    line(format!("  Paused: {}", i.containers_paused));
    line(format!("  Stopped: {}", i.containers_stopped));
    line(format!(" Images: {}", i.images));
    line(format!(" Server Version: {}", i.server_version));
    line(format!(" Storage Driver: {}", i.driver));
    for pair in i.driver_status.iter().flatten() {
        if let [k, v] = pair.as_slice() {
            line(format!("  {k}: {v}"));
        }
    }
    line(format!(" Logging Driver: {}", i.logging_driver));
    line(format!(" Cgroup Driver: {}", i.cgroup_driver));
    line(format!(" Cgroup Version: {}", i.cgroup_version));
    line(" Plugins:".into());
    let p = &i.plugins;
    for (k, v) in [
        ("Volume", &p.volume),
        ("Network", &p.network),
        ("Log", &p.log),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            line(format!("  {k}: {}", v.join(" ")));
        }
    }
    if !i.swarm.local_node_state.is_empty() {
        line(format!(" Swarm: {}", i.swarm.local_node_state));
    }
    if let Some(r) = &i.runtimes {
        let names: Vec<&str> = r.keys().map(String::as_str).collect();
        line(format!(" Runtimes: {}", names.join(" ")));
    }
    line(format!(" Default Runtime: {}", i.default_runtime));
    line(format!(" Init Binary: {}", i.init_binary));
    let opts = i.security_options.clone().unwrap_or_default();
    if !opts.is_empty() {
        line(" Security Options:".into());
        for o in opts {
            // "name=seccomp,profile=default" → "seccomp" / "Profile: default"
            let mut name = String::new();
            let mut rest = Vec::new();
            for kv in o.split(',') {
                match kv.split_once('=') {
                    Some(("name", n)) => name = n.to_string(),
                    Some((k, v)) => {
                        let mut c = k.chars();
                        let k = match c.next() {
                            Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                            None => String::new(),
                        };
                        rest.push(format!("{k}: {v}"));
                    }
                    None => name = kv.to_string(),
                }
            }
            line(format!("  {name}"));
            for r in rest {
                line(format!("   {r}"));
            }
        }
    }
    line(format!(" Kernel Version: {}", i.kernel_version));
    line(format!(" Operating System: {}", i.operating_system));
    line(format!(" OSType: {}", i.os_type));
    line(format!(" Architecture: {}", i.architecture));
    line(format!(" CPUs: {}", i.ncpu));
    line(format!(
        " Total Memory: {}",
        units::bytes_size(i.mem_total as f64)
    ));
    line(format!(" Name: {}", i.name));
    line(format!(" ID: {}", i.id));
    line(format!(" Docker Root Dir: {}", i.docker_root_dir));
    line(format!(" Debug Mode: {}", i.debug));
    line(format!(" Experimental: {}", i.experimental_build));
    let registries = i.registry_config.clone().unwrap_or_default();
    // As docker: the names of insecure index configs, then the CIDRs.
    let mut insecure: Vec<String> = registries
        .index_configs
        .iter()
        .flatten()
        .filter(|(_, c)| c.get("Secure").and_then(|s| s.as_bool()) == Some(false))
        .map(|(name, _)| name.clone())
        .collect();
    insecure.extend(registries.insecure_registry_cidrs.unwrap_or_default());
    if !insecure.is_empty() {
        line(" Insecure Registries:".into());
        for r in insecure {
            line(format!("  {r}"));
        }
    }
    let mirrors = registries.mirrors.unwrap_or_default();
    if !mirrors.is_empty() {
        line(" Registry Mirrors:".into());
        for m in mirrors {
            line(format!("  {m}"));
        }
    }
    line(format!(" Live Restore Enabled: {}", i.live_restore_enabled));
    for w in i.warnings.iter().flatten() {
        line(String::new());
        line(w.clone());
    }
    o
}

pub async fn run(host: &str, a: &InfoArgs) -> Result<i32> {
    let client = Client::connect(host).await;
    if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        // Templates render over the JSON document, as docker's do over its struct.
        let v = client?.info_json().await?;
        let src = if f.trim() == "json" { "{{json .}}" } else { f };
        outln!("{}", format::render_json_with(src, &v)?);
        return Ok(0);
    }
    let info = match &client {
        Ok(c) => c.info().await.map_err(anyhow::Error::from),
        Err(e) => Err(anyhow::anyhow!("{e:#}")),
    };
    match info {
        Ok(v) => {
            out!("{}", render(&v));
            Ok(0)
        }
        Err(e) => {
            out!(
                "Client:\n Version:    {}\n Context:    default\n Debug Mode: false\n\nServer:\n",
                env!("CARGO_PKG_VERSION")
            );
            Err(Exit::new(1, format!("{e:#}")).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn info_layout() {
        let v = json!({
            "Containers": 0, "ContainersRunning": 0, "ContainersPaused": 0, "ContainersStopped": 0,
            "Images": 1, "ServerVersion": "20.10.24", "Driver": "overlay2",
            "DriverStatus": [["Backing Filesystem", "extfs"]],
            "SecurityOptions": ["name=seccomp,profile=default"],
            "MemTotal": 25276502016i64, "NCPU": 2,
            "Runtimes": {"runc": {"path": "runc"}},
        });
        let out = render(&serde_json::from_value(v).unwrap());
        assert!(
            out.contains("\nServer:\n Containers: 0\n  Running: 0\n"),
            "{out}"
        );
        assert!(out.contains(" Images: 1\n"));
        assert!(out.contains("  Backing Filesystem: extfs\n"));
        assert!(out.contains(" Security Options:\n  seccomp\n   Profile: default\n"));
        assert!(out.contains(" Total Memory: 23.54GiB\n"));
        assert!(out.contains(" CPUs: 2\n"));
        assert!(out.contains(" Runtimes: runc\n"));
    }
}
