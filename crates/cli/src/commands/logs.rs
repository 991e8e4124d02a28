//! `berth logs`: inspect first (is it a tty?), then `GET /containers/{id}/logs`, demultiplexed
//! unless the container has a tty.

use anyhow::{bail, Result};
use berth_client::stdcopy::Demux;
use berth_client::{Client, LogsOptions};
use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
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

/// docker's `timetypes.GetTimestamp`: a Go duration ("42m") is relative to now; RFC 3339 and
/// shorter date forms are absolute (local time without a zone); unix seconds pass through.
pub fn get_timestamp(value: &str, now: DateTime<Utc>) -> Result<String> {
    if value != "0" {
        if let Some(nanos) = parse_go_duration(value) {
            let t = now.timestamp_nanos_opt().unwrap_or(0) as i128 - nanos;
            return Ok(t.div_euclid(1_000_000_000).to_string());
        }
    }
    let fmt_ts = |t: DateTime<Utc>| format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos());
    let has_zone = value.contains(['z', 'Z', '+']) || value.matches('-').count() == 3;
    if has_zone {
        let v = value.replace('z', "Z");
        // RFC 3339 with optional minutes/seconds, as Go's layouts allow.
        for candidate in [
            v.clone(),
            v.replacen('Z', ":00Z", 1),
            v.replacen('Z', ":00:00Z", 1),
        ] {
            if let Ok(t) = DateTime::parse_from_rfc3339(&candidate) {
                return Ok(fmt_ts(t.with_timezone(&Utc)));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(value.get(..10).unwrap_or(""), "%Y-%m-%d") {
            if let Ok(t) = DateTime::parse_from_str(
                &format!("{}T00:00:00{}", d, &value[10..]),
                "%Y-%m-%dT%H:%M:%S%:z",
            ) {
                return Ok(fmt_ts(t.with_timezone(&Utc)));
            }
        }
    } else {
        let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M"))
            .or_else(|_| NaiveDateTime::parse_from_str(&format!("{value}:00"), "%Y-%m-%dT%H:%M"))
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
            });
        if let Some(n) = naive {
            if let Some(t) = Local.from_local_datetime(&n).earliest() {
                return Ok(fmt_ts(t.with_timezone(&Utc)));
            }
        }
    }
    if value.contains('-') {
        bail!("parsing time {value:?}: cannot parse as a timestamp");
    }
    let (secs, frac) = value.split_once('.').unwrap_or((value, "0"));
    if secs.parse::<i64>().is_err() || frac.parse::<u64>().is_err() {
        bail!("failed to parse value as time or duration: {value:?}");
    }
    Ok(value.to_string())
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    let v = total as i128;
    Some(if neg { -v } else { v })
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

    #[test]
    fn timestamps() {
        let n = now();
        assert_eq!(
            get_timestamp("42m", n).unwrap(),
            (n.timestamp() - 42 * 60).to_string()
        );
        assert_eq!(
            get_timestamp("1h30m", n).unwrap(),
            (n.timestamp() - 5400).to_string()
        );
        assert_eq!(
            get_timestamp("2013-01-02T13:23:37Z", n).unwrap(),
            "1357133017.000000000"
        );
        assert_eq!(
            get_timestamp("2013-01-02T13:23:37.5+01:00", n).unwrap(),
            "1357129417.500000000"
        );
        assert_eq!(get_timestamp("1357133017", n).unwrap(), "1357133017");
        assert_eq!(get_timestamp("0", n).unwrap(), "0");
        assert!(get_timestamp("yesterday", n).is_err());
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("10x"), None);
    }
}
