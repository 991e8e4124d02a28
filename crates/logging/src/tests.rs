//! Tests across the modules: writing through rotation and compression, then reading and
//! following what was written.

use crate::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn config(driver: &str, pairs: &[(&str, &str)]) -> LogConfig {
    let opts = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LogConfig::parse(driver, &opts).unwrap()
}

fn writer(dir: &Path, cfg: &LogConfig) -> (LogWriter, PathBuf) {
    let json = dir.join("abc-json.log");
    let w = LogWriter::open(
        cfg,
        &json,
        BTreeMap::new(),
        Box::new(ThreadCompressor::default()),
    )
    .unwrap();
    (w, json)
}

fn lines(recs: &[Record]) -> Vec<String> {
    recs.iter()
        .map(|r| String::from_utf8_lossy(&r.line).into_owned())
        .collect()
}

fn numbered(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("line {i:05}\n")).collect()
}

#[test]
fn json_file_entries_as_docker_cuts_them() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, json) = writer(dir.path(), &LogConfig::default());
    w.write(Stream::Stdout, b"a\nb").unwrap();
    w.write(Stream::Stderr, b"err\n").unwrap();
    w.write(Stream::Stdout, b"c\nd").unwrap();
    // A line longer than 16 KiB is cut into partial entries without '\n'.
    let long = vec![b'x'; MAX_LINE * 2 + 10];
    w.write(Stream::Stderr, &long).unwrap();
    w.write(Stream::Stderr, b"\n").unwrap();
    w.close_stream(Stream::Stdout).unwrap();
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.starts_with("{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\""));
    let recs = LogFiles::for_driver(Driver::JsonFile, &json)
        .unwrap()
        .read(&ReadOptions::default())
        .unwrap();
    let got = lines(&recs);
    let x = |n: usize| "x".repeat(n);
    assert_eq!(
        got,
        [
            "a\n".to_string(),
            "err\n".into(),
            "bc\n".into(),
            x(MAX_LINE),
            x(MAX_LINE),
            x(10) + "\n",
            "d".into(),
        ]
    );
    assert!(text
        .lines()
        .nth(1)
        .unwrap()
        .contains("\"stream\":\"stderr\""));
}

#[test]
fn rotation_keeps_each_file_within_max_size_and_max_file_files() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("json-file", &[("max-size", "1k"), ("max-file", "3")]);
    let (mut w, json) = writer(dir.path(), &cfg);
    for l in numbered(0, 200) {
        w.write(Stream::Stdout, l.as_bytes()).unwrap();
    }
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len());
    assert!(size(json.clone()).unwrap() <= 1024);
    assert!(size(rotate::rotated_path(&json, 1, false)).unwrap() <= 1024);
    assert!(size(rotate::rotated_path(&json, 2, false)).unwrap() <= 1024);
    assert!(size(rotate::rotated_path(&json, 2, false)).unwrap() > 900);
    assert!(size(rotate::rotated_path(&json, 3, false)).is_err());
    // What is kept is the newest lines, in order, with no gap.
    let recs = LogFiles::for_driver(Driver::JsonFile, &json)
        .unwrap()
        .read(&ReadOptions::default())
        .unwrap();
    let got = lines(&recs);
    let first: usize = got[0][5..10].parse().unwrap();
    assert!(first > 100);
    assert_eq!(got, numbered(first, 200));
}

#[test]
fn max_file_one_truncates() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("json-file", &[("max-size", "1k")]);
    let (mut w, json) = writer(dir.path(), &cfg);
    for l in numbered(0, 100) {
        w.write(Stream::Stdout, l.as_bytes()).unwrap();
    }
    assert!(std::fs::metadata(&json).unwrap().len() <= 1024);
    assert!(!rotate::rotated_path(&json, 1, false).exists());
    let got = lines(
        &LogFiles::for_driver(Driver::JsonFile, &json)
            .unwrap()
            .read(&ReadOptions::default())
            .unwrap(),
    );
    assert_eq!(got.last().unwrap(), "line 00099\n");
}

#[test]
fn compressed_rotation_reads_back_with_tail_and_since() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        "json-file",
        &[("max-size", "2k"), ("max-file", "4"), ("compress", "true")],
    );
    let (mut w, json) = writer(dir.path(), &cfg);
    for l in numbered(0, 150) {
        w.write(Stream::Stdout, l.as_bytes()).unwrap();
    }
    w.wait_compression();
    assert!(rotate::rotated_path(&json, 1, true).exists());
    assert!(rotate::rotated_path(&json, 3, true).exists());
    assert!(!rotate::rotated_path(&json, 1, false).exists());
    assert!(!rotate::rotated_path(&json, 4, true).exists());
    let files = LogFiles::for_driver(Driver::JsonFile, &json).unwrap();
    let all = files.read(&ReadOptions::default()).unwrap();
    let got = lines(&all);
    let first: usize = got[0][5..10].parse().unwrap();
    assert_eq!(got, numbered(first, 150));
    // tail spanning the active file and the compressed ones.
    let active_count = std::fs::read_to_string(&json).unwrap().lines().count();
    let tail = active_count + 30;
    let recs = files
        .read(&ReadOptions {
            tail: Some(tail),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(lines(&recs), numbered(150 - tail, 150));
    // since/until select by time.
    let mid = all[all.len() / 2].time;
    let recs = files
        .read(&ReadOptions {
            since: Some(mid),
            ..Default::default()
        })
        .unwrap();
    assert!(recs.iter().all(|r| r.time >= mid) && !recs.is_empty());
    assert_eq!(recs.last().unwrap().line, b"line 00149\n");
    let recs = files
        .read(&ReadOptions {
            until: Some(all[0].time),
            ..Default::default()
        })
        .unwrap();
    assert!(recs.iter().all(|r| r.time <= all[0].time) && !recs.is_empty());
}

#[test]
fn local_driver_round_trip_with_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("local", &[("max-size", "1k"), ("max-file", "3")]);
    let (mut w, json) = writer(dir.path(), &cfg);
    assert_eq!(
        w.path().unwrap(),
        dir.path().join("local-logs/container.log")
    );
    for l in numbered(0, 100) {
        w.write(Stream::Stderr, l.as_bytes()).unwrap();
    }
    w.wait_compression();
    assert!(!json.exists());
    let files = LogFiles::for_driver(Driver::Local, &json).unwrap();
    assert!(rotate::rotated_path(&files.path, 1, true).exists());
    let recs = files.read(&ReadOptions::default()).unwrap();
    assert!(recs.iter().all(|r| r.stream == Stream::Stderr));
    let got = lines(&recs);
    let first: usize = got[0][5..10].parse().unwrap();
    assert_eq!(got, numbered(first, 100));
}

#[test]
fn none_driver_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, json) = writer(dir.path(), &config("none", &[]));
    w.write(Stream::Stdout, b"hi\n").unwrap();
    assert!(w.path().is_none());
    assert!(!json.exists());
    assert!(LogFiles::for_driver(Driver::None, &json).is_none());
}

#[test]
fn log_files_are_0640() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (mut w, json) = writer(dir.path(), &LogConfig::default());
    w.write(Stream::Stdout, b"x\n").unwrap();
    let mode = std::fs::metadata(&json).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
}

#[test]
fn fork_compressor_compresses() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        "json-file",
        &[("max-size", "1k"), ("max-file", "2"), ("compress", "1")],
    );
    let json = dir.path().join("f-json.log");
    let mut w = LogWriter::open(
        &cfg,
        &json,
        BTreeMap::new(),
        Box::new(ForkCompressor::default()),
    )
    .unwrap();
    for l in numbered(0, 60) {
        w.write(Stream::Stdout, l.as_bytes()).unwrap();
    }
    w.wait_compression();
    assert!(rotate::rotated_path(&json, 1, true).exists());
    let got = lines(
        &LogFiles::for_driver(Driver::JsonFile, &json)
            .unwrap()
            .read(&ReadOptions::default())
            .unwrap(),
    );
    assert_eq!(got.last().unwrap(), "line 00059\n");
    let first: usize = got[0][5..10].parse().unwrap();
    assert_eq!(got, numbered(first, 60));
}

#[test]
fn follow_starts_with_tail_then_sees_new_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, json) = writer(dir.path(), &LogConfig::default());
    for l in numbered(0, 10) {
        w.write(Stream::Stdout, l.as_bytes()).unwrap();
    }
    let files = LogFiles::for_driver(Driver::JsonFile, &json).unwrap();
    let (backlog, mut f) = Follower::start(
        files,
        &ReadOptions {
            tail: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(lines(&backlog), numbered(7, 10));
    assert!(f.poll().unwrap().is_empty());
    w.write(Stream::Stdout, b"line 00010\nline 000").unwrap();
    assert_eq!(lines(&f.poll().unwrap()), numbered(10, 11));
    w.write(Stream::Stdout, b"11\n").unwrap();
    assert_eq!(lines(&f.poll().unwrap()), numbered(11, 12));
}

#[test]
fn follow_waits_for_the_file_and_handles_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("late-json.log");
    let files = LogFiles::for_driver(Driver::JsonFile, &json).unwrap();
    let (backlog, mut f) = Follower::start(files, &ReadOptions::default()).unwrap();
    assert!(backlog.is_empty());
    assert!(f.poll().unwrap().is_empty());
    let cfg = config("json-file", &[("max-size", "1k")]);
    let mut w = LogWriter::open(
        &cfg,
        &json,
        BTreeMap::new(),
        Box::new(ThreadCompressor::default()),
    )
    .unwrap();
    let mut seen = Vec::new();
    for l in numbered(0, 100) {
        w.write(Stream::Stdout, l.as_bytes()).unwrap();
        seen.extend(lines(&f.poll().unwrap()));
    }
    assert_eq!(seen, numbered(0, 100));
}

/// A writer thread rotating every few lines while a follower polls: every line is seen once,
/// in order.
#[test]
fn follow_across_rotations_with_a_concurrent_writer() {
    for (driver, compress) in [
        (Driver::JsonFile, "false"),
        (Driver::JsonFile, "true"),
        (Driver::Local, "true"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("c-json.log");
        let cfg = config(
            driver.name(),
            &[
                ("max-size", "2k"),
                ("max-file", "200"),
                ("compress", compress),
            ],
        );
        let files = LogFiles::for_driver(driver, &json).unwrap();
        let (_, mut f) = Follower::start(files, &ReadOptions::default()).unwrap();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let json2 = json.clone();
        let writer = std::thread::spawn(move || {
            let mut w = LogWriter::open(
                &cfg,
                &json2,
                BTreeMap::new(),
                Box::new(ThreadCompressor::default()),
            )
            .unwrap();
            for (i, l) in numbered(0, 3000).iter().enumerate() {
                w.write(Stream::Stdout, l.as_bytes()).unwrap();
                if i % 50 == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            done_tx.send(()).unwrap();
        });
        let mut seen = Vec::new();
        loop {
            let finished = done_rx.try_recv().is_ok();
            seen.extend(lines(&f.poll().unwrap()));
            if finished {
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(300));
        }
        writer.join().unwrap();
        seen.extend(lines(&f.poll().unwrap()));
        let want = numbered(0, 3000);
        let first_diff = seen.iter().zip(&want).position(|(a, b)| a != b);
        assert!(
            seen.len() == 3000 && first_diff.is_none(),
            "{driver:?} compress={compress}: {} lines, first difference at {first_diff:?}",
            seen.len()
        );
    }
}

#[test]
fn follow_stops_after_until() {
    let dir = tempfile::tempdir().unwrap();
    let (mut w, json) = writer(dir.path(), &LogConfig::default());
    w.write(Stream::Stdout, b"old\n").unwrap();
    let until = now_nanos();
    let files = LogFiles::for_driver(Driver::JsonFile, &json).unwrap();
    let (backlog, mut f) = Follower::start(
        files,
        &ReadOptions {
            until: Some(until),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(lines(&backlog), ["old\n"]);
    std::thread::sleep(std::time::Duration::from_millis(2));
    w.write(Stream::Stdout, b"new\n").unwrap();
    assert!(f.poll().unwrap().is_empty());
    assert!(f.finished());
}

/// A slow follower (polling every 100 ms, as the daemon does) of a writer that rotates many
/// times between two polls.
#[test]
fn slow_follower_of_a_fast_writer_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("c-json.log");
    let cfg = config("json-file", &[("max-size", "50k"), ("max-file", "100")]);
    let files = LogFiles::for_driver(Driver::JsonFile, &json).unwrap();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let json2 = json.clone();
    let writer = std::thread::spawn(move || {
        let mut w = LogWriter::open(
            &cfg,
            &json2,
            BTreeMap::new(),
            Box::new(ThreadCompressor::default()),
        )
        .unwrap();
        for l in numbered(0, 20000) {
            w.write(Stream::Stdout, l.as_bytes()).unwrap();
        }
        drop(w);
        done_tx.send(()).unwrap();
    });
    std::thread::sleep(std::time::Duration::from_millis(5));
    let (backlog, mut f) = Follower::start(files, &ReadOptions::default()).unwrap();
    let mut seen = lines(&backlog);
    loop {
        let finished = done_rx.try_recv().is_ok();
        seen.extend(lines(&f.poll().unwrap()));
        if finished {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    writer.join().unwrap();
    seen.extend(lines(&f.poll().unwrap()));
    let want = numbered(0, 20000);
    let first_diff = seen.iter().zip(&want).position(|(a, b)| a != b);
    assert!(
        seen.len() == 20000 && first_diff.is_none(),
        "{} lines, first difference at {first_diff:?}: {:?}",
        seen.len(),
        first_diff.map(|i| (&seen[i], &want[i]))
    );
}
