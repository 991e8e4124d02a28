//! Logs, attach, exec and TTYs.

use berth_e2e::{both_clis, daemon, wait_until, Cli, IMAGE, SOON};

both_clis!(
    logs_keep_stdout_and_stderr_apart,
    logs_tail_and_timestamps,
    logs_follow_ends_with_container,
    logs_since,
    attach_shows_new_output,
    exec_with_stdin_env_workdir_user,
    exec_detached,
    run_tty,
    exec_tty,
    detach_keys_leave_container_running,
    detach_keys_from_the_config_file,
);

fn exited(d: &berth_e2e::TestDaemon, cli: Cli, cmd: &str) -> String {
    let id = d.run_d(cli, &[], &["sh", "-c", cmd]);
    d.cli(cli, &["wait", &id]).ok();
    id
}

fn logs_keep_stdout_and_stderr_apart(cli: Cli) {
    let d = daemon!();
    let id = exited(&d, cli, "echo to-out; echo to-err >&2; echo more-out");
    let o = d.cli(cli, &["logs", &id]).ok();
    assert_eq!(o.stdout, "to-out\nmore-out\n");
    assert_eq!(o.stderr, "to-err\n");
    // Under `run` too.
    let o = d.run_sh(cli, &[], "echo a; echo b >&2").ok();
    assert_eq!(o.stdout, "a\n");
    assert_eq!(o.stderr, "b\n");
}

fn logs_tail_and_timestamps(cli: Cli) {
    let d = daemon!();
    let id = exited(&d, cli, "echo one; echo two; echo three");
    assert_eq!(
        d.cli(cli, &["logs", "--tail", "1", &id]).ok().stdout,
        "three\n"
    );
    assert_eq!(
        d.cli(cli, &["logs", "-n", "2", &id]).ok().stdout,
        "two\nthree\n"
    );
    assert_eq!(
        d.cli(cli, &["logs", "--tail", "all", &id])
            .ok()
            .lines()
            .len(),
        3
    );
    let o = d.cli(cli, &["logs", "-t", &id]).ok();
    let l = o.lines();
    assert_eq!(l.len(), 3, "{o:?}");
    for (line, word) in l.iter().zip(["one", "two", "three"]) {
        let (ts, rest) = line.split_once(' ').unwrap();
        assert_eq!(rest, word);
        // RFC 3339 with nanoseconds: 2026-11-23T16:40:38.123456789Z
        assert!(
            ts.len() >= 20
                && ts.as_bytes()[4] == b'-'
                && ts.as_bytes()[10] == b'T'
                && ts.ends_with('Z'),
            "{line}"
        );
    }
}

fn logs_follow_ends_with_container(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(
        cli,
        &[],
        &["sh", "-c", "echo first; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo second; sleep 0.5; echo last"],
    );
    let mut f = d.cli_spawn(cli, &["logs", "-f", &id]);
    f.wait_stdout("first line", SOON, |s| s.contains("first"));
    assert!(
        f.try_wait().is_none(),
        "logs -f ended while the container runs"
    );
    d.cli(cli, &["exec", &id, "touch", "/tmp/go"]).ok();
    f.wait_stdout("followed lines", SOON, |s| s.contains("last"));
    let st = f
        .wait_timeout(SOON)
        .expect("logs -f did not end when the container stopped");
    assert!(st.success());
    assert_eq!(f.stdout(), "first\nsecond\nlast\n");
}

fn logs_since(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(
        cli,
        &[],
        &[
            "sh",
            "-c",
            "echo early; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo late; sleep 300",
        ],
    );
    wait_until("early", SOON, || d.api_logs(&id).contains("early"));
    std::thread::sleep(std::time::Duration::from_millis(50));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let since = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
    d.cli(cli, &["exec", &id, "touch", "/tmp/go"]).ok();
    wait_until("late", SOON, || d.api_logs(&id).contains("late"));
    let o = d.cli(cli, &["logs", "--since", &since, &id]).ok();
    assert_eq!(o.stdout, "late\n");
    let o = d.cli(cli, &["logs", "--until", &since, &id]).ok();
    assert_eq!(o.stdout, "early\n");
}

fn attach_shows_new_output(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(
        cli,
        &[],
        &[
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.2; done",
        ],
    );
    let mut a = d.cli_spawn(cli, &["attach", "--no-stdin", &id]);
    a.wait_stdout("ticks through attach", SOON, |s| {
        s.lines().filter(|l| l.starts_with("tick")).count() >= 3
    });
    // Only new output (no replay of the log from the start).
    wait_until("a few ticks logged", SOON, || {
        d.api_logs(&id).contains("tick3")
    });
    a.kill();
    assert_eq!(d.status(&id), "running");
    // attach ends with the container, with its exit code.
    let id = d.run_d(
        cli,
        &[],
        &[
            "sh",
            "-c",
            "while [ ! -f /tmp/go ]; do sleep 0.1; done; echo bye; exit 3",
        ],
    );
    let mut a = d.cli_spawn(cli, &["attach", &id]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    d.cli(cli, &["exec", &id, "touch", "/tmp/go"]).ok();
    let st = a
        .wait_timeout(SOON)
        .expect("attach did not end with the container");
    assert_eq!(st.code(), Some(3), "{}", a.stderr());
    assert!(a.stdout().contains("bye"));
}

fn exec_with_stdin_env_workdir_user(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &[], &["sleep", "300"]);
    let o = d
        .cli_in(cli, &["exec", "-i", &id, "cat"], b"hello-exec\n")
        .ok();
    assert_eq!(o.stdout, "hello-exec\n");
    let o = d
        .cli(
            cli,
            &[
                "exec",
                "-e",
                "X=1",
                "-w",
                "/tmp",
                "-u",
                "65534",
                &id,
                "sh",
                "-c",
                "echo $X; pwd; id -u",
            ],
        )
        .ok();
    assert_eq!(o.lines(), vec!["1", "/tmp", "65534"]);
    d.cli(cli, &["exec", &id, "sh", "-c", "exit 3"]).code_is(3);
    let o = d
        .cli(cli, &["exec", &id, "sh", "-c", "echo out; echo err >&2"])
        .ok();
    assert_eq!(o.stdout, "out\n");
    assert_eq!(o.stderr, "err\n");
    d.cli(cli, &["exec", &id, "nosuchcmd"]).code_is(127);
    // The exec runs in the container's namespaces: it sees PID 1 = sleep.
    let o = d.cli(cli, &["exec", &id, "cat", "/proc/1/comm"]).ok();
    assert_eq!(o.out(), "sleep");
    let stopped = exited(&d, cli, "true");
    d.cli(cli, &["exec", &stopped, "true"]).fails();
}

fn exec_detached(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &[], &["sleep", "300"]);
    d.cli(
        cli,
        &[
            "exec",
            "-d",
            &id,
            "sh",
            "-c",
            "sleep 0.3; echo done > /tmp/marker",
        ],
    )
    .ok();
    wait_until("the detached exec to write", SOON, || {
        d.cli(cli, &["exec", &id, "cat", "/tmp/marker"]).out() == "done"
    });
}

fn run_tty(cli: Cli) {
    let d = daemon!();
    let var = if cli == Cli::Berth {
        "$BERTH"
    } else {
        "$DOCKER"
    };
    let o = d.in_pty(
        &format!(
            "stty rows 24 cols 80; {var} run -it --rm busybox sh -c 'tty; stty size; echo done'"
        ),
        None,
    );
    assert_eq!(o.code(), 0, "{o:?}");
    assert!(o.stdout.contains("/dev/pts/"), "{o:?}");
    // The terminal's size reaches the container's pty.
    assert!(
        o.stdout.lines().any(|l| l.trim() == "24 80"),
        "no size from stty: {o:?}"
    );
    // Nothing but the container's output comes through.
    assert!(
        o.stdout.starts_with("/dev/pts/"),
        "stray bytes before the output: {o:?}"
    );
    // Under a TTY, stderr comes on the same stream; `-t` without a terminal still allocates one.
    let o = d.cli(cli, &["run", "-t", "--rm", IMAGE, "tty"]);
    assert!(o.stdout.contains("/dev/pts/"), "{o:?}");
}

fn exec_tty(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &[], &["sleep", "300"]);
    let var = if cli == Cli::Berth {
        "$BERTH"
    } else {
        "$DOCKER"
    };
    let o = d.in_pty(
        &format!("stty rows 30 cols 100; {var} exec -it {id} sh -c 'tty; stty size; echo done'"),
        None,
    );
    assert_eq!(o.code(), 0, "{o:?}");
    assert!(o.stdout.contains("/dev/pts/"), "{o:?}");
    assert!(
        o.stdout.lines().any(|l| l.trim() == "30 100"),
        "no size from stty: {o:?}"
    );
    assert!(o.stdout.contains("done"), "{o:?}");
}

const DETACH_PY: &str = r#"
import os, pty, subprocess, sys, time, select
cli = sys.argv[1:]
master, slave = pty.openpty()
p = subprocess.Popen(cli, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                     preexec_fn=lambda: __import__('fcntl').ioctl(0, __import__('termios').TIOCSCTTY, 0))
os.close(slave)
buf = b''
def read_until(pred, t):
    global buf
    end = time.time() + t
    while time.time() < end and not pred(buf):
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                buf += os.read(master, 4096)
            except OSError:
                break
    return pred(buf)
os.write(master, b'echo READY$((1+1))\r')
if not read_until(lambda b: b'READY2' in b, 30):
    print('NO-PROMPT', buf); p.kill(); sys.exit(2)
seq = [bytes([int(h, 16)]) for h in os.environ.get('DETACH_SEQ', '10,11').split(',')]
for i, key in enumerate(seq):
    if i:
        time.sleep(0.2)
    os.write(master, key)
try:
    rc = p.wait(timeout=30)
except subprocess.TimeoutExpired:
    print('CLI-DID-NOT-DETACH', buf); p.kill(); sys.exit(3)
read_until(lambda b: False, 0.5)
print('CLI-EXIT', rc)
print(buf.decode(errors='replace'))
"#;

fn detach_keys_leave_container_running(cli: Cli) {
    detach_with(cli, None, "10,11");
}

/// `detachKeys` in the CLI's config.json replaces ctrl-p,ctrl-q, as with docker.
fn detach_keys_from_the_config_file(cli: Cli) {
    detach_with(cli, Some(r#"{"detachKeys": "ctrl-a,x"}"#), "01,78");
}

/// `run -it` in a pty, detached by typing `seq` (hex bytes); the container runs on.
fn detach_with(cli: Cli, config: Option<&str>, seq: &str) {
    let d = daemon!();
    if let Some(config) = config {
        std::fs::write(d.root.join("docker-config/config.json"), config).unwrap();
    }
    let name = berth_e2e::unique("det");
    let bin = match cli {
        Cli::Berth => berth_e2e::bin("berth"),
        Cli::Docker => berth_e2e::docker_bin(),
    };
    let mut cmd = std::process::Command::new("python3");
    cmd.arg("-c")
        .arg(DETACH_PY)
        .arg(&bin)
        .args(["-H", &d.host(), "run", "-it", "--name", &name, IMAGE, "sh"])
        .env("DOCKER_CONFIG", d.root.join("docker-config"))
        .env("DETACH_SEQ", seq)
        .env("TERM", "xterm");
    let o = berth_e2e::run_cmd(cmd, None, berth_e2e::CMD_TIMEOUT);
    assert!(o.stdout.contains("CLI-EXIT 0"), "{o:?}");
    assert_eq!(d.status(&name), "running");
    // The shell is still alive: exec into it and see it.
    let out = d.cli(cli, &["exec", &name, "ps", "-o", "comm"]).ok();
    assert!(out.stdout.contains("sh"), "{out:?}");
}
