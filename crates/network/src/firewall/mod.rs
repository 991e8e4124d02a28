//! The firewall a bridge network needs: egress masquerade, isolation between networks,
//! `--internal`, and published ports as in-kernel DNAT. One trait, two backends: nftables
//! in berth's own table ([`nft::Nftables`]) and none ([`none::NoFirewall`], for a daemon run
//! with its firewall off). Calls block (they run `nft`): call them off the async threads.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::Result;
use crate::ports::PortMapping;

pub mod nft;
pub mod none;

pub use nft::Nftables;
pub use none::NoFirewall;

/// What the firewall needs to know of a bridge network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwNetwork {
    /// The bridge's interface name: it identifies the network's rules.
    pub bridge: String,
    pub subnets: Vec<IpNet>,
    /// No traffic in or out of the bridge (`--internal`).
    pub internal: bool,
    /// Masquerade traffic leaving the bridge (Docker's `enable_ip_masquerade`).
    pub masquerade: bool,
}

/// One published port of one container address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FwPort {
    /// A concrete mapping (its host port decided).
    pub mapping: PortMapping,
    pub container_ip: IpAddr,
}

/// A firewall backend. Each method is idempotent, so the daemon can apply its state again.
pub trait Firewall: Send + Sync {
    /// Starts from a clean state: whatever a crashed daemon left is removed.
    fn init(&self) -> Result<()>;
    /// Sets up (or sets up again) the rules of one network.
    fn add_network(&self, net: &FwNetwork) -> Result<()>;
    /// Removes the rules of one network.
    fn remove_network(&self, net: &FwNetwork) -> Result<()>;
    /// Publishes the ports of one endpoint (`endpoint` is a key of the caller's), replacing
    /// any it had.
    fn add_ports(&self, endpoint: &str, ports: &[FwPort]) -> Result<()>;
    /// Removes the published ports of one endpoint.
    fn remove_ports(&self, endpoint: &str) -> Result<()>;
    /// Removes everything this firewall made (the daemon stops).
    fn remove_all(&self) -> Result<()>;
}
