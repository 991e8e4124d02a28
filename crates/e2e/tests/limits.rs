//! Resource limits, read back from the container's own cgroup files and felt from inside.

use berth_e2e::{cgroup_file_script, daemon, Cli, IMAGE};

fn cg(
    d: &berth_e2e::TestDaemon,
    cli: Cli,
    opts: &[&str],
    ctrl: &str,
    v1: &str,
    v2: &str,
) -> String {
    d.run_sh(cli, opts, &cgroup_file_script(ctrl, v1, v2))
        .ok()
        .out()
}

#[test]
fn memory_limit() {
    let d = daemon!();
    for cli in [Cli::Berth, Cli::Docker] {
        let v = cg(
            &d,
            cli,
            &["--memory", "64m"],
            "memory",
            "memory.limit_in_bytes",
            "memory.max",
        );
        assert_eq!(v, "67108864", "{cli:?}");
    }
}

#[test]
fn cpu_quota_shares_and_cpuset() {
    let d = daemon!();
    let cli = Cli::Docker;
    let q = cg(
        &d,
        cli,
        &["--cpus", "1.5"],
        "cpu",
        "cpu.cfs_quota_us",
        "cpu.max",
    );
    if q.contains(' ') {
        assert_eq!(q, "150000 100000");
    } else {
        assert_eq!(q, "150000");
        assert_eq!(
            cg(
                &d,
                cli,
                &["--cpus", "1.5"],
                "cpu",
                "cpu.cfs_period_us",
                "cpu.max"
            ),
            "100000"
        );
    }
    let s = cg(
        &d,
        Cli::Berth,
        &["--cpu-shares", "512"],
        "cpu",
        "cpu.shares",
        "cpu.weight",
    );
    assert!(s == "512" || s == "20", "cpu.shares/weight for 512: {s}");
    let c = cg(
        &d,
        cli,
        &["--cpuset-cpus", "0"],
        "cpuset",
        "cpuset.cpus",
        "cpuset.cpus",
    );
    assert_eq!(c, "0");
    // Felt from inside: the process may only run on CPU 0.
    let o = d
        .docker(&[
            "run",
            "--rm",
            "--cpuset-cpus",
            "0",
            IMAGE,
            "grep",
            "Cpus_allowed_list",
            "/proc/self/status",
        ])
        .ok();
    assert!(o.out().ends_with("\t0") || o.out().ends_with(" 0"), "{o:?}");
}

#[test]
fn pids_limit() {
    let d = daemon!();
    for cli in [Cli::Berth, Cli::Docker] {
        let v = cg(
            &d,
            cli,
            &["--pids-limit", "20"],
            "pids",
            "pids.max",
            "pids.max",
        );
        assert_eq!(v, "20");
        // A fork bomb stops at the limit: ash gives up with "can't fork".
        let bomb = "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; set -- /proc/[0-9]*; echo $#";
        let o = d.run_sh(cli, &["--pids-limit", "20"], bomb).fails();
        assert!(o.stderr.contains("can't fork"), "{o:?}");
        // Without the limit the same 40 processes start.
        let o = d.run_sh(cli, &[], bomb).ok();
        let n: u32 = o.out().parse().unwrap_or(0);
        assert!(n > 40, "{o:?}");
    }
}

#[test]
fn ulimit_nofile() {
    let d = daemon!();
    for cli in [Cli::Berth, Cli::Docker] {
        let o = d
            .run_sh(
                cli,
                &["--ulimit", "nofile=512:1024"],
                "ulimit -n; ulimit -Hn",
            )
            .ok();
        assert_eq!(o.lines(), vec!["512", "1024"]);
    }
}

#[test]
fn shm_size() {
    let d = daemon!();
    for (cli, opts, kb) in [
        (Cli::Berth, &["--shm-size", "32m"][..], "32768"),
        (Cli::Docker, &["--shm-size", "32m"][..], "32768"),
        (Cli::Docker, &[][..], "65536"),
    ] {
        let o = d.run_rm(cli, opts, &["df", "-k", "/dev/shm"]).ok();
        let total = o.lines()[1]
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        assert_eq!(total, kb, "{o:?}");
    }
}

#[test]
fn oom_kill_is_137_and_reported() {
    let d = daemon!();
    for cli in [Cli::Berth, Cli::Docker] {
        let name = berth_e2e::unique("oom");
        d.cli(
            cli,
            &[
                "run",
                "--name",
                &name,
                "--memory",
                "16m",
                "--memory-swap",
                "16m",
                IMAGE,
                "sh",
                "-c",
                "x=a; while :; do x=$x$x; done",
            ],
        )
        .code_is(137);
        let j = d.inspect(&name);
        assert_eq!(j["State"]["OOMKilled"], true, "{cli:?}: {j}");
        assert_eq!(j["State"]["ExitCode"], 137);
        let o = d
            .cli(cli, &["inspect", "-f", "{{.State.OOMKilled}}", &name])
            .ok();
        assert_eq!(o.out(), "true");
    }
    // Not OOM killed: false.
    let name = berth_e2e::unique("fine");
    d.docker(&["run", "--name", &name, "--memory", "16m", IMAGE, "true"])
        .ok();
    assert_eq!(d.inspect(&name)["State"]["OOMKilled"], false);
}

/// A removed container leaves no cgroup behind in any hierarchy.
#[test]
fn cgroups_are_removed_with_the_container() {
    let d = berth_e2e::daemon!();
    let id = d
        .docker(&["run", "-d", "--memory", "32m", "busybox", "sleep", "300"])
        .ok()
        .out();
    let dirs = || -> Vec<std::path::PathBuf> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let p = entry
                .path()
                .join(d.cgroup_parent.trim_start_matches('/'))
                .join(&id);
            if p.exists() {
                found.push(p);
            }
        }
        let v2 = std::path::Path::new("/sys/fs/cgroup")
            .join(d.cgroup_parent.trim_start_matches('/'))
            .join(&id);
        if v2.exists() {
            found.push(v2);
        }
        found
    };
    assert!(!dirs().is_empty(), "the running container has no cgroup");
    d.docker(&["rm", "-f", &id]).ok();
    assert_eq!(dirs(), Vec::<std::path::PathBuf>::new());
}

/// An auto-removed container's cgroups go too: in the background, once `run --rm` returned.
#[test]
fn cgroups_of_auto_removed_containers_are_removed() {
    let d = berth_e2e::daemon!();
    d.docker(&["run", "--rm", "--memory", "32m", "busybox", "true"])
        .ok();
    // Every cgroup under the daemon's parent, in every hierarchy (v1 and the unified one).
    let left = || -> Vec<std::path::PathBuf> {
        let parent = d.cgroup_parent.trim_start_matches('/');
        let hierarchies = std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .chain([std::path::PathBuf::from("/sys/fs/cgroup")]);
        hierarchies
            .flat_map(|h| std::fs::read_dir(h.join(parent)).into_iter().flatten())
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !left().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(left(), Vec::<std::path::PathBuf>::new());
}
