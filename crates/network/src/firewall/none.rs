//! The firewall that does nothing: a named backend rather than `if` checks in the drivers.

use super::{Firewall, FwNetwork, FwPort};
use crate::error::Result;

/// No rules at all: no masquerade, no isolation, no published ports.
#[derive(Debug, Default)]
pub struct NoFirewall;

impl Firewall for NoFirewall {
    fn init(&self) -> Result<()> {
        Ok(())
    }
    fn add_network(&self, _: &FwNetwork) -> Result<()> {
        Ok(())
    }
    fn remove_network(&self, _: &FwNetwork) -> Result<()> {
        Ok(())
    }
    fn add_ports(&self, _: &str, _: &[FwPort]) -> Result<()> {
        Ok(())
    }
    fn remove_ports(&self, _: &str) -> Result<()> {
        Ok(())
    }
    fn remove_all(&self) -> Result<()> {
        Ok(())
    }
}
