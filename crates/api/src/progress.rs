//! The JSON-lines progress messages of `POST /images/create` (and pull, push, load): moby's
//! `jsonmessage.JSONMessage`.

use crate::nullable::{is_empty, is_none, zero};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bytes done of a layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressDetail {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub current: i64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub total: i64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub start: i64,
    #[serde(
        rename = "hidecounts",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub hide_counts: bool,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub units: String,
}

/// A failure reported in the stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorDetail {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub code: i64,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub message: String,
}

/// One message of a progress stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressMessage {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub stream: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub status: String,
    #[serde(rename = "progressDetail", skip_serializing_if = "is_none")]
    pub progress_detail: Option<ProgressDetail>,
    /// The rendered bar (deprecated, still sent).
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub progress: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub id: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub from: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub time: i64,
    #[serde(
        rename = "timeNano",
        skip_serializing_if = "is_empty",
        deserialize_with = "zero"
    )]
    pub time_nano: i64,
    #[serde(rename = "errorDetail", skip_serializing_if = "is_none")]
    pub error_detail: Option<ErrorDetail>,
    /// The error as text (deprecated, still sent).
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub error: String,
    #[serde(skip_serializing_if = "is_none")]
    pub aux: Option<Value>,
}

impl ProgressMessage {
    /// A plain status line (`{"status": ...}`).
    pub fn status(status: impl Into<String>) -> Self {
        Self {
            status: status.into(),
            ..Self::default()
        }
    }

    /// The failure this message reports, if any.
    pub fn failure(&self) -> Option<&str> {
        if !self.error.is_empty() {
            return Some(&self.error);
        }
        self.error_detail
            .as_ref()
            .map(|e| e.message.as_str())
            .filter(|m| !m.is_empty())
    }

    /// Whether this is a byte-count update (docker skips them without a terminal).
    pub fn is_progress_update(&self) -> bool {
        self.progress_detail
            .as_ref()
            .is_some_and(|p| *p != ProgressDetail::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let m: ProgressMessage = serde_json::from_str(
            r#"{"status":"Downloading","id":"a","progressDetail":{"current":1,"total":2}}"#,
        )
        .unwrap();
        assert!(m.is_progress_update());
        assert_eq!(m.failure(), None);
        let m: ProgressMessage =
            serde_json::from_str(r#"{"errorDetail":{"message":"boom"},"error":"boom"}"#).unwrap();
        assert_eq!(m.failure(), Some("boom"));
        assert_eq!(
            serde_json::to_string(&ProgressMessage::status("sha256:x")).unwrap(),
            r#"{"status":"sha256:x"}"#
        );
        let m: ProgressMessage =
            serde_json::from_str(r#"{"status":"x","progressDetail":{}}"#).unwrap();
        assert!(!m.is_progress_update());
    }
}
