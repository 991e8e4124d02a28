//! Where the daemon listens: `unix:///path` or `tcp://host:port`, and the connection to it.

use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

use crate::error::{ConnectError, Error, Result};

/// berthd's default socket.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// Docker's port for plain-HTTP TCP daemons.
const DEFAULT_TCP_PORT: u16 = 2375;

/// Picks the host: the flag, then `BERTH_HOST`, then `DOCKER_HOST`, then [`DEFAULT_HOST`].
pub fn resolve_host(flag: Option<&str>) -> String {
    if let Some(h) = flag {
        return h.to_string();
    }
    for var in ["BERTH_HOST", "DOCKER_HOST"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return v;
            }
        }
    }
    DEFAULT_HOST.to_string()
}

/// A parsed daemon address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    /// `host:port`.
    Tcp(String),
}

impl Host {
    /// Parses `unix:///path`, `/path` or `tcp://host[:port]`.
    pub fn parse(host: &str) -> Result<Host> {
        if let Some(p) = host.strip_prefix("unix://") {
            if p.is_empty() {
                return Err(Error::InvalidHost(format!(
                    "invalid host {host:?}: empty socket path"
                )));
            }
            return Ok(Host::Unix(PathBuf::from(p)));
        }
        if let Some(rest) = host.strip_prefix("tcp://") {
            let addr = rest.trim_end_matches('/');
            if addr.is_empty() || addr.contains('/') {
                return Err(Error::InvalidHost(format!(
                    "invalid host {host:?}: expected tcp://host:port"
                )));
            }
            let has_port = match addr.rsplit_once(':') {
                // `[::1]` has colons but no port.
                Some((h, p)) => !h.ends_with(':') && !p.contains(']') && !p.is_empty(),
                None => false,
            };
            return Ok(Host::Tcp(if has_port {
                addr.to_string()
            } else {
                format!("{addr}:{DEFAULT_TCP_PORT}")
            }));
        }
        if host.starts_with('/') {
            return Ok(Host::Unix(PathBuf::from(host)));
        }
        Err(Error::InvalidHost(format!(
            "invalid host {host:?}: expected unix:///path/to/berth.sock or tcp://host:port"
        )))
    }

    /// The `Host` header: docker's fixed name on a socket, the address over TCP.
    pub fn header(&self) -> String {
        match self {
            Host::Unix(_) => "api.moby.localhost".to_string(),
            Host::Tcp(addr) => addr.clone(),
        }
    }
}

/// A byte stream to the daemon, whichever transport.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Opens a connection; failing to is docker's "Cannot connect" error naming `shown`.
pub async fn open(host: &Host, shown: &str) -> Result<Box<dyn Io>> {
    let cannot = || {
        Error::Connect(ConnectError {
            host: shown.to_string(),
        })
    };
    Ok(match host {
        Host::Unix(path) => Box::new(UnixStream::connect(path).await.map_err(|_| cannot())?),
        Host::Tcp(addr) => {
            let s = TcpStream::connect(addr.as_str())
                .await
                .map_err(|_| cannot())?;
            // Interactive streams must not wait for Nagle.
            let _ = s.set_nodelay(true);
            Box::new(s)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(
            Host::parse("unix:///run/berth/berth.sock").unwrap(),
            Host::Unix(PathBuf::from("/run/berth/berth.sock"))
        );
        assert_eq!(
            Host::parse("/x.sock").unwrap(),
            Host::Unix(PathBuf::from("/x.sock"))
        );
        assert_eq!(
            Host::parse("tcp://127.0.0.1:2375").unwrap(),
            Host::Tcp("127.0.0.1:2375".into())
        );
        assert_eq!(
            Host::parse("tcp://localhost").unwrap(),
            Host::Tcp("localhost:2375".into())
        );
        assert_eq!(
            Host::parse("tcp://[::1]").unwrap(),
            Host::Tcp("[::1]:2375".into())
        );
        assert_eq!(
            Host::parse("tcp://[::1]:80").unwrap(),
            Host::Tcp("[::1]:80".into())
        );
        assert!(Host::parse("http://x").is_err());
        assert!(Host::parse("unix://").is_err());
        assert!(Host::parse("tcp://").is_err());
    }
}
