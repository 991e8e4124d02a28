//! A daemon started with inheritable (and ambient) capabilities hands none of them to its
//! shims or containers: `--cap-drop ALL` means no capability at all, as with Docker.

use berth_e2e::{status_field, Cli, TestDaemon, DEFAULT_CAPEFF};
use std::fs;
use std::path::Path;

const NONE: &str = "0000000000000000";
const SYS_ADMIN: u64 = 1 << 21;
const DROP_ALL: [&str; 2] = ["--cap-drop", "ALL"];

const INHERITABLE: [&str; 4] = ["setpriv", "--inh-caps", "+sys_admin", "--"];
const AMBIENT: [&str; 6] = [
    "setpriv",
    "--inh-caps",
    "+sys_admin",
    "--ambient-caps",
    "+sys_admin",
    "--",
];

/// A daemon run by `wrapper`, checked to hold CAP_SYS_ADMIN in the sets the wrapper gives.
fn daemon(wrapper: &[&str], args: &[&str], sets: &[&str]) -> TestDaemon {
    assert!(
        berth_e2e::have("setpriv"),
        "these tests start berthd under setpriv (util-linux)"
    );
    let d = TestDaemon::start_wrapped(wrapper, args);
    let pid = d.daemon_pid().expect("daemon pid");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    for set in sets {
        let mask = status_field(&status, set).unwrap_or_default();
        let mask = u64::from_str_radix(&mask, 16).unwrap_or(0);
        assert!(
            mask & SYS_ADMIN != 0,
            "berthd should hold CAP_SYS_ADMIN in {set}:\n{status}"
        );
    }
    d
}

/// Asserts each set of a `/proc/<pid>/status` text.
#[track_caller]
fn assert_sets(status: &str, want: &[(&str, &str)], what: &str) {
    for (set, value) in want {
        assert_eq!(
            status_field(status, set).as_deref(),
            Some(*value),
            "{set} of {what}:\n{status}"
        );
    }
}

fn no_caps() -> Vec<(&'static str, &'static str)> {
    ["CapInh", "CapPrm", "CapEff", "CapAmb"]
        .into_iter()
        .map(|s| (s, NONE))
        .collect()
}

fn docker_default() -> Vec<(&'static str, &'static str)> {
    vec![
        ("CapInh", NONE),
        ("CapEff", DEFAULT_CAPEFF),
        ("CapAmb", NONE),
    ]
}

/// Container processes (init and exec, root and not) and the shims get nothing inherited.
fn nothing_is_inherited(d: &TestDaemon) {
    for user in [&[][..], &["-u", "65534"][..]] {
        let opts = [&DROP_ALL[..], user].concat();
        let o = d
            .run_rm(Cli::Berth, &opts, &["cat", "/proc/self/status"])
            .ok();
        assert_sets(&o.stdout, &no_caps(), &format!("run {opts:?}"));
    }
    let o = d
        .run_rm(Cli::Berth, &[], &["cat", "/proc/self/status"])
        .ok();
    assert_sets(&o.stdout, &docker_default(), "a default container");

    let dropped = d.run_d(Cli::Berth, &DROP_ALL, &["sleep", "1000"]);
    for user in [&[][..], &["-u", "65534"][..]] {
        let args = [
            &["exec"][..],
            user,
            &[dropped.as_str(), "cat", "/proc/self/status"],
        ]
        .concat();
        let o = d.berth(&args).ok();
        assert_sets(&o.stdout, &no_caps(), &format!("{args:?}"));
    }
    let default = d.run_d(Cli::Berth, &[], &["sleep", "1000"]);
    let o = d
        .berth(&["exec", &default, "cat", "/proc/self/status"])
        .ok();
    assert_sets(&o.stdout, &docker_default(), "exec in a default container");

    let shims = shim_pids(&d.root);
    assert!(!shims.is_empty(), "no shim found for {}", d.root.display());
    for pid in shims {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        assert_sets(
            &status,
            &[("CapInh", NONE), ("CapAmb", NONE)],
            &format!("shim {pid}"),
        );
    }
}

/// Without seccomp in the way, only the capability stops a mount.
fn mount_needs_the_capability(d: &TestDaemon) {
    let script = "mkdir -p /mnt && mount -t tmpfs none /mnt && echo MOUNTED";
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    let o = d.run_sh(Cli::Berth, &[&DROP_ALL[..], &unconfined].concat(), script);
    assert!(
        !o.success() && !o.stdout.contains("MOUNTED"),
        "a --cap-drop ALL container mounted:\n{o:?}"
    );
    // The same mount with the capability works: the failure above is the missing capability.
    let granted = [&unconfined[..], &["--cap-add", "SYS_ADMIN"]].concat();
    let o = d.run_sh(Cli::Berth, &granted, script).ok();
    assert!(o.stdout.contains("MOUNTED"), "{o:?}");
}

/// Pids of the shims (not their containers) of the daemon rooted at `root`.
fn shim_pids(root: &Path) -> Vec<u32> {
    let needle = root.to_string_lossy().into_owned();
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|raw| {
                let cmdline = String::from_utf8_lossy(&raw);
                let argv0 = cmdline.split('\0').next().unwrap_or("");
                argv0.ends_with("berth-shim") && cmdline.contains(&needle)
            })
        })
        .collect()
}

#[test]
fn inheritable_capabilities_reach_no_container() {
    let d = daemon(&INHERITABLE, &[], &["CapInh"]);
    mount_needs_the_capability(&d);
    nothing_is_inherited(&d);
}

#[test]
fn ambient_capabilities_reach_no_container() {
    let d = daemon(&AMBIENT, &[], &["CapInh", "CapAmb"]);
    mount_needs_the_capability(&d);
    nothing_is_inherited(&d);
}

#[test]
fn ambient_capabilities_reach_no_container_with_runc() {
    assert!(
        Path::new("/usr/sbin/runc").exists(),
        "this test needs runc at /usr/sbin/runc"
    );
    let d = daemon(
        &AMBIENT,
        &["--runtime", "/usr/sbin/runc"],
        &["CapInh", "CapAmb"],
    );
    mount_needs_the_capability(&d);
    nothing_is_inherited(&d);
}
