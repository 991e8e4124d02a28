//! `berth container prune [-f] [--filter until=|label=]`: asks first, as docker does, then
//! prints what went and how much space came back.

use anyhow::Result;
use berth_client::Client;
use clap::Args;
use std::io::{BufRead, Write};

use super::filters;
use crate::format::units::human_size;

#[derive(Args, Debug)]
pub struct ContainerPruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long = "force")]
    pub force: bool,
}

const CONTAINER_WARNING: &str = "WARNING! This will remove all stopped containers.";

pub async fn containers(client: &Client, a: ContainerPruneArgs) -> Result<i32> {
    let filters = filters(&a.filter)?;
    if !a.force && !confirm(CONTAINER_WARNING)? {
        return Ok(0);
    }
    let report = client.containers_prune(&filters).await?;
    let deleted = report.containers_deleted.unwrap_or_default();
    let mut space = 0;
    if !deleted.is_empty() {
        outln!("Deleted Containers:");
        for id in &deleted {
            outln!("{id}");
        }
        outln!();
        space = report.space_reclaimed;
    }
    outln!("Total reclaimed space: {}", human_size(space as f64));
    Ok(0)
}

/// docker's prompt: anything but `y`/`Y` (or no terminal answer) means no.
fn confirm(warning: &str) -> Result<bool> {
    let mut out = std::io::stdout();
    write!(out, "{warning}\nAre you sure you want to continue? [y/N] ")?;
    out.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y"))
}
