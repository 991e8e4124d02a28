//! Container lifecycle through both CLIs: run, exit codes, ps, inspect, stop, kill, restart,
//! pause, rm, rename, wait, create/start, and the common `run` options.

use berth_e2e::{both_clis, daemon, have, unique, wait_for, wait_until, Cli, IMAGE, SOON};
use std::time::Duration;

both_clis!(
    run_rm_echo,
    exit_codes,
    nosuchcmd_is_127,
    detached_ps_inspect_stop_rm,
    ps_filters_and_formats,
    stop_sends_sigterm_then_kill,
    kill_with_signal,
    restart_runs_again,
    pause_freezes_unpause_resumes,
    rm_running_needs_force,
    rename_container,
    wait_prints_exit_code,
    create_then_start,
    run_interactive_stdin,
    env_envfile_workdir_user,
    entrypoint_hostname_label,
    bind_mount_read_only,
    network_none_only_lo,
    network_host_sees_host_interfaces,
);

fn run_rm_echo(cli: Cli) {
    let d = daemon!();
    let o = d.run_rm(cli, &[], &["echo", "hello"]).ok();
    assert_eq!(o.stdout, "hello\n");
    wait_until("--rm to remove the container", SOON, || {
        d.container_ids().is_empty()
    });
}

fn exit_codes(cli: Cli) {
    let d = daemon!();
    d.run_sh(cli, &[], "exit 5").code_is(5);
    d.run_rm(cli, &[], &["false"]).code_is(1);
    // A daemon-side error is 125: a name already in use.
    let name = unique("dup");
    d.cli(cli, &["create", "--name", &name, IMAGE, "true"]).ok();
    let o = d.run_rm(cli, &["--name", &name], &["true"]).code_is(125);
    assert!(o.stderr.contains("already in use"), "{o:?}");
    // An image that does not exist (no registry to pull from) is 125 too.
    d.cli(cli, &["run", "--rm", "nosuchimage:1", "true"])
        .code_is(125);
}

fn nosuchcmd_is_127(cli: Cli) {
    let d = daemon!();
    let o = d
        .cli_t(
            cli,
            &["run", "--rm", IMAGE, "nosuchcmd"],
            Duration::from_secs(30),
        )
        .code_is(127);
    assert!(o.stderr.contains("nosuchcmd"), "{o:?}");
    // A file that is not executable is 126.
    d.cli_t(
        cli,
        &["run", "--rm", IMAGE, "/etc/passwd"],
        Duration::from_secs(30),
    )
    .code_is(126);
}

fn detached_ps_inspect_stop_rm(cli: Cli) {
    let d = daemon!();
    let name = unique("det");
    let id = d.run_d(cli, &["--name", &name], &["sleep", "300"]);
    let ps = d.cli(cli, &["ps"]).ok();
    assert!(ps.stdout.contains(&name), "{ps:?}");
    assert!(ps.stdout.contains(&id[..12]), "{ps:?}");
    let f = d
        .cli(cli, &["ps", "--format", "{{.ID}} {{.Names}}"])
        .ok()
        .out();
    assert_eq!(f, format!("{} {name}", &id[..12]));

    let j = d.inspect(&name);
    assert_eq!(j["Id"], id.as_str());
    assert_eq!(j["Name"], format!("/{name}"));
    assert_eq!(j["State"]["Status"], "running");
    assert_eq!(j["State"]["Running"], true);
    assert!(j["State"]["Pid"].as_i64().unwrap_or(0) > 0, "{j}");
    assert_eq!(j["State"]["OOMKilled"], false);
    assert!(
        j["State"]["StartedAt"]
            .as_str()
            .is_some_and(|s| s.starts_with("20")),
        "{j}"
    );
    // The same through the CLI's inspect with a template.
    let o = d
        .cli(
            cli,
            &["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", &name],
        )
        .ok()
        .out();
    assert_eq!(o, format!("running {}", j["State"]["Pid"]));
    // Pid is a real process on the host running sleep.
    let pid = j["State"]["Pid"].as_i64().unwrap();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(comm.trim(), "sleep");

    // sleep as PID 1 ignores SIGTERM: stop -t 1 kills it after one second.
    d.cli(cli, &["stop", "-t", "1", &name]).ok();
    let j = d.inspect(&id);
    assert_eq!(j["State"]["Status"], "exited", "{j}");
    assert_eq!(j["State"]["ExitCode"], 137, "{j}");
    assert_eq!(j["State"]["Pid"], 0, "{j}");
    assert!(
        j["State"]["FinishedAt"]
            .as_str()
            .is_some_and(|s| s.starts_with("20")),
        "{j}"
    );
    assert!(j["State"]["FinishedAt"].as_str() >= j["State"]["StartedAt"].as_str());
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
            // The pid may have been reused; it must not be our sleep.
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .unwrap_or_default()
                .trim()
                != "sleep"
        }
    );
    d.cli(cli, &["rm", &name]).ok();
    d.cli(cli, &["inspect", &name]).fails();
    assert!(d.container_ids().is_empty());
}

fn ps_filters_and_formats(cli: Cli) {
    let d = daemon!();
    let p = unique("pf");
    let (a, b, c) = (format!("{p}-a"), format!("{p}-b"), format!("{p}-c"));
    d.cli(
        cli,
        &["run", "--name", &a, "--label", "color=red", IMAGE, "true"],
    )
    .ok();
    d.cli(cli, &["run", "--name", &b, IMAGE, "sh", "-c", "exit 3"])
        .code_is(3);
    let cid = d.run_d(
        cli,
        &["--name", &c, "--label", "color=blue"],
        &["sleep", "300"],
    );
    let names = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["ps"];
        v.extend_from_slice(args);
        v.extend_from_slice(&["--format", "{{.Names}}"]);
        let mut l = d.cli(cli, &v).ok().lines();
        l.sort();
        l
    };
    assert_eq!(names(&[]), vec![c.clone()]);
    assert_eq!(names(&["-a"]), vec![a.clone(), b.clone(), c.clone()]);
    assert_eq!(
        names(&["-a", "--filter", "status=exited"]),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        names(&["-a", "--filter", "status=running"]),
        vec![c.clone()]
    );
    assert_eq!(
        names(&["-a", "--filter", &format!("name={b}")]),
        vec![b.clone()]
    );
    assert_eq!(
        names(&["-a", "--filter", "label=color=red"]),
        vec![a.clone()]
    );
    assert_eq!(
        names(&["-a", "--filter", "label=color"]),
        vec![a.clone(), c.clone()]
    );
    assert_eq!(names(&["-a", "--filter", "exited=0"]), vec![a.clone()]);
    assert_eq!(names(&["-a", "--filter", "exited=3"]), vec![b.clone()]);
    assert_eq!(
        names(&["-a", "--filter", &format!("id={}", &cid[..12])]),
        vec![c.clone()]
    );
    assert_eq!(
        names(&["-a", "--filter", "ancestor=busybox"]),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(names(&["-n", "1"]), vec![c.clone()]);
    assert_eq!(names(&["-a", "-n", "2"]), vec![b.clone(), c.clone()]);

    let q = d.cli(cli, &["ps", "-q"]).ok().lines();
    assert_eq!(q, vec![cid[..12].to_string()]);
    let q = d.cli(cli, &["ps", "-a", "-q"]).ok().lines();
    assert_eq!(q.len(), 3, "{q:?}");
    assert!(q.iter().all(|l| l.len() == 12), "{q:?}");
    let q = d.cli(cli, &["ps", "-a", "-q", "--no-trunc"]).ok().lines();
    assert_eq!(q.len(), 3, "{q:?}");
    assert!(q.iter().all(|l| l.len() == 64), "{q:?}");
    assert!(q.contains(&cid), "{q:?}");

    let table = d.cli(cli, &["ps", "-a"]).ok();
    let header = table.stdout.lines().next().unwrap_or("").to_string();
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(header.contains(col), "{table:?}");
    }
    assert!(table.stdout.contains("Exited (3)"), "{table:?}");
    assert!(table.stdout.contains("Up "), "{table:?}");
    let sized = d.cli(cli, &["ps", "-a", "-s"]).ok();
    assert!(
        sized.stdout.lines().next().unwrap_or("").contains("SIZE"),
        "{sized:?}"
    );
}

fn stop_sends_sigterm_then_kill(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(
        cli,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.1; done",
        ],
    );
    wait_until("the trap to be set", SOON, || {
        d.api_logs(&id).contains("ready")
    });
    d.cli(cli, &["stop", &id]).ok();
    let j = d.inspect(&id);
    assert_eq!(j["State"]["Status"], "exited");
    assert_eq!(j["State"]["ExitCode"], 0, "{j}");
    assert!(d.api_logs(&id).contains("got-term"));
}

fn kill_with_signal(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(
        cli,
        &[],
        &[
            "sh",
            "-c",
            "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done",
        ],
    );
    wait_until("the trap to be set", SOON, || {
        d.api_logs(&id).contains("ready")
    });
    d.cli(cli, &["kill", "-s", "USR1", &id]).ok();
    wait_until("USR1 to reach the shell", SOON, || {
        d.api_logs(&id).contains("got-usr1")
    });
    assert_eq!(d.status(&id), "running");
    d.cli(cli, &["kill", &id]).ok();
    d.wait_status(&id, "exited");
    assert_eq!(d.inspect(&id)["State"]["ExitCode"], 137);
    // Killing a stopped container is an error.
    d.cli(cli, &["kill", &id]).fails();
}

fn restart_runs_again(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &[], &["sh", "-c", "echo started; sleep 300"]);
    wait_until("first start", SOON, || d.api_logs(&id).contains("started"));
    let before = d.inspect(&id);
    d.cli(cli, &["restart", "-t", "1", &id]).ok();
    wait_until("second start in the log", SOON, || {
        d.api_logs(&id).matches("started").count() == 2
    });
    let after = d.inspect(&id);
    assert_eq!(after["State"]["Status"], "running");
    assert_ne!(after["State"]["Pid"], before["State"]["Pid"]);
    assert_ne!(after["State"]["StartedAt"], before["State"]["StartedAt"]);
    // A stopped container is started by restart.
    d.cli(cli, &["stop", "-t", "0", &id]).ok();
    d.cli(cli, &["restart", &id]).ok();
    assert_eq!(d.status(&id), "running");
}

fn counter_lines(d: &berth_e2e::TestDaemon, id: &str) -> usize {
    d.api_logs(id)
        .lines()
        .filter(|l| l.starts_with("n="))
        .count()
}

fn pause_freezes_unpause_resumes(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(
        cli,
        &[],
        &[
            "sh",
            "-c",
            "i=0; while :; do i=$((i+1)); echo n=$i; sleep 0.05; done",
        ],
    );
    wait_until("the counter to run", SOON, || counter_lines(&d, &id) > 3);
    let pid = d.inspect(&id)["State"]["Pid"].as_i64().unwrap();
    d.cli(cli, &["pause", &id]).ok();
    assert_eq!(d.status(&id), "paused");
    assert_eq!(d.inspect(&id)["State"]["Paused"], true);
    let ps = d
        .cli(cli, &["ps", "--filter", "status=paused", "-q"])
        .ok()
        .out();
    assert_eq!(ps, id[..12]);
    // Frozen: the kernel reports the task as in the freezer (D) and the counter stands still.
    let state = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let st = berth_e2e::status_field(&state, "State").unwrap_or_default();
    assert!(st.starts_with('D'), "State of a frozen task: {st}");
    let n1 = counter_lines(&d, &id);
    std::thread::sleep(Duration::from_millis(1500));
    let n2 = counter_lines(&d, &id);
    assert_eq!(n1, n2, "the counter advanced while paused");
    // exec is refused while paused.
    d.cli(cli, &["exec", &id, "true"]).fails();
    d.cli(cli, &["unpause", &id]).ok();
    assert_eq!(d.status(&id), "running");
    wait_until("the counter to advance after unpause", SOON, || {
        counter_lines(&d, &id) > n2 + 3
    });
}

fn rm_running_needs_force(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &[], &["sleep", "300"]);
    let o = d.cli(cli, &["rm", &id]).fails();
    assert!(o.stderr.contains("running"), "{o:?}");
    assert_eq!(d.status(&id), "running");
    let pid = d.inspect(&id)["State"]["Pid"].as_i64().unwrap();
    d.cli(cli, &["rm", "-f", &id]).ok();
    assert!(d.container_ids().is_empty());
    wait_until("the container process to be gone", SOON, || {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .map(|c| c.trim() != "sleep")
            .unwrap_or(true)
    });
    d.cli(cli, &["rm", "nosuchcontainer"]).fails();
}

fn rename_container(cli: Cli) {
    let d = daemon!();
    let (x, y) = (unique("x"), unique("y"));
    let id = d.run_d(cli, &["--name", &x], &["sleep", "300"]);
    d.cli(cli, &["rename", &x, &y]).ok();
    assert_eq!(d.inspect(&y)["Name"], format!("/{y}"));
    assert_eq!(d.inspect(&y)["Id"], id.as_str());
    d.cli(cli, &["inspect", &x]).fails();
    // The old name is free again.
    d.cli(cli, &["create", "--name", &x, IMAGE, "true"]).ok();
    // Renaming onto a used name fails.
    d.cli(cli, &["rename", &y, &x]).fails();
}

fn wait_prints_exit_code(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &[], &["sh", "-c", "sleep 1; exit 4"]);
    let o = d.cli(cli, &["wait", &id]).ok();
    assert_eq!(o.out(), "4");
    assert_eq!(d.status(&id), "exited");
    // Waiting on an exited container answers at once.
    assert_eq!(d.cli(cli, &["wait", &id]).ok().out(), "4");
}

fn create_then_start(cli: Cli) {
    let d = daemon!();
    let name = unique("cs");
    let id = d
        .cli(
            cli,
            &[
                "create",
                "--name",
                &name,
                IMAGE,
                "sh",
                "-c",
                "echo created-then-started",
            ],
        )
        .ok()
        .out();
    assert_eq!(id.len(), 64, "{id}");
    assert_eq!(d.status(&id), "created");
    assert_eq!(d.inspect(&id)["State"]["Pid"], 0);
    let o = d.cli(cli, &["start", "-a", &name]).ok();
    assert_eq!(o.out(), "created-then-started");
    assert_eq!(d.status(&id), "exited");
    // start without -a prints the name and runs it again.
    let o = d.cli(cli, &["start", &name]).ok();
    assert_eq!(o.out(), name);
    wait_until("second run to log", SOON, || {
        d.api_logs(&id).matches("created-then-started").count() == 2
    });
}

fn run_interactive_stdin(cli: Cli) {
    let d = daemon!();
    let o = d
        .cli_in(
            cli,
            &["run", "-i", "--rm", IMAGE, "sh", "-c", "cat; echo; wc -l"],
            b"from-stdin\n",
        )
        .ok();
    assert!(o.stdout.starts_with("from-stdin\n"), "{o:?}");
    let o = d
        .cli_in(cli, &["run", "-i", "--rm", IMAGE, "wc", "-c"], b"12345")
        .ok();
    assert_eq!(o.out(), "5");
    // Without -i the container gets no stdin.
    let o = d
        .cli_in(cli, &["run", "--rm", IMAGE, "wc", "-c"], b"12345")
        .ok();
    assert_eq!(o.out(), "0");
}

fn env_envfile_workdir_user(cli: Cli) {
    let d = daemon!();
    let env_file = d.root.join("env.list");
    std::fs::write(&env_file, "# a comment\nBAZ=qux\n\nSPACED=a b\n").unwrap();
    let o = d
        .run_sh(
            cli,
            &[
                "-e",
                "FOO=bar",
                "--env-file",
                env_file.to_str().unwrap(),
                "-w",
                "/tmp",
                "-u",
                "65534",
            ],
            "echo $FOO $BAZ; echo \"$SPACED\"; pwd; id -u; echo $PATH; echo $HOME",
        )
        .ok();
    let l = o.lines();
    assert_eq!(l[0], "bar qux");
    assert_eq!(l[1], "a b");
    assert_eq!(l[2], "/tmp");
    assert_eq!(l[3], "65534");
    assert!(l[4].contains("/bin"), "{o:?}");
    // -w creates a missing directory.
    let o = d.run_rm(cli, &["-w", "/new/dir"], &["pwd"]).ok();
    assert_eq!(o.out(), "/new/dir");
    // -e NAME passes the client's value.
    let mut cmd = d.cli_cmd(
        cli,
        &[
            "run",
            "--rm",
            "-e",
            "FROM_CLIENT",
            IMAGE,
            "sh",
            "-c",
            "echo $FROM_CLIENT",
        ],
    );
    cmd.env("FROM_CLIENT", "yes-passed");
    let o = berth_e2e::run_cmd(cmd, None, berth_e2e::CMD_TIMEOUT).ok();
    assert_eq!(o.out(), "yes-passed");
}

fn entrypoint_hostname_label(cli: Cli) {
    let d = daemon!();
    let o = d
        .run_rm(cli, &["--entrypoint", "echo"], &["hi", "there"])
        .ok();
    assert_eq!(o.out(), "hi there");
    let o = d
        .run_sh(cli, &["-h", "myhost"], "hostname; cat /etc/hostname")
        .ok();
    assert_eq!(o.lines(), vec!["myhost", "myhost"]);
    let id = d.run_d(
        cli,
        &["--label", "team=blue", "-l", "tier"],
        &["sleep", "300"],
    );
    let j = d.inspect(&id);
    assert_eq!(j["Config"]["Labels"]["team"], "blue", "{j}");
    assert_eq!(j["Config"]["Labels"]["tier"], "", "{j}");
    let o = d
        .cli(
            cli,
            &["inspect", "-f", "{{index .Config.Labels \"team\"}}", &id],
        )
        .ok();
    assert_eq!(o.out(), "blue");
}

fn bind_mount_read_only(cli: Cli) {
    let d = daemon!();
    let host = d.root.join("vol");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("f"), "from-host\n").unwrap();
    let spec = format!("{}:/data:ro", host.display());
    let o = d
        .run_sh(
            cli,
            &["-v", &spec],
            "cat /data/f; touch /data/new && echo WROTE; grep ' /data ' /proc/mounts",
        )
        .ok();
    assert!(o.stdout.contains("from-host"), "{o:?}");
    assert!(
        !o.stdout.contains("WROTE"),
        "a write to a :ro mount succeeded: {o:?}"
    );
    assert!(o.stderr.contains("Read-only"), "{o:?}");
    assert!(!host.join("new").exists());
    // Read-write: a write inside shows on the host.
    let spec = format!("{}:/data", host.display());
    d.run_sh(cli, &["-v", &spec], "echo from-ctr > /data/new")
        .ok();
    assert_eq!(
        std::fs::read_to_string(host.join("new")).unwrap(),
        "from-ctr\n"
    );
    // A file bind mount.
    let spec = format!("{}:/etc/f.conf:ro", host.join("f").display());
    let o = d.run_rm(cli, &["-v", &spec], &["cat", "/etc/f.conf"]).ok();
    assert_eq!(o.out(), "from-host");
}

fn interfaces(proc_net_dev: &str) -> Vec<String> {
    let mut v: Vec<String> = proc_net_dev
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v
}

fn network_none_only_lo(cli: Cli) {
    let d = daemon!();
    for extra in [&["--network", "none"][..], &[][..]] {
        let o = d.run_rm(cli, extra, &["cat", "/proc/net/dev"]).ok();
        assert_eq!(interfaces(&o.stdout), vec!["lo"], "{o:?}");
    }
    let o = d
        .run_rm(cli, &["--network", "none"], &["ip", "-o", "link"])
        .ok();
    assert_eq!(o.lines().len(), 1, "{o:?}");
    assert!(o.stdout.contains("lo:"), "{o:?}");
    assert!(
        o.stdout.contains("UP") || o.stdout.contains("LOOPBACK"),
        "{o:?}"
    );
    // lo is up: a TCP connection to 127.0.0.1 inside works.
    let o = d
        .run_sh(
            cli,
            &["--network", "none"],
            "nc -l -p 7777 -e echo pong & sleep 0.5; echo ping | nc 127.0.0.1 7777",
        )
        .ok();
    assert!(o.stdout.contains("pong"), "{o:?}");
}

fn network_host_sees_host_interfaces(cli: Cli) {
    let d = daemon!();
    let host = interfaces(&std::fs::read_to_string("/proc/net/dev").unwrap());
    let o = d
        .run_rm(cli, &["--network", "host"], &["cat", "/proc/net/dev"])
        .ok();
    let inside = interfaces(&o.stdout);
    let shared: Vec<&String> = host
        .iter()
        .filter(|i| *i != "lo" && inside.contains(i))
        .collect();
    assert!(!shared.is_empty(), "host {host:?} vs container {inside:?}");
    let hn = nix::unistd::gethostname()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let o = d.run_rm(cli, &["--network", "host"], &["hostname"]).ok();
    assert_eq!(o.out(), hn);
}

#[test]
fn init_is_pid1_when_installed() {
    let inits = [
        "/usr/bin/docker-init",
        "/usr/libexec/docker/docker-init",
        "/usr/bin/tini-static",
        "/usr/bin/tini",
    ];
    assert!(
        inits.iter().any(|p| have(p)),
        "no docker-init or tini for --init: scripts/install-deps.sh installs tini"
    );
    let d = daemon!();
    for cli in [Cli::Berth, Cli::Docker] {
        let o = d.run_sh(cli, &["--init"], "cat /proc/1/comm; echo $$").ok();
        let l = o.lines();
        assert_ne!(l[0], "sh", "{o:?}");
        assert_ne!(l[1], "1", "{o:?}");
    }
}

#[test]
fn wait_until_removed_with_rm_and_run_d() {
    let d = daemon!();
    let id = d.run_d(Cli::Docker, &["--rm"], &["sh", "-c", "sleep 1"]);
    wait_for("--rm container to be removed", SOON, || {
        (d.http("GET", &format!("/containers/{id}/json")).status == 404).then_some(())
    });
}
