//! The `filters` query parameter: `{"key":{"value":true}}`, as docker's CLI sends it.

use std::collections::BTreeMap;

/// Filters by key, each with its values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters(BTreeMap<String, BTreeMap<String, bool>>);

impl Filters {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` under `key`.
    pub fn add(&mut self, key: &str, value: &str) {
        self.0
            .entry(key.to_string())
            .or_default()
            .insert(value.to_string(), true);
    }

    /// Parses `--filter key=value` flags (keys lowercased, both sides trimmed).
    pub fn from_flags<S: AsRef<str>>(flags: &[S]) -> Result<Self, String> {
        let mut f = Self::new();
        for flag in flags {
            let Some((k, v)) = flag.as_ref().split_once('=') else {
                return Err("bad format of filter (expected name=value)".into());
            };
            f.add(&k.trim().to_lowercase(), v.trim());
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parameter's value.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_docker() {
        let f = Filters::from_flags(&["status=running", "label=a=b"]).unwrap();
        assert_eq!(
            f.to_json(),
            r#"{"label":{"a=b":true},"status":{"running":true}}"#
        );
        assert!(Filters::from_flags(&["nope"]).is_err());
        assert!(Filters::from_flags::<&str>(&[]).unwrap().is_empty());
    }
}
