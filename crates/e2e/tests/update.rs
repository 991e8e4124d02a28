//! `update`: new limits reach a running container's cgroup at once (read from inside it, and
//! felt: a pids limit stops forks), are kept across a restart, apply to stopped containers at
//! their next start, and are refused as dockerd refuses them. `--restart` changes the policy.

use berth_e2e::{both_clis, cgroup_file_script, daemon, wait_until, Cli, TestDaemon, IMAGE, SOON};

both_clis!(
    limits_change_at_once_and_survive_a_restart,
    a_stopped_container_gets_them_at_start,
    refusals_as_dockerd,
    restart_policy_changes,
);

/// A limit file as the container itself sees it.
fn inside(d: &TestDaemon, cli: Cli, id: &str, ctrl: &str, v1: &str, v2: &str) -> String {
    let script = cgroup_file_script(ctrl, v1, v2);
    d.cli(cli, &["exec", id, "sh", "-c", &script]).ok().out()
}

fn memory(d: &TestDaemon, cli: Cli, id: &str) -> String {
    inside(d, cli, id, "memory", "memory.limit_in_bytes", "memory.max")
}

fn limits_change_at_once_and_survive_a_restart(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &["-m", "64m"], &["sleep", "600"]);
    assert_eq!(memory(&d, cli, &id), "67108864");

    let o = d.cli(
        cli,
        &[
            "update",
            "-m",
            "128m",
            "--memory-swap",
            "256m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "8",
            &id,
        ],
    );
    assert_eq!(o.ok().out(), id);
    assert_eq!(memory(&d, cli, &id), "134217728");
    let quota = inside(&d, cli, &id, "cpu", "cpu.cfs_quota_us", "cpu.max");
    assert!(
        quota == "50000" || quota.starts_with("50000 "),
        "cpu quota: {quota}"
    );
    // The pids limit is felt: more than 8 processes cannot be made.
    let o = d.cli(
        cli,
        &[
            "exec",
            &id,
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done; wait",
        ],
    );
    assert!(
        o.err().contains("fork"),
        "forks past the limit: {:?}",
        o.err()
    );

    let host = &d.inspect(&id)["HostConfig"];
    assert_eq!(host["Memory"], 134217728);
    assert_eq!(host["NanoCpus"], 500000000);
    assert_eq!(host["PidsLimit"], 8);

    d.cli(cli, &["restart", "-t", "0", &id]).ok();
    assert_eq!(memory(&d, cli, &id), "134217728", "kept across a restart");
}

fn a_stopped_container_gets_them_at_start(cli: Cli) {
    let d = daemon!();
    let id = d.cli(cli, &["create", IMAGE, "sleep", "600"]).ok().out();
    d.cli(cli, &["update", "-m", "32m", "--memory-swap", "64m", &id])
        .ok();
    d.cli(cli, &["start", &id]).ok();
    assert_eq!(memory(&d, cli, &id), "33554432");
}

fn refusals_as_dockerd(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &["-m", "64m"], &["sleep", "600"]);
    let refused = |args: &[&str], want: &str| {
        let mut all = vec!["update"];
        all.extend_from_slice(args);
        all.push(&id);
        let o = d.cli(cli, &all).fails();
        assert!(o.err().contains(want), "update {args:?}: {}", o.err());
    };
    refused(
        &["-m", "64m", "--memory-swap", "32m"],
        "Minimum memoryswap limit should be larger than memory limit",
    );
    // Created with -m 64m, so memory+swap is 128m: a larger memory needs a new swap too.
    refused(
        &["-m", "256m"],
        "Memory limit should be smaller than already set memoryswap limit",
    );
    refused(&["-m", "1m"], "Minimum memory limit allowed is 6MB");
    // Below what the container uses (tmpfs pages cannot be reclaimed without swap).
    d.cli(
        cli,
        &[
            "exec",
            &id,
            "sh",
            "-c",
            "head -c 40m /dev/zero > /dev/shm/fill",
        ],
    )
    .ok();
    refused(
        &["-m", "10m", "--memory-swap", "10m"],
        "Cannot update container",
    );
    assert_eq!(memory(&d, cli, &id), "67108864", "the old limit stays");
    assert_eq!(d.inspect(&id)["HostConfig"]["Memory"], 67108864);
    let o = d.cli(cli, &["update", &id]).fails();
    assert!(
        o.err().contains("you must provide one or more flags"),
        "{}",
        o.err()
    );
}

fn restart_policy_changes(cli: Cli) {
    let d = daemon!();
    let id = d
        .cli(cli, &["create", IMAGE, "sh", "-c", "exit 3"])
        .ok()
        .out();
    d.cli(cli, &["update", "--restart", "on-failure:2", &id])
        .ok();
    let policy = &d.inspect(&id)["HostConfig"]["RestartPolicy"];
    assert_eq!(policy["Name"], "on-failure");
    assert_eq!(policy["MaximumRetryCount"], 2);
    d.cli(cli, &["start", &id]).ok();
    wait_until("two restarts, then rest", SOON, || {
        let s = d.inspect(&id);
        s["RestartCount"] == 2 && s["State"]["Status"] == "exited"
    });
    // An auto-removed container keeps its policy.
    let rm = d.run_d(cli, &["--rm"], &["sleep", "600"]);
    let o = d.cli(cli, &["update", "--restart", "always", &rm]).fails();
    assert!(
        o.err()
            .contains("Restart policy cannot be updated because AutoRemove is enabled"),
        "{}",
        o.err()
    );
}

/// The raw API refuses a retry count with `always`, as dockerd does.
#[test]
fn api_refuses_bad_restart_policies() {
    let d = daemon!();
    let id = d.run_d(Cli::Berth, &[], &["sleep", "600"]);
    let body = serde_json::json!({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}});
    let r = d.http_json("POST", &format!("/containers/{id}/update"), &body);
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r
        .message()
        .contains("maximum retry count can only be used with 'on-failure'"));
    let r = d.http_json("POST", "/containers/nosuch/update", &serde_json::json!({}));
    assert_eq!(r.status, 404);
    let r = d.http_json(
        "POST",
        &format!("/containers/{id}/update"),
        &serde_json::json!({"Memory": 67108864}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["Warnings"], serde_json::json!([]));
}
