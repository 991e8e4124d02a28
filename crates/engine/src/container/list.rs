//! `GET /containers/json` (`docker ps`): summaries and Docker's filters.

use super::inspect::{MountView, Sizes};
use super::ContainerRecord;
use crate::error::{EngineError, Result};
use crate::Engine;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub all: bool,
    /// Only the last N created (implies all).
    pub limit: Option<usize>,
    pub size: bool,
    pub filters: BTreeMap<String, Vec<String>>,
}

const KNOWN_FILTERS: &[&str] = &[
    "status", "name", "label", "id", "ancestor", "exited", "before", "since", "network", "volume",
    "health", "is-task", "expose", "publish",
];

impl Engine {
    pub fn list_containers(&self, opts: &ListOptions) -> Result<Vec<ContainerSummary>> {
        for key in opts.filters.keys() {
            if !KNOWN_FILTERS.contains(&key.as_str()) {
                return Err(EngineError::invalid(format!("invalid filter '{key}'")));
            }
        }
        for h in opts.filters.get("health").into_iter().flatten() {
            if !["starting", "healthy", "unhealthy", "none"].contains(&h.as_str()) {
                return Err(EngineError::invalid(format!(
                    "Unrecognised filter value for health: {h}"
                )));
            }
        }
        for s in opts.filters.get("status").into_iter().flatten() {
            if ![
                "created",
                "restarting",
                "running",
                "removing",
                "paused",
                "exited",
                "dead",
            ]
            .contains(&s.as_str())
            {
                return Err(EngineError::invalid(format!("invalid filter 'status={s}'")));
            }
        }
        let mut recs: Vec<ContainerRecord> =
            self.all_containers().iter().map(|c| c.snapshot()).collect();
        // Newest first, as Docker lists them.
        recs.sort_by(|a, b| b.created.cmp(&a.created));
        let all = opts.all
            || opts.limit.is_some()
            || opts.filters.contains_key("status")
            || opts.filters.contains_key("exited");
        let created_of = |key: &str| -> Option<String> {
            opts.filters
                .get(key)?
                .first()
                .and_then(|n| self.container(n).ok())
                .map(|c| c.snapshot().created)
        };
        let before = created_of("before");
        let since = created_of("since");
        let mut out = Vec::new();
        for rec in recs {
            if !all && !rec.state.is_running() {
                continue;
            }
            if before.as_ref().is_some_and(|b| rec.created >= *b)
                || since.as_ref().is_some_and(|s| rec.created <= *s)
            {
                continue;
            }
            if !self.filters_match(&rec, &opts.filters) {
                continue;
            }
            out.push(self.summary(rec, opts.size));
            if opts.limit.is_some_and(|n| out.len() >= n) {
                break;
            }
        }
        Ok(out)
    }

    fn filters_match(
        &self,
        rec: &ContainerRecord,
        filters: &BTreeMap<String, Vec<String>>,
    ) -> bool {
        let labels = rec.config.labels.clone().unwrap_or_default();
        filters.iter().all(|(key, values)| {
            // Every `label` must match (Docker's MatchKVList); the other keys take any value.
            if key == "label" {
                return labels_match(&labels, values);
            }
            values.iter().any(|v| match key.as_str() {
                "status" => rec.state.status().as_str() == *v,
                "name" => rec.name.contains(v.trim_start_matches('/')),
                "id" => rec.id.starts_with(v.as_str()),
                "ancestor" => {
                    rec.config.image == *v
                        || self
                            .images
                            .resolve(v)
                            .is_ok_and(|img| img.id == rec.image_id)
                }
                "exited" => {
                    !rec.state.is_running()
                        && rec.state.status() == crate::model::ContainerStatus::Exited
                        && v.parse::<i32>().is_ok_and(|c| c == rec.state.exit_code)
                }
                "network" => rec.host_config.network_mode.as_str() == v,
                "health" => {
                    let status = rec.state.health.as_ref().map(|h| h.status.as_str());
                    status.unwrap_or("none") == v
                }
                _ => true,
            })
        })
    }

    fn summary(&self, rec: ContainerRecord, size: bool) -> ContainerSummary {
        let created = chrono::DateTime::parse_from_rfc3339(&rec.created)
            .map(|t| t.timestamp())
            .unwrap_or(0);
        let mut command = rec.path.clone();
        for a in &rec.args {
            command.push(' ');
            if a.contains(' ') || a.is_empty() {
                command.push_str(&format!("'{a}'"));
            } else {
                command.push_str(a);
            }
        }
        ContainerSummary {
            created,
            command,
            mounts: Self::mount_points(&rec),
            sizes: size.then(|| self.container_sizes(&rec)),
            record: rec,
        }
    }
}

/// One container of a list, in the engine's terms.
#[derive(Debug, Clone)]
pub struct ContainerSummary {
    pub record: ContainerRecord,
    /// Unix seconds.
    pub created: i64,
    /// The command line as `docker ps` shows it.
    pub command: String,
    pub mounts: Vec<MountView>,
    pub sizes: Option<Sizes>,
}

/// Docker's `MatchKVList`: every `key` or `key=value` in `wanted` is among the labels.
pub(super) fn labels_match(labels: &BTreeMap<String, String>, wanted: &[String]) -> bool {
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).map(String::as_str) == Some(v),
        None => labels.contains_key(w),
    })
}

#[cfg(test)]
mod tests {
    use super::labels_match;
    use std::collections::BTreeMap;

    #[test]
    fn every_label_filter_must_match() {
        let labels = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "".into())]);
        let wanted = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(labels_match(&labels, &wanted(&["a", "b="])));
        assert!(labels_match(&labels, &wanted(&["a=1"])));
        assert!(!labels_match(&labels, &wanted(&["a=1", "c"])));
        assert!(!labels_match(&labels, &wanted(&["a=2"])));
        assert!(labels_match(&labels, &[]));
    }
}
