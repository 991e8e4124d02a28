//! Restart policies: whether, and after how long, an exited container runs again.

use super::ContainerRecord;
use crate::model::RestartPolicy;
use std::time::Duration;

/// Docker's back-off: 100 ms, doubled on each consecutive restart, at most one minute.
fn backoff(restart_count: i64) -> Duration {
    let exp = restart_count.clamp(0, 10) as u32;
    Duration::from_millis(100u64.saturating_mul(1 << exp)).min(Duration::from_secs(60))
}

/// After the container exited on its own: `Some(delay)` when the policy restarts it.
pub fn after_exit(rec: &ContainerRecord) -> Option<Duration> {
    if rec.manually_stopped {
        return None;
    }
    should_restart(rec, false).then(|| backoff(rec.restart_count))
}

/// When the daemon starts: which stopped containers the policy brings back.
pub fn at_daemon_start(rec: &ContainerRecord) -> bool {
    should_restart(rec, true)
}

fn should_restart(rec: &ContainerRecord, daemon_start: bool) -> bool {
    match rec.host_config.restart_policy {
        RestartPolicy::No => false,
        // `always` ignores a manual stop only when the daemon starts.
        RestartPolicy::Always => daemon_start || !rec.manually_stopped,
        RestartPolicy::UnlessStopped => !rec.manually_stopped,
        RestartPolicy::OnFailure { max_retries } => {
            rec.state.exit_code != 0
                && !rec.manually_stopped
                && (max_retries == 0 || rec.restart_count < max_retries)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::HostConfig;

    fn rec(policy: &str, max: i64, code: i32, count: i64, stopped: bool) -> ContainerRecord {
        ContainerRecord {
            id: "x".into(),
            name: "x".into(),
            created: String::new(),
            image_id: String::new(),
            layers: vec![],
            config: Default::default(),
            host_config: HostConfig {
                restart_policy: match policy {
                    "always" => RestartPolicy::Always,
                    "unless-stopped" => RestartPolicy::UnlessStopped,
                    "on-failure" => RestartPolicy::OnFailure { max_retries: max },
                    _ => RestartPolicy::No,
                },
                ..Default::default()
            },
            path: "true".into(),
            args: vec![],
            state: {
                let mut st = crate::model::State::default();
                st.exit_code = code;
                st
            },
            restart_count: count,
            manually_stopped: stopped,
        }
    }

    #[test]
    fn policies_decide_like_docker() {
        assert!(after_exit(&rec("no", 0, 1, 0, false)).is_none());
        assert!(after_exit(&rec("always", 0, 0, 0, false)).is_some());
        assert!(after_exit(&rec("always", 0, 0, 0, true)).is_none());
        assert!(at_daemon_start(&rec("always", 0, 0, 0, true)));
        assert!(!at_daemon_start(&rec("unless-stopped", 0, 0, 0, true)));
        assert!(at_daemon_start(&rec("unless-stopped", 0, 0, 0, false)));
        assert!(after_exit(&rec("on-failure", 0, 0, 0, false)).is_none());
        assert!(after_exit(&rec("on-failure", 2, 1, 1, false)).is_some());
        assert!(after_exit(&rec("on-failure", 2, 1, 2, false)).is_none());
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(0), Duration::from_millis(100));
        assert_eq!(backoff(1), Duration::from_millis(200));
        assert_eq!(backoff(50), Duration::from_secs(60));
    }
}
