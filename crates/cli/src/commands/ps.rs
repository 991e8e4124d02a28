//! `berth ps` / `container ls`: `GET /containers/json` rendered like docker's container
//! formatter.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;
use gotmpl::Value as TValue;
use serde_json::Value;

use super::filters_json;
use crate::client::{Client, Query};
use crate::format::{self, ctx, map_value, to_tvalue, units};

#[derive(Args, Debug)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last", value_name = "int", default_value_t = -1, allow_negative_numbers = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long = "latest")]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long = "size")]
    pub size: bool,
}

pub const DEFAULT_FORMAT: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

pub fn query(a: &PsArgs, want_size: bool) -> Result<Query> {
    let limit = if a.latest { 1 } else { a.last };
    let mut q = Query::new()
        .set_if(a.all, "all", "1")
        .set_if(limit > 0, "limit", limit.to_string())
        .set_if(want_size, "size", "1");
    if let Some(f) = filters_json(&a.filter)? {
        q = q.set("filters", f);
    }
    Ok(q)
}

pub async fn run(client: &Client, a: PsArgs) -> Result<i32> {
    let fmt_src = resolve_format(&a);
    let want_size = a.size || (fmt_src.contains(".Size") && !a.quiet);
    let q = query(&a, want_size)?;
    let list = client.get_json("/containers/json", &q).await?;
    let now = chrono::Utc::now().timestamp();
    let out = render(&list, &fmt_src, a.no_trunc, now)?;
    out!("{out}");
    Ok(0)
}

fn resolve_format(a: &PsArgs) -> String {
    if a.quiet {
        return "{{.ID}}".to_string();
    }
    match &a.format {
        Some(f) if !f.is_empty() => f.clone(),
        _ => {
            if a.size {
                format!("{DEFAULT_FORMAT}\t{{{{.Size}}}}")
            } else {
                DEFAULT_FORMAT.to_string()
            }
        }
    }
}

pub fn render(list: &Value, fmt_src: &str, no_trunc: bool, now: i64) -> Result<String> {
    let f = format::parse(fmt_src, DEFAULT_FORMAT)?;
    let rows: Vec<TValue> = list
        .as_array()
        .map(|a| a.iter().map(|c| row(c, no_trunc, now)).collect())
        .unwrap_or_default();
    f.render_rows(&header(), &rows)
}

pub fn header() -> TValue {
    let mut m = ctx(&[
        ("ID", "CONTAINER ID".into()),
        ("Image", "IMAGE".into()),
        ("Command", "COMMAND".into()),
        ("CreatedAt", "CREATED AT".into()),
        ("RunningFor", "CREATED".into()),
        ("Ports", "PORTS".into()),
        ("State", "STATE".into()),
        ("Status", "STATUS".into()),
        ("Size", "SIZE".into()),
        ("Names", "NAMES".into()),
        ("Labels", "LABELS".into()),
        ("Mounts", "MOUNTS".into()),
        ("Networks", "NETWORKS".into()),
        ("LocalVolumes", "LOCAL VOLUMES".into()),
    ]);
    m.insert(
        Arc::from("LabelMap"),
        TValue::Map(Arc::new(BTreeMap::new())),
    );
    map_value(m)
}

/// One container summary as docker's `ContainerContext` presents it.
pub fn row(c: &Value, no_trunc: bool, now: i64) -> TValue {
    let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let id = s("Id");
    let id = if no_trunc { id } else { units::short_id(&id) };

    let mut image = s("Image");
    if image.is_empty() {
        image = "<no image>".to_string();
    } else if !no_trunc {
        // An image given by ID shows as its short ID; a digest reference drops the digest.
        if let Some(hex) = image.strip_prefix("sha256:") {
            image = units::short_id(hex);
        } else if let Some((name, _)) = image.split_once('@') {
            image = name.to_string();
        }
    }

    let command = s("Command");
    let command = if no_trunc {
        units::go_quote(&command)
    } else {
        units::go_quote(&units::ellipsis(&command, 20))
    };

    let created = c.get("Created").and_then(Value::as_i64).unwrap_or(0);
    let names: Vec<String> = c
        .get("Names")
        .and_then(Value::as_array)
        .map(|n| {
            n.iter()
                .filter_map(Value::as_str)
                .map(|n| n.trim_start_matches('/'))
                // Legacy link names ("/other/alias") only show with --no-trunc.
                .filter(|n| no_trunc || !n.contains('/'))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();

    let labels_map = c.get("Labels").cloned().unwrap_or(Value::Null);
    let mut labels: Vec<String> = labels_map
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    labels.sort();

    let mounts: Vec<String> = c
        .get("Mounts")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .map(|m| {
                    let name = m
                        .get("Name")
                        .and_then(Value::as_str)
                        .filter(|n| !n.is_empty())
                        .or_else(|| m.get("Source").and_then(Value::as_str))
                        .unwrap_or("");
                    if no_trunc {
                        name.to_string()
                    } else {
                        units::ellipsis(name, 15)
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let local_volumes = c
        .get("Mounts")
        .and_then(Value::as_array)
        .map(|m| {
            m.iter()
                .filter(|m| m.get("Driver").and_then(Value::as_str) == Some("local"))
                .count()
        })
        .unwrap_or(0);

    let mut networks: Vec<String> = c
        .pointer("/NetworkSettings/Networks")
        .and_then(Value::as_object)
        .map(|n| n.keys().cloned().collect())
        .unwrap_or_default();
    networks.sort();

    let size = match (
        c.get("SizeRw").and_then(Value::as_i64),
        c.get("SizeRootFs").and_then(Value::as_i64),
    ) {
        (None, None) => "0B".to_string(),
        (rw, rootfs) => {
            let rw = rw.unwrap_or(0);
            let srw = units::human_size_precision(rw as f64, 3);
            match rootfs {
                Some(v) if v > 0 => format!(
                    "{srw} (virtual {})",
                    units::human_size_precision(v as f64, 3)
                ),
                _ => srw,
            }
        }
    };

    let mut m = ctx(&[
        ("ID", id),
        ("Image", image),
        ("Command", command),
        ("CreatedAt", created_at(created)),
        ("RunningFor", units::ago(created, now)),
        ("Ports", ports(c.get("Ports"))),
        ("State", s("State")),
        ("Status", s("Status")),
        ("Size", size),
        ("Names", names.join(",")),
        ("Labels", labels.join(",")),
        ("Mounts", mounts.join(",")),
        ("Networks", networks.join(",")),
        ("LocalVolumes", local_volumes.to_string()),
    ]);
    m.insert(Arc::from("LabelMap"), to_tvalue(&labels_map));
    map_value(m)
}

/// Go's `time.Unix(created, 0).String()` in local time: "2026-11-23 15:40:09 +0000 UTC".
pub fn created_at(ts: i64) -> String {
    use chrono::{Local, TimeZone};
    match Local.timestamp_opt(ts, 0).single() {
        Some(t) => {
            let off = t.offset().to_string().replace(':', "");
            if off == "+0000" {
                t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()
            } else {
                format!("{} {off}", t.format("%Y-%m-%d %H:%M:%S"))
            }
        }
        None => String::new(),
    }
}

/// docker's `DisplayablePorts`: "0.0.0.0:8080->80/tcp, 443/tcp".
pub fn ports(ports: Option<&Value>) -> String {
    let Some(list) = ports.and_then(Value::as_array) else {
        return String::new();
    };
    let mut out: Vec<String> = list
        .iter()
        .map(|p| {
            let private = p.get("PrivatePort").and_then(Value::as_i64).unwrap_or(0);
            let proto = p.get("Type").and_then(Value::as_str).unwrap_or("tcp");
            let ip = p.get("IP").and_then(Value::as_str).unwrap_or("");
            match p.get("PublicPort").and_then(Value::as_i64) {
                Some(public) if public != 0 => {
                    let ip = if ip.contains(':') {
                        format!("[{ip}]")
                    } else {
                        ip.to_string()
                    };
                    format!("{ip}:{public}->{private}/{proto}")
                }
                _ => format!("{private}/{proto}"),
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trace_list() -> Value {
        // `docker ps` answer from section 5 of the traces.
        json!([{
            "Id": "e936d9f2be8e0123456789abcdef0123456789abcdef0123456789abcdef0123",
            "Names": ["/t1"],
            "Image": "busybox",
            "ImageID": "sha256:b17529137f4b",
            "Command": "sh -c 'echo out; echo err >&2; sleep 1000'",
            "Created": 1795448409,
            "Ports": [],
            "Labels": {},
            "State": "running",
            "Status": "Up Less than a second",
            "HostConfig": {"NetworkMode": "default"},
            "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}},
            "Mounts": []
        }])
    }

    #[test]
    fn default_table_matches_docker() {
        let out = render(&trace_list(), DEFAULT_FORMAT, false, 1795448410).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     COMMAND                  CREATED        STATUS                  PORTS     NAMES\n\
             e936d9f2be8e   busybox   \"sh -c 'echo out; ec…\"   1 second ago   Up Less than a second             t1\n"
        );
    }

    #[test]
    fn custom_formats() {
        let out = render(&trace_list(), "{{.ID}} {{.Names}}", false, 1795448410).unwrap();
        assert_eq!(out, "e936d9f2be8e t1\n");
        let out = render(&trace_list(), "{{.ID}}", true, 0).unwrap();
        assert_eq!(
            out,
            "e936d9f2be8e0123456789abcdef0123456789abcdef0123456789abcdef0123\n"
        );
        let out = render(&trace_list(), "{{.Networks}} {{.State}}", false, 0).unwrap();
        assert_eq!(out, "bridge running\n");
        let out = render(&trace_list(), "json", false, 1795448410).unwrap();
        let v: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["Names"], "t1");
        assert_eq!(v["RunningFor"], "1 second ago");
        assert_eq!(v["Command"], "\"sh -c 'echo out; ec…\"");
        assert!(v.get("LabelMap").is_none());
    }

    #[test]
    fn empty_list_prints_header_only() {
        let out = render(&json!([]), DEFAULT_FORMAT, false, 0).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
        );
    }

    #[test]
    fn ports_and_labels() {
        let p = json!([
            {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"PrivatePort": 443, "Type": "tcp"}
        ]);
        assert_eq!(ports(Some(&p)), "0.0.0.0:8080->80/tcp, 443/tcp");
        let c = json!({"Id": "x", "Labels": {"b": "2", "a": "1"}, "Names": ["/n", "/other/link"]});
        let out = render(
            &json!([c]),
            "{{.Labels}}|{{.Label \"b\"}}|{{.Names}}",
            false,
            0,
        )
        .unwrap();
        assert_eq!(out, "a=1,b=2|2|n\n");
    }

    #[test]
    fn query_flags() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            a: PsArgs,
        }
        let a = T::try_parse_from(["t", "-a", "--filter", "status=exited", "-n", "3"])
            .unwrap()
            .a;
        assert_eq!(
            query(&a, false).unwrap().encode(),
            "all=1&filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D&limit=3"
        );
        let a = T::try_parse_from(["t", "-l", "-s"]).unwrap().a;
        assert_eq!(query(&a, true).unwrap().encode(), "limit=1&size=1");
        assert!(resolve_format(&a).ends_with("\t{{.Size}}"));
    }
}
