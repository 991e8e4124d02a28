//! The engine's own model: what it keeps about containers, in its own types. The daemon
//! converts them to and from the Engine API's wire types (`crates/daemon/src/convert/`).

pub mod state;

pub use state::{ContainerStatus, Event, State, TransitionError};
pub mod config;

pub use config::{ContainerConfig, HostConfig, LogConfig, NetworkMode, RestartPolicy};
pub mod exec;

pub use exec::{ExecDetails, ExecSpec, ExecStart};
pub mod update;

pub use update::ResourceUpdate;
