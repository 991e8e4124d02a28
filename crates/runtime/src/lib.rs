//! berth-runtime: what the engine needs to run a container like Docker does.
//!
//! - [`spec`]: OCI runtime spec generation with Docker's defaults
//!   ([`spec::build_spec`], [`spec::exec_process`]).
//! - [`seccomp`]: Docker-format seccomp profiles resolved to OCI seccomp.
//! - [`bundle`]: writing `config.json` into a bundle directory.
//! - [`cgroups`]: pause/unpause, process lists, `docker stats` numbers and
//!   OOM detection on cgroup v1, v2 and hybrid hosts.

pub mod bundle;
pub mod cgroups;
pub mod seccomp;
pub mod spec;

pub use bundle::write_bundle;
pub use spec::{build_spec, exec_process, SpecError, SpecInput};
