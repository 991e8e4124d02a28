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

/// A record's parts, borrowed: what the encoders take (the writer has no `Record` to build).
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub stream: Stream,
    pub line: &'a [u8],
    pub time: i64,
}

impl Record {
    pub fn entry(&self) -> Entry<'_> {
        Entry {
            stream: self.stream,
            line: &self.line,
            time: self.time,
        }
    }

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
    let mut out = Vec::with_capacity(32);
    write_rfc3339_nano(nanos, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

thread_local! {
    /// The last second formatted and its `YYYY-MM-DDTHH:MM:SS`: a chatty container logs many
    /// lines a second, and only the fraction changes between them.
    static SECOND: std::cell::RefCell<(i64, String)> = const {
        std::cell::RefCell::new((i64::MIN, String::new()))
    };
}

/// Appends [`format_rfc3339_nano`] of `nanos` to `out`.
pub fn write_rfc3339_nano(nanos: i64, out: &mut Vec<u8>) {
    let (secs, frac) = (
        nanos.div_euclid(1_000_000_000),
        nanos.rem_euclid(1_000_000_000),
    );
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let t = DateTime::<Utc>::from_timestamp_nanos(nanos);
            *cached = (secs, t.format("%Y-%m-%dT%H:%M:%S").to_string());
        }
        out.extend_from_slice(cached.1.as_bytes());
    });
    if frac != 0 {
        let mut digits = [b'0'; 9];
        let mut f = frac;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (f % 10) as u8;
            f /= 10;
        }
        let len = 9 - digits.iter().rev().take_while(|&&d| d == b'0').count();
        out.push(b'.');
        out.extend_from_slice(&digits[..len]);
    }
    out.push(b'Z');
}

/// Docker's `RFC3339NanoFixed` (nine fraction digits, always): how `logs --timestamps` prints
/// a record's time (the file holds [`format_rfc3339_nano`]'s trimmed form).
pub fn format_rfc3339_nano_fixed(nanos: i64) -> String {
    DateTime::<Utc>::from_timestamp_nanos(nanos)
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
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
        // The cached second is not reused for another one.
        assert_eq!(
            format_rfc3339_nano(2_000_000_010),
            "1970-01-01T00:00:02.00000001Z"
        );
        assert_eq!(format_rfc3339_nano(3_100_000_000), "1970-01-01T00:00:03.1Z");
        assert_eq!(format_rfc3339_nano(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(
            format_rfc3339_nano_fixed(1_500_000_000),
            "1970-01-01T00:00:01.500000000Z"
        );
    }
}
