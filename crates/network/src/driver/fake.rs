//! An in-memory driver for the engine's unit tests: it keeps networks and endpoints in maps,
//! records every call, and refuses what the real drivers refuse (attaching twice, attaching
//! to a network that was not created). Touches no kernel.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Attachment, Endpoint, Network, NetworkDriver};
use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::ports::{HostPorts, PortMapping};

/// One call the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeCall {
    CreateNetwork(String),
    DeleteNetwork(String),
    Attach { network: String, container: String },
    Restore { network: String, container: String },
    Detach { network: String, container: String },
}

#[derive(Default)]
struct State {
    networks: BTreeSet<String>,
    endpoints: BTreeMap<(String, String), Vec<PortMapping>>,
    calls: Vec<FakeCall>,
    ports: HostPorts,
}

/// The fake driver; `name` is the driver name it answers to.
pub struct FakeDriver {
    name: &'static str,
    state: Mutex<State>,
}

impl FakeDriver {
    pub fn new(name: &'static str) -> Self {
        FakeDriver {
            name,
            state: Mutex::default(),
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.state().calls.clone()
    }

    /// The ids of the networks that exist.
    pub fn networks(&self) -> Vec<String> {
        self.state().networks.iter().cloned().collect()
    }

    /// The (network id, container id) pairs attached.
    pub fn endpoints(&self) -> Vec<(String, String)> {
        self.state().endpoints.keys().cloned().collect()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl NetworkDriver for FakeDriver {
    fn name(&self) -> &'static str {
        self.name
    }

    fn validate(&self, _: &Network) -> Result<()> {
        Ok(())
    }

    async fn create_network(&self, net: &Network) -> Result<()> {
        let mut s = self.state();
        s.calls.push(FakeCall::CreateNetwork(net.id.clone()));
        s.networks.insert(net.id.clone());
        Ok(())
    }

    async fn delete_network(&self, net: &Network) -> Result<()> {
        let mut s = self.state();
        s.calls.push(FakeCall::DeleteNetwork(net.id.clone()));
        if s.endpoints.keys().any(|(n, _)| *n == net.id) {
            return Err(Error::Conflict(format!(
                "network {} has active endpoints",
                net.name
            )));
        }
        s.networks.remove(&net.id);
        Ok(())
    }

    async fn attach(&self, net: &Network, ep: &Endpoint, _: &Netns) -> Result<Attachment> {
        let mut s = self.state();
        s.calls.push(FakeCall::Attach {
            network: net.id.clone(),
            container: ep.container_id.clone(),
        });
        if !s.networks.contains(&net.id) {
            return Err(Error::NotFound(format!("network {} not found", net.name)));
        }
        let key = (net.id.clone(), ep.container_id.clone());
        if s.endpoints.contains_key(&key) {
            return Err(Error::Conflict(format!(
                "endpoint with name {} already exists in network {}",
                ep.container_id, net.name
            )));
        }
        let ports = s.ports.take(&ep.ports, &|_| true)?;
        s.endpoints.insert(key, ports.clone());
        Ok(Attachment {
            host_ifname: None,
            mac: Some([0x02, 0x42, 0, 0, 0, s.endpoints.len() as u8]),
            addresses: ep.addresses.clone(),
            gateways: net.gateways(),
            ports,
        })
    }

    async fn restore(&self, net: &Network, ep: &Endpoint) -> Result<()> {
        let mut s = self.state();
        s.calls.push(FakeCall::Restore {
            network: net.id.clone(),
            container: ep.container_id.clone(),
        });
        s.ports.restore(&ep.ports);
        s.endpoints
            .insert((net.id.clone(), ep.container_id.clone()), ep.ports.clone());
        Ok(())
    }

    async fn detach(&self, net: &Network, ep: &Endpoint, _: Option<&Netns>) -> Result<()> {
        let mut s = self.state();
        s.calls.push(FakeCall::Detach {
            network: net.id.clone(),
            container: ep.container_id.clone(),
        });
        if let Some(ports) = s
            .endpoints
            .remove(&(net.id.clone(), ep.container_id.clone()))
        {
            s.ports.release(&ports);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> Network {
        Network {
            id: "n1".into(),
            name: "front".into(),
            driver: "bridge".into(),
            subnets: Vec::new(),
            internal: false,
            options: Default::default(),
        }
    }

    fn ep(id: &str) -> Endpoint {
        Endpoint {
            container_id: id.into(),
            ifname: "eth0".into(),
            addresses: Vec::new(),
            mac: None,
            ports: crate::ports::parse_publish("8080:80").unwrap(),
        }
    }

    #[tokio::test]
    async fn fake_refuses_what_real_drivers_refuse_and_records_calls() {
        let d = FakeDriver::new("bridge");
        let ns = Netns::from_file(std::fs::File::open("/dev/null").unwrap());
        assert_eq!(
            d.attach(&net(), &ep("c1"), &ns).await.unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
        d.create_network(&net()).await.unwrap();
        let a = d.attach(&net(), &ep("c1"), &ns).await.unwrap();
        assert_eq!(a.ports[0].host_port, 8080);
        assert_eq!(
            d.attach(&net(), &ep("c1"), &ns).await.unwrap_err().kind(),
            crate::ErrorKind::Conflict
        );
        // The host port is taken by c1.
        assert!(d.attach(&net(), &ep("c2"), &ns).await.is_err());
        assert!(d.delete_network(&net()).await.is_err());
        d.detach(&net(), &ep("c1"), None).await.unwrap();
        d.attach(&net(), &ep("c2"), &ns).await.unwrap();
        assert_eq!(d.endpoints(), vec![("n1".to_string(), "c2".to_string())]);
        assert_eq!(d.calls().len(), 8);
    }
}
