//! `GET /containers/{id}/logs`: reads the json-file log the shim writes, and follows it.

use crate::error::{EngineError, Result};
use crate::Engine;
use serde::Deserialize;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};
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

#[derive(Deserialize)]
struct JsonLine {
    log: String,
    stream: String,
    time: String,
}

fn parse_line(line: &str) -> Option<(LogRecord, i128)> {
    let j: JsonLine = serde_json::from_str(line).ok()?;
    let nanos = chrono::DateTime::parse_from_rfc3339(&j.time)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(0) as i128;
    let stream = if j.stream == "stderr" { 2 } else { 1 };
    Some((
        LogRecord {
            stream,
            line: j.log.into_bytes(),
            time: j.time,
        },
        nanos,
    ))
}

impl LogOptions {
    fn wants(&self, rec: &LogRecord, nanos: i128) -> bool {
        let stream_ok = (rec.stream == 1 && self.stdout) || (rec.stream == 2 && self.stderr);
        stream_ok && self.since.is_none_or(|s| nanos >= s) && self.until.is_none_or(|u| nanos <= u)
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
    /// Whether the container has a TTY, and a channel of its log lines.
    pub fn logs(&self, name: &str, opts: LogOptions) -> Result<(bool, mpsc::Receiver<LogRecord>)> {
        let c = self.container(name)?;
        let rec = c.snapshot();
        let path = self
            .config
            .container_dir(&rec.id)
            .join(format!("{}-json.log", rec.id));
        let mut life = c.lifecycle.subscribe();
        let exits_at_start = life.borrow().exits;
        let mut running = rec.state.is_running() || rec.state.is_restarting();
        let (tx, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            let file = match tokio::fs::File::open(&path).await {
                Ok(f) => f,
                Err(_) if opts.follow && running => {
                    // Nothing written yet: wait for the file.
                    loop {
                        tokio::time::sleep(FOLLOW_POLL).await;
                        if let Ok(f) = tokio::fs::File::open(&path).await {
                            break f;
                        }
                        if tx.is_closed() {
                            return;
                        }
                    }
                }
                Err(_) => return,
            };
            let mut reader = BufReader::new(file);
            let mut backlog = Vec::new();
            let mut line = String::new();
            let mut pos = 0u64;
            while let Ok(n) = reader.read_line(&mut line).await {
                if n == 0 || !line.ends_with('\n') {
                    break;
                }
                pos += n as u64;
                if let Some((r, nanos)) = parse_line(&line) {
                    if opts.wants(&r, nanos) {
                        backlog.push(r);
                    }
                }
                line.clear();
            }
            let skip = opts.tail.map_or(0, |t| backlog.len().saturating_sub(t));
            for r in backlog.into_iter().skip(skip) {
                if tx.send(r).await.is_err() {
                    return;
                }
            }
            if !opts.follow {
                return;
            }
            loop {
                // Re-read from the last complete line.
                if reader.seek(std::io::SeekFrom::Start(pos)).await.is_err() {
                    return;
                }
                line.clear();
                while let Ok(n) = reader.read_line(&mut line).await {
                    if n == 0 || !line.ends_with('\n') {
                        break;
                    }
                    pos += n as u64;
                    if let Some((r, nanos)) = parse_line(&line) {
                        if opts.until.is_some_and(|u| nanos > u) {
                            return;
                        }
                        if opts.wants(&r, nanos) && tx.send(r).await.is_err() {
                            return;
                        }
                    }
                    line.clear();
                }
                if !running || tx.is_closed() {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(FOLLOW_POLL) => {}
                    changed = life.changed() => {
                        let l = *life.borrow();
                        if changed.is_err() || l.removed || l.exits > exits_at_start {
                            // One last read picks up what the shim wrote before exiting.
                            running = false;
                        }
                    }
                }
            }
        });
        Ok((rec.config.tty, rx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_file_lines_parse() {
        let (r, nanos) = parse_line(
            r#"{"log":"hi\n","stream":"stderr","time":"2026-11-23T15:51:14.000000001Z"}"#,
        )
        .unwrap();
        assert_eq!(r.stream, 2);
        assert_eq!(r.line, b"hi\n");
        assert_eq!(nanos % 1_000_000_000, 1);
        assert!(parse_line("garbage").is_none());
    }

    #[test]
    fn timestamps_parse_like_docker() {
        assert_eq!(parse_timestamp("").unwrap(), None);
        assert_eq!(parse_timestamp("10").unwrap(), Some(10_000_000_000));
        assert_eq!(parse_timestamp("10.5").unwrap(), Some(10_500_000_000));
        assert!(parse_timestamp("ten").is_err());
    }
}
