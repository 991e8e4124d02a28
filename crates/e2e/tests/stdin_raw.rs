//! Stdin without a TTY is passed through byte-exact: no detach-key scan (ctrl-p ctrl-q are
//! data), its end closes the container's stdin, and all output arrives before the CLI exits.
//! With a TTY, ctrl-p ctrl-q still detach (the CLI tests are in streams.rs; the daemon's own
//! scan is tried here through the raw API).

use berth_e2e::{both_clis, daemon, wait_until, Cli, TestDaemon, IMAGE, SOON};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

both_clis!(
    run_stdin_64mib_is_byte_exact,
    exec_stdin_64mib_is_byte_exact,
    detach_keys_are_data_without_tty,
    all_output_arrives_after_stdin_ends,
    process_that_stops_reading_stdin,
);

const BIG: usize = 64 << 20;

/// Deterministic bytes (xorshift64) with ctrl-p ctrl-q pairs sprinkled in and a trailing
/// ctrl-p, the bytes a detach-key scan would swallow or hold back.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    for i in (1000..len.saturating_sub(2)).step_by(4099) {
        v[i] = 0x10;
        v[i + 1] = 0x11;
    }
    if let Some(last) = v.last_mut() {
        *last = 0x10;
    }
    v
}

fn sha256_line(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}  -\n")
}

/// The input has what the test is about, so a change to the generator cannot hide it.
fn assert_has_detach_keys(data: &[u8]) {
    assert!(data.windows(2).any(|w| w == [0x10, 0x11]));
    assert_eq!(data.last(), Some(&0x10));
}

fn run_stdin_64mib_is_byte_exact(cli: Cli) {
    let d = daemon!();
    let data = random_bytes(BIG);
    assert_has_detach_keys(&data);
    let o = d
        .cli_in(cli, &["run", "-i", "--rm", IMAGE, "sha256sum"], &data)
        .ok();
    assert_eq!(o.stdout, sha256_line(&data), "{o:?}");
    assert!(d.container_ids().is_empty(), "--rm left a container");
}

fn exec_stdin_64mib_is_byte_exact(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &[], &["sleep", "300"]);
    let data = random_bytes(BIG);
    assert_has_detach_keys(&data);
    let o = d.cli_in(cli, &["exec", "-i", &id, "sha256sum"], &data).ok();
    assert_eq!(o.stdout, sha256_line(&data), "{o:?}");
    assert_eq!(d.status(&id), "running");
}

fn detach_keys_are_data_without_tty(cli: Cli) {
    let d = daemon!();
    let od = "0000000   a 020 021   b   c   d   e   f  \\n\n0000011\n";
    let o = d
        .cli_in(
            cli,
            &["run", "-i", "--rm", IMAGE, "od", "-c"],
            b"a\x10\x11bcdef\n",
        )
        .ok();
    assert_eq!(o.stdout, od, "{o:?}");
    // A ctrl-p at the very end is not held back waiting for a ctrl-q.
    let o = d
        .cli_in(cli, &["run", "-i", "--rm", IMAGE, "od", "-c"], b"x\x10")
        .ok();
    assert_eq!(o.stdout, "0000000   x 020\n0000002\n", "{o:?}");
    let id = d.run_d(cli, &[], &["sleep", "300"]);
    let o = d
        .cli_in(cli, &["exec", "-i", &id, "od", "-c"], b"a\x10\x11bcdef\n")
        .ok();
    assert_eq!(o.stdout, od, "{o:?}");
    let o = d
        .cli_in(cli, &["exec", "-i", &id, "od", "-c"], b"\x10\x11\x10")
        .ok();
    assert_eq!(o.stdout, "0000000 020 021 020\n0000003\n", "{o:?}");
}

/// `cat` echoes 4 MiB of text while its stdin arrives, then more once it ended; the CLI
/// exits only with all of it.
fn all_output_arrives_after_stdin_ends(cli: Cli) {
    let d = daemon!();
    // Hex text, so the harness' UTF-8 capture compares it exactly.
    let text: String = random_bytes(2 << 20)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let o = d
        .cli_in(
            cli,
            &["run", "-i", "--rm", IMAGE, "sh", "-c", "cat; echo END"],
            text.as_bytes(),
        )
        .ok();
    assert_eq!(o.stdout.len(), text.len() + 4, "{}", o.stderr);
    assert!(o.stdout == format!("{text}END\n"), "output differs");
}

/// A process that exits without reading all of its stdin: its output still arrives whole,
/// and the CLI succeeds (no "connection reset by peer").
fn process_that_stops_reading_stdin(cli: Cli) {
    let d = daemon!();
    let data = vec![b'y'; 16 << 20];
    let o = d
        .cli_in(cli, &["run", "-i", "--rm", IMAGE, "head", "-c", "5"], &data)
        .ok();
    assert_eq!(o.stdout, "yyyyy", "{o:?}");
    let id = d.run_d(cli, &[], &["sleep", "300"]);
    let o = d
        .cli_in(cli, &["exec", "-i", &id, "head", "-c", "5"], &data)
        .ok();
    assert_eq!(o.stdout, "yyyyy", "{o:?}");
}

/// Sends an attach request with `Upgrade: tcp` and returns the connection after the 101.
fn hijack_attach(d: &TestDaemon, id: &str) -> UnixStream {
    let mut s = UnixStream::connect(&d.socket).expect("connecting to berthd");
    s.set_read_timeout(Some(SOON)).unwrap();
    let req = format!(
        "POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n\
         Host: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(s.read(&mut byte).unwrap(), 1, "EOF in the answer's headers");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s
}

/// Reads until `pred` holds on all that was read, or EOF.
fn read_until(s: &mut UnixStream, got: &mut Vec<u8>, pred: impl Fn(&[u8]) -> bool) {
    let mut buf = [0u8; 4096];
    while !pred(got) {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading the attach stream: {e} (so far {got:?})"),
        }
    }
}

fn create_interactive(d: &TestDaemon, tty: bool, cmd: &[&str]) -> String {
    let r = d.http_json(
        "POST",
        "/containers/create",
        &serde_json::json!({
            "Image": IMAGE, "Cmd": cmd, "Tty": tty, "OpenStdin": true, "StdinOnce": true,
            "AttachStdin": true, "AttachStdout": true, "AttachStderr": true,
        }),
    );
    assert_eq!(r.status, 201, "{r:?}");
    r.json()["Id"].as_str().unwrap().to_string()
}

/// With a TTY the daemon itself detaches on ctrl-p ctrl-q: the stream ends, the container runs on.
#[test]
fn daemon_detaches_tty_attach_on_ctrl_p_ctrl_q() {
    let d = daemon!();
    let id = create_interactive(&d, true, &["sh"]);
    let mut s = hijack_attach(&d, &id);
    assert_eq!(
        d.http("POST", &format!("/containers/{id}/start")).status,
        204
    );
    s.write_all(b"echo READY$((40+2))\n").unwrap();
    let mut got = Vec::new();
    read_until(&mut s, &mut got, |b| {
        String::from_utf8_lossy(b).contains("READY42")
    });
    assert!(String::from_utf8_lossy(&got).contains("READY42"), "{got:?}");
    s.write_all(b"\x10\x11").unwrap();
    // The daemon closes the stream: EOF, not more output.
    read_until(&mut s, &mut got, |_| false);
    assert_eq!(d.status(&id), "running");
}

/// Without a TTY the same bytes are input, and half-closing ends the container's stdin.
#[test]
fn daemon_passes_ctrl_p_ctrl_q_without_tty() {
    let d = daemon!();
    let id = create_interactive(&d, false, &["od", "-An", "-tx1"]);
    let mut s = hijack_attach(&d, &id);
    assert_eq!(
        d.http("POST", &format!("/containers/{id}/start")).status,
        204
    );
    s.write_all(b"\x10\x11z\x10").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = Vec::new();
    read_until(&mut s, &mut got, |_| false);
    let (out, err) = berth_e2e::demux(&got);
    assert_eq!(
        String::from_utf8_lossy(&out),
        " 10 11 7a 10\n",
        "stderr: {}",
        String::from_utf8_lossy(&err)
    );
    wait_until("the container to exit", SOON, || d.status(&id) == "exited");
}
