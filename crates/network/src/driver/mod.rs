//! The seam between the engine and the network stack.
//!
//! Vocabulary and lifecycle: a *network* is created once ([`NetworkDriver::create_network`],
//! again at every daemon start: it is idempotent) and deleted once. An *endpoint* is one
//! container's place on one network: its addresses come from [`crate::ipam::Ipam`], then
//! [`NetworkDriver::attach`] wires it into the container's network namespace (the caller
//! hands over a [`Netns`] handle, `/proc/<pid>/ns/net` of the container's init) and returns
//! what was made. [`NetworkDriver::restore`] re-applies an endpoint's host-side state after
//! a daemon restart (the links survived, the firewall did not), and
//! [`NetworkDriver::detach`] undoes an endpoint, going on past failures.
//!
//! One named driver per mode, no `if mode == ...` checks: `none`, `host`, `bridge`,
//! `macvlan`, `ipvlan`. `container:<name>` is not a driver: the engine starts the
//! container in the other container's namespace and attaches nothing.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ipam::Subnet;
use crate::netns::Netns;
use crate::ports::PortMapping;

pub mod bridge;
pub mod fake;
pub mod host;
pub mod none;
pub mod vlan;

pub use bridge::{BridgeDriver, DefaultBridge};
pub use fake::FakeDriver;
pub use host::HostDriver;
pub use none::NoneDriver;
pub use vlan::VlanDriver;

/// A network as its driver sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub driver: String,
    /// As completed by IPAM: every gateway is set.
    pub subnets: Vec<Subnet>,
    /// No traffic beyond the network, and no default route (`--internal`).
    pub internal: bool,
    /// Docker's driver options (`-o`), e.g. `com.docker.network.bridge.name`, `parent`.
    pub options: BTreeMap<String, String>,
}

impl Network {
    /// The gateway of the first subnet of each address family.
    pub fn gateways(&self) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = Vec::new();
        for gw in self.subnets.iter().filter_map(|s| s.gateway) {
            if !out.iter().any(|g| g.is_ipv4() == gw.is_ipv4()) {
                out.push(gw);
            }
        }
        out
    }

    pub(crate) fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    pub(crate) fn bool_option(&self, key: &str, default: bool) -> Result<bool> {
        match self.option(key) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                Error::InvalidArgument(format!("invalid value {v:?} for option {key}: not a bool"))
            }),
        }
    }

    pub(crate) fn mtu(&self) -> Result<Option<u32>> {
        match self.option("com.docker.network.driver.mtu") {
            None | Some("") => Ok(None),
            Some(v) => match v.parse::<u32>() {
                Ok(m) if (68..=65535).contains(&m) => Ok(Some(m)),
                _ => Err(Error::InvalidArgument(format!("invalid MTU {v:?}"))),
            },
        }
    }
}

/// One container's place on one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub container_id: String,
    /// The interface name inside the container: `eth0`, `eth1`...
    pub ifname: String,
    /// From IPAM, one per address family of the network.
    pub addresses: Vec<IpNet>,
    /// A MAC address asked for (`--mac-address`); the kernel picks one otherwise.
    pub mac: Option<[u8; 6]>,
    /// Ports to publish. For `restore` and `detach`, the concrete ones `attach` returned.
    pub ports: Vec<PortMapping>,
}

/// What `attach` made: the engine records it (inspect, and `restore`/`detach` later).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The host side of the link, if there is one (a bridge's veth).
    pub host_ifname: Option<String>,
    pub mac: Option<[u8; 6]>,
    pub addresses: Vec<IpNet>,
    pub gateways: Vec<IpAddr>,
    /// The published ports with their host ports decided.
    pub ports: Vec<PortMapping>,
}

/// A network driver. See the module documentation for the lifecycle.
#[async_trait]
pub trait NetworkDriver: Send + Sync {
    /// The name networks give in their `driver` field.
    fn name(&self) -> &'static str;
    /// Checks a network's options before anything is made.
    fn validate(&self, net: &Network) -> Result<()>;
    /// Makes the host side of a network; idempotent.
    async fn create_network(&self, net: &Network) -> Result<()>;
    /// Removes the host side of a network, going on past failures.
    async fn delete_network(&self, net: &Network) -> Result<()>;
    /// Wires an endpoint into the container's namespace `ns`.
    async fn attach(&self, net: &Network, ep: &Endpoint, ns: &Netns) -> Result<Attachment>;
    /// Re-applies an attached endpoint's host-side state (firewall) after a daemon restart.
    async fn restore(&self, net: &Network, ep: &Endpoint) -> Result<()>;
    /// Undoes an endpoint. `ns` is the container's namespace if it still exists.
    async fn detach(&self, net: &Network, ep: &Endpoint, ns: Option<&Netns>) -> Result<()>;
}

/// The drivers a daemon has, by name.
#[derive(Default, Clone)]
pub struct Drivers {
    map: BTreeMap<&'static str, Arc<dyn NetworkDriver>>,
}

impl Drivers {
    /// The standard set: `none`, `host`, `bridge` (with `firewall`), `macvlan`, `ipvlan`,
    /// with the host side in `host_ns` (the daemon's own namespace when `None`).
    pub fn standard(host_ns: Option<Netns>, firewall: Arc<dyn crate::firewall::Firewall>) -> Self {
        Drivers::default()
            .with(Arc::new(NoneDriver))
            .with(Arc::new(HostDriver))
            .with(Arc::new(BridgeDriver::new(host_ns.clone(), firewall)))
            .with(Arc::new(VlanDriver::macvlan(host_ns.clone())))
            .with(Arc::new(VlanDriver::ipvlan(host_ns)))
    }

    /// Adds (or replaces) a driver.
    pub fn with(mut self, driver: Arc<dyn NetworkDriver>) -> Self {
        self.map.insert(driver.name(), driver);
        self
    }

    /// The driver called `name`.
    pub fn get(&self, name: &str) -> Result<Arc<dyn NetworkDriver>> {
        self.map
            .get(name)
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("plugin \"{name}\" not found")))
    }
}

/// A short, stable name part for an endpoint, so host-side links can be found again after a
/// restart without any state: 12 hex digits of a hash of the network and container ids.
pub(crate) fn endpoint_tag(net: &Network, ep: &Endpoint) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{}/{}", net.id, ep.container_id));
    hex::encode(&digest[..6])
}

/// The firewall's key for an endpoint's rules.
pub(crate) fn endpoint_key(net: &Network, ep: &Endpoint) -> String {
    format!("{}/{}", short(&net.id), short(&ep.container_id))
}

pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Brings `lo` up in `ns` without blocking the async caller.
pub(crate) async fn loopback_up(ns: &Netns) -> Result<()> {
    let ns = ns.clone();
    tokio::task::spawn_blocking(move || crate::netns::loopback_up(&ns))
        .await
        .map_err(|e| Error::io("bring lo up", std::io::Error::other(e)))?
}
