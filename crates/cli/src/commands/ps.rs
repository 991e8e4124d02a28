//! `berth ps` / `container ls`: `GET /containers/json` rendered like docker's container
//! formatter.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use berth_api::container::{ContainerSummary, Port};
use berth_client::{Client, ContainerListOptions};
use clap::Args;
use gotmpl::Value as TValue;

use super::filters;
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

pub fn list_options(a: &PsArgs, want_size: bool) -> Result<ContainerListOptions> {
    Ok(ContainerListOptions {
        all: a.all,
        limit: if a.latest { 1 } else { a.last },
        size: want_size,
        filters: filters(&a.filter)?,
    })
}

pub async fn run(client: &Client, a: PsArgs) -> Result<i32> {
    let fmt_src = resolve_format(&a);
    let want_size = a.size || (fmt_src.contains(".Size") && !a.quiet);
    let list = client.container_list(&list_options(&a, want_size)?).await?;
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

pub fn render(
    list: &[ContainerSummary],
    fmt_src: &str,
    no_trunc: bool,
    now: i64,
) -> Result<String> {
    let f = format::parse(fmt_src, DEFAULT_FORMAT)?;
    let rows: Vec<TValue> = list.iter().map(|c| row(c, no_trunc, now)).collect();
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
pub fn row(c: &ContainerSummary, no_trunc: bool, now: i64) -> TValue {
    let id = if no_trunc {
        c.id.clone()
    } else {
        units::short_id(&c.id)
    };

    let mut image = c.image.clone();
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

    let command = if no_trunc {
        berth_errdefs::go_quote(&c.command)
    } else {
        berth_errdefs::go_quote(&units::ellipsis(&c.command, 20))
    };

    let names: Vec<String> = c
        .names
        .iter()
        .flatten()
        .map(|n| n.trim_start_matches('/'))
        // Legacy link names ("/other/alias") only show with --no-trunc.
        .filter(|n| no_trunc || !n.contains('/'))
        .map(str::to_string)
        .collect();

    let mut labels: Vec<String> = c
        .labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    labels.sort();

    let mounts: Vec<String> = c
        .mounts
        .iter()
        .flatten()
        .map(|m| {
            let name = if m.name.is_empty() {
                &m.source
            } else {
                &m.name
            };
            if no_trunc {
                name.clone()
            } else {
                units::ellipsis(name, 15)
            }
        })
        .collect();
    let local_volumes = c
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.driver == "local")
        .count();

    let mut networks: Vec<String> = c
        .network_settings
        .iter()
        .flat_map(|n| n.networks.iter().flatten())
        .map(|(name, _)| name.clone())
        .collect();
    networks.sort();

    let size = match (c.size_rw, c.size_root_fs) {
        (None, None) => "0B".to_string(),
        (rw, rootfs) => {
            let srw = units::human_size_precision(rw.unwrap_or(0) as f64, 3);
            match rootfs {
                Some(v) if v > 0 => format!(
                    "{srw} (virtual {})",
                    units::human_size_precision(v as f64, 3)
                ),
                _ => srw,
            }
        }
    };

    let created = c.created;
    let mut m = ctx(&[
        ("ID", id),
        ("Image", image),
        ("Command", command),
        ("CreatedAt", created_at(created)),
        ("RunningFor", units::ago(created, now)),
        ("Ports", ports(c.ports.as_deref().unwrap_or_default())),
        ("State", c.state.clone()),
        ("Status", c.status.clone()),
        ("Size", size),
        ("Names", names.join(",")),
        ("Labels", labels.join(",")),
        ("Mounts", mounts.join(",")),
        ("Networks", networks.join(",")),
        ("LocalVolumes", local_volumes.to_string()),
    ]);
    let labels_map = serde_json::to_value(&c.labels).unwrap_or_default();
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
pub fn ports(list: &[Port]) -> String {
    let mut out: Vec<String> = list
        .iter()
        .map(|p| {
            let private = p.private_port;
            let proto = if p.r#type.is_empty() {
                "tcp"
            } else {
                &p.r#type
            };
            match p.public_port {
                0 => format!("{private}/{proto}"),
                public => {
                    let ip = if p.ip.contains(':') {
                        format!("[{}]", p.ip)
                    } else {
                        p.ip.clone()
                    };
                    format!("{ip}:{public}->{private}/{proto}")
                }
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
    use serde_json::{json, Value};

    fn list(v: Value) -> Vec<ContainerSummary> {
        serde_json::from_value(v).unwrap()
    }

    fn trace_list() -> Vec<ContainerSummary> {
        // `docker ps` answer from section 5 of the traces.
        list(json!([{
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
        }]))
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
        let out = render(&[], DEFAULT_FORMAT, false, 0).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
        );
    }

    #[test]
    fn ports_and_labels() {
        let p: Vec<Port> = serde_json::from_value(json!([
            {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"PrivatePort": 443, "Type": "tcp"}
        ]))
        .unwrap();
        assert_eq!(ports(&p), "0.0.0.0:8080->80/tcp, 443/tcp");
        let c = json!({"Id": "x", "Labels": {"b": "2", "a": "1"}, "Names": ["/n", "/other/link"]});
        let out = render(
            &list(json!([c])),
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
            list_options(&a, false).unwrap().query().encode(),
            "all=1&filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D&limit=3"
        );
        let a = T::try_parse_from(["t", "-l", "-s"]).unwrap().a;
        assert_eq!(
            list_options(&a, true).unwrap().query().encode(),
            "limit=1&size=1"
        );
        assert!(resolve_format(&a).ends_with("\t{{.Size}}"));
    }
}
