//! Image references live in `berth-reference` (shared with clients); re-exported here so the
//! image crate's users keep their paths.

pub use berth_reference::{split_tag, Reference, ReferenceError, DEFAULT_DOMAIN, DEFAULT_TAG};
