//! The times the shim records (exits, health probes), as Docker formats them.

/// RFC 3339 with nanoseconds in UTC, the way Docker stamps exit times and probe results.
pub fn now_rfc3339_nanos() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.9fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        let t = now_rfc3339_nanos();
        assert_eq!(t.len(), "2026-11-23T15:51:14.123456789Z".len());
        assert!(t.ends_with('Z'));
        assert!(chrono::DateTime::parse_from_rfc3339(&t).is_ok());
    }
}
