//! `berth stats`: `GET /containers/{id}/stats`, with CPU and memory computed as docker's
//! `calculateCPUPercentUnix` and `calculateMemUsageUnixNoCache`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use berth_api::stats::StatsResponse;
use berth_client::{Client, ContainerListOptions};
use clap::Args;
use gotmpl::Value as TValue;

use crate::format::{self, ctx, map_value, units};

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long = "all")]
    pub all: bool,
    /// Format output using a custom template: 'table', 'table TEMPLATE', 'json', 'TEMPLATE'
    #[arg(long = "format", value_name = "string")]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long = "no-stream")]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub const DEFAULT_FORMAT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// One computed sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    pub container: String,
    pub id: String,
    pub name: String,
    pub cpu: f64,
    pub mem: f64,
    pub mem_limit: f64,
    pub mem_perc: f64,
    pub net_rx: f64,
    pub net_tx: f64,
    pub blk_read: f64,
    pub blk_write: f64,
    pub pids: u64,
}

pub fn cpu_percent(s: &StatsResponse) -> f64 {
    let (cpu, pre) = (&s.cpu_stats, &s.precpu_stats);
    let cpu_delta = cpu.cpu_usage.total_usage as f64 - pre.cpu_usage.total_usage as f64;
    let system_delta = cpu.system_cpu_usage as f64 - pre.system_cpu_usage as f64;
    let mut online = f64::from(cpu.online_cpus);
    if online == 0.0 {
        online = cpu.cpu_usage.percpu_usage.as_ref().map_or(0, Vec::len) as f64;
    }
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * online * 100.0
    } else {
        0.0
    }
}

/// Usage minus page cache: `total_inactive_file` on cgroup v1, `inactive_file` on v2.
pub fn mem_usage(s: &StatsResponse) -> f64 {
    let m = &s.memory_stats;
    let usage = m.usage as f64;
    if let Some(&v) = m.stats.get("total_inactive_file") {
        if (v as f64) < usage {
            return usage - v as f64;
        }
    }
    let v = m.stats.get("inactive_file").copied().unwrap_or(0) as f64;
    if v < usage {
        return usage - v;
    }
    usage
}

pub fn entry(container: &str, s: &StatsResponse) -> Entry {
    let mem = mem_usage(s);
    let limit = s.memory_stats.limit as f64;
    let (mut rx, mut tx) = (0.0, 0.0);
    for n in s.networks.iter().flat_map(|n| n.values()) {
        rx += n.rx_bytes as f64;
        tx += n.tx_bytes as f64;
    }
    let (mut rd, mut wr) = (0.0, 0.0);
    for e in s.blkio_stats.io_service_bytes_recursive.iter().flatten() {
        match e.op.chars().next() {
            Some('r' | 'R') => rd += e.value as f64,
            Some('w' | 'W') => wr += e.value as f64,
            _ => {}
        }
    }
    Entry {
        container: container.to_string(),
        id: s.id.clone(),
        name: s.name.strip_prefix('/').unwrap_or(&s.name).to_string(),
        cpu: cpu_percent(s),
        mem,
        mem_limit: limit,
        mem_perc: if limit != 0.0 {
            mem / limit * 100.0
        } else {
            0.0
        },
        net_rx: rx,
        net_tx: tx,
        blk_read: rd,
        blk_write: wr,
        pids: s.pids_stats.current,
    }
}

fn header() -> TValue {
    map_value(ctx(&[
        ("Container", "CONTAINER".into()),
        ("ID", "CONTAINER ID".into()),
        ("Name", "NAME".into()),
        ("CPUPerc", "CPU %".into()),
        ("MemUsage", "MEM USAGE / LIMIT".into()),
        ("MemPerc", "MEM %".into()),
        ("NetIO", "NET I/O".into()),
        ("BlockIO", "BLOCK I/O".into()),
        ("PIDs", "PIDS".into()),
    ]))
}

fn row(e: &Entry, no_trunc: bool) -> TValue {
    let pair = |a: f64, b: f64| {
        format!(
            "{} / {}",
            units::human_size_precision(a, 3),
            units::human_size_precision(b, 3)
        )
    };
    map_value(ctx(&[
        ("Container", e.container.clone()),
        (
            "ID",
            if no_trunc {
                e.id.clone()
            } else {
                units::short_id(&e.id)
            },
        ),
        ("Name", e.name.clone()),
        ("CPUPerc", format!("{:.2}%", e.cpu)),
        (
            "MemUsage",
            format!(
                "{} / {}",
                units::bytes_size(e.mem),
                units::bytes_size(e.mem_limit)
            ),
        ),
        ("MemPerc", format!("{:.2}%", e.mem_perc)),
        ("NetIO", pair(e.net_rx, e.net_tx)),
        ("BlockIO", pair(e.blk_read, e.blk_write)),
        ("PIDs", e.pids.to_string()),
    ]))
}

pub fn render(entries: &[Entry], fmt_src: &str, no_trunc: bool) -> Result<String> {
    let f = format::parse(fmt_src, DEFAULT_FORMAT)?;
    let rows: Vec<TValue> = entries.iter().map(|e| row(e, no_trunc)).collect();
    f.render_rows(&header(), &rows)
}

pub async fn run(client: &Client, a: StatsArgs) -> Result<i32> {
    let fmt_src = a
        .format
        .clone()
        .filter(|f| !f.is_empty())
        .unwrap_or_else(|| DEFAULT_FORMAT.to_string());
    let containers = if a.containers.is_empty() {
        let opts = ContainerListOptions {
            all: a.all,
            ..ContainerListOptions::default()
        };
        let list = client.container_list(&opts).await?;
        list.into_iter().map(|c| c.id).collect()
    } else {
        a.containers.clone()
    };

    if a.no_stream {
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for c in &containers {
            match client.container_stats_once(c).await {
                Ok(s) => entries.push(entry(c, &s)),
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        if !errors.is_empty() {
            return super::finish(errors);
        }
        out!("{}", render(&entries, &fmt_src, a.no_trunc)?);
        return Ok(0);
    }

    let slots: Arc<Mutex<Vec<Option<Entry>>>> = Arc::new(Mutex::new(vec![None; containers.len()]));
    for (i, c) in containers.iter().enumerate() {
        let client = client.clone();
        let c = c.clone();
        let slots = slots.clone();
        tokio::spawn(async move {
            let Ok(mut lines) = client.container_stats(&c).await else {
                return;
            };
            while let Ok(Some(s)) = lines.next().await {
                if let Ok(mut g) = slots.lock() {
                    g[i] = Some(entry(&c, &s));
                }
            }
        });
    }
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let entries: Vec<Entry> = match slots.lock() {
            Ok(g) => g.iter().flatten().cloned().collect(),
            Err(_) => Vec::new(),
        };
        let text = render(&entries, &fmt_src, a.no_trunc)?;
        // Clear the screen and home the cursor before each redraw, as docker does.
        out!("\x1b[2J\x1b[H{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn stats(v: Value) -> StatsResponse {
        serde_json::from_value(v).unwrap()
    }

    fn trace_stats() -> StatsResponse {
        // `docker stats --no-stream t1` answer, section 15 of the traces.
        stats(json!({
            "read": "2026-11-23T15:40:44.212276805Z",
            "pids_stats": {"current": 1},
            "blkio_stats": {"io_service_bytes_recursive": []},
            "cpu_stats": {"cpu_usage": {"total_usage": 69202446, "percpu_usage": [22598844, 46603602]},
                          "system_cpu_usage": 7118780000000i64, "online_cpus": 2},
            "precpu_stats": {"cpu_usage": {"total_usage": 69202446, "percpu_usage": [22598844, 46603602]},
                             "system_cpu_usage": 7116790000000i64, "online_cpus": 2},
            "memory_stats": {"usage": 499712, "max_usage": 4079616, "stats": {}, "limit": 25276502016i64},
            "name": "/t1",
            "id": "e936d9f2be8e0123456789",
            "networks": {"eth0": {"rx_bytes": 1416, "tx_bytes": 0}}
        }))
    }

    #[test]
    fn table_matches_trace() {
        let e = entry("t1", &trace_stats());
        let out = render(&[e], DEFAULT_FORMAT, false).unwrap();
        assert_eq!(
            out,
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O       BLOCK I/O   PIDS\n\
             e936d9f2be8e   t1        0.00%     488KiB / 23.54GiB   0.00%     1.42kB / 0B   0B / 0B     1\n"
        );
    }

    #[test]
    fn cpu_and_memory_math() {
        let s = stats(json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 4},
            "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
            "memory_stats": {"usage": 1000, "stats": {"inactive_file": 400}, "limit": 4000},
            "blkio_stats": {"io_service_bytes_recursive": [
                {"op": "Read", "value": 10}, {"op": "write", "value": 5}, {"op": "Total", "value": 15}]}
        }));
        let e = entry("x", &s);
        assert!((e.cpu - 80.0).abs() < 1e-9);
        assert_eq!(e.mem, 600.0);
        assert_eq!(e.mem_perc, 15.0);
        assert_eq!((e.blk_read, e.blk_write), (10.0, 5.0));
        // cgroup v1 key wins; percpu length stands in for online_cpus.
        let s = stats(json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 300, "percpu_usage": [1, 2]}, "system_cpu_usage": 2000},
            "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
            "memory_stats": {"usage": 1000, "stats": {"total_inactive_file": 100, "inactive_file": 400}}
        }));
        let e = entry("x", &s);
        assert!((e.cpu - 40.0).abs() < 1e-9);
        assert_eq!(e.mem, 900.0);
    }
}
