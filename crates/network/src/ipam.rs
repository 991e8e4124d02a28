//! Address management: subnets (IPv4 and IPv6), gateways, `--ip-range`, static `--ip`, and an
//! allocator that never hands out an address that is in use. The whole state is one
//! serializable value: the caller persists it, or rebuilds it at start from its own records
//! with [`Ipam::add_network`] and [`Ipam::reserve`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A subnet of a network as configured (Docker's `IPAM.Config` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub subnet: IpNet,
    /// The gateway; the first address of the subnet when not given.
    #[serde(default)]
    pub gateway: Option<IpAddr>,
    /// Where dynamic addresses come from (`--ip-range`); the whole subnet when not given.
    #[serde(default)]
    pub ip_range: Option<IpNet>,
}

/// A pool networks created without a subnet take theirs from (`default-address-pools`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPool {
    pub base: IpNet,
    /// Prefix length of each subnet cut from `base`.
    pub size: u8,
}

/// Docker's default pools: 172.17.0.0/16 … 172.31.0.0/16, then /20s of 192.168.0.0/16.
pub fn default_address_pools() -> Vec<AddressPool> {
    let pool = |base: &str, size| AddressPool {
        base: base
            .parse()
            .unwrap_or_else(|_| IpNet::V4(Default::default())),
        size,
    };
    vec![
        pool("172.17.0.0/16", 16),
        pool("172.18.0.0/15", 16),
        pool("172.20.0.0/14", 16),
        pool("172.24.0.0/13", 16),
        pool("192.168.0.0/16", 20),
    ]
}

/// The allocation state of one subnet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Pool {
    config: Subnet,
    allocated: BTreeSet<IpAddr>,
    /// The last address handed out: the next search starts after it, so a released address
    /// is not reused at once.
    last: Option<IpAddr>,
}

/// The address state of every network, by network id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipam {
    networks: BTreeMap<String, Vec<Pool>>,
}

impl Ipam {
    /// Registers network `id` with `subnets` (gateways filled in), refusing one that
    /// overlaps a subnet of another network. Returns the subnets as completed.
    pub fn add_network(&mut self, id: &str, subnets: &[Subnet]) -> Result<Vec<Subnet>> {
        if self.networks.contains_key(id) {
            return Err(Error::Conflict(format!(
                "network {id} already has addresses"
            )));
        }
        let mut pools: Vec<Pool> = Vec::new();
        for s in subnets {
            let config = complete(s)?;
            let clash = self
                .subnets()
                .chain(pools.iter().map(|p| &p.config.subnet))
                .any(|other| overlaps(other, &config.subnet));
            if clash {
                return Err(Error::Conflict(format!(
                    "invalid pool request: Pool overlaps with other one on this address space ({})",
                    config.subnet
                )));
            }
            pools.push(Pool {
                config,
                allocated: BTreeSet::new(),
                last: None,
            });
        }
        let out = pools.iter().map(|p| p.config.clone()).collect();
        self.networks.insert(id.to_string(), pools);
        Ok(out)
    }

    /// Registers network `id` with the first subnet of `pools` that overlaps no network.
    pub fn add_network_from_pools(&mut self, id: &str, pools: &[AddressPool]) -> Result<Subnet> {
        let subnet = self.free_subnet(pools)?;
        let mut done = self.add_network(
            id,
            &[Subnet {
                subnet,
                gateway: None,
                ip_range: None,
            }],
        )?;
        Ok(done.remove(0))
    }

    /// The first subnet cut from `pools` that overlaps no network's.
    pub fn free_subnet(&self, pools: &[AddressPool]) -> Result<IpNet> {
        for pool in pools {
            let Ok(mut cuts) = pool.base.subnets(pool.size) else {
                return Err(Error::InvalidArgument(format!(
                    "invalid address pool {}: size /{} is smaller than the base",
                    pool.base, pool.size
                )));
            };
            if let Some(s) = cuts.find(|s| !self.subnets().any(|o| overlaps(o, s))) {
                return Ok(s);
            }
        }
        Err(Error::Conflict(
            "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
        ))
    }

    /// Forgets network `id` and its addresses.
    pub fn remove_network(&mut self, id: &str) {
        self.networks.remove(id);
    }

    /// The subnets of network `id`.
    pub fn network(&self, id: &str) -> Option<Vec<Subnet>> {
        self.networks
            .get(id)
            .map(|pools| pools.iter().map(|p| p.config.clone()).collect())
    }

    /// Gives an endpoint of network `id` one address per address family of the network:
    /// each `requested` one (`--ip`, `--ip6`), else the next free one of the family's first
    /// subnet with room. All or nothing.
    pub fn allocate(&mut self, id: &str, requested: &[IpAddr]) -> Result<Vec<IpNet>> {
        let pools = self
            .networks
            .get_mut(id)
            .ok_or_else(|| Error::NotFound(format!("network {id} has no address pools")))?;
        let mut out: Vec<(usize, IpAddr)> = Vec::new();
        let result = allocate_families(pools, requested, &mut out);
        if result.is_err() {
            for (i, ip) in &out {
                pools[*i].allocated.remove(ip);
            }
        }
        result?;
        Ok(out
            .into_iter()
            .map(|(i, ip)| with_prefix(ip, pools[i].config.subnet.prefix_len()))
            .collect())
    }

    /// Marks `ip` of network `id` as in use (restoring state from records); fails if it is
    /// in use already or in none of the network's subnets.
    pub fn reserve(&mut self, id: &str, ip: IpAddr) -> Result<IpNet> {
        let pools = self
            .networks
            .get_mut(id)
            .ok_or_else(|| Error::NotFound(format!("network {id} has no address pools")))?;
        let i = take_static(pools, ip)?;
        Ok(with_prefix(ip, pools[i].config.subnet.prefix_len()))
    }

    /// Returns `ip` of network `id` to its pool.
    pub fn release(&mut self, id: &str, ip: IpAddr) {
        if let Some(pools) = self.networks.get_mut(id) {
            for p in pools {
                p.allocated.remove(&ip);
            }
        }
    }

    fn subnets(&self) -> impl Iterator<Item = &IpNet> {
        self.networks.values().flatten().map(|p| &p.config.subnet)
    }
}

fn allocate_families(
    pools: &mut [Pool],
    requested: &[IpAddr],
    out: &mut Vec<(usize, IpAddr)>,
) -> Result<()> {
    for ip in requested {
        out.push((take_static(pools, *ip)?, *ip));
    }
    for v6 in [false, true] {
        let wanted = pools.iter().any(|p| p.config.subnet.addr().is_ipv6() == v6);
        let given = requested.iter().any(|ip| ip.is_ipv6() == v6);
        if !wanted || given {
            continue;
        }
        let found = pools
            .iter_mut()
            .enumerate()
            .filter(|(_, p)| p.config.subnet.addr().is_ipv6() == v6)
            .find_map(|(i, p)| p.next_free().map(|ip| (i, p, ip)));
        let Some((i, pool, ip)) = found else {
            let family = if v6 { "IPv6" } else { "IPv4" };
            return Err(Error::Conflict(format!(
                "no available {family} addresses on this network's address pools"
            )));
        };
        pool.allocated.insert(ip);
        pool.last = Some(ip);
        out.push((i, ip));
    }
    Ok(())
}

fn take_static(pools: &mut [Pool], ip: IpAddr) -> Result<usize> {
    let Some(i) = pools.iter().position(|p| p.config.subnet.contains(&ip)) else {
        return Err(Error::InvalidArgument(format!(
            "no configured subnet or ip-range contain the IP address {ip}"
        )));
    };
    let pool = &mut pools[i];
    if pool.config.gateway == Some(ip) || !pool.is_host(ip) || !pool.allocated.insert(ip) {
        return Err(Error::Conflict(format!("Address already in use: {ip}")));
    }
    Ok(i)
}

impl Pool {
    /// The first free address after the last one handed out, wrapping around the range.
    fn next_free(&self) -> Option<IpAddr> {
        let (lo, hi) = self.bounds();
        if lo > hi {
            return None;
        }
        let size = hi - lo + 1;
        let start = match self.last.map(to_u128) {
            Some(l) if l >= lo && l < hi => l + 1,
            _ => lo,
        };
        // Bounded by the free addresses: a full range is caught before scanning it.
        let taken = self
            .allocated
            .iter()
            .chain(self.config.gateway.iter())
            .filter(|ip| (lo..=hi).contains(&to_u128(**ip)))
            .count() as u128;
        if taken >= size {
            return None;
        }
        (0..size)
            .map(|k| lo + (start - lo + k) % size)
            .map(|n| from_u128(n, self.config.subnet.addr().is_ipv6()))
            .find(|ip| self.config.gateway != Some(*ip) && !self.allocated.contains(ip))
    }

    /// The first and last addresses dynamic allocation may hand out.
    fn bounds(&self) -> (u128, u128) {
        let (mut lo, mut hi) = host_bounds(&self.config.subnet);
        if let Some(r) = &self.config.ip_range {
            let (rlo, rhi) = (to_u128(r.network()), to_u128(r.broadcast()));
            lo = lo.max(rlo);
            hi = hi.min(rhi);
        }
        (lo, hi)
    }

    fn is_host(&self, ip: IpAddr) -> bool {
        let (lo, hi) = host_bounds(&self.config.subnet);
        (lo..=hi).contains(&to_u128(ip))
    }
}

/// The usable host addresses of a subnet: not the network address, nor IPv4's broadcast.
fn host_bounds(net: &IpNet) -> (u128, u128) {
    let lo = to_u128(net.network());
    let hi = to_u128(net.broadcast());
    match net {
        IpNet::V4(n) if n.prefix_len() >= 31 => (lo, hi),
        IpNet::V4(_) => (lo + 1, hi - 1),
        IpNet::V6(_) => (lo + 1, hi),
    }
}

/// Checks a requested subnet and fills in its gateway.
fn complete(s: &Subnet) -> Result<Subnet> {
    if s.subnet.trunc() != s.subnet {
        return Err(Error::InvalidArgument(format!(
            "invalid subnet {}: it should be {}",
            s.subnet,
            s.subnet.trunc()
        )));
    }
    let (lo, hi) = host_bounds(&s.subnet);
    if lo > hi {
        return Err(Error::InvalidArgument(format!(
            "invalid subnet {}: it has no host addresses",
            s.subnet
        )));
    }
    if let Some(r) = &s.ip_range {
        if !s.subnet.contains(r) {
            return Err(Error::InvalidArgument(format!(
                "no matching subnet for range {r}"
            )));
        }
    }
    let gateway = match s.gateway {
        Some(gw) if !s.subnet.contains(&gw) => {
            return Err(Error::InvalidArgument(format!(
                "no matching subnet for gateway {gw}"
            )))
        }
        Some(gw) => gw,
        None => from_u128(lo, s.subnet.addr().is_ipv6()),
    };
    Ok(Subnet {
        subnet: s.subnet,
        gateway: Some(gateway),
        ip_range: s.ip_range,
    })
}

/// Whether two subnets share an address.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn with_prefix(ip: IpAddr, prefix: u8) -> IpNet {
    IpNet::new(ip, prefix).unwrap_or_else(|_| IpNet::from(ip))
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u32::from(v4) as u128,
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(n: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(n.into())
    } else {
        IpAddr::V4((n as u32).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet(s: &str) -> Subnet {
        Subnet {
            subnet: s.parse().unwrap(),
            gateway: None,
            ip_range: None,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn gateway_is_the_first_address_and_never_handed_out() {
        let mut ipam = Ipam::default();
        let done = ipam.add_network("n", &[subnet("10.9.0.0/24")]).unwrap();
        assert_eq!(done[0].gateway, Some(ip("10.9.0.1")));
        assert_eq!(
            ipam.allocate("n", &[]).unwrap(),
            vec!["10.9.0.2/24".parse::<IpNet>().unwrap()]
        );
        assert!(ipam.allocate("n", &[ip("10.9.0.1")]).is_err());
    }

    #[test]
    fn exhaustion_is_a_clear_error_and_nothing_is_handed_out_twice() {
        let mut ipam = Ipam::default();
        // /29: .1 gateway, .2 to .6 for endpoints, .7 broadcast.
        ipam.add_network("n", &[subnet("10.9.1.0/29")]).unwrap();
        let mut seen = BTreeSet::new();
        for _ in 0..5 {
            let a = ipam.allocate("n", &[]).unwrap()[0].addr();
            assert!(seen.insert(a), "{a} handed out twice");
        }
        assert_eq!(seen.len(), 5);
        let err = ipam.allocate("n", &[]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Conflict);
        assert!(
            err.to_string().contains("no available IPv4 addresses"),
            "{err}"
        );
        // A released address comes back only once.
        ipam.release("n", ip("10.9.1.4"));
        assert_eq!(ipam.allocate("n", &[]).unwrap()[0].addr(), ip("10.9.1.4"));
        assert!(ipam.allocate("n", &[]).is_err());
    }

    #[test]
    fn a_released_address_is_not_reused_at_once() {
        let mut ipam = Ipam::default();
        ipam.add_network("n", &[subnet("10.9.2.0/24")]).unwrap();
        let a = ipam.allocate("n", &[]).unwrap()[0].addr();
        ipam.release("n", a);
        let b = ipam.allocate("n", &[]).unwrap()[0].addr();
        assert_ne!(a, b);
    }

    #[test]
    fn ip_range_and_static_addresses() {
        let mut ipam = Ipam::default();
        let mut s = subnet("10.9.3.0/24");
        s.ip_range = Some("10.9.3.128/30".parse().unwrap());
        ipam.add_network("n", &[s]).unwrap();
        let got: Vec<_> = (0..4)
            .map(|_| ipam.allocate("n", &[]).unwrap()[0].addr())
            .collect();
        assert_eq!(
            got,
            ["10.9.3.128", "10.9.3.129", "10.9.3.130", "10.9.3.131"].map(ip)
        );
        assert!(ipam.allocate("n", &[]).is_err(), "the range is full");
        // A static address may lie outside the range, inside the subnet.
        assert_eq!(
            ipam.allocate("n", &[ip("10.9.3.7")]).unwrap()[0].addr(),
            ip("10.9.3.7")
        );
        let e = ipam.allocate("n", &[ip("10.9.3.7")]).unwrap_err();
        assert!(e.to_string().contains("Address already in use"), "{e}");
        let e = ipam.allocate("n", &[ip("10.9.4.7")]).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        let mut bad = subnet("10.9.5.0/24");
        bad.ip_range = Some("10.9.6.0/28".parse().unwrap());
        assert!(ipam.add_network("m", &[bad]).is_err());
    }

    #[test]
    fn overlapping_subnets_are_refused() {
        let mut ipam = Ipam::default();
        ipam.add_network("a", &[subnet("10.10.0.0/16")]).unwrap();
        for s in ["10.10.5.0/24", "10.0.0.0/8", "10.10.0.0/16"] {
            let e = ipam.add_network("b", &[subnet(s)]).unwrap_err();
            assert!(
                e.to_string().contains("Pool overlaps with other one"),
                "{s}: {e}"
            );
        }
        assert!(ipam.network("b").is_none());
        ipam.add_network("b", &[subnet("10.11.0.0/16")]).unwrap();
        let e = ipam
            .add_network("c", &[subnet("10.12.0.0/24"), subnet("10.12.0.0/25")])
            .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Conflict);
        assert!(
            ipam.add_network("d", &[subnet("10.13.0.5/24")]).is_err(),
            "host bits set"
        );
    }

    #[test]
    fn default_pools_give_the_first_free_subnet() {
        let mut ipam = Ipam::default();
        ipam.add_network("bridge", &[subnet("172.17.0.0/16")])
            .unwrap();
        let s = ipam
            .add_network_from_pools("a", &default_address_pools())
            .unwrap();
        assert_eq!(s.subnet, "172.18.0.0/16".parse::<IpNet>().unwrap());
        let pools = [AddressPool {
            base: "10.20.0.0/23".parse().unwrap(),
            size: 24,
        }];
        assert_eq!(
            ipam.add_network_from_pools("b", &pools)
                .unwrap()
                .subnet
                .to_string(),
            "10.20.0.0/24"
        );
        assert_eq!(
            ipam.add_network_from_pools("c", &pools)
                .unwrap()
                .subnet
                .to_string(),
            "10.20.1.0/24"
        );
        assert_eq!(
            ipam.add_network_from_pools("d", &pools).unwrap_err().kind(),
            crate::ErrorKind::Conflict
        );
    }

    #[test]
    fn state_survives_a_round_trip_and_a_rebuild() {
        let mut ipam = Ipam::default();
        ipam.add_network("n", &[subnet("10.9.7.0/24"), subnet("fd00:9:7::/64")])
            .unwrap();
        let first = ipam.allocate("n", &[]).unwrap();
        assert_eq!(first.len(), 2, "one address per family: {first:?}");
        assert_eq!(first[1].to_string(), "fd00:9:7::2/64");
        // Persisted state: the restarted daemon continues after what it handed out.
        let json = serde_json::to_string(&ipam).unwrap();
        let mut restored: Ipam = serde_json::from_str(&json).unwrap();
        let next = restored.allocate("n", &[]).unwrap();
        assert!(
            next.iter().all(|a| !first.contains(a)),
            "{next:?} vs {first:?}"
        );
        // Rebuilt from records: the recorded addresses are taken.
        let mut rebuilt = Ipam::default();
        rebuilt.add_network("n", &[subnet("10.9.7.0/24")]).unwrap();
        rebuilt.reserve("n", ip("10.9.7.2")).unwrap();
        assert!(rebuilt.reserve("n", ip("10.9.7.2")).is_err());
        assert_eq!(
            rebuilt.allocate("n", &[]).unwrap()[0].addr(),
            ip("10.9.7.3")
        );
    }

    #[test]
    fn a_failed_allocation_takes_nothing() {
        let mut ipam = Ipam::default();
        ipam.add_network("n", &[subnet("10.9.8.0/30"), subnet("fd00:9:8::/64")])
            .unwrap();
        // The v4 /30 has one host address besides the gateway.
        ipam.allocate("n", &[]).unwrap();
        assert!(ipam.allocate("n", &[ip("fd00:9:8::9")]).is_err());
        // fd00:9:8::9 was not kept by the failed call.
        ipam.release("n", ip("10.9.8.2"));
        assert_eq!(ipam.allocate("n", &[ip("fd00:9:8::9")]).unwrap().len(), 2);
    }
}
