//! `--network none`: a namespace of its own with only `lo`, up.

use async_trait::async_trait;

use super::{loopback_up, Attachment, Endpoint, Network, NetworkDriver};
use crate::error::Result;
use crate::netns::Netns;

#[derive(Debug, Default)]
pub struct NoneDriver;

#[async_trait]
impl NetworkDriver for NoneDriver {
    fn name(&self) -> &'static str {
        "none"
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
    async fn attach(&self, _: &Network, _: &Endpoint, ns: &Netns) -> Result<Attachment> {
        loopback_up(ns).await?;
        Ok(Attachment::default())
    }
    async fn restore(&self, _: &Network, _: &Endpoint) -> Result<()> {
        Ok(())
    }
    async fn detach(&self, _: &Network, _: &Endpoint, _: Option<&Netns>) -> Result<()> {
        Ok(())
    }
}
