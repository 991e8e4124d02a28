//! `berth rm [-f] [-v] [-l] CONTAINER...`

use anyhow::Result;
use berth_client::{Client, RemoveOptions};
use clap::Args;

use super::finish;

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long = "force")]
    pub force: bool,
    /// Remove the specified link
    #[arg(short = 'l', long = "link")]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long = "volumes")]
    pub volumes: bool,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub async fn run(client: &Client, a: RmArgs) -> Result<i32> {
    let opts = RemoveOptions {
        force: a.force,
        volumes: a.volumes,
        link: a.link,
    };
    let mut errors = Vec::new();
    for c in &a.containers {
        let name = c.trim_start_matches('/');
        if name.is_empty() {
            errors.push("Container name cannot be empty".to_string());
            continue;
        }
        match client.container_remove(name, opts).await {
            Ok(()) => outln!("{c}"),
            // `rm -f` of something already gone is not an error (docker 23+).
            Err(e) if a.force && e.is_not_found() => {}
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    finish(errors)
}
