//! Isolation, proven from inside the container.

use berth_e2e::{both_clis, daemon, status_field, Cli, DEFAULT_CAPEFF, IMAGE};

both_clis!(
    pid1_and_process_list,
    hostname_is_id_prefix,
    capabilities_default_and_changed,
    seccomp_blocks_unshare,
    seccomp_profile_from_a_file,
    exec_and_users_get_the_filter_and_no_extra_capability
);

fn pid1_and_process_list(cli: Cli) {
    let d = daemon!();
    let o = d
        .run_sh(
            cli,
            &[],
            "echo $$; cat /proc/1/cmdline | tr '\\0' ' '; echo; ps -o pid,comm",
        )
        .ok();
    let l = o.lines();
    assert_eq!(l[0], "1", "{o:?}");
    assert!(l[1].starts_with("sh -c"), "{o:?}");
    let procs: Vec<&String> = l[3..].iter().collect();
    // Only the shell and ps: no host process is visible.
    assert!(procs.len() <= 3, "{o:?}");
    for p in procs {
        let comm = p.split_whitespace().nth(1).unwrap_or("");
        assert!(
            ["sh", "ps", "tr", "cat"].contains(&comm),
            "host process visible: {o:?}"
        );
    }
    let o = d.run_sh(cli, &[], "ls -d /proc/[0-9]* | wc -l").ok();
    let n: u32 = o.out().parse().unwrap();
    assert!(n <= 4, "{n} processes visible");
}

fn hostname_is_id_prefix(cli: Cli) {
    let d = daemon!();
    let id = d.run_d(cli, &[], &["sleep", "300"]);
    let o = d
        .cli(
            cli,
            &["exec", &id, "sh", "-c", "hostname; cat /etc/hostname"],
        )
        .ok();
    assert_eq!(o.lines(), vec![id[..12].to_string(), id[..12].to_string()]);
    let o = d.cli(cli, &["exec", &id, "cat", "/etc/hosts"]).ok();
    assert!(o.stdout.contains("localhost"), "{o:?}");
    let o = d.cli(cli, &["exec", &id, "cat", "/etc/resolv.conf"]).ok();
    assert_eq!(nameservers(&o.stdout), expected_nameservers(), "{o:?}");
    // The host's hostname is untouched.
    let hn = nix::unistd::gethostname().unwrap();
    assert_ne!(hn.to_string_lossy(), &id[..12]);
}

fn nameservers(resolv_conf: &str) -> Vec<String> {
    resolv_conf
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .map(|a| a.trim().to_string())
        .collect()
}

/// What Docker puts in a container's resolv.conf: the host's resolvers without loopback
/// ones (unreachable from the container's network namespace), or Google's when none is left.
fn expected_nameservers() -> Vec<String> {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let kept: Vec<String> = nameservers(&host)
        .into_iter()
        .filter(|a| !a.starts_with("127.") && a != "::1")
        .collect();
    if kept.is_empty() {
        vec!["8.8.8.8".to_string(), "8.8.4.4".to_string()]
    } else {
        kept
    }
}

fn capeff(d: &berth_e2e::TestDaemon, cli: Cli, opts: &[&str]) -> String {
    let o = d.run_rm(cli, opts, &["cat", "/proc/self/status"]).ok();
    status_field(&o.stdout, "CapEff").unwrap_or_else(|| panic!("{o:?}"))
}

fn capabilities_default_and_changed(cli: Cli) {
    let d = daemon!();
    assert_eq!(capeff(&d, cli, &[]), DEFAULT_CAPEFF);
    let base = u64::from_str_radix(DEFAULT_CAPEFF, 16).unwrap();
    const NET_RAW: u64 = 1 << 13;
    const SYS_ADMIN: u64 = 1 << 21;
    const CHOWN: u64 = 1;
    assert_eq!(
        capeff(&d, cli, &["--cap-drop", "NET_RAW"]),
        format!("{:016x}", base & !NET_RAW)
    );
    assert_eq!(
        capeff(
            &d,
            cli,
            &["--cap-drop", "chown", "--cap-drop", "CAP_NET_RAW"]
        ),
        format!("{:016x}", base & !NET_RAW & !CHOWN)
    );
    assert_eq!(
        capeff(&d, cli, &["--cap-add", "SYS_ADMIN"]),
        format!("{:016x}", base | SYS_ADMIN)
    );
    assert_eq!(capeff(&d, cli, &["--cap-drop", "ALL"]), "0000000000000000");
    assert_eq!(
        capeff(&d, cli, &["--cap-drop", "ALL", "--cap-add", "CHOWN"]),
        "0000000000000001"
    );
    // --privileged: every capability the host has.
    let host = std::fs::read_to_string("/proc/self/status").unwrap();
    let bnd = status_field(&host, "CapBnd").unwrap();
    assert_eq!(capeff(&d, cli, &["--privileged"]), bnd);
    // A non-root user has no effective capabilities.
    assert_eq!(capeff(&d, cli, &["-u", "65534"]), "0000000000000000");
}

fn seccomp_blocks_unshare(cli: Cli) {
    let d = daemon!();
    let o = d
        .run_sh(
            cli,
            &[],
            "grep Seccomp: /proc/self/status; unshare -U true && echo UNSHARED",
        )
        .fails();
    assert!(
        o.stdout.contains("Seccomp:\t2"),
        "seccomp is not in filter mode: {o:?}"
    );
    assert!(!o.stdout.contains("UNSHARED"), "{o:?}");
    assert!(o.stderr.contains("Operation not permitted"), "{o:?}");
    // A new network namespace needs SYS_ADMIN: refused by default.
    d.run_rm(cli, &[], &["unshare", "-n", "true"]).fails();
    // With SYS_ADMIN added, Docker's profile allows unshare.
    d.run_rm(cli, &["--cap-add", "SYS_ADMIN"], &["unshare", "-n", "true"])
        .ok();
    // Unconfined: no filter at all, and user namespaces can be made.
    let o = d
        .run_sh(
            cli,
            &["--security-opt", "seccomp=unconfined"],
            "grep Seccomp: /proc/self/status; unshare -U true && echo UNSHARED",
        )
        .ok();
    assert!(o.stdout.contains("Seccomp:\t0"), "{o:?}");
    assert!(o.stdout.contains("UNSHARED"), "{o:?}");
    // Other syscalls of Docker's deny list.
    let o = d
        .run_sh(cli, &[], "mount -t tmpfs t /mnt && echo MOUNTED")
        .fails();
    assert!(!o.stdout.contains("MOUNTED"), "{o:?}");
}

/// A profile of our own: everything allowed but mkdir. Containers with it and with Docker's
/// default in one daemon each get their own filter.
fn seccomp_profile_from_a_file(cli: Cli) {
    let d = daemon!();
    let profile = d.root.join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let try_both = "mkdir /tmp/d && echo MADE; unshare -U true && echo UNSHARED; true";
    for _ in 0..2 {
        let o = d.run_sh(cli, &["--security-opt", &opt], try_both).ok();
        assert!(!o.stdout.contains("MADE"), "mkdir was allowed: {o:?}");
        assert!(o.stdout.contains("UNSHARED"), "unshare was refused: {o:?}");
        let o = d.run_sh(cli, &[], try_both).ok();
        assert!(o.stdout.contains("MADE"), "mkdir was refused: {o:?}");
        assert!(!o.stdout.contains("UNSHARED"), "unshare was allowed: {o:?}");
    }
}

/// The filter also confines exec'd processes, and loading it leaves no capability behind:
/// the permitted set is Docker's default (or empty for a non-root user).
fn exec_and_users_get_the_filter_and_no_extra_capability(cli: Cli) {
    let d = daemon!();
    let fields = |text: &str| {
        ["Seccomp", "CapPrm", "CapEff", "NoNewPrivs"].map(|k| status_field(text, k).unwrap())
    };
    let root = [
        "2".to_string(),
        DEFAULT_CAPEFF.to_string(),
        DEFAULT_CAPEFF.to_string(),
        "0".to_string(),
    ];
    let none = "0000000000000000".to_string();
    let user = ["2".to_string(), none.clone(), none.clone(), "0".to_string()];
    let status = ["cat", "/proc/self/status"];

    let id = d.run_d(cli, &[], &["sleep", "300"]);
    let o = d.cli(cli, &["exec", &id, "cat", "/proc/1/status"]).ok();
    assert_eq!(fields(&o.stdout), root, "init: {o:?}");
    let o = d.cli(cli, &["exec", &id, status[0], status[1]]).ok();
    assert_eq!(fields(&o.stdout), root, "exec: {o:?}");
    let o = d
        .cli(cli, &["exec", "-u", "65534", &id, status[0], status[1]])
        .ok();
    assert_eq!(fields(&o.stdout), user, "exec as a user: {o:?}");
    let o = d.cli(cli, &["exec", &id, "unshare", "-U", "true"]).fails();
    assert!(o.stderr.contains("Operation not permitted"), "{o:?}");

    let o = d.run_rm(cli, &["-u", "65534:65534"], &status).ok();
    assert_eq!(fields(&o.stdout), user, "run as a user: {o:?}");

    let o = d
        .run_rm(cli, &["--security-opt", "no-new-privileges"], &status)
        .ok();
    let mut nnp = root.clone();
    nnp[3] = "1".to_string();
    assert_eq!(fields(&o.stdout), nnp, "no-new-privileges: {o:?}");
}

#[test]
fn proc_sys_and_sysrq_are_read_only() {
    let d = daemon!();
    let before = std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap();
    let o = d
        .berth(&[
            "run",
            "--rm",
            IMAGE,
            "sh",
            "-c",
            "echo berth-e2e-domain > /proc/sys/kernel/domainname && echo WROTE",
        ])
        .fails();
    assert!(!o.stdout.contains("WROTE"), "{o:?}");
    assert!(o.stderr.contains("Read-only"), "{o:?}");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/domainname").unwrap(),
        before
    );
    // 'h' only prints help to the kernel log if it were ever accepted.
    let o = d
        .berth(&[
            "run",
            "--rm",
            IMAGE,
            "sh",
            "-c",
            "echo h > /proc/sysrq-trigger && echo WROTE",
        ])
        .fails();
    assert!(!o.stdout.contains("WROTE"), "{o:?}");
    // /proc/sysrq-trigger is absent on some kernels; when present it must not be writable.
    if std::path::Path::new("/proc/sysrq-trigger").exists() {
        assert!(
            o.stderr.contains("Read-only") || o.stderr.contains("Permission denied"),
            "{o:?}"
        );
    }
    // /proc/sys and the other read-only paths are mounted ro.
    let o = d.berth(&["run", "--rm", IMAGE, "cat", "/proc/mounts"]).ok();
    let mut checked = 0;
    for p in ["/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq"] {
        let line = o
            .stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(p));
        if let Some(line) = line {
            checked += 1;
            assert!(
                line.split_whitespace()
                    .nth(3)
                    .unwrap()
                    .split(',')
                    .any(|f| f == "ro"),
                "{line}"
            );
        } else if std::path::Path::new(p).exists() {
            panic!(
                "{p} is not a read-only mount in the container:\n{}",
                o.stdout
            );
        }
    }
    assert!(checked >= 1, "no read-only /proc path was found: {o:?}");
}

/// Docker's masked paths (moby `oci.DefaultSpec`): files become /dev/null, folders an empty
/// read-only tmpfs.
const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

#[test]
fn masked_paths_dev_and_etc() {
    let d = daemon!();
    // Only paths this kernel has can be checked; /proc/timer_list and /sys/firmware exist on
    // every kernel this suite runs on, and the host must show content there for the check to
    // mean anything.
    let present: Vec<&str> = MASKED_PATHS
        .iter()
        .copied()
        .filter(|p| std::path::Path::new(p).exists())
        .collect();
    for must in ["/proc/timer_list", "/sys/firmware"] {
        assert!(present.contains(&must), "{must} is missing on this host");
    }
    assert!(
        std::fs::read("/proc/timer_list").unwrap().len() > 64,
        "the host's /proc/timer_list is empty: masking could not be told apart"
    );
    assert!(std::fs::read_dir("/sys/firmware").unwrap().count() > 0);
    // Inside: how many bytes (files) or entries (folders) each path shows.
    let script: String = present
        .iter()
        .map(|p| {
            format!(
                "if [ -d {p} ]; then echo \"{p} $(ls -A {p} | wc -l)\"; \
                 else echo \"{p} $(cat {p} 2>/dev/null | wc -c)\"; fi; "
            )
        })
        .collect();
    let o = d
        .docker(&[
            "run",
            "--rm",
            IMAGE,
            "sh",
            "-c",
            &format!("{script} echo --dev--; ls /dev"),
        ])
        .ok();
    let mut checked = 0;
    for p in &present {
        let line = o
            .lines()
            .into_iter()
            .find(|l| l.split_whitespace().next() == Some(p))
            .unwrap_or_else(|| panic!("{p} not reported: {o:?}"));
        assert!(line.ends_with(" 0"), "{p} is not masked: {line}\n{o:?}");
        checked += 1;
    }
    assert!(checked >= 2, "checked only {checked} masked paths");
    let dev: Vec<String> = o
        .lines()
        .into_iter()
        .skip_while(|l| l != "--dev--")
        .skip(1)
        .collect();
    for want in [
        "null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "ptmx",
    ] {
        assert!(
            dev.contains(&want.to_string()),
            "/dev/{want} missing: {dev:?}"
        );
    }
    for host_only in [
        "sda", "vda", "mem", "kmem", "kmsg", "port", "nvme0", "loop0",
    ] {
        assert!(
            !dev.contains(&host_only.to_string()),
            "/dev/{host_only} visible: {dev:?}"
        );
    }
    // A device node for a host disk can be made (CAP_MKNOD, as in Docker) but not opened:
    // the device cgroup refuses it with EPERM.
    let (major, minor) = host_block_device();
    let o = d
        .docker(&[
            "run",
            "--rm",
            IMAGE,
            "sh",
            "-c",
            &format!(
                "mknod /tmp/disk b {major} {minor} && echo MADE; \
                 head -c 1 /tmp/disk > /dev/null && echo READ"
            ),
        ])
        .fails();
    assert!(o.stdout.contains("MADE"), "mknod failed: {o:?}");
    assert!(!o.stdout.contains("READ"), "the host disk was read: {o:?}");
    assert!(
        o.stderr.contains("/tmp/disk: Operation not permitted"),
        "not refused by the device cgroup: {o:?}"
    );
    let o = d
        .docker(&["run", "--rm", IMAGE, "sh", "-c", "cat /etc/hostname; grep -c localhost /etc/hosts; test -f /etc/resolv.conf && echo resolv"])
        .ok();
    let l = o.lines();
    assert_eq!(l[0].len(), 12);
    assert!(l[1].parse::<u32>().unwrap() >= 1);
    assert_eq!(l[2], "resolv");
}

/// Major and minor number of a block device of the host that has content (a real disk).
fn host_block_device() -> (u32, u32) {
    let parts = std::fs::read_to_string("/proc/partitions").unwrap();
    parts
        .lines()
        .skip(2)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let blocks: u64 = f.get(2)?.parse().ok()?;
            (blocks > 0 && !f.get(3)?.starts_with("loop"))
                .then(|| Some((f[0].parse().ok()?, f[1].parse().ok()?)))
                .flatten()
        })
        .next()
        .unwrap_or_else(|| panic!("no block device with content in /proc/partitions:\n{parts}"))
}

#[test]
fn read_only_root_and_no_new_privileges_and_user() {
    let d = daemon!();
    for cli in [Cli::Berth, Cli::Docker] {
        let o = d
            .run_sh(cli, &["--read-only"], "touch /x && echo WROTE")
            .fails();
        assert!(o.stderr.contains("Read-only"), "{o:?}");
        assert!(!o.stdout.contains("WROTE"));
        let o = d
            .run_sh(
                cli,
                &["--read-only", "--tmpfs", "/tmp"],
                "touch /tmp/x && echo WROTE",
            )
            .ok();
        assert_eq!(o.out(), "WROTE");
        let o = d
            .run_rm(
                cli,
                &["--security-opt", "no-new-privileges"],
                &["cat", "/proc/self/status"],
            )
            .ok();
        assert_eq!(
            status_field(&o.stdout, "NoNewPrivs").as_deref(),
            Some("1"),
            "{o:?}"
        );
        let o = d.run_rm(cli, &[], &["cat", "/proc/self/status"]).ok();
        assert_eq!(
            status_field(&o.stdout, "NoNewPrivs").as_deref(),
            Some("0"),
            "{o:?}"
        );
        let o = d
            .run_sh(
                cli,
                &["--user", "65534:65534"],
                "id -u; id -g; touch /root/x && echo WROTE",
            )
            .fails();
        assert_eq!(o.lines()[..2], ["65534".to_string(), "65534".to_string()]);
        let o = d.run_rm(cli, &["--user", "nobody"], &["id", "-u"]).ok();
        assert_eq!(o.out(), "65534");
    }
}

#[test]
fn cgroup_filesystem_is_read_only() {
    let d = daemon!();
    // A container must not raise its own limits or make cgroups on the host.
    let o = d
        .docker(&["run", "--rm", "--memory", "64m", IMAGE, "sh", "-c",
            "if [ -d /sys/fs/cgroup/memory ]; then c=/sys/fs/cgroup/memory; else c=/sys/fs/cgroup; fi; \
             mkdir $c/berth-escape 2>/dev/null && { echo CREATED; rmdir $c/berth-escape; }; \
             for f in $(find $c -name memory.limit_in_bytes -o -name memory.max | head -5); do \
               echo 9999999999 > $f 2>/dev/null && echo WROTE $f; done; true"])
        .ok();
    assert!(
        !o.stdout.contains("CREATED"),
        "a cgroup was created from inside: {o:?}"
    );
    assert!(
        !o.stdout.contains("WROTE"),
        "a cgroup limit was written from inside: {o:?}"
    );
}
