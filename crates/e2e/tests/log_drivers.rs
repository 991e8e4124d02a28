//! Log drivers: json-file with rotation (a fast writer stays within its size), `logs` and
//! `logs -f` across rotated files without a lost or repeated line, `local`, `none`, the
//! daemon's defaults, and Docker's refusals at create.

use berth_e2e::{both_clis, daemon, wait_until, Cli, TestDaemon, IMAGE, SOON};
use std::path::PathBuf;

both_clis!(
    refused_at_create,
    logs_read_across_rotations,
    local_and_none
);

/// Every file of the container's log (the active one and the rotated ones).
fn log_files(d: &TestDaemon, id: &str) -> Vec<PathBuf> {
    let dir = d.root.join("data/containers").join(id);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("-json.log"))
        .collect();
    let local = dir.join("local-logs");
    files.extend(
        std::fs::read_dir(local)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path()),
    );
    files
}

fn refused_at_create(cli: Cli) {
    let d = daemon!();
    let o = d
        .cli(cli, &["run", "--log-driver", "nope", IMAGE, "true"])
        .fails();
    assert!(
        o.err().contains("no log driver named 'nope' is registered"),
        "{}",
        o.err()
    );
    let o = d
        .cli(cli, &["run", "--log-opt", "max-bytes=1k", IMAGE, "true"])
        .fails();
    assert!(
        o.err()
            .contains("unknown log opt 'max-bytes' for json-file log driver"),
        "{}",
        o.err()
    );
    let o = d
        .cli(cli, &["run", "--log-opt", "max-size=lots", IMAGE, "true"])
        .fails();
    assert!(o.err().contains("invalid size: 'lots'"), "{}", o.err());
    assert!(d.container_ids().is_empty(), "nothing was created");
}

#[test]
fn a_fast_writer_stays_within_its_size() {
    let d = daemon!();
    let id = d.run_d(
        Cli::Berth,
        &["--log-opt", "max-size=100k", "--log-opt", "max-file=3"],
        &["sh", "-c", "yes 0123456789012345678901234567890123456789"],
    );
    let mut largest = 0u64;
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let total: u64 = log_files(&d, &id)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        largest = largest.max(total);
    }
    assert!(largest > 200_000, "the writer wrote: {largest} bytes kept");
    // Three files of 100 KB, plus at most one entry past the limit.
    assert!(largest <= 3 * 100 * 1024 + 1024, "{largest} bytes kept");
    d.berth(&["rm", "-f", &id]).ok();
}

fn logs_read_across_rotations(cli: Cli) {
    let d = daemon!();
    // 20000 numbered lines (about 1.3 MB of json-file entries) over some 26 files of 50 KB,
    // none deleted (max-file 100).
    let script = "i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done; sleep 600";
    let opts = ["--log-opt", "max-size=50k", "--log-opt", "max-file=100"];
    let id = d.run_d(cli, &opts, &["sh", "-c", script]);
    // Follow from the start while the writer rotates under us.
    let mut follower = d.cli_spawn(cli, &["logs", "-f", &id]);
    follower.wait_stdout("the last line", SOON, |out| out.contains("line19999\n"));
    follower.kill();
    let followed = follower.stdout();
    let expected: String = (0..20000).map(|i| format!("line{i}\n")).collect();
    assert!(
        followed == expected,
        "logs -f lost or repeated lines ({} bytes)",
        followed.len()
    );
    assert!(log_files(&d, &id).len() > 10, "the log rotated");

    let all = d.cli(cli, &["logs", &id]).ok().stdout;
    assert!(all == expected, "logs ({} bytes)", all.len());
    let tail = d.cli(cli, &["logs", "--tail", "2", &id]).ok().out();
    assert_eq!(tail, "line19998\nline19999");
}

#[test]
fn compressed_rotations_read_back() {
    let d = daemon!();
    let script = "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done";
    let opts = [
        "--log-opt",
        "max-size=5k",
        "--log-opt",
        "max-file=50",
        "--log-opt",
        "compress=true",
    ];
    let id = d.run_d(Cli::Docker, &opts, &["sh", "-c", script]);
    d.wait_status(&id, "exited");
    wait_until("rotated files compressed", SOON, || {
        log_files(&d, &id)
            .iter()
            .any(|p| p.to_string_lossy().ends_with(".gz"))
    });
    let all = d.docker(&["logs", &id]).ok().stdout;
    let expected: String = (0..3000).map(|i| format!("line{i}\n")).collect();
    assert!(
        all == expected,
        "logs across .gz files ({} bytes)",
        all.len()
    );
}

fn local_and_none(cli: Cli) {
    let d = daemon!();
    let id = d
        .cli(
            cli,
            &[
                "run",
                "-d",
                "--log-driver",
                "local",
                IMAGE,
                "sh",
                "-c",
                "echo out; echo err >&2",
            ],
        )
        .ok()
        .out();
    d.wait_status(&id, "exited");
    let o = d.cli(cli, &["logs", &id]).ok();
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("out\n", "err\n"));
    assert!(log_files(&d, &id)
        .iter()
        .all(|p| !p.to_string_lossy().contains("-json.log")));

    let id = d
        .cli(
            cli,
            &["run", "-d", "--log-driver", "none", IMAGE, "echo", "gone"],
        )
        .ok()
        .out();
    d.wait_status(&id, "exited");
    let o = d.cli(cli, &["logs", &id]).fails();
    assert!(
        o.err()
            .contains("configured logging driver does not support reading"),
        "{}",
        o.err()
    );
    assert!(log_files(&d, &id).is_empty());
}

/// The daemon's `log-driver` and `log-opts` reach containers that name none, and inspect.
#[test]
fn daemon_defaults_reach_host_config() {
    let d = daemon!("--log-opt", "max-size=10k", "--log-opt", "max-file=2");
    let id = d.run_d(Cli::Docker, &[], &["true"]);
    let log = &d.inspect(&id)["HostConfig"]["LogConfig"];
    assert_eq!(log["Type"], "json-file");
    assert_eq!(log["Config"]["max-size"], "10k");
    assert_eq!(log["Config"]["max-file"], "2");
    // A container's own options replace the daemon's.
    let id = d.run_d(Cli::Docker, &["--log-opt", "max-file=4"], &["true"]);
    let log = &d.inspect(&id)["HostConfig"]["LogConfig"];
    assert_eq!(log["Config"], serde_json::json!({"max-file": "4"}));
}
