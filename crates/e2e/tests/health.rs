//! Healthchecks: `--health-*` flags and the image's `HEALTHCHECK` give `State.Health` as
//! Docker reports it, `ps` shows and filters it, status changes are `health_status` events,
//! `--no-healthcheck` turns the image's off, and probes go on across a daemon restart.

use berth_e2e::{both_clis, busybox_tar, daemon, wait_for, Cli, TestDaemon, SOON};

both_clis!(
    health_follows_the_probe,
    image_healthcheck_and_no_healthcheck
);

const FAST: &[&str] = &["--health-interval", "500ms", "--health-retries", "2"];

fn health(d: &TestDaemon, id: &str) -> serde_json::Value {
    d.inspect(id)["State"]["Health"].clone()
}

fn wait_health(d: &TestDaemon, id: &str, want: &str) -> serde_json::Value {
    wait_for(&format!("{id} to be {want}"), SOON, || {
        let h = health(d, id);
        (h["Status"] == want).then_some(h)
    })
}

fn health_follows_the_probe(cli: Cli) {
    let d = daemon!();
    let mut opts = vec!["--health-cmd", "cat /tmp/ok"];
    opts.extend_from_slice(FAST);
    let id = d.run_d(cli, &opts, &["sleep", "600"]);

    let h = wait_health(&d, &id, "unhealthy");
    assert!(h["FailingStreak"].as_i64().unwrap_or(0) >= 2, "{h}");
    let last = &h["Log"].as_array().expect("a log")[0];
    assert_eq!(last["ExitCode"], 1);
    assert!(
        last["Output"]
            .as_str()
            .unwrap_or_default()
            .contains("No such file"),
        "{h}"
    );
    let ps = d.cli(cli, &["ps", "--format", "{{.Status}}"]).ok().out();
    assert!(ps.ends_with("(unhealthy)"), "{ps}");

    d.cli(cli, &["exec", &id, "sh", "-c", "echo fine > /tmp/ok"])
        .ok();
    let h = wait_health(&d, &id, "healthy");
    assert_eq!(h["FailingStreak"], 0);
    let log = h["Log"].as_array().expect("a log");
    assert!(log.len() <= 5, "Docker keeps five results: {h}");
    assert_eq!(log.last().unwrap()["Output"], "fine\n");

    let ps = d.cli(cli, &["ps", "--format", "{{.Status}}"]).ok().out();
    assert!(ps.ends_with("(healthy)"), "{ps}");
    let healthy = d
        .cli(
            cli,
            &["ps", "-q", "--no-trunc", "--filter", "health=healthy"],
        )
        .ok()
        .out();
    assert_eq!(healthy, id);
    let none = d
        .cli(cli, &["ps", "-q", "--filter", "health=none"])
        .ok()
        .out();
    assert_eq!(none, "");

    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.as_secs() + 1)
        .unwrap_or_default()
        .to_string();
    let events = d
        .cli(
            cli,
            &[
                "events",
                "--since",
                "0",
                "--until",
                &until,
                "--format",
                "{{.Action}}",
            ],
        )
        .ok()
        .lines();
    let changes: Vec<&String> = events
        .iter()
        .filter(|e| e.starts_with("health_status"))
        .collect();
    assert_eq!(
        changes,
        ["health_status: unhealthy", "health_status: healthy"],
        "{events:?}"
    );
}

fn image_healthcheck_and_no_healthcheck(cli: Cli) {
    let d = daemon!();
    let change = "HEALTHCHECK --interval=500ms --retries=1 CMD [\"true\"]";
    d.berth_in(
        &["import", "--change", change, "-", "checked"],
        busybox_tar(),
    )
    .ok();
    let id = d
        .cli(cli, &["run", "-d", "checked", "sleep", "600"])
        .ok()
        .out();
    wait_health(&d, &id, "healthy");
    let test = d.inspect(&id)["Config"]["Healthcheck"]["Test"].clone();
    assert_eq!(test, serde_json::json!(["CMD", "true"]));

    // The container's flags win over the image's, field by field.
    let id = d
        .cli(
            cli,
            &[
                "run",
                "-d",
                "--health-cmd",
                "false",
                "checked",
                "sleep",
                "600",
            ],
        )
        .ok()
        .out();
    wait_health(&d, &id, "unhealthy");

    let id = d
        .cli(
            cli,
            &["run", "-d", "--no-healthcheck", "checked", "sleep", "600"],
        )
        .ok()
        .out();
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert!(health(&d, &id).is_null(), "no probes: {}", health(&d, &id));
}

#[test]
fn probes_go_on_across_a_daemon_restart() {
    let mut d = daemon!();
    let mut opts = vec!["--health-cmd", "cat /tmp/ok"];
    opts.extend_from_slice(FAST);
    let id = d.run_d(Cli::Berth, &opts, &["sleep", "600"]);
    wait_health(&d, &id, "unhealthy");
    d.kill9();
    d.restart();
    // Reported at once after the restart, and changes are still seen.
    assert_eq!(health(&d, &id)["Status"], "unhealthy");
    d.berth(&["exec", &id, "touch", "/tmp/ok"]).ok();
    wait_health(&d, &id, "healthy");
    let ps = d.berth(&["ps", "--format", "{{.Status}}"]).ok().out();
    assert!(ps.ends_with("(healthy)"), "{ps}");
    // The record follows the shim, not only inspect's fresh read.
    let list = d.http(
        "GET",
        "/containers/json?filters=%7B%22health%22%3A%5B%22healthy%22%5D%7D",
    );
    assert_eq!(
        list.json().as_array().map(Vec::len),
        Some(1),
        "{}",
        list.text()
    );
    let r = d.http(
        "GET",
        "/containers/json?filters=%7B%22health%22%3A%5B%22sick%22%5D%7D",
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.message(), "Unrecognised filter value for health: sick");
}
