//! Test lab: every test builds its own "host" namespace and "container" namespaces, so
//! nothing touches the machine's real network or firewall. Namespaces are held by file
//! handles only: when a test ends (or panics) the last handle goes and the kernel removes
//! the namespace with every link, address, route and nft table in it.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_network::driver::{Endpoint, Network};
use berth_network::firewall::{Firewall, Nftables};
use berth_network::ipam::{Ipam, Subnet};
use berth_network::Netns;

/// Fails the test, with the reason, unless it runs as root with `nft` and `ip` installed.
pub fn require_root_and_tools() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests create network namespaces, links and nft tables: run them as root"
    );
    for (tool, arg) in [("nft", "--version"), ("ip", "-V")] {
        let ok = Command::new(tool)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "`{tool}` is missing: run scripts/install-deps.sh (nftables, iproute2)"
        );
    }
}

/// A name unique to this test process and call: `<prefix><pid%1000>x<n>`, short enough
/// for an interface name.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 1000)
}

/// A test's world: a host namespace, berth's nft table in it, IPAM.
pub struct Lab {
    pub host: Netns,
    pub table: String,
    pub firewall: Arc<Nftables>,
    pub ipam: Ipam,
}

impl Lab {
    pub fn new() -> Self {
        require_root_and_tools();
        let host = Netns::create().expect("host namespace");
        run(&host, &["ip", "link", "set", "lo", "up"]);
        let table = unique("berth-t");
        let firewall = Arc::new(Nftables::new(&table, Some(host.clone())));
        firewall.init().expect("nft table");
        Lab {
            host,
            table,
            firewall,
            ipam: Ipam::default(),
        }
    }

    /// A network with a subnet registered in IPAM.
    pub fn network(&mut self, driver: &str, subnet: &str, options: &[(&str, &str)]) -> Network {
        let id = format!("{:0>12}", unique("n"));
        let subnets = self
            .ipam
            .add_network(
                &id,
                &[Subnet {
                    subnet: subnet.parse().unwrap(),
                    gateway: None,
                    ip_range: None,
                }],
            )
            .unwrap();
        Network {
            id,
            name: unique("net"),
            driver: driver.into(),
            subnets,
            internal: false,
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// An endpoint with an address from IPAM.
    pub fn endpoint(&mut self, net: &Network, container: &str, publish: &[&str]) -> Endpoint {
        Endpoint {
            container_id: container.into(),
            ifname: "eth0".into(),
            addresses: self.ipam.allocate(&net.id, &[]).unwrap(),
            mac: None,
            ports: publish
                .iter()
                .flat_map(|p| berth_network::ports::parse_publish(p).unwrap())
                .collect(),
        }
    }

    /// Whether the host namespace has a link named `name`.
    pub fn has_link(&self, name: &str) -> bool {
        has_link(&self.host, name)
    }

    /// Whether berth's table exists in the host namespace.
    pub fn has_table(&self) -> bool {
        let out = output(&self.host, &["nft", "list", "tables"]);
        out.lines()
            .any(|l| l.trim() == format!("table inet {}", self.table))
    }

    /// The table's rules, as `nft` prints them.
    pub fn ruleset(&self) -> String {
        output(&self.host, &["nft", "list", "table", "inet", &self.table])
    }

    /// Asserts the table is gone after `remove_all`, and that nothing named like it or like
    /// `links` exists in the machine's own namespace either.
    pub fn assert_clean(&self, links: &[&str]) {
        self.firewall.remove_all().unwrap();
        assert!(!self.has_table(), "table {} left behind", self.table);
        let real = Command::new("nft")
            .args(["list", "tables"])
            .output()
            .unwrap();
        assert!(!String::from_utf8_lossy(&real.stdout).contains(&self.table));
        for l in links {
            assert!(!self.has_link(l), "link {l} left behind");
            let real = Command::new("ip")
                .args(["link", "show", l])
                .output()
                .unwrap();
            assert!(!real.status.success(), "link {l} exists on the real host");
        }
    }
}

pub fn has_link(ns: &Netns, name: &str) -> bool {
    let name = name.to_string();
    ns.run(move || {
        Ok(Command::new("ip")
            .args(["link", "show", &name])
            .output()?
            .status
            .success())
    })
    .unwrap()
}

/// Runs a command inside `ns`, which must succeed.
pub fn run(ns: &Netns, args: &[&str]) {
    let out = exec(ns, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A command's stdout inside `ns`.
pub fn output(ns: &Netns, args: &[&str]) -> String {
    String::from_utf8_lossy(&exec(ns, args).stdout).into_owned()
}

pub fn exec(ns: &Netns, args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    ns.run(move || Command::new(&args[0]).args(&args[1..]).output())
        .unwrap()
}

/// A TCP server in `ns` on `addr` that greets each client with `greeting` and closes; it
/// lives as long as the returned guard.
pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

pub fn serve(ns: &Netns, addr: SocketAddr, greeting: &str) -> Server {
    let listener = ns
        .run(move || TcpListener::bind(addr))
        .expect("bind in namespace");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (s, greeting) = (stop.clone(), greeting.to_string());
    std::thread::spawn(move || {
        while !s.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut c, _)) => {
                    let _ = c.write_all(greeting.as_bytes());
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    Server { addr, stop }
}

/// Connects from `ns` to `addr` and reads the greeting.
pub fn fetch(ns: &Netns, addr: SocketAddr) -> std::io::Result<String> {
    let mut s = ns.run(move || TcpStream::connect_timeout(&addr, Duration::from_secs(2)))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// A UDP socket bound in `ns`.
pub fn udp(ns: &Netns, addr: SocketAddr) -> UdpSocket {
    let s = ns.run(move || UdpSocket::bind(addr)).expect("udp bind");
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s
}

pub fn sa(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}
