//! Restart policies.

use berth_e2e::{daemon, wait_until, Cli, SOON};
use std::time::Duration;

fn restart_count(d: &berth_e2e::TestDaemon, id: &str) -> i64 {
    d.inspect(id)["RestartCount"].as_i64().unwrap_or(-1)
}

#[test]
fn on_failure_max_retries() {
    let d = daemon!();
    for cli in [Cli::Berth, Cli::Docker] {
        let id = d.run_d(
            cli,
            &["--restart", "on-failure:2"],
            &["sh", "-c", "echo run; exit 1"],
        );
        wait_until(
            "two restarts and a final exit",
            Duration::from_secs(60),
            || {
                let j = d.inspect(&id);
                j["RestartCount"] == 2 && j["State"]["Status"] == "exited"
            },
        );
        assert_eq!(d.api_logs(&id).matches("run").count(), 3);
        assert_eq!(d.inspect(&id)["State"]["ExitCode"], 1);
        assert_eq!(
            d.inspect(&id)["HostConfig"]["RestartPolicy"]["Name"],
            "on-failure"
        );
        // on-failure does not restart a clean exit.
        let id = d.run_d(cli, &["--restart", "on-failure"], &["true"]);
        d.cli(cli, &["wait", &id]).ok();
        std::thread::sleep(Duration::from_secs(1));
        assert_eq!(restart_count(&d, &id), 0);
        assert_eq!(d.status(&id), "exited");
    }
}

#[test]
fn always_restarts_until_stopped() {
    let d = daemon!();
    for (cli, policy) in [(Cli::Docker, "always"), (Cli::Berth, "unless-stopped")] {
        let id = d.run_d(
            cli,
            &["--restart", policy],
            &["sh", "-c", "echo run; sleep 0.5"],
        );
        wait_until("restarts after exiting by itself", SOON, || {
            restart_count(&d, &id) >= 2
        });
        d.cli(cli, &["stop", "-t", "1", &id]).ok();
        assert_eq!(d.status(&id), "exited");
        let n = restart_count(&d, &id);
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(d.status(&id), "exited", "{policy} restarted after stop");
        assert_eq!(restart_count(&d, &id), n);
        // A kill from outside counts as stopped by the user too? No: docker restarts a
        // container killed by a signal sent by `docker kill`? It does not (manual stop).
        d.cli(cli, &["start", &id]).ok();
        d.cli(cli, &["kill", &id]).ok();
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(d.status(&id), "exited", "{policy} restarted after kill");
    }
}

#[test]
fn restart_policy_is_validated() {
    let d = daemon!();
    for cli in [Cli::Berth, Cli::Docker] {
        let o = d
            .cli(
                cli,
                &["run", "-d", "--restart", "sometimes", "busybox", "true"],
            )
            .fails();
        assert!(o.code() == 125, "{o:?}");
        let o = d
            .cli(
                cli,
                &[
                    "run",
                    "-d",
                    "--rm",
                    "--restart",
                    "always",
                    "busybox",
                    "true",
                ],
            )
            .fails();
        assert!(
            o.stderr.contains("conflict") || o.stderr.contains("Conflicting"),
            "{o:?}"
        );
    }
}
