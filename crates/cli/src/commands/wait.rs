//! `berth wait CONTAINER...`: prints each exit status.

use anyhow::Result;
use clap::Args;

use super::create::wait_status;
use super::finish;
use crate::client::{path_escape, Client, Query};

#[derive(Args, Debug)]
pub struct WaitArgs {
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub async fn run(client: &Client, a: WaitArgs) -> Result<i32> {
    let mut errors = Vec::new();
    for c in &a.containers {
        let path = format!("/containers/{}/wait", path_escape(c));
        let res = match client.post_json(&path, &Query::new(), None).await {
            Ok(v) => wait_status(&v),
            Err(e) => Err(e),
        };
        match res {
            Ok(code) => outln!("{code}"),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    finish(errors)
}
