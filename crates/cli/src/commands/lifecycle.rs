//! `stop`, `restart`, `kill`, `pause`, `unpause`, `rename`: one call per container, the name
//! printed on success, each failure printed and the exit status 1 at the end.

use anyhow::Result;
use clap::Args;

use super::finish;
use crate::client::{path_escape, Client, Query};

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

/// `?signal=` and `?t=` only when given, as docker sends them.
pub fn stop_query(signal: Option<&str>, timeout: Option<i64>) -> Query {
    let mut q = Query::new();
    if let Some(s) = signal {
        q = q.set("signal", s);
    }
    if let Some(t) = timeout {
        q = q.set("t", t.to_string());
    }
    q
}

async fn each(client: &Client, containers: &[String], verb: &str, q: &Query) -> Result<i32> {
    let mut errors = Vec::new();
    for c in containers {
        let path = format!("/containers/{}/{verb}", path_escape(c));
        match client.post(&path, q, None).await {
            Ok(_) => outln!("{c}"),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    finish(errors)
}

pub async fn stop(client: &Client, a: StopArgs) -> Result<i32> {
    let q = stop_query(a.signal.as_deref(), a.timeout);
    each(client, &a.containers, "stop", &q).await
}

pub async fn restart(client: &Client, a: StopArgs) -> Result<i32> {
    let q = stop_query(a.signal.as_deref(), a.timeout);
    each(client, &a.containers, "restart", &q).await
}

pub async fn kill(client: &Client, a: KillArgs) -> Result<i32> {
    let q = stop_query(a.signal.as_deref(), None);
    each(client, &a.containers, "kill", &q).await
}

pub async fn simple(client: &Client, a: ContainersArgs, verb: &str) -> Result<i32> {
    each(client, &a.containers, verb, &Query::new()).await
}

pub async fn rename(client: &Client, a: RenameArgs) -> Result<i32> {
    let new = a.new_name.trim();
    if new.is_empty() {
        return finish(vec![
            "Error: neither old nor new names may be empty".to_string()
        ]);
    }
    let q = Query::new().set("name", new);
    client
        .post(
            &format!("/containers/{}/rename", path_escape(&a.container)),
            &q,
            None,
        )
        .await?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_queries() {
        assert_eq!(stop_query(None, Some(1)).encode(), "t=1");
        assert_eq!(stop_query(Some("USR1"), None).encode(), "signal=USR1");
        assert_eq!(stop_query(None, None).encode(), "");
    }
}
