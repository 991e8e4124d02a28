//! One log entry, as every driver writes it and every reader returns it.

use chrono::{DateTime, Utc};

/// Which of the process's outputs a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    /// Docker's multiplexed-stream id: 1 stdout, 2 stderr.
    pub fn id(self) -> u8 {
        match self {
            Stream::Stdout => 1,
            Stream::Stderr => 2,
        }
    }

    pub fn from_id(id: u8) -> Self {
        if id == 2 {
            Stream::Stderr
        } else {
            Stream::Stdout
        }
    }
}

/// One entry: a whole line with its `\n`, or a piece of a long line (Docker's partial message:
/// no `\n`), or what was left when the output ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub stream: Stream,
    pub line: Vec<u8>,
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
}

impl Record {
    /// The time as Docker prints it: RFC 3339 in UTC with up to nine fraction digits, trailing
    /// zeros dropped (Go's `time.RFC3339Nano`).
    pub fn time_rfc3339(&self) -> String {
        format_rfc3339_nano(self.time)
    }
}

/// Now, in nanoseconds since the Unix epoch.
pub fn now_nanos() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

/// Go's `time.RFC3339Nano` of a Unix time in nanoseconds, in UTC.
pub fn format_rfc3339_nano(nanos: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_nanos(nanos);
    let mut s = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let frac = t.timestamp_subsec_nanos();
    if frac != 0 {
        let digits = format!("{frac:09}");
        s.push('.');
        s.push_str(digits.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses an RFC 3339 time into nanoseconds since the Unix epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_rfc3339_nano() {
        assert_eq!(format_rfc3339_nano(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339_nano(1_500_000_000), "1970-01-01T00:00:01.5Z");
        assert_eq!(
            format_rfc3339_nano(1_764_000_000_000_000_001),
            "2025-11-24T16:00:00.000000001Z"
        );
        let n = now_nanos();
        assert_eq!(parse_rfc3339(&format_rfc3339_nano(n)), Some(n));
    }
}
