//! Images: list, inspect, history, delete (moby's `api/types/image`).

use crate::container::{GraphDriverData, HealthConfig};
use crate::nullable::{is_empty, is_none, str_slice, zero};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One image of `GET /images/json`. A missing `SharedSize` or `Containers` reads as -1 (not
/// computed), a missing `VirtualSize` as none (API 1.44 dropped it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageSummary {
    #[serde(deserialize_with = "zero")]
    pub id: String,
    #[serde(deserialize_with = "zero")]
    pub parent_id: String,
    #[serde(deserialize_with = "zero")]
    pub repo_tags: Vec<String>,
    #[serde(deserialize_with = "zero")]
    pub repo_digests: Vec<String>,
    #[serde(deserialize_with = "zero")]
    pub created: i64,
    #[serde(deserialize_with = "zero")]
    pub size: i64,
    /// -1 when not computed.
    #[serde(deserialize_with = "zero")]
    pub shared_size: i64,
    #[serde(skip_serializing_if = "is_none")]
    pub virtual_size: Option<i64>,
    #[serde(deserialize_with = "zero")]
    pub labels: BTreeMap<String, String>,
    /// -1 when not computed.
    #[serde(deserialize_with = "zero")]
    pub containers: i64,
}

impl Default for ImageSummary {
    fn default() -> Self {
        Self {
            id: String::new(),
            parent_id: String::new(),
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
            created: 0,
            size: 0,
            shared_size: -1,
            virtual_size: None,
            labels: BTreeMap::new(),
            containers: -1,
        }
    }
}

/// One line of `DELETE /images/{name}`'s answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ImageDeleteItem {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub untagged: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub deleted: Option<String>,
}

/// The config an image gives its containers (the OCI image config with Docker's keys).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageConfig {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub user: String,
    #[serde(skip_serializing_if = "is_empty")]
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "is_empty")]
    pub env: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "str_slice")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "str_slice")]
    pub cmd: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_empty")]
    pub volumes: Option<BTreeMap<String, Value>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub working_dir: String,
    #[serde(skip_serializing_if = "is_empty")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub stop_signal: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub args_escaped: bool,
    #[serde(skip_serializing_if = "is_none")]
    pub healthcheck: Option<HealthConfig>,
    #[serde(skip_serializing_if = "is_empty")]
    pub on_build: Option<Vec<String>>,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "str_slice")]
    pub shell: Option<Vec<String>>,
}

/// `RootFS` of an image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct RootFs {
    #[serde(deserialize_with = "zero")]
    pub r#type: String,
    #[serde(skip_serializing_if = "is_empty")]
    pub layers: Option<Vec<String>>,
}

/// `Metadata` of an image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageMetadata {
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub last_tag_time: String,
}

/// Answer of `GET /images/{name}/json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageInspect {
    #[serde(deserialize_with = "zero")]
    pub id: String,
    pub repo_tags: Option<Vec<String>>,
    pub repo_digests: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub parent: String,
    #[serde(deserialize_with = "zero")]
    pub comment: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub created: String,
    #[serde(deserialize_with = "zero")]
    pub docker_version: String,
    #[serde(deserialize_with = "zero")]
    pub author: String,
    pub config: Option<ImageConfig>,
    #[serde(deserialize_with = "zero")]
    pub architecture: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub variant: String,
    #[serde(deserialize_with = "zero")]
    pub os: String,
    #[serde(skip_serializing_if = "is_empty", deserialize_with = "zero")]
    pub os_version: String,
    #[serde(deserialize_with = "zero")]
    pub size: i64,
    #[serde(deserialize_with = "zero")]
    pub graph_driver: GraphDriverData,
    #[serde(rename = "RootFS", deserialize_with = "zero")]
    pub root_fs: RootFs,
    #[serde(deserialize_with = "zero")]
    pub metadata: ImageMetadata,
}

/// One layer of `GET /images/{name}/history`, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
pub struct HistoryItem {
    #[serde(deserialize_with = "zero")]
    pub id: String,
    #[serde(deserialize_with = "zero")]
    pub created: i64,
    #[serde(deserialize_with = "zero")]
    pub created_by: String,
    pub tags: Option<Vec<String>>,
    #[serde(deserialize_with = "zero")]
    pub size: i64,
    #[serde(deserialize_with = "zero")]
    pub comment: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_read_nulls_as_empty() {
        let s: ImageSummary = serde_json::from_str(
            r#"{"Id":"sha256:a","Labels":null,"RepoDigests":null,"RepoTags":["x:1"]}"#,
        )
        .unwrap();
        assert!(s.labels.is_empty() && s.repo_digests.is_empty());
        assert_eq!(s.containers, -1);
        assert_eq!((s.shared_size, s.virtual_size), (-1, None));
        let i: ImageInspect =
            serde_json::from_str(r#"{"Id":"sha256:b","Config":{"Cmd":["sh"]},"GraphDriver":{"Name":"overlay2","Data":null}}"#)
                .unwrap();
        assert_eq!(i.config.unwrap().cmd, Some(vec!["sh".to_string()]));
    }
}
