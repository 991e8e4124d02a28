//! Links, addresses and routes over rtnetlink, in one network namespace. The socket is
//! opened on a thread that entered the namespace (a netlink socket acts in the namespace it
//! was created in) and then served from the caller's tokio runtime.

use std::net::IpAddr;
use std::os::fd::{FromRawFd, IntoRawFd};

use futures_util::TryStreamExt;
use ipnet::IpNet;
use netlink_packet_route::address::{AddressAttribute, AddressFlags};
use netlink_packet_route::link::{
    IpVlanFlags, IpVlanMode, LinkAttribute, LinkMessage, MacVlanMode,
};
use netlink_packet_route::route::RouteScope;
use rtnetlink::{
    LinkBridge, LinkBridgePort, LinkIpVlan, LinkMacVlan, LinkUnspec, LinkVeth, RouteMessageBuilder,
};

use crate::error::{Error, Result};
use crate::netns::{run_in_async, Netns};

const EEXIST: i32 = libc::EEXIST;
const ENODEV: i32 = libc::ENODEV;

/// A route netlink connection into one namespace. Dropping it ends the connection task.
pub(crate) struct Netlink {
    handle: rtnetlink::Handle,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Netlink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Netlink {
    /// Connects to `ns`, or to the caller's namespace when `None`.
    pub(crate) async fn open(ns: Option<&Netns>) -> Result<Self> {
        let fd = run_in_async(ns, || {
            let sock = netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_ROUTE)?;
            Ok(sock.into_raw_fd())
        })
        .await
        .map_err(|e| Error::io("open a netlink socket", e))?;
        // SAFETY: `fd` is the netlink socket just created and owned by nothing else.
        let sock = unsafe { netlink_sys::TokioSocket::from_raw_fd(fd) };
        let (conn, handle, _) = rtnetlink::from_socket(sock);
        Ok(Netlink {
            handle,
            task: tokio::spawn(conn),
        })
    }

    /// The link named `name`, if there is one.
    pub(crate) async fn link(&self, name: &str) -> Result<Option<LinkMessage>> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_string())
            .execute();
        match links.try_next().await {
            Ok(link) => Ok(link),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(None),
            Err(e) => Err(Error::netlink(format!("look up link {name}"), e)),
        }
    }

    /// The index of the link named `name`, which must exist.
    pub(crate) async fn index(&self, name: &str) -> Result<u32> {
        match self.link(name).await? {
            Some(l) => Ok(l.header.index),
            None => Err(Error::NotFound(format!("no link named {name}"))),
        }
    }

    /// Creates bridge `name` unless it exists, sets its MTU, and brings it up.
    pub(crate) async fn ensure_bridge(&self, name: &str, mtu: Option<u32>) -> Result<u32> {
        if self.link(name).await?.is_none() {
            let mut msg = LinkBridge::new(name);
            if let Some(mtu) = mtu {
                msg = msg.mtu(mtu);
            }
            match self.handle.link().add(msg.build()).execute().await {
                Err(e) if errno(&e) != Some(EEXIST) => {
                    return Err(Error::netlink(format!("create bridge {name}"), e))
                }
                _ => {}
            }
        }
        let index = self.index(name).await?;
        let mut msg = LinkUnspec::new_with_index(index).up();
        if let Some(mtu) = mtu {
            msg = msg.mtu(mtu);
        }
        self.set(msg.build(), &format!("bring bridge {name} up"))
            .await?;
        Ok(index)
    }

    /// Adds `addr` to link `index`; an address already there is fine. No duplicate address
    /// detection: an IPv6 address must work at once.
    pub(crate) async fn add_address(&self, index: u32, addr: IpNet) -> Result<()> {
        let mut req = self
            .handle
            .address()
            .add(index, addr.addr(), addr.prefix_len());
        if addr.addr().is_ipv6() {
            req.message_mut()
                .attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        match req.execute().await {
            Err(e) if errno(&e) != Some(EEXIST) => {
                Err(Error::netlink(format!("add address {addr}"), e))
            }
            _ => Ok(()),
        }
    }

    /// Creates a veth pair `host`/`peer` with `host` enslaved to bridge `master`.
    pub(crate) async fn add_veth(
        &self,
        host: &str,
        peer: &str,
        master: u32,
        mtu: Option<u32>,
    ) -> Result<()> {
        let mut msg = LinkVeth::new(host, peer);
        if let Some(mtu) = mtu {
            msg = msg.mtu(mtu);
        }
        self.handle
            .link()
            .add(msg.build())
            .execute()
            .await
            .map_err(|e| Error::netlink(format!("create veth pair {host}/{peer}"), e))?;
        if let Some(mtu) = mtu {
            let index = self.index(peer).await?;
            self.set(
                LinkUnspec::new_with_index(index).mtu(mtu).build(),
                "set veth mtu",
            )
            .await?;
        }
        let index = self.index(host).await?;
        self.set(
            LinkUnspec::new_with_index(index)
                .controller(master)
                .up()
                .build(),
            &format!("attach {host} to its bridge"),
        )
        .await
    }

    /// Sets the bridge-port flags of `name`: hairpin (a frame may go back out the port it
    /// came in by: a container reaching its own published port, with br_netfilter bridging
    /// the DNATed frame) and isolated (isolated ports cannot reach each other, only the
    /// bridge itself, the gateway, and ports that are not isolated).
    pub(crate) async fn set_port_flags(&self, name: &str, isolated: bool) -> Result<()> {
        let index = self.index(name).await?;
        let msg = LinkBridgePort::new(index).hairpin(true).isolated(isolated);
        self.handle
            .link()
            .set_port(msg.build())
            .execute()
            .await
            .map_err(|e| Error::netlink(format!("set the bridge port flags of {name}"), e))
    }

    /// Creates a macvlan link `name` on `parent`.
    pub(crate) async fn add_macvlan(
        &self,
        name: &str,
        parent: u32,
        mode: MacVlanMode,
    ) -> Result<()> {
        self.handle
            .link()
            .add(LinkMacVlan::new(name, parent, mode).build())
            .execute()
            .await
            .map_err(|e| Error::netlink(format!("create macvlan link {name}"), e))
    }

    /// Creates an ipvlan link `name` on `parent`.
    pub(crate) async fn add_ipvlan(
        &self,
        name: &str,
        parent: u32,
        mode: IpVlanMode,
        flags: IpVlanFlags,
    ) -> Result<()> {
        let msg = LinkIpVlan::new(name, parent, mode).flag(flags).build();
        self.handle
            .link()
            .add(msg)
            .execute()
            .await
            .map_err(|e| match errno(&e) {
                Some(libc::EOPNOTSUPP) => Error::Unavailable(format!(
                    "create ipvlan link {name}: this kernel has no ipvlan support (CONFIG_IPVLAN)"
                )),
                _ => Error::netlink(format!("create ipvlan link {name}"), e),
            })
    }

    /// Moves link `name` into the namespace `ns`.
    pub(crate) async fn move_to(&self, name: &str, ns: &Netns) -> Result<()> {
        let index = self.index(name).await?;
        self.set(
            LinkUnspec::new_with_index(index)
                .setns_by_fd(ns.raw_fd())
                .build(),
            &format!("move {name} into the container's namespace"),
        )
        .await
    }

    /// Renames link `from` to `to`, gives it `addrs`, sets its MAC if asked, and brings it up.
    pub(crate) async fn configure(
        &self,
        from: &str,
        to: &str,
        mac: Option<[u8; 6]>,
        addrs: &[IpNet],
    ) -> Result<u32> {
        let index = self.index(from).await?;
        let mut msg = LinkUnspec::new_with_index(index).name(to.to_string());
        if let Some(mac) = mac {
            msg = msg.address(mac.to_vec());
        }
        self.set(msg.build(), &format!("rename {from} to {to}"))
            .await?;
        for addr in addrs {
            self.add_address(index, *addr).await?;
        }
        self.set(
            LinkUnspec::new_with_index(index).up().build(),
            &format!("bring {to} up"),
        )
        .await?;
        Ok(index)
    }

    /// Adds a default route through `gateway` on link `index`.
    pub(crate) async fn add_default_route(&self, index: u32, gateway: IpAddr) -> Result<()> {
        let msg = match gateway {
            IpAddr::V4(gw) => RouteMessageBuilder::<std::net::Ipv4Addr>::new()
                .output_interface(index)
                .gateway(gw)
                .build(),
            IpAddr::V6(gw) => RouteMessageBuilder::<std::net::Ipv6Addr>::new()
                .output_interface(index)
                .gateway(gw)
                .build(),
        };
        match self.handle.route().add(msg).execute().await {
            Err(e) if errno(&e) != Some(EEXIST) => Err(Error::netlink(
                format!("add default route via {gateway}"),
                e,
            )),
            _ => Ok(()),
        }
    }

    /// Adds a default route straight out of link `index` (no gateway).
    pub(crate) async fn add_default_dev_route(&self, index: u32, v6: bool) -> Result<()> {
        let msg = if v6 {
            RouteMessageBuilder::<std::net::Ipv6Addr>::new()
                .output_interface(index)
                .scope(RouteScope::Link)
                .build()
        } else {
            RouteMessageBuilder::<std::net::Ipv4Addr>::new()
                .output_interface(index)
                .scope(RouteScope::Link)
                .build()
        };
        match self.handle.route().add(msg).execute().await {
            Err(e) if errno(&e) != Some(EEXIST) => {
                Err(Error::netlink("add a default route by device", e))
            }
            _ => Ok(()),
        }
    }

    /// Deletes link `name`; returns false if there was none.
    pub(crate) async fn delete(&self, name: &str) -> Result<bool> {
        let Some(link) = self.link(name).await? else {
            return Ok(false);
        };
        match self.handle.link().del(link.header.index).execute().await {
            Ok(()) => Ok(true),
            Err(e) if errno(&e) == Some(ENODEV) => Ok(false),
            Err(e) => Err(Error::netlink(format!("delete link {name}"), e)),
        }
    }

    /// The MAC address of link `name`.
    pub(crate) async fn mac(&self, name: &str) -> Result<Option<[u8; 6]>> {
        let Some(link) = self.link(name).await? else {
            return Ok(None);
        };
        Ok(link.attributes.iter().find_map(|a| match a {
            LinkAttribute::Address(m) => <[u8; 6]>::try_from(m.as_slice()).ok(),
            _ => None,
        }))
    }

    async fn set(&self, msg: LinkMessage, what: &str) -> Result<()> {
        self.handle
            .link()
            .set(msg)
            .execute()
            .await
            .map_err(|e| Error::netlink(what.to_string(), e))
    }
}

/// The errno of a netlink error reply.
fn errno(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(-m.raw_code()),
        _ => None,
    }
}
