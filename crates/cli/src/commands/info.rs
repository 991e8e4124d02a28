//! `berth info` / `system info`: `GET /info` in docker's layout.

use anyhow::Result;
use clap::Args;
use serde_json::Value;

use crate::client::{Client, Query};
use crate::error::Exit;
use crate::format::{self, units};

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn render(i: &Value) -> String {
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
    line(format!(" Containers: {}", s(i, "Containers")));
    line(format!("  Running: {}", s(i, "ContainersRunning")));
    line(format!("  Paused: {}", s(i, "ContainersPaused")));
    line(format!("  Stopped: {}", s(i, "ContainersStopped")));
    line(format!(" Images: {}", s(i, "Images")));
    line(format!(" Server Version: {}", s(i, "ServerVersion")));
    line(format!(" Storage Driver: {}", s(i, "Driver")));
    for pair in i
        .get("DriverStatus")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let p = strs(pair);
        if p.len() == 2 {
            line(format!("  {}: {}", p[0], p[1]));
        }
    }
    line(format!(" Logging Driver: {}", s(i, "LoggingDriver")));
    line(format!(" Cgroup Driver: {}", s(i, "CgroupDriver")));
    line(format!(" Cgroup Version: {}", s(i, "CgroupVersion")));
    if let Some(p) = i.get("Plugins").filter(|p| p.is_object()) {
        line(" Plugins:".into());
        for k in ["Volume", "Network", "Log"] {
            let v = strs(&p[k]);
            if !v.is_empty() {
                line(format!("  {k}: {}", v.join(" ")));
            }
        }
    }
    if let Some(sw) = i.pointer("/Swarm/LocalNodeState").and_then(Value::as_str) {
        line(format!(" Swarm: {sw}"));
    }
    if let Some(r) = i.get("Runtimes").and_then(Value::as_object) {
        let mut names: Vec<&String> = r.keys().collect();
        names.sort();
        let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        line(format!(" Runtimes: {}", names.join(" ")));
    }
    line(format!(" Default Runtime: {}", s(i, "DefaultRuntime")));
    line(format!(" Init Binary: {}", s(i, "InitBinary")));
    let opts = strs(&i["SecurityOptions"]);
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
    line(format!(" Kernel Version: {}", s(i, "KernelVersion")));
    line(format!(" Operating System: {}", s(i, "OperatingSystem")));
    line(format!(" OSType: {}", s(i, "OSType")));
    line(format!(" Architecture: {}", s(i, "Architecture")));
    line(format!(" CPUs: {}", s(i, "NCPU")));
    let mem = i.get("MemTotal").and_then(Value::as_f64).unwrap_or(0.0);
    line(format!(" Total Memory: {}", units::bytes_size(mem)));
    line(format!(" Name: {}", s(i, "Name")));
    line(format!(" ID: {}", s(i, "ID")));
    line(format!(" Docker Root Dir: {}", s(i, "DockerRootDir")));
    line(format!(" Debug Mode: {}", s(i, "Debug")));
    line(format!(" Experimental: {}", s(i, "ExperimentalBuild")));
    let insecure = strs(&i["RegistryConfig"]["InsecureRegistryCIDRs"]);
    if !insecure.is_empty() {
        line(" Insecure Registries:".into());
        for r in insecure {
            line(format!("  {r}"));
        }
    }
    line(format!(
        " Live Restore Enabled: {}",
        s(i, "LiveRestoreEnabled")
    ));
    for w in strs(&i["Warnings"]) {
        line(String::new());
        line(w);
    }
    o
}

pub async fn run(host: &str, a: &InfoArgs) -> Result<i32> {
    let client = Client::connect(host).await;
    let info = match &client {
        Ok(c) => c.get_json("/info", &Query::new()).await,
        Err(e) => Err(anyhow::anyhow!("{e:#}")),
    };
    if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        let v = info?;
        let src = if f.trim() == "json" { "{{json .}}" } else { f };
        outln!("{}", format::render_json_with(src, &v)?);
        return Ok(0);
    }
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
        let out = render(&v);
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
