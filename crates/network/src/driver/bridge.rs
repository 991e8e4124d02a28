//! The `bridge` driver: a Linux bridge per network holding the gateway addresses, a veth
//! pair per endpoint (the peer moved into the container and renamed), and the firewall for
//! egress, isolation and published ports. `icc=false` makes every endpoint's bridge port
//! isolated: the bridge itself then drops container-to-container frames, while the gateway
//! and published ports stay reachable.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{
    endpoint_key, endpoint_tag, loopback_up, short, Attachment, Endpoint, Network, NetworkDriver,
};
use crate::error::{with_rollback, Error, Errors, Result};
use crate::firewall::{Firewall, FwNetwork, FwPort};
use crate::ipam::{AddressPool, Ipam, Subnet};
use crate::netlink::Netlink;
use crate::netns::{run_in, sysctl, Netns};
use crate::ports::{port_is_free, HostPorts, PortMapping};

const OPT_NAME: &str = "com.docker.network.bridge.name";
const OPT_MTU: &str = "com.docker.network.driver.mtu";
const OPT_ICC: &str = "com.docker.network.bridge.enable_icc";
const OPT_MASQ: &str = "com.docker.network.bridge.enable_ip_masquerade";

/// The bridge driver, with the host side in `host_ns` (the daemon's own when `None`).
pub struct BridgeDriver {
    host_ns: Option<Netns>,
    firewall: Arc<dyn Firewall>,
    ports: Arc<Mutex<HostPorts>>,
    ip_forward: bool,
}

/// A bridge network's options, parsed.
struct Options {
    bridge: String,
    icc: bool,
    masquerade: bool,
    mtu: Option<u32>,
}

impl BridgeDriver {
    pub fn new(host_ns: Option<Netns>, firewall: Arc<dyn Firewall>) -> Self {
        BridgeDriver {
            host_ns,
            firewall,
            ports: Arc::default(),
            ip_forward: true,
        }
    }

    /// Whether to turn on IP forwarding in the host namespace (dockerd's `--ip-forward`).
    pub fn ip_forward(mut self, on: bool) -> Self {
        self.ip_forward = on;
        self
    }

    /// The bridge's interface name for a network.
    pub fn bridge_name(net: &Network) -> String {
        match net.option(OPT_NAME) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => format!("br-{}", short(&net.id)),
        }
    }

    fn options(net: &Network) -> Result<Options> {
        let bridge = Self::bridge_name(net);
        if bridge.len() >= libc::IFNAMSIZ || bridge.contains(['/', ' ']) {
            return Err(Error::InvalidArgument(format!(
                "invalid bridge name {bridge:?}"
            )));
        }
        if net.subnets.is_empty() {
            return Err(Error::InvalidArgument(
                "a bridge network needs a subnet".into(),
            ));
        }
        Ok(Options {
            bridge,
            icc: net.bool_option(OPT_ICC, true)?,
            masquerade: net.bool_option(OPT_MASQ, true)?,
            mtu: net.mtu()?,
        })
    }

    fn fw_network(net: &Network, o: &Options) -> FwNetwork {
        FwNetwork {
            bridge: o.bridge.clone(),
            subnets: net.subnets.iter().map(|s| s.subnet).collect(),
            internal: net.internal,
            masquerade: o.masquerade,
        }
    }

    /// Runs a blocking firewall call off the async threads.
    async fn firewall<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Firewall) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let fw = self.firewall.clone();
        tokio::task::spawn_blocking(move || f(fw.as_ref()))
            .await
            .map_err(|e| Error::io("firewall task", std::io::Error::other(e)))?
    }

    async fn setup_bridge(&self, net: &Network, o: &Options) -> Result<()> {
        let nl = Netlink::open(self.host_ns.as_ref()).await?;
        let index = nl.ensure_bridge(&o.bridge, o.mtu).await?;
        for s in &net.subnets {
            if let Some(gw) = s.gateway {
                let addr = ipnet::IpNet::new(gw, s.subnet.prefix_len())
                    .map_err(|e| Error::InvalidArgument(format!("gateway {gw}: {e}")))?;
                nl.add_address(index, addr).await?;
            }
        }
        let ns = self.host_ns.clone();
        let (bridge, v6) = (
            o.bridge.clone(),
            net.subnets.iter().any(|s| s.subnet.addr().is_ipv6()),
        );
        let forward = self.ip_forward && !net.internal;
        tokio::task::spawn_blocking(move || {
            // Published ports answer on 127.0.0.1: DNAT to the bridge needs this.
            sysctl(
                ns.as_ref(),
                &format!("net/ipv4/conf/{bridge}/route_localnet"),
                "1",
            )?;
            if forward {
                sysctl(ns.as_ref(), "net/ipv4/ip_forward", "1")?;
                if v6 {
                    sysctl(ns.as_ref(), "net/ipv6/conf/all/forwarding", "1")?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|e| Error::io("sysctl task", std::io::Error::other(e)))?
    }

    /// Decides and takes the host ports of an endpoint (trying them in the host namespace).
    async fn take_ports(&self, ports: &[PortMapping]) -> Result<Vec<PortMapping>> {
        let (table, ns, ports) = (self.ports.clone(), self.host_ns.clone(), ports.to_vec());
        tokio::task::spawn_blocking(move || {
            let free = |m: &PortMapping| {
                let m = *m;
                run_in(ns.as_ref(), move || Ok(port_is_free(&m))).unwrap_or(false)
            };
            table
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take(&ports, &free)
        })
        .await
        .map_err(|e| Error::io("port task", std::io::Error::other(e)))?
    }

    fn release_ports(&self, ports: &[PortMapping]) {
        self.ports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .release(ports);
    }

    /// The veth and the container's side of an endpoint; returns the MAC.
    async fn wire(
        &self,
        net: &Network,
        ep: &Endpoint,
        ns: &Netns,
        o: &Options,
        host: &str,
        peer: &str,
    ) -> Result<Option<[u8; 6]>> {
        let nl = Netlink::open(self.host_ns.as_ref()).await?;
        let master = match nl.link(&o.bridge).await? {
            Some(l) => l.header.index,
            None => {
                return Err(Error::NotFound(format!(
                    "the bridge {} of network {} does not exist",
                    o.bridge, net.name
                )))
            }
        };
        nl.add_veth(host, peer, master, o.mtu).await?;
        nl.set_port_flags(host, !o.icc).await?;
        nl.move_to(peer, ns).await?;
        let inner = Netlink::open(Some(ns)).await?;
        let index = inner
            .configure(peer, &ep.ifname, ep.mac, &ep.addresses)
            .await?;
        if !net.internal {
            for gw in net.gateways() {
                inner.add_default_route(index, gw).await?;
            }
        }
        inner.mac(&ep.ifname).await
    }

    fn fw_ports(ep: &Endpoint, ports: &[PortMapping]) -> Vec<FwPort> {
        ports
            .iter()
            .flat_map(|m| {
                ep.addresses.iter().map(move |a| FwPort {
                    mapping: *m,
                    container_ip: a.addr(),
                })
            })
            .collect()
    }

    async fn publish(&self, net: &Network, ep: &Endpoint) -> Result<Vec<PortMapping>> {
        // Docker publishes nothing for a container on an internal network.
        if net.internal || ep.ports.is_empty() {
            return Ok(Vec::new());
        }
        let ports = self.take_ports(&ep.ports).await?;
        let (key, rules) = (endpoint_key(net, ep), Self::fw_ports(ep, &ports));
        if let Err(e) = self.firewall(move |fw| fw.add_ports(&key, &rules)).await {
            self.release_ports(&ports);
            return Err(e);
        }
        Ok(ports)
    }

    /// Removes what attach made on the host side, going on past failures.
    async fn unwire(&self, net: &Network, ep: &Endpoint, host: &str) -> Result<()> {
        let mut errs = Errors::default();
        let key = endpoint_key(net, ep);
        errs.push(self.firewall(move |fw| fw.remove_ports(&key)).await);
        match Netlink::open(self.host_ns.as_ref()).await {
            Ok(nl) => {
                errs.push(nl.delete(host).await);
            }
            Err(e) => {
                errs.push::<()>(Err(e));
            }
        }
        errs.into_result()
    }
}

/// The daemon's settings for its default network `bridge` (dockerd's `--bridge`, `--bip`,
/// `--fixed-cidr`, `--mtu`, `--icc`). Settable so test daemons do not collide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultBridge {
    /// The bridge's interface name (`berth0`).
    pub name: String,
    /// The bridge's address and prefix (`--bip 10.1.0.1/24`): the gateway and the subnet.
    pub bip: Option<ipnet::IpNet>,
    /// Where containers' addresses come from (`--fixed-cidr`), inside the subnet.
    pub fixed_cidr: Option<ipnet::IpNet>,
    pub mtu: Option<u32>,
    pub icc: bool,
}

impl Default for DefaultBridge {
    fn default() -> Self {
        DefaultBridge {
            name: "berth0".into(),
            bip: None,
            fixed_cidr: None,
            mtu: None,
            icc: true,
        }
    }
}

impl DefaultBridge {
    /// The `bridge` network (id `id`), its subnet registered in `ipam`: the one of `bip`,
    /// else the first free one of `pools` (`default-address-pools`).
    pub fn register(&self, id: &str, ipam: &mut Ipam, pools: &[AddressPool]) -> Result<Network> {
        let subnet = Subnet {
            subnet: match self.bip {
                Some(b) => b.trunc(),
                None => ipam.free_subnet(pools)?,
            },
            gateway: self.bip.map(|b| b.addr()),
            ip_range: self.fixed_cidr,
        };
        let subnets = ipam.add_network(id, &[subnet])?;
        let mut options = std::collections::BTreeMap::new();
        options.insert(OPT_NAME.to_string(), self.name.clone());
        options.insert(OPT_ICC.to_string(), self.icc.to_string());
        if let Some(mtu) = self.mtu {
            options.insert(OPT_MTU.to_string(), mtu.to_string());
        }
        let net = Network {
            id: id.to_string(),
            name: "bridge".into(),
            driver: "bridge".into(),
            subnets,
            internal: false,
            options,
        };
        if let Err(e) = BridgeDriver::options(&net) {
            ipam.remove_network(id);
            return Err(e);
        }
        Ok(net)
    }
}

fn host_names(net: &Network, ep: &Endpoint) -> (String, String) {
    let tag = endpoint_tag(net, ep);
    (format!("vb{tag}"), format!("vc{tag}"))
}

#[async_trait]
impl NetworkDriver for BridgeDriver {
    fn name(&self) -> &'static str {
        "bridge"
    }

    fn validate(&self, net: &Network) -> Result<()> {
        Self::options(net).map(|_| ())
    }

    async fn create_network(&self, net: &Network) -> Result<()> {
        let o = Self::options(net)?;
        let existed = Netlink::open(self.host_ns.as_ref())
            .await?
            .link(&o.bridge)
            .await?
            .is_some();
        let fw = Self::fw_network(net, &o);
        let result = match self.setup_bridge(net, &o).await {
            Ok(()) => self.firewall(move |f| f.add_network(&fw)).await,
            Err(e) => Err(e),
        };
        match result {
            Err(e) if !existed => Err(with_rollback(e, self.delete_network(net).await)),
            other => other,
        }
    }

    async fn delete_network(&self, net: &Network) -> Result<()> {
        let o = Self::options(net)?;
        let mut errs = Errors::default();
        let fw = Self::fw_network(net, &o);
        errs.push(self.firewall(move |f| f.remove_network(&fw)).await);
        match Netlink::open(self.host_ns.as_ref()).await {
            Ok(nl) => {
                errs.push(nl.delete(&o.bridge).await);
            }
            Err(e) => {
                errs.push::<()>(Err(e));
            }
        }
        errs.into_result()
    }

    async fn attach(&self, net: &Network, ep: &Endpoint, ns: &Netns) -> Result<Attachment> {
        let o = Self::options(net)?;
        let (host, peer) = host_names(net, ep);
        loopback_up(ns).await?;
        let made = async {
            let mac = self.wire(net, ep, ns, &o, &host, &peer).await?;
            let ports = self.publish(net, ep).await?;
            Ok(Attachment {
                host_ifname: Some(host.clone()),
                mac,
                addresses: ep.addresses.clone(),
                gateways: if net.internal {
                    Vec::new()
                } else {
                    net.gateways()
                },
                ports,
            })
        }
        .await;
        match made {
            Ok(a) => Ok(a),
            Err(e) => Err(with_rollback(e, self.unwire(net, ep, &host).await)),
        }
    }

    async fn restore(&self, net: &Network, ep: &Endpoint) -> Result<()> {
        if net.internal || ep.ports.is_empty() {
            return Ok(());
        }
        self.ports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .restore(&ep.ports);
        let (key, rules) = (endpoint_key(net, ep), Self::fw_ports(ep, &ep.ports));
        self.firewall(move |fw| fw.add_ports(&key, &rules)).await
    }

    async fn detach(&self, net: &Network, ep: &Endpoint, _ns: Option<&Netns>) -> Result<()> {
        let (host, _) = host_names(net, ep);
        self.release_ports(&ep.ports);
        self.unwire(net, ep, &host).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipam::default_address_pools;

    #[test]
    fn default_bridge_takes_bip_fixed_cidr_and_mtu() {
        let mut ipam = Ipam::default();
        let settings = DefaultBridge {
            name: "bt0".into(),
            bip: Some("10.77.0.1/16".parse().unwrap()),
            fixed_cidr: Some("10.77.5.0/24".parse().unwrap()),
            mtu: Some(1400),
            icc: false,
        };
        let net = settings
            .register("b", &mut ipam, &default_address_pools())
            .unwrap();
        assert_eq!(net.subnets[0].subnet.to_string(), "10.77.0.0/16");
        assert_eq!(net.subnets[0].gateway, Some("10.77.0.1".parse().unwrap()));
        assert_eq!(
            ipam.allocate("b", &[]).unwrap()[0].to_string(),
            "10.77.5.0/16"
        );
        let o = BridgeDriver::options(&net).unwrap();
        assert_eq!(
            (o.bridge.as_str(), o.icc, o.mtu),
            ("bt0", false, Some(1400))
        );
        // Without --bip: the first free default pool.
        let mut ipam = Ipam::default();
        let net = DefaultBridge::default()
            .register("b", &mut ipam, &default_address_pools())
            .unwrap();
        assert_eq!(net.subnets[0].subnet.to_string(), "172.17.0.0/16");
        assert_eq!(BridgeDriver::bridge_name(&net), "berth0");
        // A fixed-cidr outside the subnet, or a bad MTU, is refused and registers nothing.
        let mut ipam = Ipam::default();
        let bad = DefaultBridge {
            bip: Some("10.78.0.1/24".parse().unwrap()),
            fixed_cidr: Some("10.79.0.0/24".parse().unwrap()),
            ..DefaultBridge::default()
        };
        assert!(bad.register("b", &mut ipam, &[]).is_err());
        let bad = DefaultBridge {
            mtu: Some(10),
            ..DefaultBridge::default()
        };
        assert!(bad
            .register("b", &mut ipam, &default_address_pools())
            .is_err());
        assert!(ipam.network("b").is_none());
    }
}
