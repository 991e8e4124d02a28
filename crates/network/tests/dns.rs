//! The embedded DNS, queried from inside container namespaces at 127.0.0.11. Forwarding
//! goes only to a fake upstream on 127.0.0.1 of the test's own "host" namespace.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Duration;

use berth_network::dns::Resolver;
use berth_network::driver::{BridgeDriver, NetworkDriver};
use berth_network::Netns;
use common::*;
use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

const DNS: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 11)), 53);

fn query(name: &str, qtype: RecordType) -> Message {
    let mut m = Message::new();
    m.set_id(rand_id())
        .set_recursion_desired(true)
        .add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    m
}

fn rand_id() -> u16 {
    (std::process::id() as u16).wrapping_mul(31).wrapping_add(7)
}

/// Asks 127.0.0.11 over UDP from inside `ns`.
fn ask_udp(ns: &Netns, name: &str, qtype: RecordType) -> std::io::Result<Message> {
    let q = query(name, qtype);
    let sock = udp(ns, "127.0.0.1:0".parse().unwrap());
    sock.send_to(&q.to_vec().unwrap(), DNS)?;
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf)?;
    let m = Message::from_vec(&buf[..n]).unwrap();
    assert_eq!(m.id(), q.id());
    Ok(m)
}

/// Asks 127.0.0.11 over TCP from inside `ns`.
fn ask_tcp(ns: &Netns, name: &str, qtype: RecordType) -> std::io::Result<Message> {
    let bytes = query(name, qtype).to_vec().unwrap();
    let mut s = ns.run(|| TcpStream::connect_timeout(&DNS, Duration::from_secs(2)))?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    s.write_all(&(bytes.len() as u16).to_be_bytes())?;
    s.write_all(&bytes)?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut buf)?;
    Ok(Message::from_vec(&buf).unwrap())
}

fn addresses(m: &Message) -> Vec<IpAddr> {
    m.answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

/// A fake upstream on 127.0.0.1:53 of `ns` answering every A query with `answer`, over UDP
/// and TCP. Its threads end with the namespace's sockets (at the end of the test process).
fn fake_upstream(ns: &Netns, answer: std::net::Ipv4Addr) {
    let addr: SocketAddr = "127.0.0.1:53".parse().unwrap();
    let u = ns.run(move || UdpSocket::bind(addr)).unwrap();
    let t = ns.run(move || TcpListener::bind(addr)).unwrap();
    let reply = move |req: &[u8]| -> Vec<u8> {
        let q = Message::from_vec(req).unwrap();
        let mut m = Message::new();
        m.set_id(q.id()).set_message_type(MessageType::Response);
        for query in q.queries() {
            m.add_query(query.clone());
            m.add_answer(Record::from_rdata(
                query.name().clone(),
                60,
                RData::A(A(answer)),
            ));
        }
        m.to_vec().unwrap()
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = u.recv_from(&mut buf) {
            let _ = u.send_to(&reply(&buf[..n]), from);
        }
    });
    std::thread::spawn(move || {
        while let Ok((mut c, _)) = t.accept() {
            let mut len = [0u8; 2];
            if c.read_exact(&mut len).is_err() {
                continue;
            }
            let mut req = vec![0u8; u16::from_be_bytes(len) as usize];
            if c.read_exact(&mut req).is_ok() {
                let out = reply(&req);
                let _ = c.write_all(&(out.len() as u16).to_be_bytes());
                let _ = c.write_all(&out);
            }
        }
    });
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_find_each_other_by_name_and_connect() {
    let mut lab = Lab::new();
    let br = unique("bd");
    let net = lab.network(
        "bridge",
        "10.202.1.0/24",
        &[("com.docker.network.bridge.name", &br)],
    );
    let d = BridgeDriver::new(Some(lab.host.clone()), lab.firewall.clone());
    d.create_network(&net).await.unwrap();
    let (a, b) = (Netns::create().unwrap(), Netns::create().unwrap());
    let (ea, eb) = (
        lab.endpoint(&net, "ida", &[]),
        lab.endpoint(&net, "idb", &[]),
    );
    d.attach(&net, &ea, &a).await.unwrap();
    d.attach(&net, &eb, &b).await.unwrap();
    let dns = Resolver::new(Some(lab.host.clone())).unwrap();
    dns.add_endpoint(&net.id, "ida", &["alpha".into()], &[ea.addresses[0].addr()]);
    dns.add_endpoint(
        &net.id,
        "idb",
        &["bravo".into(), "db".into()],
        &[eb.addresses[0].addr()],
    );
    let server = dns.serve("ida", &a, Vec::new()).await.unwrap();

    let m = ask_udp(&a, "bravo.", RecordType::A).unwrap();
    assert_eq!(m.response_code(), ResponseCode::NoError);
    let found = addresses(&m);
    assert_eq!(found, vec![eb.addresses[0].addr()]);
    let _srv = serve(&b, sa(found[0], 7000), "bravo here");
    assert_eq!(fetch(&a, sa(found[0], 7000)).unwrap(), "bravo here");
    // Aliases and any case; over TCP too.
    assert_eq!(
        addresses(&ask_tcp(&a, "DB.", RecordType::A).unwrap()),
        found
    );
    // A known name without an IPv6 address: no error, no answer.
    let m = ask_udp(&a, "bravo.", RecordType::AAAA).unwrap();
    assert_eq!(
        (m.response_code(), m.answers().len()),
        (ResponseCode::NoError, 0)
    );
    // Unknown, and nowhere to forward: SERVFAIL, not a made-up answer.
    assert_eq!(
        ask_udp(&a, "nobody.", RecordType::A)
            .unwrap()
            .response_code(),
        ResponseCode::ServFail
    );
    // Gone from the network: not found any more.
    dns.remove_endpoint(&net.id, "idb");
    assert_eq!(
        ask_udp(&a, "bravo.", RecordType::A)
            .unwrap()
            .response_code(),
        ResponseCode::ServFail
    );
    // Stopped: nothing answers on 127.0.0.11 any more.
    server.stop().await;
    assert!(ask_udp(&a, "alpha.", RecordType::A).is_err());
    d.delete_network(&net).await.unwrap();
    lab.assert_clean(&[&br]);
}

#[tokio::test(flavor = "multi_thread")]
async fn shared_aliases_round_robin_and_networks_scope_names() {
    require_root_and_tools();
    let host = Netns::create().unwrap();
    let c = Netns::create().unwrap();
    let dns = Resolver::new(Some(host)).unwrap();
    dns.add_endpoint("front", "c", &["c".into()], &[ip("10.203.0.2")]);
    dns.add_endpoint(
        "front",
        "w1",
        &["w1".into(), "web".into()],
        &[ip("10.203.0.3")],
    );
    dns.add_endpoint(
        "front",
        "w2",
        &["w2".into(), "web".into()],
        &[ip("10.203.0.4")],
    );
    dns.add_endpoint("back", "secret", &["secret".into()], &[ip("10.204.0.2")]);
    let _server = dns.serve("c", &c, Vec::new()).await.unwrap();
    let mut firsts = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let got = addresses(&ask_udp(&c, "web.", RecordType::A).unwrap());
        assert_eq!(got.len(), 2, "{got:?}");
        firsts.insert(got[0]);
    }
    assert_eq!(
        firsts.len(),
        2,
        "the first address never changed: no round robin"
    );
    // A container on a network c is not on is not c's to resolve.
    let m = ask_udp(&c, "secret.", RecordType::A).unwrap();
    assert!(addresses(&m).is_empty(), "{m:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_names_are_forwarded_to_the_upstreams() {
    require_root_and_tools();
    let host = Netns::create().unwrap();
    run(&host, &["ip", "link", "set", "lo", "up"]);
    fake_upstream(&host, "192.0.2.7".parse().unwrap());
    let c = Netns::create().unwrap();
    let dns = Resolver::new(Some(host.clone())).unwrap();
    dns.add_endpoint("n", "c", &["c".into()], &[ip("10.205.0.2")]);
    let upstreams = vec!["127.0.0.1:53".parse().unwrap()];
    let _server = dns.serve("c", &c, upstreams).await.unwrap();
    // The upstream is on the host's loopback: unreachable from the container itself.
    assert!(ns_cannot_reach_upstream(&c));
    let m = ask_udp(&c, "example.test.", RecordType::A).unwrap();
    assert_eq!(addresses(&m), vec![ip("192.0.2.7")], "{m:?}");
    let m = ask_tcp(&c, "over.tcp.test.", RecordType::A).unwrap();
    assert_eq!(addresses(&m), vec![ip("192.0.2.7")], "{m:?}");
    // Container names are still answered here, not upstream.
    assert_eq!(
        addresses(&ask_udp(&c, "c.", RecordType::A).unwrap()),
        vec![ip("10.205.0.2")]
    );
}

fn ns_cannot_reach_upstream(ns: &Netns) -> bool {
    let s = udp(ns, "127.0.0.1:0".parse().unwrap());
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let q = query("direct.test.", RecordType::A).to_vec().unwrap();
    let _ = s.send_to(&q, "127.0.0.1:53");
    let mut buf = [0u8; 512];
    s.recv_from(&mut buf).is_err()
}
