//! `berth wait CONTAINER...`: prints each exit status.

use anyhow::Result;
use clap::Args;

use berth_client::Client;

use super::create::wait_status;
use super::finish;

#[derive(Args, Debug)]
pub struct WaitArgs {
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

pub async fn run(client: &Client, a: WaitArgs) -> Result<i32> {
    let mut errors = Vec::new();
    for c in &a.containers {
        let res = match client.container_wait(c, None).await {
            Ok(w) => wait_status(&w),
            Err(e) => Err(e.into()),
        };
        match res {
            Ok(code) => outln!("{code}"),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    finish(errors)
}
