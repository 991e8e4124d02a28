//! The nftables backend: everything lives in berth's own `inet` table (name settable), made
//! and changed through `nft`'s JSON API. Layout:
//!
//! ```text
//! table inet <name>
//!   set bridges       { type ifname }            every berth bridge
//!   chain forward     filter hook forward        ct status dnat accept
//!                                                per network: isolation, --internal
//!   chain prerouting  nat hook prerouting dstnat fib daddr type local jump publish
//!   chain output      nat hook output dstnat     fib daddr type local jump publish
//!   chain publish                                per endpoint: [ip daddr H] tcp dport P dnat to C:Q
//!   chain postrouting nat hook postrouting srcnat per network: egress masquerade, and
//!                                                masquerade of DNATed traffic from the host
//!                                                (127.0.0.1 needs route_localnet on the
//!                                                bridge) and from the bridge itself (hairpin)
//! ```
//!
//! A rule's comment names its owner (`net <bridge>` or `ep <endpoint>`), which is how it is
//! found again for removal.

use std::borrow::Cow;
use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::Mutex;

use ipnet::IpNet;
use nftables::batch::Batch;
use nftables::expr::{
    Expression, Fib, FibFlag, FibResult, Meta, MetaKey, NamedExpression, Payload, PayloadField,
    Prefix, CT,
};
use nftables::helper::NftablesError;
use nftables::schema::{
    Chain, Element, NfListObject, NfObject, Rule, Set, SetType, SetTypeValue, Table,
};
use nftables::stmt::{JumpTarget, Match, NATFamily, Operator, Statement, NAT};
use nftables::types::{NfChainPolicy, NfChainType, NfFamily, NfHook};

use super::{Firewall, FwNetwork, FwPort};
use crate::error::{Error, Result};
use crate::netns::{run_in, Netns};

const FAMILY: NfFamily = NfFamily::INet;
const BRIDGES: &str = "bridges";

/// berth's nftables table, in the daemon's namespace or in `ns`.
#[derive(Debug)]
pub struct Nftables {
    table: String,
    ns: Option<Netns>,
    /// One change at a time: removal lists rules, then deletes them by handle.
    lock: Mutex<()>,
}

impl Nftables {
    /// The table `inet <table>` in `ns` (the daemon's own namespace when `None`).
    pub fn new(table: &str, ns: Option<Netns>) -> Self {
        Nftables {
            table: table.to_string(),
            ns,
            lock: Mutex::new(()),
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    fn rule(
        &self,
        chain: &str,
        owner: &str,
        expr: Vec<Statement<'static>>,
    ) -> NfListObject<'static> {
        NfListObject::Rule(Rule {
            family: FAMILY,
            table: Cow::Owned(self.table.clone()),
            chain: Cow::Owned(chain.to_string()),
            expr: Cow::Owned(expr),
            comment: Some(Cow::Owned(owner.to_string())),
            ..Rule::default()
        })
    }

    fn chain(&self, name: &str, hook: Option<(NfChainType, NfHook, i32)>) -> NfListObject<'static> {
        let mut chain = Chain {
            family: FAMILY,
            table: Cow::Owned(self.table.clone()),
            name: Cow::Owned(name.to_string()),
            ..Chain::default()
        };
        if let Some((kind, hook, prio)) = hook {
            chain._type = Some(kind);
            chain.hook = Some(hook);
            chain.prio = Some(prio);
            chain.policy = Some(NfChainPolicy::Accept);
        }
        NfListObject::Chain(chain)
    }

    fn table_obj(&self) -> NfListObject<'static> {
        NfListObject::Table(Table {
            family: FAMILY,
            name: Cow::Owned(self.table.clone()),
            handle: None,
        })
    }

    fn bridges_elem(&self, bridge: &str) -> NfListObject<'static> {
        NfListObject::Element(Element {
            family: FAMILY,
            table: Cow::Owned(self.table.clone()),
            name: Cow::Borrowed(BRIDGES),
            elem: Cow::Owned(vec![s(bridge)]),
        })
    }

    /// Runs a batch through `nft` in the firewall's namespace.
    fn apply(&self, batch: Batch<'static>, what: &str) -> Result<()> {
        let rules = batch.to_nftables();
        let out = run_in(self.ns.as_ref(), move || {
            Ok(nftables::helper::apply_ruleset(&rules))
        })
        .map_err(|e| Error::io(format!("nftables: {what}"), e))?;
        out.map_err(|e| nft_error(what, e))
    }

    /// The table's objects as `nft` lists them, or `None` if there is no table.
    fn list(&self) -> Result<Option<Vec<NfObject<'static>>>> {
        let args = ["list", "table", "inet", self.table.as_str()].map(String::from);
        let out = run_in(self.ns.as_ref(), move || {
            Ok(nftables::helper::get_current_ruleset_with_args(
                nftables::helper::DEFAULT_NFT,
                args.iter().map(String::as_str),
            ))
        })
        .map_err(|e| Error::io("nftables: list the table", e))?;
        match out {
            Ok(r) => Ok(Some(r.objects.into_owned())),
            Err(NftablesError::NftFailed { stderr, .. }) if stderr.contains("No such file") => {
                Ok(None)
            }
            Err(e) => Err(nft_error("list the table", e)),
        }
    }

    /// Deletes the rules whose comment is `owner` (and the bridge's set element, if asked).
    fn remove_owned(&self, owner: &str, bridge: Option<&str>) -> Result<()> {
        let Some(objects) = self.list()? else {
            return Ok(());
        };
        let mut batch = Batch::new();
        let mut n = 0;
        for obj in objects {
            match obj {
                NfObject::ListObject(NfListObject::Rule(r))
                    if r.comment.as_deref() == Some(owner) =>
                {
                    batch.delete(NfListObject::Rule(Rule {
                        expr: Cow::Owned(Vec::new()),
                        comment: None,
                        ..r
                    }));
                    n += 1;
                }
                NfObject::ListObject(NfListObject::Set(set)) if set.name == BRIDGES => {
                    let listed =
                        set.elem.iter().flat_map(|e| e.iter()).any(
                            |e| matches!((e, bridge), (Expression::String(x), Some(b)) if x == b),
                        );
                    if let (true, Some(b)) = (listed, bridge) {
                        batch.delete(self.bridges_elem(b));
                        n += 1;
                    }
                }
                _ => {}
            }
        }
        if n == 0 {
            return Ok(());
        }
        self.apply(batch, &format!("remove the rules of {owner}"))
    }

    fn network_rules(&self, net: &FwNetwork, batch: &mut Batch<'static>) {
        let owner = net_owner(&net.bridge);
        let br = net.bridge.as_str();
        batch.add(self.bridges_elem(br));
        // Isolation: nothing goes from this bridge to another berth bridge.
        batch.add(self.rule(
            "forward",
            &owner,
            vec![
                eq(meta(MetaKey::Iifname), s(br)),
                neq(meta(MetaKey::Oifname), s(br)),
                eq(meta(MetaKey::Oifname), s(&format!("@{BRIDGES}"))),
                Statement::Drop(None),
            ],
        ));
        if net.internal {
            for (a, b) in [
                (MetaKey::Iifname, MetaKey::Oifname),
                (MetaKey::Oifname, MetaKey::Iifname),
            ] {
                batch.add(self.rule(
                    "forward",
                    &owner,
                    vec![
                        eq(meta(a), s(br)),
                        neq(meta(b), s(br)),
                        Statement::Drop(None),
                    ],
                ));
            }
        }
        for subnet in &net.subnets {
            if net.masquerade && !net.internal {
                batch.add(self.rule(
                    "postrouting",
                    &owner,
                    vec![
                        eq(addr_field(subnet, "saddr"), prefix(subnet)),
                        neq(meta(MetaKey::Oifname), s(br)),
                        Statement::Masquerade(None),
                    ],
                ));
            }
            // Hairpin: a container reaching a published port of its own bridge through a
            // host address must get the answer back through the host.
            batch.add(self.rule(
                "postrouting",
                &owner,
                vec![
                    eq(meta(MetaKey::Oifname), s(br)),
                    ct_dnat(),
                    eq(addr_field(subnet, "saddr"), prefix(subnet)),
                    Statement::Masquerade(None),
                ],
            ));
        }
        // The host (127.0.0.1 or one of its addresses) reaching a published port.
        batch.add(self.rule(
            "postrouting",
            &owner,
            vec![
                eq(meta(MetaKey::Oifname), s(br)),
                ct_dnat(),
                eq(fib(FibFlag::Saddr), s("local")),
                Statement::Masquerade(None),
            ],
        ));
    }

    fn port_rule(&self, endpoint: &str, p: &FwPort) -> Option<NfListObject<'static>> {
        let (proto, fam, nat_family) = match p.container_ip {
            IpAddr::V4(_) => ("ip", "ipv4", NATFamily::IP),
            IpAddr::V6(_) => ("ip6", "ipv6", NATFamily::IP6),
        };
        let mut expr = Vec::new();
        match p.mapping.host_ip {
            Some(h) if h.is_ipv4() != p.container_ip.is_ipv4() => return None,
            Some(h) => expr.push(eq(payload(proto, "daddr"), s(&h.to_string()))),
            None => expr.push(eq(meta(MetaKey::Nfproto), s(fam))),
        }
        let l4 = p.mapping.protocol.as_str();
        expr.push(eq(
            payload(l4, "dport"),
            Expression::Number(p.mapping.host_port.into()),
        ));
        expr.push(Statement::DNAT(Some(NAT {
            addr: Some(s(&p.container_ip.to_string())),
            family: Some(nat_family),
            port: Some(Expression::Number(p.mapping.container_port.into())),
            flags: None,
        })));
        Some(self.rule("publish", &ep_owner(endpoint), expr))
    }
}

impl Firewall for Nftables {
    fn init(&self) -> Result<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // Adding first makes the delete succeed whether or not a table was left behind.
        let mut clear = Batch::new();
        clear.add(self.table_obj());
        clear.delete(self.table_obj());
        self.apply(clear, &format!("clear table {}", self.table))?;
        let mut b = Batch::new();
        b.add(self.table_obj());
        b.add(NfListObject::Set(Box::new(Set {
            family: FAMILY,
            table: Cow::Owned(self.table.clone()),
            name: Cow::Borrowed(BRIDGES),
            handle: None,
            set_type: SetTypeValue::Single(SetType::Ifname),
            policy: None,
            flags: None,
            elem: None,
            timeout: None,
            gc_interval: None,
            size: None,
            comment: None,
        })));
        b.add(self.chain("forward", Some((NfChainType::Filter, NfHook::Forward, 0))));
        b.add(self.chain(
            "prerouting",
            Some((NfChainType::NAT, NfHook::Prerouting, -100)),
        ));
        b.add(self.chain("output", Some((NfChainType::NAT, NfHook::Output, -100))));
        b.add(self.chain(
            "postrouting",
            Some((NfChainType::NAT, NfHook::Postrouting, 100)),
        ));
        b.add(self.chain("publish", None));
        // Published ports' traffic passes isolation and is answered.
        b.add(self.rule("forward", "base", vec![ct_dnat(), Statement::Accept(None)]));
        for chain in ["prerouting", "output"] {
            b.add(self.rule(
                chain,
                "base",
                vec![
                    eq(fib(FibFlag::Daddr), s("local")),
                    Statement::Jump(JumpTarget {
                        target: Cow::Borrowed("publish"),
                    }),
                ],
            ));
        }
        self.apply(b, &format!("create table {}", self.table))
    }

    fn add_network(&self, net: &FwNetwork) -> Result<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.remove_owned(&net_owner(&net.bridge), Some(&net.bridge))?;
        let mut b = Batch::new();
        self.network_rules(net, &mut b);
        self.apply(b, &format!("add the rules of network {}", net.bridge))
    }

    fn remove_network(&self, net: &FwNetwork) -> Result<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.remove_owned(&net_owner(&net.bridge), Some(&net.bridge))
    }

    fn add_ports(&self, endpoint: &str, ports: &[FwPort]) -> Result<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.remove_owned(&ep_owner(endpoint), None)?;
        let mut b = Batch::new();
        let mut seen = HashSet::new();
        let mut n = 0;
        for p in ports {
            if !seen.insert(*p) {
                continue;
            }
            if let Some(rule) = self.port_rule(endpoint, p) {
                b.add(rule);
                n += 1;
            }
        }
        if n == 0 {
            return Ok(());
        }
        self.apply(b, &format!("publish the ports of {endpoint}"))
    }

    fn remove_ports(&self, endpoint: &str) -> Result<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.remove_owned(&ep_owner(endpoint), None)
    }

    fn remove_all(&self) -> Result<()> {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.list()?.is_none() {
            return Ok(());
        }
        let mut b = Batch::new();
        b.delete(self.table_obj());
        self.apply(b, &format!("delete table {}", self.table))
    }
}

fn net_owner(bridge: &str) -> String {
    format!("net {bridge}")
}

fn ep_owner(endpoint: &str) -> String {
    format!("ep {endpoint}")
}

fn nft_error(what: &str, e: NftablesError) -> Error {
    match e {
        NftablesError::NftExecution { inner, .. }
            if inner.kind() == std::io::ErrorKind::NotFound =>
        {
            Error::Unavailable("nft is not installed (Debian package nftables)".into())
        }
        NftablesError::NftFailed { stderr, .. } => Error::Nft {
            context: what.to_string(),
            message: stderr.trim().to_string(),
        },
        other => Error::Nft {
            context: what.to_string(),
            message: other.to_string(),
        },
    }
}

fn s(v: &str) -> Expression<'static> {
    Expression::String(Cow::Owned(v.to_string()))
}

fn meta(key: MetaKey) -> Expression<'static> {
    Expression::Named(NamedExpression::Meta(Meta { key }))
}

fn payload(protocol: &str, field: &str) -> Expression<'static> {
    Expression::Named(NamedExpression::Payload(Payload::PayloadField(
        PayloadField {
            protocol: Cow::Owned(protocol.to_string()),
            field: Cow::Owned(field.to_string()),
        },
    )))
}

fn addr_field(net: &IpNet, field: &str) -> Expression<'static> {
    payload(if net.addr().is_ipv4() { "ip" } else { "ip6" }, field)
}

fn prefix(net: &IpNet) -> Expression<'static> {
    Expression::Named(NamedExpression::Prefix(Prefix {
        addr: Box::new(s(&net.network().to_string())),
        len: net.prefix_len().into(),
    }))
}

fn fib(flag: FibFlag) -> Expression<'static> {
    Expression::Named(NamedExpression::Fib(Fib {
        result: FibResult::Type,
        flags: HashSet::from([flag]),
    }))
}

fn ct_dnat() -> Statement<'static> {
    Statement::Match(Match {
        left: Expression::Named(NamedExpression::CT(CT {
            key: Cow::Borrowed("status"),
            family: None,
            dir: None,
        })),
        right: s("dnat"),
        op: Operator::IN,
    })
}

fn eq(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::EQ,
    })
}

fn neq(left: Expression<'static>, right: Expression<'static>) -> Statement<'static> {
    Statement::Match(Match {
        left,
        right,
        op: Operator::NEQ,
    })
}
