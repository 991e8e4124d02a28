//! `berth version`: Client and Server sections in docker's layout.

use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

use crate::client::{Client, Query, MAX_API_VERSION};
use crate::error::Exit;
use crate::format::{self, tabwrite};

#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Format output using a custom template: 'json', 'TEMPLATE'
    #[arg(short = 'f', long = "format", value_name = "string")]
    pub format: Option<String>,
}

pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

fn client_info(api: &str) -> Value {
    json!({
        "Platform": {"Name": ""},
        "Version": env!("CARGO_PKG_VERSION"),
        "ApiVersion": api,
        "DefaultAPIVersion": MAX_API_VERSION,
        "Os": std::env::consts::OS,
        "Arch": go_arch(),
        "Context": "default",
    })
}

pub fn client_section(api: &str) -> String {
    let mut api_line = api.to_string();
    if api != MAX_API_VERSION {
        api_line.push_str(&format!(" (downgraded from {MAX_API_VERSION})"));
    }
    format!(
        "Client:\n Version:\t{}\n API version:\t{api_line}\n OS/Arch:\t{}/{}\n Context:\tdefault\n",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        go_arch()
    )
}

pub fn server_section(v: &Value) -> String {
    let mut out = String::from("\nServer:");
    if let Some(p) = v.pointer("/Platform/Name").and_then(Value::as_str) {
        if !p.is_empty() {
            out.push(' ');
            out.push_str(p);
        }
    }
    out.push('\n');
    let s = |v: &Value, k: &str| match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let components = v
        .get("Components")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for c in &components {
        let name = s(c, "Name");
        out.push_str(&format!(" {name}:\n"));
        out.push_str(&format!("  Version:\t{}\n", s(c, "Version")));
        let d = c.get("Details").cloned().unwrap_or(Value::Null);
        if name == "Engine" {
            out.push_str(&format!(
                "  API version:\t{} (minimum version {})\n",
                s(&d, "ApiVersion"),
                s(&d, "MinAPIVersion")
            ));
            for (label, key) in [
                ("Go version", "GoVersion"),
                ("Git commit", "GitCommit"),
                ("Built", "BuildTime"),
            ] {
                if d.get(key).is_some() {
                    out.push_str(&format!("  {label}:\t{}\n", s(&d, key)));
                }
            }
            out.push_str(&format!("  OS/Arch:\t{}/{}\n", s(&d, "Os"), s(&d, "Arch")));
            out.push_str(&format!("  Experimental:\t{}\n", s(&d, "Experimental")));
        } else if let Some(obj) = d.as_object() {
            let mut keys: Vec<&String> = obj.keys().collect();
            keys.sort();
            for k in keys {
                out.push_str(&format!("  {k}:\t{}\n", s(&d, k)));
            }
        }
    }
    if components.is_empty() {
        out.push_str(&format!(" Engine:\n  Version:\t{}\n", s(v, "Version")));
        out.push_str(&format!(
            "  API version:\t{} (minimum version {})\n",
            s(v, "ApiVersion"),
            s(v, "MinAPIVersion")
        ));
        out.push_str(&format!("  OS/Arch:\t{}/{}\n", s(v, "Os"), s(v, "Arch")));
    }
    out
}

pub async fn run(host: &str, a: &VersionArgs) -> Result<i32> {
    let conn = Client::connect(host).await;
    let (api, server) = match &conn {
        Ok(c) => (
            c.version().to_string(),
            c.get_json("/version", &Query::new()).await,
        ),
        Err(_) => (MAX_API_VERSION.to_string(), Err(anyhow::anyhow!(""))),
    };
    if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        let data = json!({
            "Client": client_info(&api),
            "Server": server.as_ref().ok().cloned().unwrap_or(Value::Null),
        });
        let src = if f.trim() == "json" { "{{json .}}" } else { f };
        outln!("{}", format::render_json_with(src, &data)?);
    } else {
        out!("{}", tabwrite(&client_section(&api), 20, 1));
        if let Ok(v) = &server {
            out!("{}", tabwrite(&server_section(v), 20, 1));
        }
    }
    match (conn, server) {
        (Err(e), _) => Err(Exit::new(1, format!("{e:#}")).into()),
        (Ok(_), Err(e)) => Err(e),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_like_docker() {
        let client = tabwrite(&client_section("1.41"), 20, 1);
        assert!(client.starts_with("Client:\n Version:           0.1.0\n API version:       1.41 (downgraded from 1.47)\n"), "{client}");
        let v = json!({
            "Components": [
                {"Name": "Engine", "Version": "20.10.24+dfsg1", "Details": {
                    "ApiVersion": "1.41", "Arch": "amd64", "BuildTime": "b", "Experimental": "false",
                    "GitCommit": "5d6db84", "GoVersion": "go1.19.8", "MinAPIVersion": "1.12", "Os": "linux"}},
                {"Name": "runc", "Version": "1.1.5", "Details": {"GitCommit": "abc"}}
            ]
        });
        let server = tabwrite(&server_section(&v), 20, 1);
        assert_eq!(
            server,
            "\nServer:\n Engine:\n  Version:          20.10.24+dfsg1\n  API version:      1.41 (minimum version 1.12)\n  Go version:       go1.19.8\n  Git commit:       5d6db84\n  Built:            b\n  OS/Arch:          linux/amd64\n  Experimental:     false\n runc:\n  Version:          1.1.5\n  GitCommit:        abc\n"
        );
    }
}
