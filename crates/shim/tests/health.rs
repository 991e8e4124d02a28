//! Healthchecks on the shim's own timer.

mod common;

use berth_shim_protocol::{
    read_health_file_in, Health, HealthConfig, HealthStatus, Request, Response, ShimConfig,
};
use common::TestShim;
use std::time::{Duration, Instant};

const MS: i64 = 1_000_000;

fn config(test: &[&str], f: impl FnOnce(&mut HealthConfig)) -> ShimConfig {
    let mut h = HealthConfig {
        test: test.iter().map(|s| s.to_string()).collect(),
        interval: 200 * MS,
        ..Default::default()
    };
    f(&mut h);
    ShimConfig {
        log: Default::default(),
        healthcheck: Some(h),
    }
}

async fn health(shim: &TestShim, wait_change_from: Option<HealthStatus>) -> Health {
    match shim.call(Request::Health { wait_change_from }).await {
        Response::Health(h) => h,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn healthy_after_the_first_probe() {
    let mut shim = TestShim::start(
        &["sleep", "60"],
        Some(config(&["CMD-SHELL", "echo fine; exit 0"], |_| {})),
    )
    .await;
    let started = Instant::now();
    let h = health(&shim, Some(HealthStatus::Starting)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(h.status, HealthStatus::Healthy);
    assert_eq!(h.failing_streak, 0);
    assert_eq!(h.log.len(), 1);
    assert_eq!(h.log[0].exit_code, 0);
    assert_eq!(h.log[0].output, "fine\n");
    assert!(h.log[0].start <= h.log[0].end);
    // health.json holds the same, in Docker's names.
    let on_disk = read_health_file_in(&shim.state()).expect("health.json");
    assert_eq!(on_disk, h);
    let raw = std::fs::read_to_string(shim.state().join("health.json")).unwrap();
    assert!(raw.contains("\"Status\":\"healthy\""), "{raw}");
    // Probes keep coming on the timer; no exec record files pile up.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let h = health(&shim, None).await;
    assert!(h.log.len() >= 2, "{h:?}");
    let leftovers: Vec<_> = std::fs::read_dir(shim.state())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("exec-health"))
        .collect();
    assert!(leftovers.len() <= 2, "{leftovers:?}");
    shim.stop().await;
}

#[tokio::test]
async fn unhealthy_after_retries_failures() {
    let mut shim = TestShim::start(
        &["sleep", "60"],
        Some(config(&["CMD", "sh", "-c", "echo bad >&2; exit 1"], |h| {
            h.retries = 2
        })),
    )
    .await;
    let h = health(&shim, Some(HealthStatus::Starting)).await;
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert_eq!(h.failing_streak, 2);
    assert_eq!(h.log.len(), 2);
    assert!(h
        .log
        .iter()
        .all(|r| r.exit_code == 1 && r.output == "bad\n"));
    shim.stop().await;
}

#[tokio::test]
async fn a_probe_past_its_timeout_is_killed() {
    let mut shim = TestShim::start(
        &["sleep", "60"],
        Some(config(&["CMD", "sleep", "30"], |h| {
            h.timeout = 300 * MS;
            h.retries = 1;
        })),
    )
    .await;
    let started = Instant::now();
    let h = health(&shim, Some(HealthStatus::Starting)).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert_eq!(h.log[0].exit_code, -1);
    assert_eq!(h.log[0].output, "Health check exceeded timeout (300ms)");
    shim.stop().await;
}

#[tokio::test]
async fn failures_in_the_start_period_do_not_count() {
    let mut shim = TestShim::start(
        &["sleep", "60"],
        Some(config(&["CMD", "false"], |h| {
            h.start_period = 2000 * MS;
            h.start_interval = 100 * MS;
            h.interval = 5000 * MS;
            h.retries = 1;
        })),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let h = health(&shim, None).await;
    assert_eq!(h.status, HealthStatus::Starting, "{h:?}");
    assert_eq!(h.failing_streak, 0);
    // Probed at the start interval, not the interval.
    assert!(h.log.len() >= 2, "{h:?}");
    let h = health(&shim, Some(HealthStatus::Starting)).await;
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert_eq!(h.failing_streak, 1);
    shim.stop().await;
}

#[tokio::test]
async fn no_healthcheck_is_an_error() {
    let mut shim = TestShim::start(&["sleep", "60"], None).await;
    let r = shim
        .call(Request::Health {
            wait_change_from: None,
        })
        .await;
    assert!(matches!(r, Response::Error { .. }), "{r:?}");
    assert!(read_health_file_in(&shim.state()).is_none());
    shim.stop().await;
}

/// A `Health` request waiting for a change returns when the container exits.
#[tokio::test]
async fn a_waiting_health_request_ends_with_the_container() {
    let mut shim = TestShim::start(
        &["sleep", "60"],
        Some(config(&["CMD", "true"], |h| h.interval = 60_000 * MS)),
    )
    .await;
    let client = shim.client.clone();
    let waiting = tokio::spawn(async move {
        client
            .call(&Request::Health {
                wait_change_from: Some(HealthStatus::Starting),
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "no probe ran yet: the status is unchanged"
    );
    shim.stop().await;
    let answer = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("answered once the container exited")
        .unwrap()
        .unwrap();
    assert!(
        matches!(answer, Response::Health(ref h) if h.status == HealthStatus::Starting),
        "{answer:?}"
    );
}
