//! The bridge driver and the nftables firewall, proven with real traffic between namespaces.

mod common;

use berth_network::driver::{BridgeDriver, NetworkDriver};
use berth_network::firewall::Firewall;
use berth_network::Netns;
use common::*;

fn driver(lab: &Lab) -> BridgeDriver {
    BridgeDriver::new(Some(lab.host.clone()), lab.firewall.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_on_one_bridge_reach_each_other_and_detach_leaves_nothing() {
    let mut lab = Lab::new();
    let br = unique("bb");
    let net = lab.network(
        "bridge",
        "10.201.1.0/24",
        &[("com.docker.network.bridge.name", &br)],
    );
    let d = driver(&lab);
    d.create_network(&net).await.unwrap();
    let (a, b) = (Netns::create().unwrap(), Netns::create().unwrap());
    let ea = lab.endpoint(&net, "ca", &[]);
    let eb = lab.endpoint(&net, "cb", &[]);
    let att_a = d.attach(&net, &ea, &a).await.unwrap();
    d.attach(&net, &eb, &b).await.unwrap();
    assert!(att_a.mac.is_some());
    assert_eq!(
        att_a.gateways,
        vec!["10.201.1.1".parse::<std::net::IpAddr>().unwrap()]
    );

    let ip_b = eb.addresses[0].addr();
    let _srv = serve(&b, sa(ip_b, 7000), "hello from b");
    assert_eq!(fetch(&a, sa(ip_b, 7000)).unwrap(), "hello from b");
    // The gateway (the host side) answers too: the default route goes there.
    let _h = serve(&lab.host, sa("10.201.1.1".parse().unwrap(), 7001), "host");
    assert_eq!(
        fetch(&a, sa("10.201.1.1".parse().unwrap(), 7001)).unwrap(),
        "host"
    );
    // Inside, the link is eth0 and lo is up.
    let links = output(&a, &["ip", "-o", "link"]);
    assert!(
        links.contains(" eth0@") && links.contains("lo: <LOOPBACK,UP"),
        "{links}"
    );

    let host_a = att_a.host_ifname.clone().unwrap();
    assert!(lab.has_link(&host_a));
    d.detach(&net, &ea, Some(&a)).await.unwrap();
    d.detach(&net, &eb, Some(&b)).await.unwrap();
    assert!(!lab.has_link(&host_a), "veth left after detach");
    assert!(
        fetch(&a, sa(ip_b, 7000)).is_err(),
        "still connected after detach"
    );
    // Detaching again (a restarted daemon cleaning up) is no error.
    d.detach(&net, &ea, None).await.unwrap();
    d.delete_network(&net).await.unwrap();
    assert!(!lab.has_link(&br), "bridge left after delete");
    assert!(
        !lab.ruleset().contains(&br),
        "rules of {br} left:\n{}",
        lab.ruleset()
    );
    lab.assert_clean(&[&br, &host_a]);
}

#[tokio::test(flavor = "multi_thread")]
async fn icc_false_blocks_containers_but_not_the_gateway() {
    let mut lab = Lab::new();
    let br = unique("bi");
    let net = lab.network(
        "bridge",
        "10.201.2.0/24",
        &[
            ("com.docker.network.bridge.name", &br),
            ("com.docker.network.bridge.enable_icc", "false"),
        ],
    );
    let d = driver(&lab);
    d.create_network(&net).await.unwrap();
    let (a, b) = (Netns::create().unwrap(), Netns::create().unwrap());
    let (ea, eb) = (lab.endpoint(&net, "ca", &[]), lab.endpoint(&net, "cb", &[]));
    d.attach(&net, &ea, &a).await.unwrap();
    d.attach(&net, &eb, &b).await.unwrap();
    let ip_b = eb.addresses[0].addr();
    let _srv = serve(&b, sa(ip_b, 7000), "b");
    let err = fetch(&a, sa(ip_b, 7000)).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::TimedOut
                | std::io::ErrorKind::WouldBlock
                | std::io::ErrorKind::HostUnreachable
        ),
        "{err:?}"
    );
    let gw = net.subnets[0].gateway.unwrap();
    let _h = serve(&lab.host, sa(gw, 7001), "host");
    assert_eq!(fetch(&a, sa(gw, 7001)).unwrap(), "host");
    d.delete_network(&net).await.unwrap();
    lab.assert_clean(&[&br]);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_networks_are_isolated_and_internal_has_no_way_out() {
    let mut lab = Lab::new();
    let (br1, br2, br3) = (unique("b1"), unique("b2"), unique("b3"));
    let n1 = lab.network(
        "bridge",
        "10.201.3.0/24",
        &[("com.docker.network.bridge.name", &br1)],
    );
    let n2 = lab.network(
        "bridge",
        "10.201.4.0/24",
        &[("com.docker.network.bridge.name", &br2)],
    );
    let mut n3 = lab.network(
        "bridge",
        "10.201.5.0/24",
        &[("com.docker.network.bridge.name", &br3)],
    );
    n3.internal = true;
    let d = driver(&lab);
    for n in [&n1, &n2, &n3] {
        d.create_network(n).await.unwrap();
    }
    let (a, b, c) = (
        Netns::create().unwrap(),
        Netns::create().unwrap(),
        Netns::create().unwrap(),
    );
    let (ea, eb, ec) = (
        lab.endpoint(&n1, "ca", &[]),
        lab.endpoint(&n2, "cb", &[]),
        lab.endpoint(&n3, "cc", &[]),
    );
    d.attach(&n1, &ea, &a).await.unwrap();
    d.attach(&n2, &eb, &b).await.unwrap();
    let att_c = d.attach(&n3, &ec, &c).await.unwrap();
    assert!(
        att_c.gateways.is_empty(),
        "an internal network has no default route"
    );
    let (ip_b, ip_a) = (eb.addresses[0].addr(), ea.addresses[0].addr());
    let _sb = serve(&b, sa(ip_b, 7000), "b");
    // Routed through the host, b's network would be reachable: the firewall drops it.
    assert!(
        fetch(&a, sa(ip_b, 7000)).is_err(),
        "network 1 reached network 2"
    );
    // The drop is berth's rule: without the table the same connection goes through.
    lab.firewall.remove_all().unwrap();
    assert_eq!(
        fetch(&a, sa(ip_b, 7000)).unwrap(),
        "b",
        "the two networks are not routed at all"
    );
    lab.firewall.init().unwrap();
    for n in [&n1, &n2, &n3] {
        d.create_network(n).await.unwrap();
    }
    assert!(fetch(&a, sa(ip_b, 7000)).is_err(), "isolation not restored");
    // The internal container reaches nobody beyond its bridge, and nobody reaches it.
    let _sa = serve(&a, sa(ip_a, 7002), "a");
    let gw3 = n3.subnets[0].gateway.unwrap();
    let _h = serve(&lab.host, sa(gw3, 7003), "gw");
    assert_eq!(
        fetch(&c, sa(gw3, 7003)).unwrap(),
        "gw",
        "the bridge itself answers"
    );
    assert!(
        fetch(&c, sa(ip_a, 7002)).is_err(),
        "internal network got out"
    );
    for n in [&n1, &n2, &n3] {
        d.delete_network(n).await.unwrap();
    }
    lab.assert_clean(&[&br1, &br2, &br3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn published_ports_answer_on_localhost_host_addresses_and_hairpin() {
    let mut lab = Lab::new();
    let br = unique("bp");
    let net = lab.network(
        "bridge",
        "10.201.6.0/24",
        &[("com.docker.network.bridge.name", &br)],
    );
    let d = driver(&lab);
    d.create_network(&net).await.unwrap();
    // A host address that is not the bridge's: a dummy-less stand-in, on lo.
    run(
        &lab.host,
        &["ip", "addr", "add", "10.201.99.1/32", "dev", "lo"],
    );
    let (a, b) = (Netns::create().unwrap(), Netns::create().unwrap());
    let ea = lab.endpoint(
        &net,
        "ca",
        &["18080:80", "127.0.0.1::81", "18090-18091:90-91"],
    );
    let eb = lab.endpoint(&net, "cb", &[]);
    let att = d.attach(&net, &ea, &a).await.unwrap();
    d.attach(&net, &eb, &b).await.unwrap();
    assert_eq!(att.ports.len(), 4);
    assert!(att.ports.iter().all(|p| p.is_concrete()));
    let random = att
        .ports
        .iter()
        .find(|p| p.container_port == 81)
        .unwrap()
        .host_port;
    let ip_a = ea.addresses[0].addr();
    let _s80 = serve(&a, sa(ip_a, 80), "eighty");
    let _s81 = serve(&a, sa(ip_a, 81), "eighty-one");
    let _s91 = serve(&a, sa(ip_a, 91), "ninety-one");
    let lo = "127.0.0.1".parse().unwrap();
    let other = "10.201.99.1".parse().unwrap();
    let gw = net.subnets[0].gateway.unwrap();
    assert_eq!(
        fetch(&lab.host, sa(lo, 18080)).unwrap(),
        "eighty",
        "127.0.0.1"
    );
    assert_eq!(
        fetch(&lab.host, sa(other, 18080)).unwrap(),
        "eighty",
        "a host address"
    );
    assert_eq!(
        fetch(&lab.host, sa(lo, random)).unwrap(),
        "eighty-one",
        "random port"
    );
    assert_eq!(
        fetch(&lab.host, sa(lo, 18091)).unwrap(),
        "ninety-one",
        "range"
    );
    // 127.0.0.1::81 is bound to 127.0.0.1 only.
    assert!(fetch(&lab.host, sa(other, random)).is_err());
    // Hairpin: b (same bridge) and a itself, through a host address, whether or not
    // bridged frames go through the IP hooks (br_netfilter).
    for bridge_nf in ["1", "0"] {
        let key = format!("net.bridge.bridge-nf-call-iptables={bridge_nf}");
        run(&lab.host, &["sysctl", "-q", "-w", &key]);
        assert_eq!(
            fetch(&b, sa(other, 18080)).unwrap(),
            "eighty",
            "hairpin from b, {key}"
        );
        assert_eq!(
            fetch(&a, sa(other, 18080)).unwrap(),
            "eighty",
            "hairpin to itself, {key}"
        );
        assert_eq!(
            fetch(&b, sa(gw, 18080)).unwrap(),
            "eighty",
            "through the gateway, {key}"
        );
    }
    // A second endpoint cannot take a published port again.
    let c = Netns::create().unwrap();
    let ec = lab.endpoint(&net, "cc", &["18080:80"]);
    let e = d.attach(&net, &ec, &c).await.unwrap_err();
    assert!(e.to_string().contains("port is already allocated"), "{e}");
    assert!(!has_link(&c, "eth0"), "a failed attach left its link");
    // Detach removes the DNAT rules; the port no longer answers.
    let mut ea_done = ea.clone();
    ea_done.ports = att.ports.clone();
    d.detach(&net, &ea_done, Some(&a)).await.unwrap();
    assert!(
        fetch(&lab.host, sa(lo, 18080)).is_err(),
        "port still published after detach"
    );
    assert!(!lab.ruleset().contains("dnat ip to"), "{}", lab.ruleset());
    // ... and the port is free for someone else.
    d.attach(&net, &ec, &c).await.unwrap();
    d.delete_network(&net).await.unwrap();
    lab.assert_clean(&[&br]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_daemon_restores_published_ports() {
    let mut lab = Lab::new();
    let br = unique("br");
    let net = lab.network(
        "bridge",
        "10.201.7.0/24",
        &[("com.docker.network.bridge.name", &br)],
    );
    let d = driver(&lab);
    d.create_network(&net).await.unwrap();
    let a = Netns::create().unwrap();
    let mut ea = lab.endpoint(&net, "ca", &["18100:80"]);
    ea.ports = d.attach(&net, &ea, &a).await.unwrap().ports;
    let _s = serve(&a, sa(ea.addresses[0].addr(), 80), "up");
    let lo = "127.0.0.1".parse().unwrap();
    assert_eq!(fetch(&lab.host, sa(lo, 18100)).unwrap(), "up");
    // The daemon stops: its table goes, the container and its link stay.
    lab.firewall.remove_all().unwrap();
    assert!(fetch(&lab.host, sa(lo, 18100)).is_err());
    // A new daemon: fresh table, networks created again, endpoints restored.
    let d2 = BridgeDriver::new(Some(lab.host.clone()), lab.firewall.clone());
    lab.firewall.init().unwrap();
    d2.create_network(&net).await.unwrap();
    d2.restore(&net, &ea).await.unwrap();
    assert_eq!(fetch(&lab.host, sa(lo, 18100)).unwrap(), "up");
    d2.delete_network(&net).await.unwrap();
    lab.assert_clean(&[&br]);
}

#[tokio::test(flavor = "multi_thread")]
async fn dual_stack_endpoints_reach_each_other_over_ipv6() {
    let mut lab = Lab::new();
    let br = unique("b6");
    let mut net = lab.network(
        "bridge",
        "10.201.8.0/24",
        &[("com.docker.network.bridge.name", &br)],
    );
    lab.ipam.remove_network(&net.id);
    let subnets: Vec<berth_network::ipam::Subnet> = ["10.201.8.0/24", "fd00:201:8::/64"]
        .iter()
        .map(|s| berth_network::ipam::Subnet {
            subnet: s.parse().unwrap(),
            gateway: None,
            ip_range: None,
        })
        .collect();
    net.subnets = lab.ipam.add_network(&net.id, &subnets).unwrap();
    let d = driver(&lab);
    d.create_network(&net).await.unwrap();
    let (a, b) = (Netns::create().unwrap(), Netns::create().unwrap());
    let (ea, eb) = (
        lab.endpoint(&net, "ca", &["18200:80"]),
        lab.endpoint(&net, "cb", &[]),
    );
    let att = d.attach(&net, &ea, &a).await.unwrap();
    d.attach(&net, &eb, &b).await.unwrap();
    assert_eq!(att.gateways.len(), 2, "{:?}", att.gateways);
    let v6_b = eb
        .addresses
        .iter()
        .find(|a| a.addr().is_ipv6())
        .unwrap()
        .addr();
    let _s = serve(&b, sa(v6_b, 7000), "over v6");
    assert_eq!(fetch(&a, sa(v6_b, 7000)).unwrap(), "over v6");
    let routes = output(&a, &["ip", "-6", "route"]);
    assert!(
        routes.contains("default via fd00:201:8::1 dev eth0"),
        "{routes}"
    );
    // A published port answers on a host IPv6 address too (DNAT to the container's v6).
    let v6_a = ea
        .addresses
        .iter()
        .find(|a| a.addr().is_ipv6())
        .unwrap()
        .addr();
    let _s80 = serve(&a, sa(v6_a, 80), "v6 published");
    run(
        &lab.host,
        &[
            "ip",
            "addr",
            "add",
            "fd00:201:99::1/128",
            "dev",
            "lo",
            "nodad",
        ],
    );
    let host_v6 = "fd00:201:99::1".parse().unwrap();
    assert_eq!(
        fetch(&lab.host, sa(host_v6, 18200)).unwrap(),
        "v6 published"
    );
    assert_eq!(
        fetch(&b, sa(host_v6, 18200)).unwrap(),
        "v6 published",
        "v6 hairpin"
    );
    d.delete_network(&net).await.unwrap();
    lab.assert_clean(&[&br]);
}
