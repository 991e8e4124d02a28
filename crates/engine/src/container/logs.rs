//! `GET /containers/{id}/logs`: reads the log the shim writes (json-file or local, across
//! rotated and compressed files: `berth-logging`), and follows it across rotations.

use crate::error::{EngineError, Result};
use crate::Engine;
use berth_logging::{
    format_rfc3339_nano_fixed, Driver, Follower, LogFiles, ReadOptions, Record, Stream,
};
use std::time::Duration;
use tokio::sync::mpsc;

/// How often a followed log is checked for new lines.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub stdout: bool,
    pub stderr: bool,
    pub follow: bool,
    /// Only the last N lines.
    pub tail: Option<usize>,
    /// Unix time in nanoseconds.
    pub since: Option<i128>,
    pub until: Option<i128>,
}

/// One line of output.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// 1 = stdout, 2 = stderr.
    pub stream: u8,
    pub line: Vec<u8>,
    /// RFC 3339 with nanoseconds, as recorded.
    pub time: String,
}

impl LogOptions {
    fn wants_stream(&self, stream: Stream) -> bool {
        match stream {
            Stream::Stdout => self.stdout,
            Stream::Stderr => self.stderr,
        }
    }
}

/// Parses Docker's `since`/`until`: Unix seconds with optional fraction (`1700000000.5`).
pub fn parse_timestamp(s: &str) -> Result<Option<i128>> {
    if s.is_empty() || s == "0" {
        return Ok(None);
    }
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i128 = secs
        .parse()
        .map_err(|_| EngineError::invalid(format!("invalid timestamp: {s}")))?;
    let mut nanos = 0i128;
    if !frac.is_empty() {
        let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
        nanos = digits
            .parse()
            .map_err(|_| EngineError::invalid(format!("invalid timestamp: {s}")))?;
    }
    Ok(Some(secs * 1_000_000_000 + nanos))
}

impl Engine {
    /// Whether the container has a TTY, and a channel of its log lines, read across the
    /// rotated (and compressed) files of its log driver.
    pub fn logs(&self, name: &str, opts: LogOptions) -> Result<(bool, mpsc::Receiver<LogRecord>)> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        let driver = rec
            .host_config
            .log_config
            .as_ref()
            .map_or(Ok(Driver::JsonFile), |l| Driver::parse(&l.r#type))
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        let json_path = self
            .config
            .container_dir(&rec.id)
            .join(format!("{}-json.log", rec.id));
        let files = LogFiles::for_driver(driver, &json_path)
            .filter(|_| driver.readable())
            .ok_or_else(|| {
                EngineError::invalid("configured logging driver does not support reading")
            })?;
        let mut life = c.lifecycle.subscribe();
        let exits_at_start = life.borrow().exits;
        let mut running = rec.state.is_running() || rec.state.is_restarting();
        let read = ReadOptions {
            since: opts.since.map(clamp_nanos),
            until: opts.until.map(clamp_nanos),
            tail: opts.tail,
        };
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            let send_all = |records: Vec<Record>| {
                let tx = tx.clone();
                let opts = opts.clone();
                async move {
                    for r in records {
                        // Docker picks the streams after `tail` counted both.
                        if !opts.wants_stream(r.stream) {
                            continue;
                        }
                        if tx.send(LogRecord::from(r)).await.is_err() {
                            return false;
                        }
                    }
                    true
                }
            };
            if !opts.follow {
                if let Ok(Ok(records)) =
                    tokio::task::spawn_blocking(move || files.read(&read)).await
                {
                    send_all(records).await;
                }
                return;
            }
            let started = tokio::task::spawn_blocking(move || Follower::start(files, &read)).await;
            let Ok(Ok((backlog, mut follower))) = started else {
                return;
            };
            if !send_all(backlog).await {
                return;
            }
            loop {
                let polled = tokio::task::spawn_blocking(move || {
                    let got = follower.poll();
                    (got, follower)
                })
                .await;
                let Ok((Ok(records), f)) = polled else {
                    return;
                };
                follower = f;
                if !send_all(records).await || follower.finished() || !running || tx.is_closed() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(FOLLOW_POLL) => {}
                    changed = life.changed() => {
                        let l = *life.borrow();
                        if changed.is_err() || l.removed || l.exits > exits_at_start {
                            // One last poll picks up what the shim wrote before exiting.
                            running = false;
                        }
                    }
                }
            }
        });
        Ok((rec.config.tty, rx))
    }
}

/// Unix nanoseconds as the log reader counts them.
fn clamp_nanos(t: i128) -> i64 {
    i64::try_from(t).unwrap_or(if t < 0 { i64::MIN } else { i64::MAX })
}

impl From<Record> for LogRecord {
    fn from(r: Record) -> Self {
        LogRecord {
            stream: r.stream.id(),
            line: r.line,
            // Fixed width, as `docker logs -t` prints it.
            time: format_rfc3339_nano_fixed(r.time),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_print_with_a_fixed_width_time() {
        let r = LogRecord::from(Record {
            stream: Stream::Stderr,
            line: b"hi\n".to_vec(),
            time: 1_764_000_000_100_000_000,
        });
        assert_eq!(r.stream, 2);
        assert_eq!(r.time, "2025-11-24T16:00:00.100000000Z");
    }

    #[test]
    fn timestamps_parse_like_docker() {
        assert_eq!(parse_timestamp("").unwrap(), None);
        assert_eq!(parse_timestamp("10").unwrap(), Some(10_000_000_000));
        assert_eq!(parse_timestamp("10.5").unwrap(), Some(10_500_000_000));
        assert!(parse_timestamp("ten").is_err());
    }
}
