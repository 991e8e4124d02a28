//! Containers survive the daemon: kill -9 berthd, restart it on the same roots.

use berth_e2e::{daemon, wait_until, Cli, SOON};

fn ticks(d: &berth_e2e::TestDaemon, id: &str) -> usize {
    d.api_logs(id).matches("tick").count()
}

#[test]
fn running_container_survives_kill9() {
    let mut d = daemon!();
    let id = d.run_d(
        Cli::Berth,
        &[],
        &["sh", "-c", "while :; do echo tick; sleep 0.2; done"],
    );
    wait_until("ticks", SOON, || ticks(&d, &id) >= 2);
    let pid = d.inspect(&id)["State"]["Pid"].as_i64().unwrap();
    d.kill9();
    // The container keeps running without the daemon.
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    d.restart();
    let j = d.inspect(&id);
    assert_eq!(j["State"]["Status"], "running", "{j}");
    assert_eq!(j["State"]["Pid"], pid, "{j}");
    let ps = d.docker(&["ps", "-q", "--no-trunc"]).ok().out();
    assert_eq!(ps, id);
    let n = ticks(&d, &id);
    wait_until("the log to keep growing", SOON, || ticks(&d, &id) > n + 2);
    let o = d.berth(&["exec", &id, "echo", "alive"]).ok();
    assert_eq!(o.out(), "alive");
    let o = d.docker(&["logs", "--tail", "1", &id]).ok();
    assert_eq!(o.out(), "tick");
    let mut f = d.docker_spawn_logs(&id);
    f.wait_stdout("followed ticks", SOON, |s| {
        s.matches("tick").count() > n + 4
    });
    d.docker(&["stop", "-t", "1", &id]).ok();
    assert_eq!(d.status(&id), "exited");
    assert!(
        f.wait_timeout(SOON).is_some(),
        "logs -f did not end at stop"
    );
}

#[test]
fn exit_while_daemon_down_is_recorded() {
    let mut d = daemon!();
    let trig = d.root.join("trig");
    std::fs::create_dir_all(&trig).unwrap();
    let vol = format!("{}:/trig", trig.display());
    let id = d.run_d(
        Cli::Docker,
        &["-v", &vol],
        &[
            "sh",
            "-c",
            "while [ ! -f /trig/go ]; do sleep 0.1; done; exit 7",
        ],
    );
    let pid = d.inspect(&id)["State"]["Pid"].as_i64().unwrap();
    d.kill9();
    std::fs::write(trig.join("go"), "").unwrap();
    wait_until("the container to exit", SOON, || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
    d.restart();
    wait_until("the exit to be settled", SOON, || d.status(&id) == "exited");
    let j = d.inspect(&id);
    assert_eq!(j["State"]["ExitCode"], 7, "{j}");
    let o = d.berth(&["wait", &id]).ok();
    assert_eq!(o.out(), "7");
    d.berth(&["rm", &id]).ok();
}

#[test]
fn restart_policies_across_daemon_restart() {
    let mut d = daemon!();
    let always = d.run_d(Cli::Docker, &["--restart", "always"], &["sleep", "300"]);
    let killed = d.run_d(Cli::Docker, &["--restart", "always"], &["sleep", "300"]);
    let stopped_always = d.run_d(Cli::Docker, &["--restart", "always"], &["sleep", "300"]);
    let stopped_unless = d.run_d(
        Cli::Docker,
        &["--restart", "unless-stopped"],
        &["sleep", "300"],
    );
    d.docker(&["stop", "-t", "0", &stopped_always, &stopped_unless])
        .ok();
    let kpid = d.inspect(&killed)["State"]["Pid"].as_i64().unwrap();
    d.kill9();
    // A container of policy `always` dies while the daemon is down.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(kpid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_until("the container to die", SOON, || {
        std::fs::read_to_string(format!("/proc/{kpid}/comm"))
            .map(|c| c.trim() != "sleep")
            .unwrap_or(true)
    });
    d.restart();
    assert_eq!(d.status(&always), "running");
    wait_until(
        "the killed `always` container to be restarted",
        SOON,
        || d.status(&killed) == "running",
    );
    assert_ne!(d.inspect(&killed)["State"]["Pid"], kpid);
    // dockerd starts `always` containers at daemon start even after a manual stop, but not
    // `unless-stopped` ones.
    wait_until(
        "`always` stopped container started at daemon start",
        SOON,
        || d.status(&stopped_always) == "running",
    );
    assert_eq!(d.status(&stopped_unless), "exited");
}

/// What a crash in the middle of create (files written, record not yet committed) or of
/// remove (record deleted, files not yet) leaves is never shown as a container, and is swept.
#[test]
fn half_made_container_is_swept_at_start() {
    let mut d = daemon!();
    let kept = d.run_d(Cli::Berth, &[], &["sleep", "300"]);
    d.kill9();
    let stray_id = "0123456789abcdef".repeat(4);
    let stray = d.root.join("data/containers").join(&stray_id);
    std::fs::create_dir_all(stray.join("bundle")).unwrap();
    std::fs::write(stray.join("hostname"), "half\n").unwrap();
    d.restart();
    let all = d.docker(&["ps", "-a", "-q", "--no-trunc"]).ok().out();
    assert_eq!(all, kept, "only the real container is listed");
    d.docker(&["inspect", &stray_id]).fails();
    assert!(
        !stray.exists(),
        "leftovers of the crashed create were not removed"
    );
    assert_eq!(d.status(&kept), "running");
}
