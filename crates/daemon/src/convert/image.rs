//! Images: inspect and history.

use berth_api::container::{GraphDriverData, ZERO_TIME};
use berth_api::image as api;
use berth_engine::images::{HistoryEntry, ImageDetails};
use std::collections::BTreeMap;

pub fn inspect(d: ImageDetails) -> api::ImageInspect {
    // The image config is Docker's own JSON (its keys are the API's): read it as the API's.
    let config = d
        .config
        .as_ref()
        .and_then(|c| serde_json::to_value(c).ok())
        .and_then(|v| serde_json::from_value(v).ok());
    api::ImageInspect {
        id: d.id,
        repo_tags: Some(d.repo_tags),
        repo_digests: Some(d.repo_digests),
        parent: String::new(),
        comment: d.comment,
        created: d.created,
        docker_version: String::new(),
        author: d.author,
        config,
        architecture: d.architecture,
        variant: d.variant.unwrap_or_default(),
        os: d.os,
        os_version: String::new(),
        size: d.size as i64,
        graph_driver: GraphDriverData {
            name: d.driver.to_string(),
            data: Some(BTreeMap::new()),
        },
        root_fs: api::RootFs {
            r#type: "layers".into(),
            layers: Some(d.diff_ids),
        },
        metadata: api::ImageMetadata {
            last_tag_time: ZERO_TIME.into(),
        },
    }
}

pub fn history(entries: Vec<HistoryEntry>) -> Vec<api::HistoryItem> {
    entries
        .into_iter()
        .map(|h| api::HistoryItem {
            // Docker's placeholder for layers that are not images of their own.
            id: h.id.unwrap_or_else(|| "<missing>".into()),
            created: h.created,
            created_by: h.created_by,
            tags: h.tags,
            size: h.size as i64,
            comment: h.comment,
        })
        .collect()
}
