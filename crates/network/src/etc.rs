//! A container's `/etc/hosts` and `/etc/resolv.conf`, as Docker writes them.

use std::net::{IpAddr, SocketAddr};

use crate::error::{Error, Result};

/// Docker's resolvers for a container when the host leaves it none.
pub const DEFAULT_NAMESERVERS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// Which resolv.conf a container gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolvMode {
    /// `--network host`: the host's, loopback resolvers included.
    Host,
    /// Its own namespace without the embedded DNS (default bridge, none, ...): the host's
    /// without loopback resolvers, which the container cannot reach.
    Private,
    /// On a user-defined network: the embedded DNS at 127.0.0.11, with the host's (or the
    /// given) search domains and options; the real resolvers are its upstreams.
    Embedded,
}

/// `--dns`, `--dns-search` and `--dns-option`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DnsSettings<'a> {
    pub servers: &'a [String],
    pub search: &'a [String],
    pub options: &'a [String],
}

/// The host's resolv.conf (empty if it cannot be read).
pub fn host_resolv_conf() -> String {
    std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()
}

/// A container's resolv.conf from the host's (`host_conf`) and the `--dns*` settings.
pub fn resolv_conf(host_conf: &str, mode: ResolvMode, dns: &DnsSettings<'_>) -> String {
    match mode {
        ResolvMode::Embedded => embedded(host_conf, dns),
        ResolvMode::Host | ResolvMode::Private => own(host_conf, mode, dns),
    }
}

fn own(host_conf: &str, mode: ResolvMode, dns: &DnsSettings<'_>) -> String {
    let mut out = String::new();
    for line in host_conf.lines() {
        let t = line.trim();
        if t.starts_with("nameserver") {
            let addr = t.split_whitespace().nth(1).unwrap_or("");
            if !dns.servers.is_empty() || (is_loopback(addr) && mode != ResolvMode::Host) {
                continue;
            }
        }
        if (t.starts_with("search") && !dns.search.is_empty())
            || (t.starts_with("options") && !dns.options.is_empty())
        {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for ns in dns.servers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !out
        .lines()
        .any(|l| l.trim_start().starts_with("nameserver"))
    {
        for ns in DEFAULT_NAMESERVERS {
            out.push_str(&format!("nameserver {ns}\n"));
        }
    }
    push_list(&mut out, "search", dns.search);
    push_list(&mut out, "options", dns.options);
    out
}

fn embedded(host_conf: &str, dns: &DnsSettings<'_>) -> String {
    let host_list = |key: &str| -> Vec<String> {
        host_conf
            .lines()
            .filter_map(|l| l.trim().strip_prefix(key))
            .filter(|rest| rest.starts_with([' ', '\t']))
            .flat_map(|rest| rest.split_whitespace().map(String::from))
            .collect()
    };
    let search = if dns.search.is_empty() {
        host_list("search")
    } else {
        dns.search.to_vec()
    };
    let mut options = if dns.options.is_empty() {
        host_list("options")
    } else {
        dns.options.to_vec()
    };
    // Docker's: single-label names go to the embedded DNS first.
    if !options.iter().any(|o| o.starts_with("ndots:")) {
        options.insert(0, "ndots:0".into());
    }
    let mut out = String::from("nameserver 127.0.0.11\n");
    push_list(&mut out, "search", &search);
    push_list(&mut out, "options", &options);
    out
}

fn push_list(out: &mut String, key: &str, items: &[String]) {
    if !items.is_empty() {
        out.push_str(&format!("{key} {}\n", items.join(" ")));
    }
}

fn is_loopback(addr: &str) -> bool {
    addr.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The resolvers the embedded DNS forwards to: the `--dns` servers, else the host's (its
/// loopback ones too: forwarding happens from the host's namespace), else Docker's
/// fallback.
pub fn upstreams(host_conf: &str, dns_servers: &[String]) -> Vec<SocketAddr> {
    let parse = |s: &str| s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53));
    let mut out: Vec<SocketAddr> = dns_servers.iter().filter_map(|s| parse(s)).collect();
    if out.is_empty() {
        out = host_conf
            .lines()
            .filter_map(|l| l.trim().strip_prefix("nameserver"))
            .filter_map(|rest| rest.split_whitespace().next())
            .filter_map(parse)
            .collect();
    }
    if out.is_empty() {
        out = DEFAULT_NAMESERVERS
            .iter()
            .filter_map(|s| parse(s))
            .collect();
    }
    out
}

/// What goes into a container's /etc/hosts.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostsInput<'a> {
    pub hostname: &'a str,
    pub domainname: &'a str,
    /// The container's own addresses (none with `--network none`).
    pub addresses: &'a [IpAddr],
    /// `--add-host` values, `name:ip` (or `name=ip`).
    pub extra_hosts: &'a [String],
    /// What `host-gateway` in an extra host stands for.
    pub host_gateway: Option<IpAddr>,
}

const BASE_HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// A container's /etc/hosts: the standard entries, the extra hosts, then its own addresses
/// with its host name.
pub fn hosts(input: &HostsInput<'_>) -> Result<String> {
    let mut out = String::from(BASE_HOSTS);
    push_extra_hosts(&mut out, input)?;
    let names = match input.domainname {
        "" => input.hostname.to_string(),
        d => format!("{}.{d} {}", input.hostname, input.hostname),
    };
    for ip in input.addresses {
        out.push_str(&format!("{ip}\t{names}\n"));
    }
    Ok(out)
}

/// /etc/hosts with `--network host`: the host's own file, then the extra hosts.
pub fn host_mode_hosts(host_file: &str, input: &HostsInput<'_>) -> Result<String> {
    let mut out = host_file.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    push_extra_hosts(&mut out, input)?;
    Ok(out)
}

fn push_extra_hosts(out: &mut String, input: &HostsInput<'_>) -> Result<()> {
    for extra in input.extra_hosts {
        let (name, ip) = parse_extra_host(extra, input.host_gateway)?;
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    Ok(())
}

/// Parses an `--add-host` value: `name:ip` or `name=ip`, `ip` may be IPv6 (also in
/// brackets) or `host-gateway`.
pub fn parse_extra_host(s: &str, host_gateway: Option<IpAddr>) -> Result<(String, IpAddr)> {
    let bad = || Error::InvalidArgument(format!("invalid IP address in add-host: {s:?}"));
    let (name, ip) = s
        .split_once('=')
        .or_else(|| s.split_once(':'))
        .ok_or_else(bad)?;
    if name.is_empty() {
        return Err(bad());
    }
    let ip = match ip.trim_matches(|c| c == '[' || c == ']') {
        "host-gateway" => host_gateway.ok_or_else(|| {
            Error::InvalidArgument("unable to derive the IP value for host-gateway".into())
        })?,
        v => v.parse().map_err(|_| bad())?,
    };
    Ok((name.to_string(), ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn private_resolv_conf_drops_loopback_and_falls_back_to_dockers() {
        let none = DnsSettings::default();
        let only_local = "nameserver 127.0.0.53\noptions edns0\n";
        assert_eq!(
            resolv_conf(only_local, ResolvMode::Private, &none),
            "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        let mixed = "nameserver 127.0.0.1\nnameserver 10.0.0.2\n";
        assert_eq!(
            resolv_conf(mixed, ResolvMode::Private, &none),
            "nameserver 10.0.0.2\n"
        );
        assert_eq!(
            resolv_conf(mixed, ResolvMode::Host, &none),
            mixed,
            "host mode keeps loopback"
        );
        let servers = v(&["1.1.1.1"]);
        let (search, options) = (v(&["a.example", "b.example"]), v(&["ndots:2", "rotate"]));
        let custom = DnsSettings {
            servers: &servers,
            search: &search,
            options: &options,
        };
        let host = "search corp\noptions timeout:1\nnameserver 10.0.0.2\n";
        assert_eq!(
            resolv_conf(host, ResolvMode::Private, &custom),
            "nameserver 1.1.1.1\nsearch a.example b.example\noptions ndots:2 rotate\n"
        );
    }

    #[test]
    fn embedded_resolv_conf_points_at_127_0_0_11_with_the_hosts_search_and_options() {
        let host = "nameserver 10.0.0.2\nsearch corp.example\noptions timeout:1 edns0\n";
        assert_eq!(
            resolv_conf(host, ResolvMode::Embedded, &DnsSettings::default()),
            "nameserver 127.0.0.11\nsearch corp.example\noptions ndots:0 timeout:1 edns0\n"
        );
        let (search, options) = (v(&["x.example"]), v(&["ndots:3"]));
        let custom = DnsSettings {
            servers: &[],
            search: &search,
            options: &options,
        };
        assert_eq!(
            resolv_conf(host, ResolvMode::Embedded, &custom),
            "nameserver 127.0.0.11\nsearch x.example\noptions ndots:3\n"
        );
    }

    #[test]
    fn upstreams_are_the_dns_flags_else_the_hosts_else_dockers() {
        let host = "nameserver 127.0.0.53\nnameserver 10.0.0.2\n";
        let got: Vec<String> = upstreams(host, &[]).iter().map(|a| a.to_string()).collect();
        assert_eq!(got, ["127.0.0.53:53", "10.0.0.2:53"]);
        assert_eq!(
            upstreams(host, &v(&["9.9.9.9"]))[0].to_string(),
            "9.9.9.9:53"
        );
        assert_eq!(upstreams("", &[]).len(), 2);
    }

    #[test]
    fn hosts_has_the_standard_entries_extra_hosts_and_the_containers_name() {
        let extra = v(&["db:10.0.0.9", "v6:::1", "gw:host-gateway", "eq=10.0.0.8"]);
        let addrs = ["172.18.0.2".parse().unwrap()];
        let input = HostsInput {
            hostname: "abc123",
            domainname: "example.org",
            addresses: &addrs,
            extra_hosts: &extra,
            host_gateway: Some("172.17.0.1".parse().unwrap()),
        };
        let h = hosts(&input).unwrap();
        assert!(h.starts_with("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
        assert!(
            h.contains("10.0.0.9\tdb\n::1\tv6\n172.17.0.1\tgw\n10.0.0.8\teq\n"),
            "{h}"
        );
        assert!(
            h.ends_with("172.18.0.2\tabc123.example.org abc123\n"),
            "{h}"
        );
        let no_gw = HostsInput {
            host_gateway: None,
            ..input
        };
        assert!(hosts(&no_gw).is_err());
        assert!(parse_extra_host("nocolon", None).is_err());
        assert!(parse_extra_host("x:notanip", None).is_err());
        let hm = host_mode_hosts("127.0.0.1 localhost myhost", &HostsInput::default()).unwrap();
        assert_eq!(hm, "127.0.0.1 localhost myhost\n");
    }
}
