//! Published ports: Docker's `-p [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]` (ranges too) and
//! the choice of host ports, random ones included.

use std::collections::HashSet;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where random host ports come from (Docker's fallback ephemeral range).
pub const RANDOM_PORTS: std::ops::RangeInclusive<u16> = 49153..=65535;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

impl std::str::FromStr for Protocol {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "" | "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            other => Err(Error::InvalidArgument(format!("invalid proto: {other}"))),
        }
    }
}

/// One container port published on the host. `host_port..=host_port_end` is where the host
/// port is chosen from (0 for a random one); once attached it is one concrete port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    /// Host address it answers on; every address when `None`.
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub host_port_end: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl PortMapping {
    /// Whether the host port is decided.
    pub fn is_concrete(&self) -> bool {
        self.host_port != 0 && self.host_port == self.host_port_end
    }
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ip = self
            .host_ip
            .map_or("0.0.0.0".to_string(), |ip| ip.to_string());
        write!(f, "{ip}:{}", self.host_port)
    }
}

/// Parses one `-p` value into its mappings (one per container port of a range).
pub fn parse_publish(spec: &str) -> Result<Vec<PortMapping>> {
    let bad = || Error::InvalidArgument(format!("invalid port format: {spec:?}"));
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, p)) => (r, p.parse()?),
        None => (spec, Protocol::Tcp),
    };
    // An IPv6 host address is written in brackets: [::1]:8080:80.
    let (ip, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (ip, r) = r.split_once("]:").ok_or_else(bad)?;
            (Some(ip), r)
        }
        None => match rest.matches(':').count() {
            0 | 1 => (None, rest),
            2 => {
                let (ip, r) = rest.split_once(':').ok_or_else(bad)?;
                (Some(ip), r)
            }
            _ => return Err(bad()),
        },
    };
    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (h, c),
        None => ("", rest),
    };
    let host_ip = match ip.filter(|s| !s.is_empty()) {
        Some(s) => Some(
            s.parse()
                .map_err(|_| Error::InvalidArgument(format!("invalid IP address: {s}")))?,
        ),
        None => None,
    };
    mappings(host_ip, host, container, proto)
}

/// Builds the mappings of one Engine API port binding: `container` as in `"80/tcp"` or
/// `"80-81/udp"`, `host_ip` and `host_port` (may be empty, or a range) as sent.
pub fn from_binding(container: &str, host_ip: &str, host_port: &str) -> Result<Vec<PortMapping>> {
    let (ports, proto) = match container.rsplit_once('/') {
        Some((p, proto)) => (p, proto.parse()?),
        None => (container, Protocol::Tcp),
    };
    let ip = match host_ip.trim_matches(|c| c == '[' || c == ']') {
        "" => None,
        s => Some(
            s.parse()
                .map_err(|_| Error::InvalidArgument(format!("invalid IP address: {s}")))?,
        ),
    };
    mappings(ip, host_port, ports, proto)
}

fn mappings(
    host_ip: Option<IpAddr>,
    host: &str,
    container: &str,
    protocol: Protocol,
) -> Result<Vec<PortMapping>> {
    let (c_lo, c_hi) = range(container, false)?;
    let (h_lo, h_hi) = if host.is_empty() {
        (0, 0)
    } else {
        range(host, true)?
    };
    let c_len = c_hi - c_lo;
    let h_len = h_hi - h_lo;
    let one = |c: u16, h: u16, h_end: u16| PortMapping {
        host_ip,
        host_port: h,
        host_port_end: h_end,
        container_port: c,
        protocol,
    };
    if h_lo == 0 {
        return Ok((c_lo..=c_hi).map(|c| one(c, 0, 0)).collect());
    }
    if c_len == 0 {
        // One container port, a host range: any free port of the range.
        return Ok(vec![one(c_lo, h_lo, h_hi)]);
    }
    if c_len != h_len {
        return Err(Error::InvalidArgument(format!(
            "invalid ranges specified for container and host Ports: {container} and {host}"
        )));
    }
    Ok((0..=c_len)
        .map(|k| one(c_lo + k, h_lo + k, h_lo + k))
        .collect())
}

fn range(s: &str, host: bool) -> Result<(u16, u16)> {
    let what = if host { "hostPort" } else { "containerPort" };
    let port = |p: &str| -> Result<u16> {
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::InvalidArgument(format!("invalid {what}: {s}"))),
        }
    };
    let (lo, hi) = match s.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => (port(s)?, port(s)?),
    };
    if hi < lo {
        return Err(Error::InvalidArgument(format!("invalid {what}: {s}")));
    }
    Ok((lo, hi))
}

/// The host ports taken by published ports, to refuse a port twice and to pick free ones.
#[derive(Debug, Default)]
pub struct HostPorts {
    taken: HashSet<(Protocol, u16, Option<IpAddr>)>,
}

impl HostPorts {
    /// Decides the host port of each of `mappings` and takes it. `is_free` says whether a
    /// port is unused on the host (nothing listens there). All or nothing.
    pub fn take(
        &mut self,
        mappings: &[PortMapping],
        is_free: &dyn Fn(&PortMapping) -> bool,
    ) -> Result<Vec<PortMapping>> {
        let mut done: Vec<PortMapping> = Vec::new();
        for m in mappings {
            match self.take_one(m, is_free) {
                Ok(c) => done.push(c),
                Err(e) => {
                    self.release(&done);
                    return Err(e);
                }
            }
        }
        Ok(done)
    }

    /// Takes concrete mappings again (a daemon restart), without checking the host.
    pub fn restore(&mut self, mappings: &[PortMapping]) {
        for m in mappings {
            self.taken.insert((m.protocol, m.host_port, m.host_ip));
        }
    }

    /// Gives back concrete mappings.
    pub fn release(&mut self, mappings: &[PortMapping]) {
        for m in mappings {
            self.taken.remove(&(m.protocol, m.host_port, m.host_ip));
        }
    }

    fn clashes(&self, m: &PortMapping, port: u16) -> bool {
        self.taken.iter().any(|(proto, p, ip)| {
            *proto == m.protocol
                && *p == port
                && (ip.is_none() || m.host_ip.is_none() || *ip == m.host_ip)
        })
    }

    fn take_one(
        &mut self,
        m: &PortMapping,
        is_free: &dyn Fn(&PortMapping) -> bool,
    ) -> Result<PortMapping> {
        let candidates: Box<dyn Iterator<Item = u16>> = if m.host_port == 0 {
            // A random start so that restarted daemons do not all try the same port first.
            let span = RANDOM_PORTS.end() - RANDOM_PORTS.start() + 1;
            let start = rand::random_range(0..span);
            Box::new((0..span).map(move |k| RANDOM_PORTS.start() + (start + k) % span))
        } else {
            Box::new(m.host_port..=m.host_port_end)
        };
        for port in candidates {
            let c = PortMapping {
                host_port: port,
                host_port_end: port,
                ..*m
            };
            if !self.clashes(m, port) && is_free(&c) {
                self.taken.insert((m.protocol, port, m.host_ip));
                return Ok(c);
            }
        }
        Err(Error::Conflict(if m.host_port == 0 {
            "no free host port left to publish on".to_string()
        } else {
            format!("Bind for {m} failed: port is already allocated")
        }))
    }
}

/// Whether nothing is bound to the mapping's host port, tried by binding it in the calling
/// thread's namespace.
pub(crate) fn port_is_free(m: &PortMapping) -> bool {
    let ip = m
        .host_ip
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let addr = std::net::SocketAddr::new(ip, m.host_port);
    match m.protocol {
        Protocol::Tcp => std::net::TcpListener::bind(addr).is_ok(),
        Protocol::Udp => std::net::UdpSocket::bind(addr).is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(ip: Option<&str>, h: u16, he: u16, c: u16, p: Protocol) -> PortMapping {
        PortMapping {
            host_ip: ip.map(|s| s.parse().unwrap()),
            host_port: h,
            host_port_end: he,
            container_port: c,
            protocol: p,
        }
    }

    #[test]
    fn publish_specs_parse_as_docker_reads_them() {
        use Protocol::*;
        assert_eq!(parse_publish("80").unwrap(), vec![m(None, 0, 0, 80, Tcp)]);
        assert_eq!(
            parse_publish("8080:80").unwrap(),
            vec![m(None, 8080, 8080, 80, Tcp)]
        );
        assert_eq!(
            parse_publish("127.0.0.1:8080:80/udp").unwrap(),
            vec![m(Some("127.0.0.1"), 8080, 8080, 80, Udp)]
        );
        assert_eq!(
            parse_publish("127.0.0.1::80").unwrap(),
            vec![m(Some("127.0.0.1"), 0, 0, 80, Tcp)]
        );
        assert_eq!(
            parse_publish("[::1]:8080:80").unwrap(),
            vec![m(Some("::1"), 8080, 8080, 80, Tcp)]
        );
        assert_eq!(
            parse_publish("8000-8001:80-81").unwrap(),
            vec![m(None, 8000, 8000, 80, Tcp), m(None, 8001, 8001, 81, Tcp)]
        );
        assert_eq!(
            parse_publish("8000-8009:80").unwrap(),
            vec![m(None, 8000, 8009, 80, Tcp)]
        );
        assert_eq!(parse_publish("80-81").unwrap().len(), 2);
        for bad in [
            "",
            "0",
            "x:80",
            "8000-8002:80-81",
            "80/sctpx",
            "1.2.3:80:80",
            "90-80",
            "70000",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            from_binding("80/udp", "", "8000-8001").unwrap(),
            vec![m(None, 8000, 8001, 80, Udp)]
        );
        assert_eq!(
            from_binding("80/tcp", "127.0.0.1", "").unwrap(),
            vec![m(Some("127.0.0.1"), 0, 0, 80, Tcp)]
        );
    }

    #[test]
    fn host_ports_are_never_taken_twice() {
        let mut ports = HostPorts::default();
        let free = |_: &PortMapping| true;
        let a = ports
            .take(&[m(None, 8080, 8080, 80, Protocol::Tcp)], &free)
            .unwrap();
        let e = ports
            .take(
                &[m(Some("127.0.0.1"), 8080, 8080, 81, Protocol::Tcp)],
                &free,
            )
            .unwrap_err();
        assert!(e.to_string().contains("port is already allocated"), "{e}");
        // Another protocol is another port.
        ports
            .take(&[m(None, 8080, 8080, 80, Protocol::Udp)], &free)
            .unwrap();
        // A range picks the next free port of the range.
        let r = ports
            .take(&[m(None, 8080, 8081, 80, Protocol::Tcp)], &free)
            .unwrap();
        assert_eq!(r[0].host_port, 8081);
        // Random ports are concrete, distinct and in the ephemeral range.
        let rnd = ports
            .take(
                &[
                    m(None, 0, 0, 80, Protocol::Tcp),
                    m(None, 0, 0, 81, Protocol::Tcp),
                ],
                &free,
            )
            .unwrap();
        assert!(rnd
            .iter()
            .all(|p| p.is_concrete() && RANDOM_PORTS.contains(&p.host_port)));
        assert_ne!(rnd[0].host_port, rnd[1].host_port);
        // All or nothing: the second mapping fails, the first is given back.
        let e = ports.take(
            &[
                m(None, 9000, 9000, 80, Protocol::Tcp),
                m(None, 8080, 8080, 80, Protocol::Tcp),
            ],
            &free,
        );
        assert!(e.is_err());
        ports
            .take(&[m(None, 9000, 9000, 80, Protocol::Tcp)], &free)
            .unwrap();
        ports.release(&a);
        ports
            .take(&[m(None, 8080, 8080, 80, Protocol::Tcp)], &free)
            .unwrap();
        // A port something on the host listens on is refused.
        let busy = |p: &PortMapping| p.host_port != 7000;
        assert!(ports
            .take(&[m(None, 7000, 7000, 80, Protocol::Tcp)], &busy)
            .is_err());
    }
}
