//! Stop/start, restart and kill/start, round after round: each start must really run the
//! container again, which holds only if the run before is completely over first (its shim,
//! runtime state, rootfs mount, cgroups). `rm -f` and a failed start leave no process, mount
//! or cgroup of the container behind.

use berth_e2e::{
    cgroup_dirs, cgroup_hierarchies, is_root, wait_until, Cli, TestDaemon, IMAGE, SOON,
};
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// Rounds of each verb for each kind of init.
const ROUNDS: usize = 50;
/// Containers that share the rounds, each in its own thread.
const CONTAINERS: usize = 5;

/// An init that exits on SIGTERM (the trap interrupts `wait` at once).
const EXITS_ON_TERM: &[&str] = &["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"];
/// An init that ignores SIGTERM (PID 1 without a handler): it ends by SIGKILL.
const IGNORES_TERM: &[&str] = &["sh", "-c", "sleep 1000"];

#[derive(Clone, Copy, Debug)]
enum Verb {
    StopStart,
    Restart,
    KillStart,
}

fn start_daemon() -> TestDaemon {
    assert!(
        is_root(),
        "these tests need root (containers, cgroups, mounts)"
    );
    TestDaemon::start()
}

/// The CLI for round `round` of container `n`: both, alternately.
fn cli_for(n: usize, round: usize) -> Cli {
    if (n + round).is_multiple_of(2) {
        Cli::Berth
    } else {
        Cli::Docker
    }
}

/// Runs `ROUNDS` rounds of `verb` over `CONTAINERS` containers running `cmd`, checking after
/// each start that a new init runs; then removes them and checks nothing is left.
fn rounds(verb: Verb, cmd: &[&str]) {
    let d = start_daemon();
    let ids: Vec<String> = (0..CONTAINERS)
        .map(|n| d.run_d(cli_for(n, 0), &[], cmd))
        .collect();
    let per_container = ROUNDS.div_ceil(CONTAINERS);
    let done: usize = std::thread::scope(|s| {
        let workers: Vec<_> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| {
                let d = &d;
                s.spawn(move || {
                    let mut pid = running_init(d, id);
                    for round in 1..=per_container {
                        let cli = cli_for(n, round);
                        cycle(d, cli, verb, id);
                        let new_pid = running_init(d, id);
                        assert_ne!(new_pid, pid, "{verb:?} round {round}: the same init runs");
                        d.cli(cli, &["exec", id, "true"]).ok();
                        pid = new_pid;
                    }
                    per_container
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a worker panicked"))
            .sum()
    });
    assert!(done >= ROUNDS, "only {done} rounds ran");
    for (n, id) in ids.iter().enumerate() {
        assert_leftovers_visible(&d, id);
        d.cli(cli_for(n, 1), &["rm", "-f", id]).ok();
        assert_nothing_left(&d, id);
    }
}

/// One stop/start, restart or kill/start of `id`.
fn cycle(d: &TestDaemon, cli: Cli, verb: Verb, id: &str) {
    match verb {
        Verb::StopStart => {
            d.cli(cli, &["stop", "-t", "1", id]).ok();
            assert_eq!(d.status(id), "exited", "after stop");
            d.cli(cli, &["start", id]).ok();
        }
        Verb::Restart => {
            d.cli(cli, &["restart", "-t", "1", id]).ok();
        }
        Verb::KillStart => {
            // Without a signal, kill returns once the container has exited (as dockerd's).
            d.cli(cli, &["kill", id]).ok();
            assert_eq!(d.status(id), "exited", "after kill");
            d.cli(cli, &["start", id]).ok();
        }
    }
}

/// Asserts the container runs, by its init on the host; returns init's pid.
#[track_caller]
fn running_init(d: &TestDaemon, id: &str) -> i64 {
    let j = d.inspect(id);
    assert_eq!(j["State"]["Running"], true, "not running: {}", j["State"]);
    let pid = j["State"]["Pid"].as_i64().unwrap_or(0);
    assert!(pid > 0, "no pid: {}", j["State"]);
    // Start returns once init was told to go; it execs the command a moment later.
    wait_until(
        &format!("init {pid} of {id} to run the container's command"),
        SOON,
        || {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            cmdline.starts_with("sh ") || cmdline.starts_with("sleep ")
        },
    );
    pid
}

/// The container's shim state dir: the shim and its forked child have it on their command line.
fn state_dir(d: &TestDaemon, id: &str) -> String {
    d.exec_root.join("s").join(&id[..12]).display().to_string()
}

/// Processes whose command line names `needle`.
fn processes_naming(needle: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    fs::read_dir("/proc")
        .expect("reading /proc")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| e.file_name().to_string_lossy() != me)
        .filter_map(|e| {
            let raw = fs::read(e.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            cmdline
                .contains(needle)
                .then(|| format!("{}: {cmdline}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// Mount points (ours, and the host's view) with the container's id in them.
fn mounts_naming(id: &str) -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .expect("reading mountinfo")
        .lines()
        .filter(|l| l.contains(id))
        .map(String::from)
        .collect()
}

/// Cgroup directories of the container, in every hierarchy.
fn cgroups_naming(d: &TestDaemon, id: &str) -> Vec<String> {
    assert!(
        !cgroup_hierarchies().is_empty(),
        "no cgroup hierarchy mounted"
    );
    cgroup_dirs(&d.cgroup_parent)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(id))
        .map(|p| p.display().to_string())
        .collect()
}

/// While the container runs, the checks of [`assert_nothing_left`] do see its shim, rootfs
/// mount and cgroups (so they would see leftovers).
#[track_caller]
fn assert_leftovers_visible(d: &TestDaemon, id: &str) {
    assert!(
        !processes_naming(&state_dir(d, id)).is_empty(),
        "the scan finds no shim of the running container {id}"
    );
    assert!(
        !mounts_naming(id).is_empty(),
        "no mount of the running container {id}"
    );
    assert!(
        !cgroups_naming(d, id).is_empty(),
        "no cgroup of the running container {id} under {}",
        d.cgroup_parent
    );
}

/// No shim (nor its forked child), no mount, no cgroup of the container.
#[track_caller]
fn assert_nothing_left(d: &TestDaemon, id: &str) {
    let procs = processes_naming(&state_dir(d, id));
    assert!(procs.is_empty(), "processes of {id} left: {procs:#?}");
    let mounts = mounts_naming(id);
    assert!(mounts.is_empty(), "mounts of {id} left: {mounts:#?}");
    let cgroups = cgroups_naming(d, id);
    assert!(cgroups.is_empty(), "cgroups of {id} left: {cgroups:#?}");
}

#[test]
fn stop_start_init_exits_on_term() {
    rounds(Verb::StopStart, EXITS_ON_TERM);
}

#[test]
fn stop_start_init_ignores_term() {
    rounds(Verb::StopStart, IGNORES_TERM);
}

#[test]
fn restart_init_exits_on_term() {
    rounds(Verb::Restart, EXITS_ON_TERM);
}

#[test]
fn restart_init_ignores_term() {
    rounds(Verb::Restart, IGNORES_TERM);
}

#[test]
fn kill_start_init_exits_on_term() {
    rounds(Verb::KillStart, EXITS_ON_TERM);
}

#[test]
fn kill_start_init_ignores_term() {
    rounds(Verb::KillStart, IGNORES_TERM);
}

/// A start that fails leaves no shim, forked runtime, mount or cgroup, and the container can
/// be removed (without force) afterwards.
#[test]
fn failed_start_leaves_nothing() {
    let d = start_daemon();
    for cli in [Cli::Berth, Cli::Docker] {
        let id = d.cli(cli, &["create", IMAGE, "/nonexistent"]).ok().out();
        assert_eq!(id.len(), 64, "create should print a full id, got {id:?}");
        let o = d.cli(cli, &["start", &id]).fails();
        assert!(o.stderr.contains("/nonexistent"), "{o:?}");
        assert_eq!(d.status(&id), "created");
        assert_nothing_left(&d, &id);
        // A second failure on the same paths fails the same way and leaves nothing either.
        d.cli(cli, &["start", &id]).fails();
        assert_nothing_left(&d, &id);
        d.cli(cli, &["rm", &id]).ok();
        assert!(!d.container_ids().contains(&id), "{id} still listed");
        assert_nothing_left(&d, &id);
    }
}

/// A runc stand-in whose `create` goes wrong as a runtime can: it leaves a process of its own
/// behind (with the container's state dir on its command line), then fails (`fail`) or never
/// returns (`hang`). Every other command succeeds.
fn fake_runtime(dir: &std::path::Path, mode: &str) -> String {
    let path = dir.join(format!("runc-{mode}"));
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$1\" = --linger ]; then sleep 1000; exit 0; fi\n\
         case \" $* \" in *\" create \"*) ;; *) exit 0 ;; esac\n\
         \"$0\" --linger \"$@\" </dev/null >/dev/null 2>&1 &\n\
         if [ {mode} = hang ]; then sleep 1000; fi\n\
         exit 1\n"
    );
    fs::write(&path, script).expect("writing the fake runtime");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    path.display().to_string()
}

/// Starts a container on a daemon whose runtime misbehaves in `mode`; the start must fail and
/// leave nothing running, mounted or in a cgroup.
fn failed_create_is_torn_down(mode: &str) {
    assert!(
        is_root(),
        "this test needs root (containers, cgroups, mounts)"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = fake_runtime(dir.path(), mode);
    let d = TestDaemon::start_with(&["--runtime", &runtime]);
    let id = d.cli(Cli::Docker, &["create", IMAGE, "true"]).ok().out();
    assert_eq!(id.len(), 64, "create should print a full id, got {id:?}");
    d.cli(Cli::Berth, &["start", &id]).fails();
    assert_nothing_left(&d, &id);
    d.cli(Cli::Docker, &["rm", &id]).ok();
    assert_nothing_left(&d, &id);
}

#[test]
fn failed_create_kills_what_the_runtime_left() {
    failed_create_is_torn_down("fail");
}

/// The daemon gives up on a create after a minute: the shim and its runtime are killed.
#[test]
fn hung_create_kills_shim_and_runtime() {
    failed_create_is_torn_down("hang");
}
