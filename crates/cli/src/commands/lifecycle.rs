//! `stop`, `restart`, `kill`, `pause`, `unpause`, `rename`: one call per container, the name
//! printed on success, each failure printed and the exit status 1 at the end.

use anyhow::Result;
use berth_client::Client;
use clap::Args;

use super::finish;

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", value_name = "string")]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "timeout",
        visible_alias = "time",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub timeout: Option<i64>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long = "signal", value_name = "string")]
    pub signal: Option<String>,
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ContainersArgs {
    #[arg(value_name = "CONTAINER", required = true)]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

/// One call per container; each name printed on success, failures gathered.
async fn each<'a, F, Fut>(containers: &'a [String], call: F) -> Result<i32>
where
    F: Fn(&'a str) -> Fut,
    Fut: std::future::Future<Output = berth_client::Result<()>>,
{
    let mut errors = Vec::new();
    for c in containers {
        match call(c).await {
            Ok(()) => outln!("{c}"),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    finish(errors)
}

pub async fn stop(client: &Client, a: StopArgs) -> Result<i32> {
    let signal = a.signal.as_deref();
    each(&a.containers, |c| {
        client.container_stop(c, signal, a.timeout)
    })
    .await
}

pub async fn restart(client: &Client, a: StopArgs) -> Result<i32> {
    let signal = a.signal.as_deref();
    each(&a.containers, |c| {
        client.container_restart(c, signal, a.timeout)
    })
    .await
}

pub async fn kill(client: &Client, a: KillArgs) -> Result<i32> {
    let signal = a.signal.as_deref();
    each(&a.containers, |c| client.container_kill(c, signal)).await
}

pub async fn pause(client: &Client, a: ContainersArgs) -> Result<i32> {
    each(&a.containers, |c| client.container_pause(c)).await
}

pub async fn unpause(client: &Client, a: ContainersArgs) -> Result<i32> {
    each(&a.containers, |c| client.container_unpause(c)).await
}

pub async fn rename(client: &Client, a: RenameArgs) -> Result<i32> {
    let new = a.new_name.trim();
    if new.is_empty() {
        return finish(vec![
            "Error: neither old nor new names may be empty".to_string()
        ]);
    }
    client.container_rename(&a.container, new).await?;
    Ok(0)
}
