//! `berth rm [-f] [-v] [-l] CONTAINER...`

use anyhow::Result;
use clap::Args;

use super::finish;
use crate::client::{not_found, path_escape, Client, Query};

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

pub fn rm_query(a: &RmArgs) -> Query {
    Query::new()
        .set_if(a.volumes, "v", "1")
        .set_if(a.link, "link", "1")
        .set_if(a.force, "force", "1")
}

pub async fn run(client: &Client, a: RmArgs) -> Result<i32> {
    let q = rm_query(&a);
    let mut errors = Vec::new();
    for c in &a.containers {
        let name = c.trim_start_matches('/');
        if name.is_empty() {
            errors.push("Container name cannot be empty".to_string());
            continue;
        }
        match client
            .delete(&format!("/containers/{}", path_escape(name)), &q)
            .await
        {
            Ok(_) => outln!("{c}"),
            // `rm -f` of something already gone is not an error (docker 23+).
            Err(e) if a.force && not_found(&e) => {}
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    finish(errors)
}
