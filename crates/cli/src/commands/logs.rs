//! `berth logs`: inspect first (is it a tty?), then `GET /containers/{id}/logs`, demultiplexed
//! unless the container has a tty.

use anyhow::Result;
use berth_api::timetypes::get_timestamp;
use berth_client::stdcopy::Demux;
use berth_client::{Client, LogsOptions};
use chrono::{DateTime, Utc};
use clap::Args;

use crate::stream::{write_out, Dest};

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long = "details")]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42
    /// minutes)
    #[arg(long = "since", value_name = "string")]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(
        short = 'n',
        long = "tail",
        value_name = "string",
        default_value = "all"
    )]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long = "timestamps")]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for
    /// 42 minutes)
    #[arg(long = "until", value_name = "string")]
    pub until: Option<String>,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn logs_options(a: &LogsArgs, now: DateTime<Utc>) -> Result<LogsOptions> {
    Ok(LogsOptions {
        stdout: true,
        stderr: true,
        since: a
            .since
            .as_deref()
            .map(|s| get_timestamp(s, now))
            .transpose()?,
        until: a
            .until
            .as_deref()
            .map(|u| get_timestamp(u, now))
            .transpose()?,
        timestamps: a.timestamps,
        follow: a.follow,
        tail: Some(a.tail.clone()),
        details: a.details,
    })
}

pub async fn run(client: &Client, a: LogsArgs) -> Result<i32> {
    let info = client.container_inspect(&a.container, false).await?;
    let tty = info.tty();
    // Docker sends the full ID from inspect here, not the name typed.
    let id = if info.id.is_empty() {
        a.container.clone()
    } else {
        info.id.clone()
    };
    let opts = logs_options(&a, Utc::now())?;
    let mut body = client.container_logs(&id, &opts).await?;
    let mut demux = Demux::new();
    while let Some(chunk) = body.next_chunk().await? {
        if tty {
            write_out(Dest::Stdout, &chunk)?;
        } else {
            for (dest, payload) in demux.feed(&chunk)? {
                write_out(dest, &payload)?;
            }
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: LogsArgs,
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T15:40:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn queries_match_traces() {
        let a = T::try_parse_from(["t", "t1"]).unwrap().a;
        assert_eq!(
            logs_options(&a, now()).unwrap().query().encode(),
            "stderr=1&stdout=1&tail=all"
        );
        let a = T::try_parse_from(["t", "-f", "--tail", "1", "t1"])
            .unwrap()
            .a;
        assert_eq!(
            logs_options(&a, now()).unwrap().query().encode(),
            "follow=1&stderr=1&stdout=1&tail=1"
        );
        let a = T::try_parse_from(["t", "-t", "--details", "--since", "10m", "-n", "5", "t1"])
            .unwrap()
            .a;
        assert_eq!(
            logs_options(&a, now()).unwrap().query().encode(),
            "details=1&since=1795448400&stderr=1&stdout=1&tail=5&timestamps=1"
                .replace("1795448400", &(now().timestamp() - 600).to_string())
        );
    }
}
