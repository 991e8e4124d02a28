//! The `macvlan` and `ipvlan` drivers: the endpoint is a child link of a parent interface of
//! the host (`-o parent=eth0`), moved into the container. Neither needs a bridge, NAT or
//! published ports: containers sit directly on the parent's network.

use async_trait::async_trait;
use netlink_packet_route::link::{IpVlanFlags, IpVlanMode, MacVlanMode};

use super::{endpoint_tag, loopback_up, Attachment, Endpoint, Network, NetworkDriver};
use crate::error::{with_rollback, Error, Errors, Result};
use crate::netlink::Netlink;
use crate::netns::Netns;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Macvlan,
    Ipvlan,
}

/// A macvlan or ipvlan driver, with the parent links in `host_ns` (the daemon's own when
/// `None`).
#[derive(Debug)]
pub struct VlanDriver {
    kind: Kind,
    host_ns: Option<Netns>,
}

/// How a child link is made, from the network's options.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Macvlan(MacVlanMode),
    Ipvlan(IpVlanMode, IpVlanFlags),
}

impl VlanDriver {
    pub fn macvlan(host_ns: Option<Netns>) -> Self {
        VlanDriver {
            kind: Kind::Macvlan,
            host_ns,
        }
    }

    pub fn ipvlan(host_ns: Option<Netns>) -> Self {
        VlanDriver {
            kind: Kind::Ipvlan,
            host_ns,
        }
    }

    fn parent(net: &Network) -> Result<&str> {
        match net.option("parent") {
            Some(p) if !p.is_empty() => Ok(p),
            _ => Err(Error::InvalidArgument(
                "the parent interface is required: -o parent=<interface>".into(),
            )),
        }
    }

    fn mode(&self, net: &Network) -> Result<Mode> {
        let bad = |k: &str, v: &str| Error::InvalidArgument(format!("invalid {k} {v:?}"));
        match self.kind {
            Kind::Macvlan => {
                let m = match net.option("macvlan_mode").unwrap_or("bridge") {
                    "" | "bridge" => MacVlanMode::Bridge,
                    "vepa" => MacVlanMode::Vepa,
                    "private" => MacVlanMode::Private,
                    "passthru" => MacVlanMode::Passthrough,
                    v => return Err(bad("macvlan_mode", v)),
                };
                Ok(Mode::Macvlan(m))
            }
            Kind::Ipvlan => {
                let m = match net.option("ipvlan_mode").unwrap_or("l2") {
                    "" | "l2" => IpVlanMode::L2,
                    "l3" => IpVlanMode::L3,
                    "l3s" => IpVlanMode::L3S,
                    v => return Err(bad("ipvlan_mode", v)),
                };
                let f = match net.option("ipvlan_flag").unwrap_or("bridge") {
                    "" | "bridge" => IpVlanFlags::empty(),
                    "private" => IpVlanFlags::Private,
                    "vepa" => IpVlanFlags::Vepa,
                    v => return Err(bad("ipvlan_flag", v)),
                };
                Ok(Mode::Ipvlan(m, f))
            }
        }
    }

    /// Whether the container routes through the gateway (L3 ipvlan routes by the device).
    fn routes_via_gateway(mode: Mode) -> bool {
        !matches!(mode, Mode::Ipvlan(IpVlanMode::L3 | IpVlanMode::L3S, _))
    }

    async fn wire(
        &self,
        net: &Network,
        ep: &Endpoint,
        ns: &Netns,
        tmp: &str,
    ) -> Result<Option<[u8; 6]>> {
        let mode = self.mode(net)?;
        let parent = Self::parent(net)?;
        let nl = Netlink::open(self.host_ns.as_ref()).await?;
        let parent_index = match nl.link(parent).await? {
            Some(l) => l.header.index,
            None => {
                return Err(Error::NotFound(format!(
                    "parent interface {parent} not found"
                )))
            }
        };
        match mode {
            Mode::Macvlan(m) => nl.add_macvlan(tmp, parent_index, m).await?,
            Mode::Ipvlan(m, f) => nl.add_ipvlan(tmp, parent_index, m, f).await?,
        }
        if let Err(e) = nl.move_to(tmp, ns).await {
            return Err(with_rollback(e, nl.delete(tmp).await.map(|_| ())));
        }
        let inner = Netlink::open(Some(ns)).await?;
        let mac = if self.kind == Kind::Macvlan {
            ep.mac
        } else {
            None
        };
        let index = inner.configure(tmp, &ep.ifname, mac, &ep.addresses).await?;
        if !net.internal {
            for gw in net.gateways() {
                if Self::routes_via_gateway(mode) {
                    inner.add_default_route(index, gw).await?;
                } else {
                    inner.add_default_dev_route(index, gw.is_ipv6()).await?;
                }
            }
        }
        inner.mac(&ep.ifname).await
    }

    /// Deletes the endpoint's link wherever it got to.
    async fn unwire(&self, ep: &Endpoint, ns: Option<&Netns>, tmp: &str) -> Result<()> {
        let mut errs = Errors::default();
        if let Some(ns) = ns {
            match Netlink::open(Some(ns)).await {
                Ok(inner) => {
                    errs.push(inner.delete(tmp).await);
                    errs.push(inner.delete(&ep.ifname).await);
                }
                Err(e) => {
                    errs.push::<()>(Err(e));
                }
            }
        }
        errs.into_result()
    }
}

#[async_trait]
impl NetworkDriver for VlanDriver {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Macvlan => "macvlan",
            Kind::Ipvlan => "ipvlan",
        }
    }

    fn validate(&self, net: &Network) -> Result<()> {
        Self::parent(net)?;
        self.mode(net)?;
        net.mtu().map(|_| ())
    }

    async fn create_network(&self, net: &Network) -> Result<()> {
        self.validate(net)?;
        let parent = Self::parent(net)?;
        let nl = Netlink::open(self.host_ns.as_ref()).await?;
        if nl.link(parent).await?.is_none() {
            return Err(Error::NotFound(format!(
                "parent interface {parent} not found"
            )));
        }
        Ok(())
    }

    async fn delete_network(&self, _: &Network) -> Result<()> {
        Ok(())
    }

    async fn attach(&self, net: &Network, ep: &Endpoint, ns: &Netns) -> Result<Attachment> {
        loopback_up(ns).await?;
        let tmp = format!("mv{}", endpoint_tag(net, ep));
        match self.wire(net, ep, ns, &tmp).await {
            Ok(mac) => Ok(Attachment {
                host_ifname: None,
                mac,
                addresses: ep.addresses.clone(),
                gateways: if net.internal {
                    Vec::new()
                } else {
                    net.gateways()
                },
                ports: Vec::new(),
            }),
            Err(e) => Err(with_rollback(e, self.unwire(ep, Some(ns), &tmp).await)),
        }
    }

    async fn restore(&self, _: &Network, _: &Endpoint) -> Result<()> {
        Ok(())
    }

    async fn detach(&self, net: &Network, ep: &Endpoint, ns: Option<&Netns>) -> Result<()> {
        let tmp = format!("mv{}", endpoint_tag(net, ep));
        self.unwire(ep, ns, &tmp).await
    }
}
