//! Docker Engine API wire types: every request and response body berth's daemon and clients
//! exchange, as typed structs.
//!
//! Field names and `omitempty` rules follow moby's Go types (`api/types`) and the Engine API
//! (`../shared/spec/engine-api.swagger.yaml`). Decoding is as lenient as Go's: `null` and
//! missing fields read as zero values (see [`nullable`]), unknown fields are ignored (or kept,
//! for the container configs the daemon stores and gives back).

pub mod auth;
pub mod container;
pub mod detach_keys;
pub mod error;
pub mod event;
pub mod exec;
pub mod filters;
pub mod image;
pub mod nullable;
pub mod progress;
pub mod stats;
pub mod system;
pub mod timetypes;
pub mod units;

/// The newest Engine API version berth speaks.
pub const API_VERSION: &str = "1.47";
/// The oldest Engine API version the daemon accepts.
pub const MIN_API_VERSION: &str = "1.24";

/// `"1.41"` → `(1, 41)`.
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The version a client uses with a daemon announcing `server`: the lower of the two, ours
/// when the daemon's cannot be read.
pub fn negotiate(server: &str) -> String {
    match (parse_version(server), parse_version(API_VERSION)) {
        (Some(s), Some(m)) if s < m => server.to_string(),
        _ => API_VERSION.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_negotiation_takes_the_lower() {
        assert_eq!(negotiate("1.41"), "1.41");
        assert_eq!(negotiate("1.50"), "1.47");
        assert_eq!(negotiate("1.47"), "1.47");
        assert_eq!(negotiate("garbage"), "1.47");
        assert_eq!(parse_version("1.9"), Some((1, 9)));
    }
}
