//! `HostConfig.NetworkMode`, read once into a value instead of string checks.

/// What a container's `--network` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkMode {
    /// The default bridge (`""`, `default`, `bridge`).
    Bridge,
    /// Its own namespace with only `lo` (driver `none`).
    None,
    /// The host's namespace (driver `host`).
    Host,
    /// Another container's namespace (`container:<name|id>`): the engine starts the
    /// container in that namespace; no driver is involved.
    Container(String),
    /// A user-defined network, by name or id.
    Named(String),
}

impl NetworkMode {
    pub fn parse(s: &str) -> Self {
        match s {
            "" | "default" | "bridge" => NetworkMode::Bridge,
            "none" => NetworkMode::None,
            "host" => NetworkMode::Host,
            other => match other.strip_prefix("container:") {
                Some(c) => NetworkMode::Container(c.to_string()),
                None => NetworkMode::Named(other.to_string()),
            },
        }
    }

    /// Whether the container gets the embedded DNS (Docker: user-defined networks only).
    pub fn has_embedded_dns(&self) -> bool {
        matches!(self, NetworkMode::Named(_))
    }

    /// Whether the container gets a network namespace of its own.
    pub fn has_own_namespace(&self) -> bool {
        !matches!(self, NetworkMode::Host | NetworkMode::Container(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_as_docker_reads_them() {
        assert_eq!(NetworkMode::parse("default"), NetworkMode::Bridge);
        assert_eq!(NetworkMode::parse("none"), NetworkMode::None);
        assert_eq!(
            NetworkMode::parse("container:web"),
            NetworkMode::Container("web".into())
        );
        let named = NetworkMode::parse("backend");
        assert!(named.has_embedded_dns() && named.has_own_namespace());
        assert!(!NetworkMode::Host.has_own_namespace());
        assert!(!NetworkMode::Bridge.has_embedded_dns());
    }
}
