//! `GET /containers/{id}/top`: the host's `ps` output, narrowed to the container's processes,
//! as Docker does it.

use crate::error::{EngineError, Result};
use crate::Engine;
use berth_cgroups as cgroups;

/// `ps` output narrowed to the container's processes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessTable {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

impl Engine {
    pub async fn top_container(&self, name: &str, ps_args: &str) -> Result<ProcessTable> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        if !rec.state.is_running() {
            return Err(EngineError::conflict(format!(
                "container {} is not running",
                rec.id
            )));
        }
        let pids = cgroups::pids(&self.cgroup_layout, &self.cgroup_path(&rec.id))
            .map_err(|e| EngineError::internal(format!("listing processes: {e}")))?;
        let args: Vec<&str> = if ps_args.is_empty() {
            vec!["-ef"]
        } else {
            ps_args.split_whitespace().collect()
        };
        let out = tokio::process::Command::new("ps")
            .args(&args)
            .output()
            .await
            .map_err(|e| EngineError::internal(format!("running ps: {e}")))?;
        if !out.status.success() {
            return Err(EngineError::internal(format!(
                "ps: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        parse_ps(&String::from_utf8_lossy(&out.stdout), &pids)
    }
}

/// Keeps the rows whose PID column is one of `pids`; the last column keeps its spaces.
fn parse_ps(output: &str, pids: &[i32]) -> Result<ProcessTable> {
    let mut lines = output.lines();
    let header = lines.next().unwrap_or_default();
    let titles: Vec<String> = header.split_whitespace().map(String::from).collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| EngineError::internal("Couldn't find PID field in ps output"))?;
    let mut processes = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < titles.len() {
            continue;
        }
        let Ok(pid) = fields[pid_col].parse::<i32>() else {
            continue;
        };
        if !pids.contains(&pid) {
            continue;
        }
        let mut row: Vec<String> = fields[..titles.len() - 1]
            .iter()
            .map(|s| s.to_string())
            .collect();
        row.push(fields[titles.len() - 1..].join(" "));
        processes.push(row);
    }
    Ok(ProcessTable { titles, processes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_narrowed_to_container_pids() {
        let out = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 /sbin/init\nroot 42 1 0 10:00 ? 00:00:00 sleep 1000\n";
        let top = parse_ps(out, &[42]).unwrap();
        assert_eq!(top.titles.len(), 8);
        assert_eq!(top.processes.len(), 1);
        assert_eq!(top.processes[0][7], "sleep 1000");
        assert!(parse_ps("USER CMD\n", &[1]).is_err());
    }
}
