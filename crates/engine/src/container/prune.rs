//! `POST /containers/prune`: removes every container that is not running, as Docker does,
//! filtered by `until` (created before) and `label` / `label!`.

use super::list::labels_match;
use super::ContainerRecord;
use crate::error::{EngineError, Result};
use crate::Engine;
use std::collections::BTreeMap;
use std::sync::Arc;

const PRUNE_FILTERS: &[&str] = &["until", "label", "label!"];

/// What a prune removed and how many bytes of writable layers it gave back.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneReport {
    pub deleted: Vec<String>,
    pub space_reclaimed: u64,
}

impl Engine {
    pub async fn prune_containers(
        self: &Arc<Self>,
        filters: &BTreeMap<String, Vec<String>>,
    ) -> Result<PruneReport> {
        let wanted = PruneFilter::parse(filters)?;
        let mut report = PruneReport::default();
        for c in self.all_containers() {
            let rec = c.snapshot();
            // A paused or restarting container counts as running.
            if rec.state.running || rec.state.restarting || !wanted.matches(&rec) {
                continue;
            }
            let (rw, _) = self.container_sizes(&rec);
            match self.remove_container(&rec.id, false).await {
                Ok(()) => {
                    report.deleted.push(rec.id);
                    report.space_reclaimed += rw;
                }
                // Started or removed meanwhile: not ours to prune any more.
                Err(e) => tracing::debug!(id = %rec.id, "prune skips it: {e}"),
            }
        }
        let attrs = BTreeMap::from([("reclaimed".to_string(), report.space_reclaimed.to_string())]);
        self.events.publish("container", "prune", "", attrs);
        Ok(report)
    }
}

/// The prune filters, checked as Docker checks them.
struct PruneFilter {
    /// Unix nanoseconds: only containers created before it.
    until: Option<i128>,
    labels: Vec<String>,
    not_labels: Vec<String>,
}

impl PruneFilter {
    fn parse(filters: &BTreeMap<String, Vec<String>>) -> Result<Self> {
        if let Some(key) = filters
            .keys()
            .find(|k| !PRUNE_FILTERS.contains(&k.as_str()))
        {
            return Err(EngineError::invalid(format!("invalid filter '{key}'")));
        }
        let until = match filters.get("until").map(Vec::as_slice) {
            None | Some([]) => None,
            Some([one]) => Some(until_nanos(one)?),
            Some(_) => {
                return Err(EngineError::invalid("more than one until filter specified"));
            }
        };
        let values = |k: &str| filters.get(k).cloned().unwrap_or_default();
        Ok(Self {
            until,
            labels: values("label"),
            not_labels: values("label!"),
        })
    }

    fn matches(&self, rec: &ContainerRecord) -> bool {
        let labels = rec.config.labels.clone().unwrap_or_default();
        let created = chrono::DateTime::parse_from_rfc3339(&rec.created)
            .ok()
            .and_then(|t| t.timestamp_nanos_opt())
            .map(i128::from);
        let old_enough = match (self.until, created) {
            (Some(until), Some(created)) => created < until,
            (Some(_), None) => false,
            (None, _) => true,
        };
        old_enough
            && labels_match(&labels, &self.labels)
            // As Docker's MatchKVList: excluded only when every `label!` matches.
            && (self.not_labels.is_empty() || !labels_match(&labels, &self.not_labels))
    }
}

/// `until` as Docker reads it: a Go duration before now, a date, or unix seconds.
fn until_nanos(value: &str) -> Result<i128> {
    let ts = berth_api::timetypes::get_timestamp(value, chrono::Utc::now())
        .map_err(|e| EngineError::invalid(e.to_string()))?;
    super::logs::parse_timestamp(&ts)?
        .ok_or_else(|| EngineError::invalid(format!("invalid until filter: {value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(pairs: &[(&str, &str)]) -> Result<PruneFilter> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        PruneFilter::parse(&m)
    }

    #[test]
    fn filters_are_checked_as_docker_checks_them() {
        let e = filter(&[("status", "exited")]).err().unwrap();
        assert_eq!(e.to_string(), "invalid filter 'status'");
        let e = filter(&[("until", "1h"), ("until", "2h")]).err().unwrap();
        assert_eq!(e.to_string(), "more than one until filter specified");
        assert!(filter(&[("until", "yesterday")]).is_err());
        let f = filter(&[("until", "1h")]).unwrap();
        let an_hour_ago =
            chrono::Utc::now().timestamp_nanos_opt().unwrap() as i128 - 3_600_000_000_000;
        assert!((f.until.unwrap() - an_hour_ago).abs() < 5_000_000_000);
    }
}
