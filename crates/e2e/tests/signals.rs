//! Signals reach the container as Docker names and numbers them: `kill -s` and `stop -s` with
//! names in any case, real-time names (`SIGRTMIN+3`) and numbers, over the CLIs and the raw
//! API, and the container's `--stop-signal`. Each is proved by a trap inside the container.

use berth_e2e::{both_clis, daemon, wait_for, Cli, TestDaemon, IMAGE, SOON};

both_clis!(
    kill_by_name_number_and_realtime_name,
    stop_uses_the_stop_signal,
    unknown_signals_are_refused,
);

/// A container whose shell reports which of `signals` arrived, then exits 0.
fn trapping(d: &TestDaemon, cli: Cli, opts: &[&str], signals: &[i32]) -> String {
    let mut script = String::new();
    for n in signals {
        script.push_str(&format!("trap 'echo caught {n}; exit 0' {n}; "));
    }
    // The trap runs between two short sleeps; `ready` says the traps are in place.
    script.push_str("echo ready; while :; do sleep 0.05; done");
    let id = d.run_d(cli, opts, &["sh", "-c", &script]);
    wait_for("the traps to be set", SOON, || {
        d.api_logs(&id).contains("ready").then_some(())
    });
    id
}

fn assert_caught(d: &TestDaemon, id: &str, n: i32) {
    let logs = wait_for(&format!("signal {n} to arrive"), SOON, || {
        let logs = d.api_logs(id);
        logs.contains("caught").then_some(logs)
    });
    assert!(
        logs.contains(&format!("caught {n}\n")),
        "expected signal {n}, the container says: {logs:?}"
    );
    d.wait_status(id, "exited");
    assert_eq!(d.inspect(id)["State"]["ExitCode"], 0, "the trap's exit");
}

fn kill_by_name_number_and_realtime_name(cli: Cli) {
    let d = daemon!();
    let cases: [(&str, i32); 4] = [
        ("SIGRTMIN+3", 37),
        ("usr1", 10),
        ("12", 12),
        ("RTMAX-1", 63),
    ];
    for (given, number) in cases {
        let id = trapping(&d, cli, &[], &[number]);
        d.cli(cli, &["kill", "-s", given, &id]).ok();
        assert_caught(&d, &id, number);
    }
}

fn stop_uses_the_stop_signal(cli: Cli) {
    let d = daemon!();
    // The container's own stop signal...
    let id = trapping(&d, cli, &["--stop-signal", "SIGUSR2"], &[12]);
    d.cli(cli, &["stop", &id]).ok();
    assert_caught(&d, &id, 12);
    // ...and one given to `stop` (API 1.42+), which wins over it.
    let id = trapping(&d, cli, &["--stop-signal", "SIGUSR2"], &[10, 12]);
    d.cli(cli, &["stop", "-s", "SIGUSR1", &id]).ok();
    assert_caught(&d, &id, 10);
}

fn unknown_signals_are_refused(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &[], &["sleep", "600"]);
    for bad in ["SIGNOPE", "RTMIN+16", "65"] {
        let o = d.cli(cli, &["kill", "-s", bad, &id]).fails();
        assert!(
            o.err().contains(&format!("Invalid signal: {bad}")),
            "kill -s {bad}: {}",
            o.err()
        );
    }
    assert_eq!(d.status(&id), "running", "a refused kill sends nothing");
    let o = d.cli(cli, &["run", "--stop-signal", "NOPE", IMAGE, "true"]);
    assert!(
        o.fails().err().contains("Invalid signal: NOPE"),
        "--stop-signal NOPE is refused at create"
    );
}

/// The raw API takes the signal as a name or an integer in the query.
#[test]
fn api_kill_takes_names_and_integers() {
    let d = daemon!();
    for (query, number) in [
        ("signal=37", 37),
        ("signal=SIGRTMIN%2B3", 37),
        ("signal=10", 10),
    ] {
        let id = trapping(&d, Cli::Berth, &[], &[number]);
        let r = d.http("POST", &format!("/containers/{id}/kill?{query}"));
        assert_eq!(r.status, 204, "kill?{query}: {}", r.text());
        assert_caught(&d, &id, number);
    }
    let id = d.run_d(Cli::Berth, &[], &["sleep", "600"]);
    let r = d.http("POST", &format!("/containers/{id}/kill?signal=0"));
    assert_eq!(r.status, 400, "signal 0: {}", r.text());
    assert_eq!(r.message(), "Invalid signal: 0");
}
