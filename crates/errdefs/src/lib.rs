//! berth-errdefs: the few classes of failure a client can tell apart, as containerd's and
//! Docker's errdefs. Each library keeps its own error types and says which class an error
//! is; only the daemon maps a class to an HTTP status (`crates/daemon/src/routes/mod.rs`).

/// The class of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: an option, a reference, a subnet, a malformed archive (400).
    InvalidArgument,
    /// What was asked for does not exist: a container, an image, a network, a driver (404).
    NotFound,
    /// Clashes with what exists or its state: a name in use, an overlapping subnet (409).
    Conflict,
    /// Made before and made again: a blob or snapshot that exists (409).
    AlreadyExists,
    /// The request changed nothing, as starting a running container (304).
    NotModified,
    /// The host lacks something the request needs: a kernel feature, a tool (503).
    Unavailable,
    /// Anything else: I/O, the metadata store, a kernel call that failed (500).
    Internal,
}

/// Quotes `s` as Go's `%q` (`strconv.Quote`) does: Docker's messages quote names so, and
/// clients and scripts match on them.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
