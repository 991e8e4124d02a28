//! The embedded DNS server of user-defined networks. The daemon runs one [`Resolver`]; for
//! each container on such a network it calls [`Resolver::serve`], which opens UDP and TCP
//! sockets on 127.0.0.11:53 inside the container's namespace (on a thread that entered it)
//! and serves them from the daemon's own tokio runtime. Names and aliases of the endpoints
//! on the networks the asking container is attached to are answered here (A and AAAA, in
//! rotating order when several containers share a name); any other name is forwarded to the
//! container's upstream resolvers, from the daemon's namespace (or the one given), so host
//! resolvers on loopback work too.

mod forward;
mod records;
mod server;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub use server::DnsServer;

use crate::error::Result;
use crate::netns::Netns;

/// The address the embedded DNS answers on, in every container that has it.
pub const DNS_ADDR: std::net::Ipv4Addr = std::net::Ipv4Addr::new(127, 0, 0, 11);

/// Time to live of the answers about containers (Docker's).
const TTL: u32 = 600;

/// The daemon's DNS: the names of every endpoint, and the upstream forwarder.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

struct Inner {
    records: records::Records,
    sockets: forward::Sockets,
}

impl Resolver {
    /// A resolver forwarding from `upstream_ns` (the daemon's own namespace when `None`).
    pub fn new(upstream_ns: Option<Netns>) -> Result<Self> {
        Ok(Resolver {
            inner: Arc::new(Inner {
                records: records::Records::default(),
                sockets: forward::Sockets::new(upstream_ns.as_ref())?,
            }),
        })
    }

    /// Makes `container` known on `network` by `names` (its name, short id, aliases) with
    /// `ips`. Calling it again replaces what was known.
    pub fn add_endpoint(&self, network: &str, container: &str, names: &[String], ips: &[IpAddr]) {
        self.inner.records.add(network, container, names, ips);
    }

    /// Forgets `container` on `network`.
    pub fn remove_endpoint(&self, network: &str, container: &str) {
        self.inner.records.remove(network, container);
    }

    /// The addresses `name` has for `container`, in the order the next answer gives them.
    pub fn lookup(&self, container: &str, name: &str) -> Vec<IpAddr> {
        self.inner.records.lookup(container, name)
    }

    /// Serves 127.0.0.11:53 (UDP and TCP) inside `ns` for `container`, forwarding unknown
    /// names to `upstreams`. It stops when the returned server is stopped or dropped (and
    /// with the namespace).
    pub async fn serve(
        &self,
        container: &str,
        ns: &Netns,
        upstreams: Vec<SocketAddr>,
    ) -> Result<DnsServer> {
        server::serve(self.inner.clone(), container, ns, upstreams).await
    }
}
