//! Query strings and path segments, escaped as Go's `net/url` escapes them.

/// Query parameters, encoded like Go's `url.Values.Encode`: keys sorted, values escaped.
#[derive(Debug, Default, Clone)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.push((key.to_string(), value.into()));
        self
    }

    /// Sets `key` only when `cond` holds (docker omits unset options).
    pub fn set_if(self, cond: bool, key: &str, value: impl Into<String>) -> Self {
        if cond {
            self.set(key, value)
        } else {
            self
        }
    }

    /// Sets `key` when `value` is given.
    pub fn set_opt(self, key: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.set(key, v),
            None => self,
        }
    }

    pub fn encode(&self) -> String {
        let mut pairs: Vec<&(String, String)> = self.0.iter().collect();
        // A stable sort keeps repeated keys in insertion order, as Go does.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Escapes what cannot appear in a path segment; names are sent as typed (docker does not
/// escape `:` or `/` in image names either).
pub fn path_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && !matches!(b, b'%' | b'?' | b'#') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_sorted_and_escaped_like_go() {
        let q = Query::new()
            .set("stream", "1")
            .set("stdout", "1")
            .set("stderr", "1")
            .set("stdin", "1");
        assert_eq!(q.encode(), "stderr=1&stdin=1&stdout=1&stream=1");
        let q = Query::new()
            .set("tag", "1")
            .set("repo", "127.0.0.1:5077/bb");
        assert_eq!(q.encode(), "repo=127.0.0.1%3A5077%2Fbb&tag=1");
        assert_eq!(query_escape("a b&c"), "a+b%26c");
        let q = Query::new()
            .set("changes", "b")
            .set("a", "1")
            .set("changes", "a");
        assert_eq!(q.encode(), "a=1&changes=b&changes=a");
    }

    #[test]
    fn path_escaping_keeps_names() {
        assert_eq!(path_escape("127.0.0.1:5077/bb:1"), "127.0.0.1:5077/bb:1");
        assert_eq!(path_escape("a b"), "a%20b");
    }
}
