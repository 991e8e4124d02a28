//! `container prune`: removes stopped containers only, honours `until` and `label` filters,
//! and reports what went and the space of their writable layers, as Docker does.

use berth_e2e::{both_clis, daemon, Cli, TestDaemon, IMAGE};

both_clis!(prune_removes_stopped_containers_only, prune_filters);

/// A container that wrote `kib` KiB to its writable layer and exited.
fn exited(d: &TestDaemon, cli: Cli, opts: &[&str], kib: usize) -> String {
    let mut args = vec!["run"];
    args.extend_from_slice(opts);
    let script = format!("dd if=/dev/zero of=/filler bs=1024 count={kib} 2>/dev/null");
    args.extend_from_slice(&["-d", IMAGE, "sh", "-c", &script]);
    let id = d.cli(cli, &args).ok().out();
    d.wait_status(&id, "exited");
    id
}

fn prune_removes_stopped_containers_only(cli: Cli) {
    let d = daemon!();
    let running = d.run_d(cli, &[], &["sleep", "600"]);
    let paused = d.run_d(cli, &[], &["sleep", "600"]);
    d.cli(cli, &["pause", &paused]).ok();
    let created = d.cli(cli, &["create", IMAGE, "true"]).ok().out();
    let stopped = exited(&d, cli, &[], 300);

    let o = d.cli(cli, &["container", "prune", "-f"]).ok();
    let out = o.out();
    assert!(out.starts_with("Deleted Containers:\n"), "{out}");
    for gone in [&created, &stopped] {
        assert!(out.contains(gone.as_str()), "{gone} not reported: {out}");
    }
    // The 300 KiB the exited container wrote are counted (docker prints decimal units).
    let total = out.lines().last().unwrap_or_default();
    let kb: f64 = total
        .strip_prefix("Total reclaimed space: ")
        .and_then(|s| s.strip_suffix("kB"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("reclaimed space in kB: {total:?}"));
    assert!(kb >= 307.0, "reclaimed {kb} kB, wrote 307.2 kB");

    let left = d.container_ids();
    assert!(
        left.contains(&running) && left.contains(&paused),
        "{left:?}"
    );
    assert!(
        !left.contains(&created) && !left.contains(&stopped),
        "{left:?}"
    );
    assert_eq!(left.len(), 2);

    // Nothing more to prune.
    let out = d.cli(cli, &["container", "prune", "-f"]).ok().out();
    assert_eq!(out.trim(), "Total reclaimed space: 0B");
}

fn prune_filters(cli: Cli) {
    let d = daemon!();
    let keep = exited(&d, cli, &["--label", "team=a"], 1);
    let go = exited(&d, cli, &["--label", "team=b", "--label", "tmp"], 1);

    // Created just now: nothing is older than an hour.
    let out = d
        .cli(cli, &["container", "prune", "-f", "--filter", "until=1h"])
        .ok()
        .out();
    assert_eq!(out.trim(), "Total reclaimed space: 0B");

    let out = d
        .cli(
            cli,
            &["container", "prune", "-f", "--filter", "label=team=b"],
        )
        .ok()
        .out();
    assert!(out.contains(&go) && !out.contains(&keep), "{out}");
    assert_eq!(d.container_ids(), vec![keep.clone()]);

    let o = d.cli(
        cli,
        &["container", "prune", "-f", "--filter", "status=exited"],
    );
    assert!(o.fails().err().contains("invalid filter 'status'"));
    assert_eq!(d.container_ids(), vec![keep]);
}

#[test]
fn api_prune_answers_like_docker() {
    let d = daemon!();
    let r = d.http("POST", "/containers/prune");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert!(v["ContainersDeleted"].is_null(), "nil slice: {v}");
    assert_eq!(v["SpaceReclaimed"], 0);

    let id = exited(&d, Cli::Berth, &["--label", "x=1"], 1);
    let r = d.http(
        "POST",
        "/containers/prune?filters=%7B%22label!%22%3A%5B%22x%3D1%22%5D%7D",
    );
    assert_eq!(
        r.json()["ContainersDeleted"],
        serde_json::Value::Null,
        "label! keeps it"
    );
    let r = d.http(
        "POST",
        "/containers/prune?filters=%7B%22label%22%3A%5B%22x%3D1%22%5D%7D",
    );
    assert_eq!(r.json()["ContainersDeleted"], serde_json::json!([id]));

    let r = d.http(
        "POST",
        "/containers/prune?filters=%7B%22until%22%3A%5B%22soon%22%5D%7D",
    );
    assert_eq!(r.status, 400, "{}", r.text());
}
