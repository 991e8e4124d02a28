//! Docker's `api/types/time`: the `since`/`until` values of logs, events and prune filters,
//! given as Go durations relative to now, dates or unix timestamps.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A value that is neither a time nor a duration, in Docker's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimeError(pub String);

/// docker's `timetypes.GetTimestamp`: a Go duration ("42m") is relative to now; RFC 3339 and
/// shorter date forms are absolute (local time without a zone); unix seconds pass through.
pub fn get_timestamp(value: &str, now: DateTime<Utc>) -> Result<String, TimeError> {
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
        return Err(TimeError(format!(
            "parsing time {value:?}: cannot parse as a timestamp"
        )));
    }
    let (secs, frac) = value.split_once('.').unwrap_or((value, "0"));
    if secs.parse::<i64>().is_err() || frac.parse::<u64>().is_err() {
        return Err(TimeError(format!(
            "failed to parse value as time or duration: {value:?}"
        )));
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

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T15:40:00Z")
            .unwrap()
            .with_timezone(&Utc)
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
