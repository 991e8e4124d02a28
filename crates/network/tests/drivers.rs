//! The none, host, macvlan and ipvlan drivers in test namespaces. This kernel may lack
//! dummy links, so the parent of macvlan/ipvlan links is one end of a veth pair the test
//! makes in its host namespace.

mod common;

use berth_network::driver::{Drivers, NetworkDriver, VlanDriver};
use berth_network::{ErrorKind, Netns};
use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn none_gives_only_lo_up_and_host_does_nothing() {
    let mut lab = Lab::new();
    let drivers = Drivers::standard(Some(lab.host.clone()), lab.firewall.clone());
    let none = drivers.get("none").unwrap();
    let net = lab.network("none", "10.207.0.0/24", &[]);
    let c = Netns::create().unwrap();
    let ep = lab.endpoint(&net, "c", &[]);
    let before = output(&c, &["ip", "-o", "link"]);
    assert!(!before.contains("state UNKNOWN"), "lo already up: {before}");
    none.attach(&net, &ep, &c).await.unwrap();
    let links = output(&c, &["ip", "-o", "link"]);
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.contains("lo: <LOOPBACK,UP,LOWER_UP>"), "{links}");
    let _s = serve(&c, "127.0.0.1:7000".parse().unwrap(), "lo works");
    assert_eq!(
        fetch(&c, "127.0.0.1:7000".parse().unwrap()).unwrap(),
        "lo works"
    );
    let host = drivers.get("host").unwrap();
    let links_before = output(&lab.host, &["ip", "-o", "link"]);
    host.attach(&net, &ep, &lab.host).await.unwrap();
    assert_eq!(output(&lab.host, &["ip", "-o", "link"]), links_before);
    let e = drivers.get("overlay").err().unwrap();
    assert_eq!(
        (e.kind(), e.to_string()),
        (ErrorKind::NotFound, "plugin \"overlay\" not found".into())
    );
    lab.assert_clean(&[]);
}

/// A veth pair in the host namespace, both ends up; returns the parent's name.
fn parent_link(lab: &Lab) -> String {
    let (p, q) = (unique("pa"), unique("pb"));
    run(
        &lab.host,
        &["ip", "link", "add", &p, "type", "veth", "peer", "name", &q],
    );
    run(&lab.host, &["ip", "link", "set", &q, "up"]);
    run(&lab.host, &["ip", "link", "set", &p, "up"]);
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn macvlan_endpoints_talk_over_their_parent() {
    let mut lab = Lab::new();
    let parent = parent_link(&lab);
    let d = VlanDriver::macvlan(Some(lab.host.clone()));
    let net = lab.network("macvlan", "10.208.1.0/24", &[("parent", &parent)]);
    d.create_network(&net).await.unwrap();
    let (a, b) = (Netns::create().unwrap(), Netns::create().unwrap());
    let (ea, eb) = (lab.endpoint(&net, "ca", &[]), lab.endpoint(&net, "cb", &[]));
    let mut ea_mac = ea.clone();
    ea_mac.mac = Some([0x02, 0x42, 0x0a, 0xd0, 0x01, 0x02]);
    let att = d.attach(&net, &ea_mac, &a).await.unwrap();
    assert_eq!(att.mac, ea_mac.mac, "the MAC asked for");
    d.attach(&net, &eb, &b).await.unwrap();
    let details = output(&a, &["ip", "-d", "link", "show", "eth0"]);
    assert!(details.contains("macvlan mode bridge"), "{details}");
    let route = output(&a, &["ip", "route"]);
    assert!(route.contains("default via 10.208.1.1 dev eth0"), "{route}");
    let ip_b = eb.addresses[0].addr();
    let _s = serve(&b, sa(ip_b, 7000), "over macvlan");
    assert_eq!(fetch(&a, sa(ip_b, 7000)).unwrap(), "over macvlan");
    d.detach(&net, &ea, Some(&a)).await.unwrap();
    assert!(!has_link(&a, "eth0"), "eth0 left after detach");
    d.delete_network(&net).await.unwrap();
    // Bad options and a missing parent are clear errors, before anything is made.
    let mut bad = net.clone();
    bad.options.insert("macvlan_mode".into(), "sideways".into());
    assert_eq!(
        d.validate(&bad).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    bad.options.insert("parent".into(), "nosuchlink0".into());
    bad.options.remove("macvlan_mode");
    assert_eq!(
        d.create_network(&bad).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    bad.options.remove("parent");
    assert!(d.validate(&bad).unwrap_err().to_string().contains("parent"));
    lab.assert_clean(&[]);
}

#[tokio::test(flavor = "multi_thread")]
async fn ipvlan_endpoints_talk_or_the_missing_kernel_support_is_named() {
    let mut lab = Lab::new();
    let parent = parent_link(&lab);
    // Whether this kernel has ipvlan, asked of the kernel itself through iproute2.
    let probe = unique("iv");
    let supported = exec(
        &lab.host,
        &[
            "ip", "link", "add", &probe, "link", &parent, "type", "ipvlan",
        ],
    )
    .status
    .success();
    let d = VlanDriver::ipvlan(Some(lab.host.clone()));
    let net = lab.network("ipvlan", "10.209.1.0/24", &[("parent", &parent)]);
    d.create_network(&net).await.unwrap();
    let (a, b) = (Netns::create().unwrap(), Netns::create().unwrap());
    let (ea, eb) = (lab.endpoint(&net, "ca", &[]), lab.endpoint(&net, "cb", &[]));
    if !supported {
        let e = d.attach(&net, &ea, &a).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.to_string().contains("CONFIG_IPVLAN"), "{e}");
        assert!(!has_link(&a, "eth0"));
        let links = output(&lab.host, &["ip", "-o", "link"]);
        assert!(
            !links.contains("mv"),
            "a failed attach left a link: {links}"
        );
        lab.assert_clean(&[]);
        return;
    }
    run(&lab.host, &["ip", "link", "del", &probe]);
    d.attach(&net, &ea, &a).await.unwrap();
    d.attach(&net, &eb, &b).await.unwrap();
    let ip_b = eb.addresses[0].addr();
    let _s = serve(&b, sa(ip_b, 7000), "over ipvlan");
    assert_eq!(fetch(&a, sa(ip_b, 7000)).unwrap(), "over ipvlan");
    d.detach(&net, &ea, Some(&a)).await.unwrap();
    assert!(!has_link(&a, "eth0"));
    lab.assert_clean(&[]);
}
