//! berthd's own settings (`--runtime`, `--config-file`, `--group`) and how the berth CLI
//! finds the daemon (`-H`, `BERTH_HOST`, `DOCKER_HOST`).

use berth_e2e::{bin, daemon, run_cmd, CMD_TIMEOUT};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

/// A berth command with no `-H`: the host comes from the environment only.
fn berth_env(vars: &[(&str, &str)], args: &[&str]) -> berth_e2e::Out {
    let mut c = Command::new(bin("berth"));
    c.env_remove("DOCKER_HOST").env_remove("BERTH_HOST");
    for (k, v) in vars {
        c.env(k, v);
    }
    c.args(args);
    run_cmd(c, None, CMD_TIMEOUT)
}

#[test]
fn runc_runtime_runs_containers() {
    assert!(
        std::path::Path::new("/usr/sbin/runc").exists(),
        "/usr/sbin/runc is missing: scripts/install-deps.sh installs it"
    );
    let d = daemon!("--runtime", "/usr/sbin/runc");
    let o = d.docker(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo via-runc; exit 4",
    ]);
    assert_eq!(o.code(), 4, "{o:?}");
    assert_eq!(o.out(), "via-runc");
    let id = d
        .docker(&["run", "-d", "busybox", "sleep", "300"])
        .ok()
        .out();
    let o = d.docker(&["exec", &id, "sh", "-c", "exit 3"]);
    assert_eq!(o.code(), 3, "{o:?}");
    d.docker(&["rm", "-f", &id]).ok();
}

#[test]
fn runtime_flag_is_used() {
    // A runtime that does not exist must make start fail, naming it: the flag is not ignored.
    let d = daemon!("--runtime", "/nonexistent/berth-test-runc");
    let o = d.docker(&["run", "--rm", "busybox", "true"]).fails();
    assert!(o.err().contains("/nonexistent/berth-test-runc"), "{o:?}");
}

#[test]
fn config_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("daemon.json");
    std::fs::write(&cfg, r#"{"runtime": "/nonexistent/from-config-file"}"#).unwrap();
    let d = daemon!("--config-file", cfg.to_str().unwrap());
    let o = d.docker(&["run", "--rm", "busybox", "true"]).fails();
    assert!(o.err().contains("/nonexistent/from-config-file"), "{o:?}");
}

#[test]
fn bad_config_file_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("daemon.json");
    std::fs::write(&cfg, r#"{"no-such-option": true}"#).unwrap();
    let sock = dir.path().join("s.sock");
    let mut c = Command::new(bin("berthd"));
    c.arg("--config-file")
        .arg(&cfg)
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .arg("--exec-root")
        .arg(dir.path().join("exec"))
        .arg("-H")
        .arg(format!("unix://{}", sock.display()));
    let o = run_cmd(c, None, CMD_TIMEOUT);
    assert_ne!(o.code(), 0, "{o:?}");
    assert!(o.err().contains("no-such-option"), "{o:?}");
    assert!(!sock.exists());
}

#[test]
fn socket_belongs_to_the_group() {
    let group = nix::unistd::Group::from_name("nogroup")
        .ok()
        .flatten()
        .expect("this test needs the host group 'nogroup' (Debian has it)");
    let d = daemon!("--group", "nogroup");
    let meta = std::fs::metadata(d.host().trim_start_matches("unix://")).unwrap();
    assert_eq!(meta.gid(), group.gid.as_raw());
    assert_eq!(meta.uid(), 0);
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
}

#[test]
fn cli_finds_the_daemon_like_docker() {
    let d = daemon!();
    let good = d.host();
    let bad = "unix:///nonexistent/berth.sock";
    // BERTH_HOST wins over DOCKER_HOST...
    berth_env(&[("BERTH_HOST", &good), ("DOCKER_HOST", bad)], &["ps"]).ok();
    // ...DOCKER_HOST is used when BERTH_HOST is not set...
    berth_env(&[("DOCKER_HOST", &good)], &["ps"]).ok();
    // ...and -H wins over both.
    berth_env(
        &[("BERTH_HOST", bad), ("DOCKER_HOST", bad)],
        &["-H", &good, "ps"],
    )
    .ok();
    let o = berth_env(&[("BERTH_HOST", bad)], &["ps"]).fails();
    assert!(o.err().contains("Cannot connect"), "{o:?}");
}
