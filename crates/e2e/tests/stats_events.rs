//! stats and events.

use berth_e2e::{both_clis, daemon, unique, wait_until, Cli, IMAGE, SOON};

both_clis!(stats_no_stream, events_of_a_run);

fn stats_no_stream(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &["--memory", "64m"], &["sleep", "300"]);
    let o = d.cli(cli, &["stats", "--no-stream", &id]).ok();
    let header = o.stdout.lines().next().unwrap_or("");
    for col in [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ] {
        assert!(header.contains(col), "{o:?}");
    }
    let row = o.stdout.lines().nth(1).unwrap_or("");
    assert!(row.starts_with(&id[..12]), "{o:?}");
    assert!(row.contains("/ 64MiB"), "{o:?}");
    let pids: u32 = row.split_whitespace().last().unwrap().parse().unwrap();
    assert!(pids >= 1, "{o:?}");
    let o = d
        .cli(
            cli,
            &[
                "stats",
                "--no-stream",
                "--format",
                "{{.MemUsage}}|{{.PIDs}}|{{.Name}}",
                &id,
            ],
        )
        .ok();
    let out = o.out();
    let parts: Vec<&str> = out.split('|').collect();
    assert!(parts[0].ends_with("/ 64MiB"), "{o:?}");
    assert!(parts[1].parse::<u32>().unwrap() >= 1, "{o:?}");
    // Memory in use is real: allocate in /dev/shm and see usage grow.
    d.cli(
        cli,
        &[
            "exec",
            &id,
            "dd",
            "if=/dev/zero",
            "of=/dev/shm/fill",
            "bs=1M",
            "count=20",
        ],
    )
    .ok();
    let mib = |s: &str| -> f64 {
        let u = s.split('/').next().unwrap().trim();
        if let Some(v) = u.strip_suffix("MiB") {
            v.parse().unwrap()
        } else if let Some(v) = u.strip_suffix("KiB") {
            v.parse::<f64>().unwrap() / 1024.0
        } else if let Some(v) = u.strip_suffix("GiB") {
            v.parse::<f64>().unwrap() * 1024.0
        } else {
            u.trim_end_matches('B').parse::<f64>().unwrap_or(0.0) / 1048576.0
        }
    };
    let o = d
        .cli(
            cli,
            &["stats", "--no-stream", "--format", "{{.MemUsage}}", &id],
        )
        .ok();
    assert!(mib(&o.out()) >= 20.0, "{o:?}");
}

fn events_of_a_run(cli: Cli) {
    let d = daemon!();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let since = (now() - 1).to_string();
    let name = unique("ev");
    d.run_rm(cli, &["--name", &name], &["true"]).ok();
    wait_until("removal", SOON, || d.container_ids().is_empty());
    let until = (now() + 1).to_string();
    let o = d
        .cli(
            cli,
            &[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                &format!("container={name}"),
                "--format",
                "{{.Type}} {{.Action}}",
            ],
        )
        .ok();
    let actions: Vec<String> = o
        .lines()
        .into_iter()
        .filter_map(|l| l.strip_prefix("container ").map(String::from))
        .collect();
    let pos = |a: &str| {
        actions
            .iter()
            .position(|x| x == a)
            .unwrap_or_else(|| panic!("no {a} event: {o:?}"))
    };
    assert!(pos("create") < pos("start"), "{actions:?}");
    assert!(pos("start") < pos("die"), "{actions:?}");
    assert!(pos("die") < pos("destroy"), "{actions:?}");
    let o = d
        .cli(
            cli,
            &[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                "event=start",
                "--format",
                "{{.Action}} {{.Actor.Attributes.name}}",
            ],
        )
        .ok();
    assert_eq!(o.lines(), vec![format!("start {name}")]);
    // The die event carries the exit code.
    let o = d
        .cli(
            cli,
            &[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                "event=die",
                "--format",
                "{{index .Actor.Attributes \"exitCode\"}}",
            ],
        )
        .ok();
    assert_eq!(o.out(), "0");
    // Live: a follower sees an event as it happens.
    let f = d.cli_spawn(
        cli,
        &[
            "events",
            "--filter",
            "event=create",
            "--format",
            "{{.Actor.Attributes.name}}",
        ],
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let live = unique("live");
    d.cli(cli, &["create", "--name", &live, IMAGE, "true"]).ok();
    f.wait_stdout("a live create event", SOON, |s| s.contains(&live));
}
