//! The shim writes the container's log through berth-logging.

mod common;

use berth_shim_protocol::{LogConfig, Request, Response, ShimConfig};
use common::TestShim;
use std::collections::BTreeMap;
use std::time::Duration;

fn rotated(log: &std::path::Path, n: u32) -> std::path::PathBuf {
    let mut s = log.as_os_str().to_os_string();
    s.push(format!(".{n}"));
    s.into()
}

/// Without a shim-config.json the log is Docker's json-file, as before.
#[tokio::test]
async fn default_config_writes_json_file() {
    let mut shim =
        TestShim::start(&["sh", "-c", "echo hi; echo oops >&2; printf tail"], None).await;
    let exit = shim.wait().await;
    assert!(
        matches!(exit, Response::Exited(ref e) if e.exit_code == 0),
        "{exit:?}"
    );
    shim.stop().await;
    let text = std::fs::read_to_string(shim.log()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut got: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            (
                l["stream"].as_str().unwrap().to_string(),
                l["log"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("stderr".to_string(), "oops\n".to_string()),
            ("stdout".into(), "hi\n".into()),
            ("stdout".into(), "tail".into()),
        ]
    );
    assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
}

/// A container printing as fast as it can for 6 s with max-size=1m max-file=3 keeps at most
/// 3 MB (and one entry) on disk.
#[tokio::test]
async fn fast_writer_stays_within_max_size_times_max_file() {
    let config = ShimConfig {
        log: LogConfig {
            driver: "json-file".into(),
            opts: BTreeMap::from([
                ("max-size".into(), "1m".into()),
                ("max-file".into(), "3".into()),
            ]),
            attrs: BTreeMap::new(),
        },
        healthcheck: None,
    };
    let mut shim = TestShim::start(
        &["yes", "a line of output from a chatty container"],
        Some(config),
    )
    .await;
    let log = shim.log();
    let total = || -> u64 {
        [
            log.clone(),
            rotated(&log, 1),
            rotated(&log, 2),
            rotated(&log, 3),
        ]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
    };
    let limit = 3 * 1024 * 1024 + 200;
    let mut max_seen = 0;
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        max_seen = max_seen.max(total());
    }
    // The shim still answers at once while the output never pauses.
    let asked = std::time::Instant::now();
    let killed = shim
        .call(Request::Kill {
            signal: 9,
            all: true,
        })
        .await;
    assert_eq!(killed, Response::Ok);
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "Kill took {:?}",
        asked.elapsed()
    );
    shim.stop().await;
    max_seen = max_seen.max(total());
    assert!(max_seen <= limit, "{max_seen} bytes on disk, limit {limit}");
    assert!(rotated(&log, 2).exists(), "the log rotated at least twice");
    assert!(!rotated(&log, 3).exists(), "max-file=3 keeps 3 files");
    // Several MB were written in all: rotation happened many times, not once.
    assert!(max_seen > 2 * 1024 * 1024, "{max_seen}");
    for p in [log.clone(), rotated(&log, 1), rotated(&log, 2)] {
        let len = std::fs::metadata(&p).unwrap().len();
        assert!(len <= 1024 * 1024, "{} is {len} bytes", p.display());
        let text = std::fs::read_to_string(&p).unwrap();
        let want = "a line of output from a chatty container\n";
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).expect(line);
            let got = v["log"].as_str().unwrap();
            // The container was killed mid-line: its last piece is logged as it was.
            let last = p == log && i == lines.len() - 1;
            assert!(got == want || (last && want.starts_with(got)), "{got:?}");
        }
    }
}

/// `none` keeps nothing; an unknown driver fails the start with Docker's message.
#[tokio::test]
async fn none_driver_keeps_no_file() {
    let config = ShimConfig {
        log: LogConfig {
            driver: "none".into(),
            ..Default::default()
        },
        healthcheck: None,
    };
    let mut shim = TestShim::start(&["echo", "hi"], Some(config)).await;
    let _ = shim.wait().await;
    shim.stop().await;
    assert!(!shim.log().exists());
}

/// Compressed rotation inside the real (single-threaded) shim: rotated files are gzipped by a
/// forked child and read back in order with the active file.
#[tokio::test]
async fn compressed_rotation_reads_back_in_order() {
    let config = ShimConfig {
        log: LogConfig {
            driver: "json-file".into(),
            opts: BTreeMap::from([
                ("max-size".into(), "64k".into()),
                ("max-file".into(), "4".into()),
                ("compress".into(), "true".into()),
            ]),
            attrs: BTreeMap::from([("tag".into(), "t1".into())]),
        },
        healthcheck: None,
    };
    // Numbered lines, slowly enough to stay readable, fast enough to rotate a few times.
    let mut shim = TestShim::start(&["sh", "-c", "seq 1 30000; sleep 60"], Some(config)).await;
    let log = shim.log();
    let gz = |n: u32| {
        let mut s = log.as_os_str().to_os_string();
        s.push(format!(".{n}.gz"));
        std::path::PathBuf::from(s)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !gz(3).exists() || rotated(&log, 1).exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no compressed rotation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Wait for the output to end (the last line is in the active file).
    let files = berth_logging::LogFiles::for_driver(berth_logging::Driver::JsonFile, &log).unwrap();
    let mut recs = Vec::new();
    for _ in 0..200 {
        recs = files.read(&Default::default()).unwrap();
        if recs.last().is_some_and(|r| r.line == b"30000\n") && !rotated(&log, 1).exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shim.stop().await;
    let numbers: Vec<u32> = recs
        .iter()
        .map(|r| String::from_utf8_lossy(&r.line).trim().parse().unwrap())
        .collect();
    assert_eq!(numbers.last(), Some(&30000));
    let first = numbers[0];
    assert!(first > 1, "the oldest files were removed");
    assert_eq!(numbers, (first..=30000).collect::<Vec<_>>());
    assert!(!gz(4).exists());
    // Each entry carries the attrs the daemon gave.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().all(|l| l.contains(r#""attrs":{"tag":"t1"}"#)),
        "{text:.200}"
    );
}

/// A driver the shim does not know fails the start with Docker's message.
#[tokio::test]
async fn unknown_driver_fails_the_start() {
    let config = ShimConfig {
        log: LogConfig {
            driver: "splunk2".into(),
            ..Default::default()
        },
        healthcheck: None,
    };
    let (dir, _, report) = common::create(&["echo", "hi"], Some(config));
    match report {
        berth_shim_protocol::StartReport::Failed { message } => assert!(
            message.contains(
                "failed to initialize logging driver: logger: no log driver named 'splunk2' is registered"
            ),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    // Nothing was left running: the socket is gone with the shim.
    assert!(!dir.path().join("state/shim.sock").exists());
}
