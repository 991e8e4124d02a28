//! Healthchecks: the configuration a container's shim probes with (the image's `HEALTHCHECK`
//! under the container's own), and the watcher that records each status change and
//! publishes `health_status` events. The probes run on the shim's timer: the daemon hears
//! from a shim only when a status changes.

use super::{Container, ContainerRecord};
use crate::Engine;
use berth_shim_protocol::{HealthConfig, HealthStatus};
use serde_json::Value;
use std::sync::Arc;

/// The container's healthcheck, `None` without one (or with `--no-healthcheck`).
pub fn healthcheck_of(rec: &ContainerRecord) -> Option<HealthConfig> {
    let raw = rec.config.passthrough.get("Healthcheck")?;
    let mut config: HealthConfig = serde_json::from_value(raw.clone()).ok()?;
    config.probe_args()?;
    if let Some(Value::Array(shell)) = rec.config.passthrough.get("Shell") {
        config.shell = shell
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
    }
    Some(config)
}

/// Docker's merge of the image's healthcheck under the container's (`daemon.merge`): the
/// container's fields win, the image fills those left at zero.
pub fn merge_healthcheck(container: Option<&Value>, image: Option<&Value>) -> Option<Value> {
    let Some(Value::Object(image)) = image else {
        return container.cloned();
    };
    let Some(Value::Object(container)) = container.filter(|v| !v.is_null()) else {
        return Some(Value::Object(image.clone()));
    };
    let mut merged = container.clone();
    for (key, value) in image {
        let unset = match merged.get(key) {
            None | Some(Value::Null) => true,
            Some(Value::Array(a)) => a.is_empty(),
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            _ => false,
        };
        if unset {
            merged.insert(key.clone(), value.clone());
        }
    }
    Some(Value::Object(merged))
}

impl Engine {
    /// Follows the health of a running container with a healthcheck: the first answer (now,
    /// or what the shim kept while no daemon listened) is recorded quietly; each change after
    /// it is recorded and published. Ends when the shim does.
    pub(super) fn spawn_health_watch(self: &Arc<Self>, c: Arc<Container>) {
        if healthcheck_of(&c.snapshot()).is_none() {
            return;
        }
        let engine = self.clone();
        tokio::spawn(async move {
            let state_dir = engine.config.shim_state_dir(&c.id());
            let mut last: Option<HealthStatus> = None;
            while let Some(health) = engine.shims.health(&state_dir, last).await {
                let status = health.status;
                let rec = c.update(|r| r.state.health = Some(health));
                if last.is_some_and(|l| l != status) {
                    let action = format!("health_status: {}", status.as_str());
                    engine.container_event(&rec, &action, &[]);
                } else if last == Some(status) {
                    // The shim answered without a change: its container exited.
                    break;
                }
                last = Some(status);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_containers_fields_win_and_the_image_fills_the_rest() {
        let image = json!({"Test": ["CMD", "true"], "Interval": 30, "Retries": 3});
        let mine = json!({"Test": [], "Interval": 5, "Retries": 0});
        assert_eq!(
            merge_healthcheck(Some(&mine), Some(&image)),
            Some(json!({"Test": ["CMD", "true"], "Interval": 5, "Retries": 3}))
        );
        assert_eq!(merge_healthcheck(None, Some(&image)), Some(image.clone()));
        let none = json!({"Test": ["NONE"]});
        assert_eq!(
            merge_healthcheck(Some(&none), Some(&image)).unwrap()["Test"],
            json!(["NONE"])
        );
        assert_eq!(merge_healthcheck(None, None), None);
    }
}
