//! `POST /containers/create` refuses bad capabilities and security options with dockerd's
//! messages and stores nothing; seccomp profiles travel as JSON (the daemon opens no file a
//! client names); an oversized body gets Docker's JSON error shape.

use berth_e2e::{both_clis, daemon, Cli, TestDaemon, IMAGE};
use serde_json::json;
use std::fs;
use std::path::Path;
use std::process::Command;

both_clis!(
    cli_refuses_unknown_capability,
    cli_refuses_bad_no_new_privileges,
    cli_refuses_bad_seccomp_profiles,
    cli_seccomp_profile_from_file_denies_mkdir,
);

/// Proves nothing of a refused create is left: no record and no container directory.
#[track_caller]
fn assert_nothing_stored(d: &TestDaemon) {
    assert!(d.container_ids().is_empty(), "a container was stored");
    let dir = d.data_root.join("containers");
    let left: Vec<_> = fs::read_dir(&dir)
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", dir.display());
}

/// Creates through the raw API and expects 400 with `message`.
#[track_caller]
fn refused(d: &TestDaemon, host_config: serde_json::Value, message: &str) {
    let r = d.http_json(
        "POST",
        "/containers/create",
        &json!({"Image": IMAGE, "Cmd": ["true"], "HostConfig": host_config}),
    );
    assert_eq!(r.status, 400, "{host_config}: {r:?}");
    assert_eq!(r.message(), message, "{host_config}");
    assert_nothing_stored(d);
}

/// A profile that lets everything through but `mkdir`.
const DENY_MKDIR: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}
  ]
}
"#;

#[test]
fn api_refuses_unknown_capabilities() {
    let d = daemon!();
    refused(
        &d,
        json!({"CapAdd": ["CAP_FOO"]}),
        r#"invalid CapAdd: unknown capability: "CAP_FOO""#,
    );
    refused(
        &d,
        json!({"CapAdd": ["NET_ADMIN", "foo"]}),
        r#"invalid CapAdd: unknown capability: "CAP_FOO""#,
    );
    refused(
        &d,
        json!({"CapDrop": ["bar"]}),
        r#"invalid CapDrop: unknown capability: "CAP_BAR""#,
    );
    // Docker's spellings are all accepted.
    let r = d.http_json(
        "POST",
        "/containers/create",
        &json!({"Image": IMAGE, "Cmd": ["true"], "HostConfig": {
            "CapAdd": ["ALL", "net_admin", "CAP_SYS_TIME", "Sys_Ptrace"],
            "CapDrop": ["all", "cap_kill"],
        }}),
    );
    assert_eq!(r.status, 201, "{r:?}");
}

#[test]
fn api_refuses_bad_security_opts() {
    let d = daemon!();
    let cases = [
        (
            "no-new-privileges=maybe",
            r#"invalid --security-opt 2: "no-new-privileges=maybe""#,
        ),
        (
            "no-new-privileges:maybe",
            r#"invalid --security-opt 2: "no-new-privileges:maybe""#,
        ),
        ("bogus=1", r#"invalid --security-opt 2: "bogus=1""#),
        ("bogus", r#"invalid --security-opt 1: "bogus""#),
    ];
    for (opt, message) in cases {
        refused(&d, json!({ "SecurityOpt": [opt] }), message);
    }
    for ok in [
        "no-new-privileges",
        "no-new-privileges=false",
        "no-new-privileges:true",
        "seccomp=unconfined",
        "seccomp=builtin",
        "label=disable",
    ] {
        let r = d.http_json(
            "POST",
            "/containers/create",
            &json!({"Image": IMAGE, "Cmd": ["true"], "HostConfig": {"SecurityOpt": [ok]}}),
        );
        assert_eq!(r.status, 201, "{ok}: {r:?}");
    }
}

#[test]
fn api_refuses_bad_seccomp_profiles() {
    let d = daemon!();
    let decoding = "Decoding seccomp profile failed: ";
    for profile in [
        "{not json",
        r#"{"defaultAction": "SCMP_ACT_NOPE"}"#,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": 7}]}"#,
        "[]",
    ] {
        let r = d.http_json(
            "POST",
            "/containers/create",
            &json!({"Image": IMAGE, "Cmd": ["true"],
                    "HostConfig": {"SecurityOpt": [format!("seccomp={profile}")]}}),
        );
        assert_eq!(r.status, 400, "{profile}: {r:?}");
        assert!(r.message().starts_with(decoding), "{profile}: {r:?}");
        assert_nothing_stored(&d);
    }
    // A conflict only resolving the profile finds.
    refused(
        &d,
        json!({"SecurityOpt": [concat!(
            r#"seccomp={"defaultAction": "SCMP_ACT_ALLOW", "syscalls": "#,
            r#"[{"name": "mkdir", "names": ["rmdir"], "action": "SCMP_ACT_ERRNO"}]}"#
        )]}),
        "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'",
    );
    // The daemon does not open a file named by the client, even a valid profile it could read.
    let path = d.root.join("deny-mkdir.json");
    fs::write(&path, DENY_MKDIR).unwrap();
    let r = d.http_json(
        "POST",
        "/containers/create",
        &json!({"Image": IMAGE, "Cmd": ["true"],
                "HostConfig": {"SecurityOpt": [format!("seccomp={}", path.display())]}}),
    );
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.message().starts_with(decoding), "{r:?}");
    assert_nothing_stored(&d);
}

#[test]
fn oversized_body_gets_a_json_error() {
    let d = daemon!();
    let big = "a".repeat(20 << 20);
    let body = json!({"Image": IMAGE, "Cmd": ["true"], "Env": [format!("X={big}")]});
    let r = d.http_body(
        "POST",
        "/containers/create",
        "application/json",
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 413, "{}", &r.text()[..r.text().len().min(300)]);
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{:?}",
        r.headers
    );
    assert!(r.message().contains("too large"), "{r:?}");
    assert_nothing_stored(&d);
    // The same without a Content-Length (chunked) is cut off while read.
    let (status, answer) = post_chunked(&d, "/containers/create", body.to_string().as_bytes());
    assert_eq!(status, 413, "{answer}");
    let message: serde_json::Value = serde_json::from_str(&answer).expect("a JSON body");
    assert!(
        message["message"]
            .as_str()
            .unwrap_or("")
            .contains("too large"),
        "{answer}"
    );
    assert_nothing_stored(&d);
}

/// POSTs `data` with chunked encoding in 64 KiB chunks; returns the status and the body
/// (which is small: no chunked answer is expected).
fn post_chunked(d: &TestDaemon, path: &str, data: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(berth_e2e::SOON)).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    // The daemon may answer and close before all is sent.
    for c in data.chunks(64 << 10) {
        let mut chunk = format!("{:x}\r\n", c.len()).into_bytes();
        chunk.extend_from_slice(c);
        chunk.extend_from_slice(b"\r\n");
        if s.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).trim();
    (status, body.to_string())
}

fn cli_refuses_unknown_capability(cli: Cli) {
    let d = daemon!();
    let o = d.run_rm(cli, &["--cap-add", "FOO"], &["true"]).fails();
    assert!(
        o.stderr
            .contains(r#"invalid CapAdd: unknown capability: "CAP_FOO""#),
        "{o:?}"
    );
    let o = d.cli(cli, &["create", "--cap-drop", "nope", IMAGE]).fails();
    assert!(
        o.stderr
            .contains(r#"invalid CapDrop: unknown capability: "CAP_NOPE""#),
        "{o:?}"
    );
    assert_nothing_stored(&d);
}

fn cli_refuses_bad_no_new_privileges(cli: Cli) {
    let d = daemon!();
    let o = d
        .run_rm(
            cli,
            &["--security-opt", "no-new-privileges=maybe"],
            &["true"],
        )
        .fails();
    assert!(
        o.stderr
            .contains(r#"invalid --security-opt 2: "no-new-privileges=maybe""#),
        "{o:?}"
    );
    assert_nothing_stored(&d);
}

fn cli_refuses_bad_seccomp_profiles(cli: Cli) {
    let d = daemon!();
    // Not JSON: the client refuses it before asking the daemon.
    let bad = d.root.join("bad.json");
    fs::write(&bad, "{\"defaultAction\": ").unwrap();
    let opt = format!("seccomp={}", bad.display());
    let o = d.run_rm(cli, &["--security-opt", &opt], &["true"]).fails();
    assert!(
        o.stderr.contains(&format!(
            "compacting json for seccomp profile ({}) failed",
            bad.display()
        )),
        "{o:?}"
    );
    // JSON, but not a valid profile: the daemon refuses it at create.
    let invalid = d.root.join("invalid.json");
    fs::write(&invalid, r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap();
    let opt = format!("seccomp={}", invalid.display());
    let o = d
        .cli(cli, &["create", "--security-opt", &opt, IMAGE, "true"])
        .fails();
    assert!(
        o.stderr.contains("Decoding seccomp profile failed: "),
        "{o:?}"
    );
    // No such file.
    let missing = d.root.join("missing.json");
    let opt = format!("seccomp={}", missing.display());
    let o = d.run_rm(cli, &["--security-opt", &opt], &["true"]).fails();
    assert!(
        o.stderr.contains(&format!(
            "opening seccomp profile ({}) failed",
            missing.display()
        )),
        "{o:?}"
    );
    assert_nothing_stored(&d);
}

fn cli_seccomp_profile_from_file_denies_mkdir(cli: Cli) {
    let d = daemon!();
    let profile = d.root.join("deny-mkdir.json");
    fs::write(&profile, DENY_MKDIR).unwrap();
    let script = "touch /tmp/file && echo touched; mkdir /tmp/dir && echo made; true";
    // The profile is where only the client sees it: a tmpfs mounted in a mount namespace of
    // its own. The daemon could not open it; the client reads it and sends its content.
    let private = d.root.join("client-only");
    fs::create_dir(&private).unwrap();
    let opt = format!("seccomp={}/p.json", private.display());
    let run = d.cli_cmd(
        cli,
        &[
            "run",
            "--rm",
            "--security-opt",
            &opt,
            IMAGE,
            "sh",
            "-c",
            script,
        ],
    );
    let o = berth_e2e::run_cmd(
        in_private_tmpfs(run, &private, &profile),
        None,
        berth_e2e::CMD_TIMEOUT,
    )
    .ok();
    assert_eq!(o.stdout, "touched\n", "{o:?}");
    assert!(o.stderr.contains("Operation not permitted"), "{o:?}");
    assert!(
        fs::read_dir(&private).unwrap().next().is_none(),
        "the client's tmpfs is visible outside its namespace"
    );
    // Without the profile the same mkdir works: the profile did it.
    let o = d.run_sh(cli, &[], script).ok();
    assert_eq!(o.stdout, "touched\nmade\n", "{o:?}");
}

/// `cmd` run in a new mount namespace where `dir` is a fresh tmpfs holding a copy of `file`
/// as `p.json`.
fn in_private_tmpfs(cmd: Command, dir: &Path, file: &Path) -> Command {
    let mut wrapped = Command::new("unshare");
    wrapped
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(r#"mount -t tmpfs tmpfs "$1" && cp "$2" "$1/p.json" && shift 2 && exec "$@""#)
        .arg("sh")
        .arg(dir)
        .arg(file)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    wrapped
}
