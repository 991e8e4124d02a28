//! Docker Engine API wire types, shared by the daemon and its tests.
//!
//! Field names follow the Engine API (`../shared/spec/engine-api.swagger.yaml`). Docker's Go
//! clients send `null` for empty lists and maps and accept it back, so optional collections are
//! `Option`s, and plain numbers and flags accept `null` as zero (see [`nullable`]).

pub mod container;
pub mod error;
pub mod event;
pub mod exec;
pub mod image;
pub mod nullable;
pub mod system;

/// The newest Engine API version this daemon speaks.
pub const API_VERSION: &str = "1.47";
/// The oldest Engine API version this daemon accepts.
pub const MIN_API_VERSION: &str = "1.24";
