//! `GET /events` messages.

use crate::nullable::zero;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EventActor {
    #[serde(rename = "ID", deserialize_with = "zero")]
    pub id: String,
    #[serde(rename = "Attributes", deserialize_with = "zero")]
    pub attributes: BTreeMap<String, String>,
}

/// One event, in the shape dockerd sends (including the deprecated top-level `status`, `id` and
/// `from` that older clients still read).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct EventMessage {
    #[serde(rename = "Type", deserialize_with = "zero")]
    pub kind: String,
    #[serde(rename = "Action", deserialize_with = "zero")]
    pub action: String,
    #[serde(rename = "Actor", deserialize_with = "zero")]
    pub actor: EventActor,
    #[serde(deserialize_with = "zero")]
    pub scope: String,
    #[serde(deserialize_with = "zero")]
    pub time: i64,
    #[serde(rename = "timeNano", deserialize_with = "zero")]
    pub time_nano: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}
