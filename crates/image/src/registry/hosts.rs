//! Which URLs serve a registry, as dockerd decides (`registry/service.go`):
//!
//! - `docker.io` is served by `https://registry-1.docker.io`; pulls try the
//!   `registry-mirrors` first, in order.
//! - any other host is `https://<host[:port]>`, with the CA and client certificates of
//!   `<certs dir>/<host[:port]>/`.
//! - an *insecure* registry (named in `insecure-registries`, or resolving to an address in
//!   one of its CIDRs, 127.0.0.0/8 by default) is tried over HTTPS without verifying the
//!   certificate, then over plain HTTP.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use reqwest::Url;

use super::error::{RegistryError, Result};
use crate::reference::DEFAULT_DOMAIN;

/// Where Docker Hub's registry API is.
pub const DOCKER_HUB_HOST: &str = "registry-1.docker.io";
/// The key Docker Hub's credentials are stored under (`docker login` with no server).
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// How berthd reaches registries: its `insecure-registries`, `registry-mirrors` and
/// certificate directory, and how many blobs move at once.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `host[:port]` names and CIDRs (`10.0.0.0/8`) of registries reached without TLS
    /// verification, and over plain HTTP when HTTPS fails. 127.0.0.0/8 is always one.
    pub insecure_registries: Vec<String>,
    /// Whether 127.0.0.0/8 is insecure without being listed (dockerd's rule, always on
    /// there; off only for tests that check certificate verification on loopback).
    pub insecure_loopback: bool,
    /// Mirrors of Docker Hub (`https://mirror.example:5000`), tried in order by pulls.
    pub mirrors: Vec<String>,
    /// Docker's `certs.d` directories: `<dir>/<host[:port]>/*.crt` are CAs, `*.cert` +
    /// `*.key` client certificates; the files of every directory count.
    pub certs_dirs: Vec<PathBuf>,
    /// Layers downloaded at once by one pull (dockerd's `max-concurrent-downloads`).
    pub max_concurrent_downloads: usize,
    /// Layers uploaded at once by one push (dockerd's `max-concurrent-uploads`).
    pub max_concurrent_uploads: usize,
    /// Bytes sent per PATCH of a chunked upload.
    pub chunk_size: usize,
    pub user_agent: String,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            insecure_registries: Vec::new(),
            insecure_loopback: true,
            mirrors: Vec::new(),
            certs_dirs: vec![
                PathBuf::from("/etc/berth/certs.d"),
                PathBuf::from("/etc/docker/certs.d"),
            ],
            max_concurrent_downloads: 3,
            max_concurrent_uploads: 5,
            chunk_size: 16 << 20,
            user_agent: format!("berth/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// One URL a registry may be reached at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `https://host:port/` (mirrors may carry a path).
    pub base: Url,
    /// The host as in references (`localhost:5000`): names its `certs.d` directory.
    pub host: String,
    /// Skip certificate verification (insecure registries over HTTPS).
    pub skip_verify: bool,
    pub mirror: bool,
}

/// `insecure-registries` parsed.
#[derive(Debug, Clone)]
pub(crate) struct Insecure {
    names: Vec<String>,
    nets: Vec<IpNet>,
}

impl Insecure {
    pub fn parse(entries: &[String], loopback: bool) -> Result<Insecure> {
        let mut names = Vec::new();
        let mut nets: Vec<IpNet> = Vec::new();
        if loopback {
            nets.push(IpNet::V4(
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(127, 0, 0, 0), 8)
                    .map_err(|e| RegistryError::Config(format!("the loopback network: {e}")))?,
            ));
        }
        for e in entries {
            let e = e.trim();
            let e = e
                .strip_prefix("http://")
                .or_else(|| e.strip_prefix("https://"))
                .unwrap_or(e)
                .trim_end_matches('/');
            if e.is_empty() {
                continue;
            }
            match e.parse::<IpNet>() {
                Ok(n) => nets.push(n),
                Err(_) if e.contains('/') => {
                    return Err(RegistryError::Config(format!(
                        "insecure registry {e} is not a valid CIDR"
                    )))
                }
                Err(_) => names.push(e.to_lowercase()),
            }
        }
        Ok(Insecure { names, nets })
    }

    /// dockerd's rule: named, or any address the host resolves to is in an insecure net.
    pub async fn is_insecure(&self, host: &str) -> bool {
        if host == DEFAULT_DOMAIN || host == DOCKER_HUB_HOST {
            return false;
        }
        let host = host.to_lowercase();
        if self.names.contains(&host) {
            return true;
        }
        let bare = strip_port(&host);
        if self.names.iter().any(|n| n == bare) {
            return true;
        }
        self.resolve(bare)
            .await
            .iter()
            .any(|ip| self.nets.iter().any(|n| n.contains(ip)))
    }

    async fn resolve(&self, host: &str) -> Vec<IpAddr> {
        let unbracketed = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = unbracketed.parse::<IpAddr>() {
            return vec![ip];
        }
        match tokio::net::lookup_host((host, 0)).await {
            Ok(addrs) => addrs.map(|a| a.ip()).collect(),
            Err(e) => {
                tracing::debug!(host, error = %e, "resolving a registry host");
                Vec::new()
            }
        }
    }
}

/// `host:port` → `host`; `[::1]:5000` → `[::1]`.
fn strip_port(host: &str) -> &str {
    if let Some(end) = host.find(']') {
        return &host[..=end];
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

fn url(s: &str) -> Result<Url> {
    Url::parse(s).map_err(|e| RegistryError::Config(format!("invalid registry URL {s:?}: {e}")))
}

/// The mirrors, validated as dockerd does: absolute http(s) URLs.
pub(crate) fn parse_mirrors(mirrors: &[String]) -> Result<Vec<Url>> {
    mirrors
        .iter()
        .map(|m| {
            let mut u = url(m.trim())?;
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return Err(RegistryError::Config(format!(
                    "invalid mirror: unsupported scheme or host in {m:?}"
                )));
            }
            if !u.path().ends_with('/') {
                let p = format!("{}/", u.path());
                u.set_path(&p);
            }
            Ok(u)
        })
        .collect()
}

/// The endpoints of `domain` (a reference's domain), in the order they are tried.
pub(crate) async fn endpoints(
    domain: &str,
    mirrors: &[Url],
    insecure: &Insecure,
    for_pull: bool,
) -> Result<Vec<Endpoint>> {
    let mut out = Vec::new();
    if domain == DEFAULT_DOMAIN {
        if for_pull {
            for m in mirrors {
                let host = host_port(m);
                let skip_verify = insecure.is_insecure(&host).await;
                out.push(Endpoint {
                    base: m.clone(),
                    host,
                    skip_verify,
                    mirror: true,
                });
            }
        }
        out.push(Endpoint {
            base: url(&format!("https://{DOCKER_HUB_HOST}/"))?,
            host: DOCKER_HUB_HOST.to_string(),
            skip_verify: false,
            mirror: false,
        });
        return Ok(out);
    }
    let insecure = insecure.is_insecure(domain).await;
    out.push(Endpoint {
        base: url(&format!("https://{domain}/"))?,
        host: domain.to_string(),
        skip_verify: insecure,
        mirror: false,
    });
    if insecure {
        out.push(Endpoint {
            base: url(&format!("http://{domain}/"))?,
            host: domain.to_string(),
            skip_verify: true,
            mirror: false,
        });
    }
    Ok(out)
}

fn host_port(u: &Url) -> String {
    match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    }
}

/// The registry host a `docker login` server argument names: `https://host:5000/v1/` →
/// `host:5000`; Docker Hub's forms → `docker.io`.
pub fn login_domain(server: &str) -> String {
    let s = server.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or_default().to_lowercase();
    match host.as_str() {
        "" | "index.docker.io" | "docker.io" | DOCKER_HUB_HOST => DEFAULT_DOMAIN.to_string(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn loopback_is_insecure_by_default() {
        let i = Insecure::parse(&[], true).unwrap();
        rt().block_on(async {
            assert!(i.is_insecure("127.0.0.1:5000").await);
            assert!(i.is_insecure("localhost:5000").await);
            assert!(i.is_insecure("127.3.4.5").await);
            assert!(!i.is_insecure("192.0.2.1:5000").await);
            assert!(!i.is_insecure("docker.io").await);
        });
    }

    #[test]
    fn named_and_cidr_entries() {
        let i = Insecure::parse(
            &[
                "myreg.example:5000".to_string(),
                "http://other.example".to_string(),
                "192.0.2.0/24".to_string(),
            ],
            true,
        )
        .unwrap();
        rt().block_on(async {
            assert!(i.is_insecure("myreg.example:5000").await);
            assert!(i.is_insecure("other.example:443").await);
            assert!(i.is_insecure("192.0.2.7:5000").await);
            assert!(!i.is_insecure("198.51.100.1").await);
        });
        assert!(Insecure::parse(&["10.0.0.0/33".to_string()], true).is_err());
        let strict = Insecure::parse(&[], false).unwrap();
        assert!(!rt().block_on(strict.is_insecure("127.0.0.1:5000")));
    }

    #[test]
    fn endpoint_order() {
        let i = Insecure::parse(&[], true).unwrap();
        let mirrors = parse_mirrors(&["https://mirror.example".to_string()]).unwrap();
        rt().block_on(async {
            let e = endpoints("docker.io", &mirrors, &i, true).await.unwrap();
            let urls: Vec<&str> = e.iter().map(|e| e.base.as_str()).collect();
            assert_eq!(
                urls,
                ["https://mirror.example/", "https://registry-1.docker.io/"]
            );
            assert!(e[0].mirror && !e[1].mirror);
            let e = endpoints("docker.io", &mirrors, &i, false).await.unwrap();
            assert_eq!(e.len(), 1, "pushes never go to mirrors");
            let e = endpoints("localhost:5000", &[], &i, true).await.unwrap();
            let urls: Vec<&str> = e.iter().map(|e| e.base.as_str()).collect();
            assert_eq!(urls, ["https://localhost:5000/", "http://localhost:5000/"]);
            assert!(e[0].skip_verify);
            let e = endpoints("192.0.2.1:5000", &[], &i, true).await.unwrap();
            assert_eq!(e.len(), 1);
            assert!(!e[0].skip_verify);
        });
        assert!(parse_mirrors(&["ftp://x".to_string()]).is_err());
    }

    #[test]
    fn login_domains() {
        assert_eq!(login_domain(""), "docker.io");
        assert_eq!(login_domain(DOCKER_HUB_AUTH_KEY), "docker.io");
        assert_eq!(login_domain("https://LocalHost:5000/v2/"), "localhost:5000");
        assert_eq!(login_domain("myreg:5000"), "myreg:5000");
        assert_eq!(strip_port("[::1]:5000"), "[::1]");
    }
}
