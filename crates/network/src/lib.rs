//! berth's network stack, as a library that knows nothing of containers' other parts.
//! See `docs/network.md` for the lifecycle the engine follows.

pub mod dns;
pub mod driver;
pub mod error;
pub mod etc;
pub mod firewall;
pub mod ipam;
pub mod mode;
pub(crate) mod netlink;
pub mod netns;
pub mod ports;

pub use error::{Error, ErrorKind, Result};
pub use mode::NetworkMode;
pub use netns::Netns;
