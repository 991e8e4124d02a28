//! `berth version`: Client and Server sections in docker's layout.

use anyhow::Result;
use berth_api::system::Version;
use berth_api::API_VERSION as MAX_API_VERSION;
use berth_client::Client;
use clap::Args;
use serde_json::{json, Value};

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

pub fn server_section(v: &Version) -> String {
    let mut out = String::from("\nServer:");
    if !v.platform.name.is_empty() {
        out.push(' ');
        out.push_str(&v.platform.name);
    }
    out.push('\n');
    let components = v.components.clone().unwrap_or_default();
    for c in &components {
        out.push_str(&format!(" {}:\n", c.name));
        out.push_str(&format!("  Version:\t{}\n", c.version));
        let d = c.details.clone().unwrap_or_default();
        let s = |k: &str| d.get(k).cloned().unwrap_or_default();
        if c.name == "Engine" {
            out.push_str(&format!(
                "  API version:\t{} (minimum version {})\n",
                s("ApiVersion"),
                s("MinAPIVersion")
            ));
            for (label, key) in [
                ("Go version", "GoVersion"),
                ("Git commit", "GitCommit"),
                ("Built", "BuildTime"),
            ] {
                if d.contains_key(key) {
                    out.push_str(&format!("  {label}:\t{}\n", s(key)));
                }
            }
            out.push_str(&format!("  OS/Arch:\t{}/{}\n", s("Os"), s("Arch")));
            out.push_str(&format!("  Experimental:\t{}\n", s("Experimental")));
        } else {
            for (k, val) in &d {
                out.push_str(&format!("  {k}:\t{val}\n"));
            }
        }
    }
    if components.is_empty() {
        out.push_str(&format!(" Engine:\n  Version:\t{}\n", v.version));
        out.push_str(&format!(
            "  API version:\t{} (minimum version {})\n",
            v.api_version, v.min_api_version
        ));
        out.push_str(&format!("  OS/Arch:\t{}/{}\n", v.os, v.arch));
    }
    out
}

pub async fn run(host: &str, a: &VersionArgs) -> Result<i32> {
    let conn = Client::connect(host).await;
    let api = match &conn {
        Ok(c) => c.api_version().to_string(),
        Err(_) => MAX_API_VERSION.to_string(),
    };
    let server: Result<()> = if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        // Templates render over the JSON document, as docker's do over its struct.
        let server = match &conn {
            Ok(c) => c.version_json().await.map_err(anyhow::Error::from),
            Err(_) => Err(anyhow::anyhow!("")),
        };
        let data = json!({
            "Client": client_info(&api),
            "Server": server.as_ref().ok().cloned().unwrap_or(Value::Null),
        });
        let src = if f.trim() == "json" { "{{json .}}" } else { f };
        outln!("{}", format::render_json_with(src, &data)?);
        server.map(drop)
    } else {
        out!("{}", tabwrite(&client_section(&api), 20, 1));
        match &conn {
            Ok(c) => c.version().await.map_err(anyhow::Error::from).map(|v| {
                out!("{}", tabwrite(&server_section(&v), 20, 1));
            }),
            Err(_) => Err(anyhow::anyhow!("")),
        }
    };
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
        let server = tabwrite(&server_section(&serde_json::from_value(v).unwrap()), 20, 1);
        assert_eq!(
            server,
            "\nServer:\n Engine:\n  Version:          20.10.24+dfsg1\n  API version:      1.41 (minimum version 1.12)\n  Go version:       go1.19.8\n  Git commit:       5d6db84\n  Built:            b\n  OS/Arch:          linux/amd64\n  Experimental:     false\n runc:\n  Version:          1.1.5\n  GitCommit:        abc\n"
        );
    }
}
