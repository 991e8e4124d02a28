//! The error body every failed request answers with.

use crate::nullable::zero;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorResponse {
    #[serde(deserialize_with = "zero")]
    pub message: String,
}
