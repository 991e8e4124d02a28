//! `--network host`: the container shares the host's namespace; there is nothing to do.

use async_trait::async_trait;

use super::{Attachment, Endpoint, Network, NetworkDriver};
use crate::error::Result;
use crate::netns::Netns;

#[derive(Debug, Default)]
pub struct HostDriver;

#[async_trait]
impl NetworkDriver for HostDriver {
    fn name(&self) -> &'static str {
        "host"
    }
    fn validate(&self, _: &Network) -> Result<()> {
        Ok(())
    }
    async fn create_network(&self, _: &Network) -> Result<()> {
        Ok(())
    }
    async fn delete_network(&self, _: &Network) -> Result<()> {
        Ok(())
    }
    async fn attach(&self, _: &Network, _: &Endpoint, _: &Netns) -> Result<Attachment> {
        Ok(Attachment::default())
    }
    async fn restore(&self, _: &Network, _: &Endpoint) -> Result<()> {
        Ok(())
    }
    async fn detach(&self, _: &Network, _: &Endpoint, _: Option<&Netns>) -> Result<()> {
        Ok(())
    }
}
