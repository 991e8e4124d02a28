//! The names the embedded DNS answers: per network, per container, its names and addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

#[derive(Default)]
pub(super) struct Records {
    /// network id → container id → entry.
    networks: RwLock<HashMap<String, HashMap<String, Entry>>>,
    /// Advances at each answer, to rotate shared names' addresses (round robin).
    turn: AtomicUsize,
}

struct Entry {
    names: Vec<String>,
    ips: Vec<IpAddr>,
}

/// Names compare without case and without the root's trailing dot.
pub(super) fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Records {
    pub(super) fn add(&self, network: &str, container: &str, names: &[String], ips: &[IpAddr]) {
        let entry = Entry {
            names: names
                .iter()
                .map(|n| normalize(n))
                .filter(|n| !n.is_empty())
                .collect(),
            ips: ips.to_vec(),
        };
        self.write()
            .entry(network.to_string())
            .or_default()
            .insert(container.to_string(), entry);
    }

    pub(super) fn remove(&self, network: &str, container: &str) {
        let mut nets = self.write();
        if let Some(n) = nets.get_mut(network) {
            n.remove(container);
            if n.is_empty() {
                nets.remove(network);
            }
        }
    }

    /// Whether `name` is a container name on a network `container` is attached to, and
    /// its addresses in rotated order.
    pub(super) fn find(&self, container: &str, name: &str) -> Option<Vec<IpAddr>> {
        let name = normalize(name);
        let nets = self.networks.read().unwrap_or_else(|e| e.into_inner());
        let mut found = false;
        let mut ips: Vec<IpAddr> = Vec::new();
        for members in nets.values().filter(|m| m.contains_key(container)) {
            for entry in members.values().filter(|e| e.names.contains(&name)) {
                found = true;
                ips.extend(
                    entry
                        .ips
                        .iter()
                        .filter(|ip| !ips.contains(ip))
                        .collect::<Vec<_>>(),
                );
            }
        }
        if !found {
            return None;
        }
        ips.sort();
        if !ips.is_empty() {
            let k = self.turn.fetch_add(1, Ordering::Relaxed) % ips.len();
            ips.rotate_left(k);
        }
        Some(ips)
    }

    pub(super) fn lookup(&self, container: &str, name: &str) -> Vec<IpAddr> {
        self.find(container, name).unwrap_or_default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, HashMap<String, Entry>>> {
        self.networks.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn names_are_scoped_to_shared_networks_and_rotate() {
        let r = Records::default();
        r.add("front", "a", &["a".into()], &[ip("10.0.0.2")]);
        r.add(
            "front",
            "w1",
            &["w1".into(), "Web".into()],
            &[ip("10.0.0.3")],
        );
        r.add(
            "front",
            "w2",
            &["w2".into(), "web".into()],
            &[ip("10.0.0.4")],
        );
        r.add("back", "db", &["db".into()], &[ip("10.1.0.2")]);
        r.add("back", "w1", &["w1".into()], &[ip("10.1.0.3")]);
        assert_eq!(r.lookup("a", "W1."), vec![ip("10.0.0.3")]);
        assert!(r.find("a", "db").is_none(), "db shares no network with a");
        // w1 is on both networks: it sees db, and both of its own addresses.
        assert_eq!(r.lookup("w1", "db"), vec![ip("10.1.0.2")]);
        let firsts: std::collections::BTreeSet<_> =
            (0..4).map(|_| r.lookup("a", "web")[0]).collect();
        assert_eq!(firsts.len(), 2, "round robin over the shared alias");
        assert_eq!(r.lookup("a", "web").len(), 2);
        r.remove("front", "w2");
        assert_eq!(r.lookup("a", "web"), vec![ip("10.0.0.3")]);
        r.remove("front", "w1");
        assert!(r.find("a", "web").is_none());
    }
}
