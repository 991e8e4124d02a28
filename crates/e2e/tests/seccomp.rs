//! Seccomp, proven by trying what Docker's default profile forbids: a small static probe
//! (built here from C) makes the raw system calls inside busybox containers, under berth's
//! runtime and under runc, and reports `ok` or `errno N` for each.

use berth_e2e::{both_clis, have, Cli, TestDaemon};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

both_clis!(
    clone_of_new_namespaces_is_refused,
    clone3_gets_enosys,
    denied_and_allowed_syscalls,
    exec_without_its_filter_is_refused,
);

const EPERM: &str = "errno 1";

/// The namespace flags Docker's `clone` rule masks (0x7E020000): clone may set none of them.
const NAMESPACES: [i32; 7] = [
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWNS,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWCGROUP,
];

const _: () = assert!(
    NAMESPACES[0]
        | NAMESPACES[1]
        | NAMESPACES[2]
        | NAMESPACES[3]
        | NAMESPACES[4]
        | NAMESPACES[5]
        | NAMESPACES[6]
        == 0x7E02_0000
);

/// Calls Docker's default profile refuses (with EPERM) to a container without extra
/// capabilities, with arguments for which the kernel itself, unconfined, answers something
/// else (in the comments): a bad pointer, descriptor or flag it checks before any
/// capability, or success.
const DENIED: &[&str] = &[
    "unshare 0",                   // ok
    "unshare 0x10000000",          // CLONE_NEWUSER: ok
    "setns -1 0",                  // EBADF
    "mount 1 1 1 0 0",             // EFAULT
    "umount2 0 0xffff",            // EINVAL
    "open_tree -1 0 0xffffffff",   // EINVAL
    "add_key 1 0 0 0 0",           // EFAULT
    "request_key 1 1 0 0",         // EFAULT
    "keyctl 9999 0 0 0 0",         // EOPNOTSUPP
    "perf_event_open 0 0 -1 -1 0", // EFAULT (or EACCES)
    "personality 0x40000",         // ADDR_NO_RANDOMIZE: ok
    "socket 40 1 0",               // AF_VSOCK: ok or EAFNOSUPPORT
    "socket 38 5 0",               // AF_ALG: ok or EAFNOSUPPORT
];

/// Calls the profile allows, which succeed.
const ALLOWED: &[&str] = &[
    "getpid",
    "getppid",
    "uname buf",
    "getcwd buf 4096",
    "clock_gettime 0 buf",
    "getrandom buf 16 0",
    "socket 2 2 0", // AF_INET, SOCK_DGRAM
    "socket 1 1 0", // AF_UNIX, SOCK_STREAM
    "personality 0xffffffff",
    "personality 0",
];

const PROBE_C: &str = r#"/* A seccomp probe: every call runs in a forked child, and prints "ok", "errno N" or
 * "signal N".
 *   probe [-m FILE] clone FLAGS...   clone(FLAGS | SIGCHLD), one line per FLAGS
 *   probe [-m FILE] clone3           clone3 with exit_signal SIGCHLD
 *   probe [-m FILE] syscall NAME|NR [ARG...] [, NAME|NR [ARG...]]...
 * An ARG is a number (C syntax, may be negative) or "buf" (a scratch buffer). -m FILE
 * creates FILE first: the proof that the probe ran. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static char scratch[65536];

#define S(n) {#n, SYS_##n},
static const struct { const char *name; long nr; } calls[] = {
    S(getpid) S(getppid) S(uname) S(getcwd) S(clock_gettime) S(getrandom) S(socket)
    S(personality) S(unshare) S(setns) S(mount) S(umount2) S(add_key) S(request_key)
    S(keyctl) S(perf_event_open) S(clone) S(clone3)
#ifdef SYS_open_tree
    S(open_tree)
#endif
};

static long nr_of(const char *name) {
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (strcmp(calls[i].name, name) == 0)
            return calls[i].nr;
    char *end;
    long nr = strtol(name, &end, 0);
    if (*name && !*end)
        return nr;
    fprintf(stderr, "probe: unknown syscall %s\n", name);
    exit(2);
}

static unsigned long arg_of(const char *s) {
    if (strcmp(s, "buf") == 0)
        return (unsigned long)scratch;
    char *end;
    unsigned long v = s[0] == '-' ? (unsigned long)strtol(s, &end, 0) : strtoul(s, &end, 0);
    if (!*s || *end) {
        fprintf(stderr, "probe: bad argument %s\n", s);
        exit(2);
    }
    return v;
}

/* Runs fn(a) in a child and prints how it went: the child exits with 0 or the errno. */
static void report(int (*fn)(char **), char **a) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("probe: fork");
        exit(2);
    }
    if (pid == 0)
        _exit(fn(a));
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) {
            perror("probe: waitpid");
            exit(2);
        }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        printf("ok\n");
    else if (WIFEXITED(st))
        printf("errno %d\n", WEXITSTATUS(st));
    else
        printf("signal %d\n", WTERMSIG(st));
}

/* The new process exits at once; the caller reaps it. */
static int finish(long r) {
    if (r == 0)
        _exit(0);
    if (r < 0)
        return errno;
    waitpid((pid_t)r, NULL, __WALL);
    return 0;
}

static int do_clone(char **a) {
    return finish(syscall(SYS_clone, arg_of(a[0]) | SIGCHLD, 0, 0, 0, 0));
}

static int do_clone3(char **a) {
    (void)a;
    uint64_t args[8] = {0}; /* struct clone_args, version 0 (64 bytes) */
    args[4] = SIGCHLD;      /* exit_signal */
    return finish(syscall(SYS_clone3, args, sizeof args));
}

/* The call a[0] names with its arguments, up to "," or the end (up to 6). */
static long parse_call(char **a, unsigned long v[6]) {
    long nr = nr_of(a[0]);
    int i = 0;
    for (; a[i + 1] && strcmp(a[i + 1], ",") != 0; i++) {
        if (i == 6) {
            fprintf(stderr, "probe: more than 6 arguments for %s\n", a[0]);
            exit(2);
        }
        v[i] = arg_of(a[i + 1]);
    }
    return nr;
}

static int do_syscall(char **a) {
    unsigned long v[6] = {0};
    long nr = parse_call(a, v);
    return syscall(nr, v[0], v[1], v[2], v[3], v[4], v[5]) < 0 ? errno : 0;
}

int main(int argc, char **argv) {
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "-m") == 0) {
        int fd = open(argv[i + 1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
            perror("probe: -m");
            return 2;
        }
        close(fd);
        i += 2;
    }
    if (i < argc && strcmp(argv[i], "clone") == 0) {
        for (i++; i < argc; i++) {
            arg_of(argv[i]);
            report(do_clone, &argv[i]);
        }
    } else if (i < argc && strcmp(argv[i], "clone3") == 0) {
        report(do_clone3, &argv[i]);
    } else if (i < argc && strcmp(argv[i], "syscall") == 0) {
        for (i++; i < argc; i++) {
            unsigned long v[6];
            parse_call(&argv[i], v); /* bad input stops the probe, not just one child */
            report(do_syscall, &argv[i]);
            while (i < argc && strcmp(argv[i], ",") != 0)
                i++;
        }
    } else {
        fprintf(stderr, "usage: probe [-m FILE] clone FLAGS... | clone3 | syscall NAME [ARG...] [, ...]\n");
        return 2;
    }
    return 0;
}
"#;

/// A daemon (extra berthd flags in `args`) and the probe, built into its root.
struct Env {
    d: TestDaemon,
    /// `-v <probe dir>:/p:ro`
    mount: String,
}

impl Env {
    fn start(args: &[&str]) -> Env {
        let d = TestDaemon::start_with(args);
        let dir = d.root.join("probe");
        build_probe(&dir);
        let mount = format!("{}:/p:ro", dir.display());
        Env { d, mount }
    }

    /// `run --rm [opts] -v probe busybox /p/probe args...`: the probe's lines.
    #[track_caller]
    fn run(&self, cli: Cli, opts: &[&str], args: &[&str]) -> Vec<String> {
        let mut all = vec!["-v", &self.mount];
        all.extend_from_slice(opts);
        let mut cmd = vec!["/p/probe"];
        cmd.extend_from_slice(args);
        let o = self.d.run_rm(cli, &all, &cmd).ok();
        assert!(!o.lines().is_empty(), "the probe printed nothing: {o:?}");
        o.lines()
    }

    /// `probe clone FLAGS...` with each of `flags`.
    #[track_caller]
    fn clone(&self, cli: Cli, opts: &[&str], flags: &[i32]) -> Vec<String> {
        let flags: Vec<String> = flags.iter().map(|f| format!("{f:#x}")).collect();
        let mut args = vec!["clone"];
        args.extend(flags.iter().map(String::as_str));
        let lines = self.run(cli, opts, &args);
        assert_eq!(lines.len(), flags.len(), "{lines:?}");
        lines
    }

    /// `probe syscall` with each of `calls`: one line per call.
    #[track_caller]
    fn syscalls(&self, cli: Cli, opts: &[&str], calls: &[&str]) -> Vec<String> {
        let mut args = vec!["syscall"];
        for (i, c) in calls.iter().enumerate() {
            if i > 0 {
                args.push(",");
            }
            args.extend(c.split_whitespace());
        }
        let lines = self.run(cli, opts, &args);
        assert_eq!(lines.len(), calls.len(), "{lines:?}");
        lines
    }

    fn seccomp_dir(&self) -> PathBuf {
        self.d.exec_root.join("seccomp")
    }
}

/// Compiles the probe statically (busybox has no libc) into `dir`.
fn build_probe(dir: &Path) {
    assert!(
        have("cc"),
        "`cc` was not found: the seccomp tests need a C compiler with static glibc \
         (apt-get install gcc libc6-dev)"
    );
    std::fs::create_dir_all(dir).unwrap();
    let src = dir.join("probe.c");
    std::fs::write(&src, PROBE_C).unwrap();
    let out = Command::new("cc")
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(dir.join("probe"))
        .arg(&src)
        .output()
        .expect("running cc");
    assert!(
        out.status.success(),
        "building the probe with `cc -static` failed (is static glibc, libc6-dev, installed?):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Flags with every namespace flag alone, then CLONE_NEWUSER with each other one (a new
/// user namespace gives its creator the capabilities for the others: the real attack).
fn namespace_flags() -> Vec<i32> {
    let mut flags = NAMESPACES.to_vec();
    flags.extend(NAMESPACES[1..].iter().map(|f| f | libc::CLONE_NEWUSER));
    flags
}

fn all_refused(lines: &[String]) -> bool {
    !lines.is_empty() && lines.iter().all(|l| l == EPERM)
}

fn clone_of_new_namespaces_is_refused(cli: Cli) {
    let e = Env::start(&[]);
    let flags = namespace_flags();
    // A plain fork-like clone works: the probe itself does.
    assert_eq!(e.clone(cli, &[], &[0]), ["ok"]);
    for opts in [
        &[][..],
        &["-u", "65534"],
        &["--security-opt", "no-new-privileges"],
    ] {
        let lines = e.clone(cli, opts, &flags);
        assert!(
            all_refused(&lines),
            "clone of new namespaces with {opts:?}: {:?}",
            flags.iter().zip(&lines).collect::<Vec<_>>()
        );
    }
    // Through exec, as root and as a user.
    let id = e.d.run_d(cli, &["-v", &e.mount], &["sleep", "300"]);
    for user in ["0", "65534"] {
        let mut args = vec!["exec", "-u", user, &id, "/p/probe", "clone", "0"];
        let hex: Vec<String> = flags.iter().map(|f| format!("{f:#x}")).collect();
        args.extend(hex.iter().map(String::as_str));
        let o = e.d.cli(cli, &args).ok();
        let lines = o.lines();
        assert_eq!(lines.first().map(String::as_str), Some("ok"), "{o:?}");
        assert_eq!(lines.len(), flags.len() + 1, "{o:?}");
        assert!(all_refused(&lines[1..]), "exec -u {user}: {o:?}");
    }
    // Unconfined, the same calls succeed: the refusals above are the filter's.
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    assert_eq!(
        e.clone(cli, &unconfined, &[libc::CLONE_NEWUSER]),
        ["ok"],
        "clone(CLONE_NEWUSER) unconfined"
    );
    let with_user = &flags[NAMESPACES.len()..];
    let lines = e.clone(cli, &unconfined, with_user);
    assert!(
        !with_user.is_empty() && lines.iter().all(|l| l == "ok"),
        "unconfined: {lines:?}"
    );
}

fn clone3_gets_enosys(cli: Cli) {
    let e = Env::start(&[]);
    // Docker's profile answers ENOSYS (errnoRet 38), so that libc falls back to clone.
    assert_eq!(e.run(cli, &[], &["clone3"]), ["errno 38"]);
    assert_eq!(e.run(cli, &["-u", "65534"], &["clone3"]), ["errno 38"]);
    assert_eq!(
        e.run(cli, &["--security-opt", "seccomp=unconfined"], &["clone3"]),
        ["ok"]
    );
}

fn denied_and_allowed_syscalls(cli: Cli) {
    let e = Env::start(&[]);
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    assert!(!DENIED.is_empty() && !ALLOWED.is_empty());

    let table = |calls: &[&'static str]| {
        let confined = e.syscalls(cli, &[], calls);
        let free = e.syscalls(cli, &unconfined, calls);
        // (call, confined, unconfined)
        let rows: Vec<(&str, String, String)> = calls
            .iter()
            .zip(confined)
            .zip(free)
            .map(|((c, a), b)| (*c, a, b))
            .collect();
        rows
    };
    let denied = table(DENIED);
    let wrong: Vec<_> = denied
        .iter()
        .filter(|(_, confined, free)| confined != EPERM || free == EPERM)
        .collect();
    assert!(
        wrong.is_empty(),
        "each should be refused with EPERM, which unconfined it does not give \
         (call, confined, unconfined): {wrong:#?}"
    );
    let allowed = table(ALLOWED);
    let wrong: Vec<_> = allowed
        .iter()
        .filter(|(_, confined, free)| confined != "ok" || free != "ok")
        .collect();
    assert!(
        wrong.is_empty(),
        "each should succeed (call, confined, unconfined): {wrong:#?}"
    );
}

/// `<exec root>/s/<short id>/bundle/seccomp.bpf`: the container's compiled filter.
fn filter_file(e: &Env, id: &str) -> PathBuf {
    let path =
        e.d.exec_root
            .join("s")
            .join(&id[..12])
            .join("bundle/seccomp.bpf");
    assert!(path.is_file(), "{} not found", path.display());
    path
}

fn exec_without_its_filter_is_refused(cli: Cli) {
    let e = Env::start(&[]);
    let out = e.d.root.join("out");
    std::fs::create_dir(&out).unwrap();
    let out_mount = format!("{}:/out", out.display());
    let id =
        e.d.run_d(cli, &["-v", &e.mount, "-v", &out_mount], &["sleep", "300"]);
    let newuser = format!("{:#x}", libc::CLONE_NEWUSER);
    let probe = |mark: &str| {
        e.d.cli(
            cli,
            &["exec", &id, "/p/probe", "-m", mark, "clone", &newuser],
        )
    };
    let o = probe("/out/first").ok();
    assert_eq!(o.lines(), [EPERM], "{o:?}");
    assert!(out.join("first").exists(), "the probe did not mark its run");

    std::fs::remove_file(filter_file(&e, &id)).unwrap();
    let o = probe("/out/unfiltered").fails();
    assert!(
        !out.join("unfiltered").exists(),
        "the probe ran without the filter: {o:?}"
    );
    assert!(o.lines().is_empty(), "{o:?}");
    assert!(
        o.err().contains("seccomp"),
        "the error should say why: {o:?}"
    );
    // The container itself is still there and filtered.
    assert_eq!(e.d.status(&id), "running");
}

/// The cache files in `dir`, by name, with their inodes.
fn entries(dir: &Path) -> BTreeMap<String, u64> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|f| {
            let f = f.unwrap();
            (
                f.file_name().to_string_lossy().into_owned(),
                f.metadata().unwrap().ino(),
            )
        })
        .collect()
}

fn mode_and_owner(dir: &Path) -> (u32, u32) {
    let meta = std::fs::metadata(dir).unwrap();
    (meta.mode() & 0o7777, meta.uid())
}

#[test]
fn the_filter_cache_is_private_reused_and_survives_corruption() {
    let mut e = Env::start(&[]);
    let newuser = [libc::CLONE_NEWUSER];
    assert_eq!(e.clone(Cli::Docker, &[], &newuser), [EPERM]);
    let dir = e.seccomp_dir();
    assert_eq!(mode_and_owner(&dir), (0o700, 0), "{}", dir.display());
    let first = entries(&dir);
    assert_eq!(first.len(), 1, "one profile, one entry: {first:?}");

    // A hit is read, not written again: the entry keeps its inode across containers and
    // daemon starts.
    assert_eq!(e.clone(Cli::Berth, &["-u", "65534"], &newuser), [EPERM]);
    e.d.restart();
    assert_eq!(e.clone(Cli::Docker, &[], &newuser), [EPERM]);
    assert_eq!(entries(&dir), first, "the cached filter was compiled again");

    // A directory others can read is tightened.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(e.clone(Cli::Berth, &[], &newuser), [EPERM]);
    assert_eq!(mode_and_owner(&dir), (0o700, 0));

    // Corrupt entries are compiled again and replaced; containers start and are filtered.
    type Corrupt = fn(&[u8]) -> Vec<u8>;
    let corruptions: [(&str, Corrupt); 3] = [
        ("garbage", |_| b"not a seccomp filter".to_vec()),
        ("truncated by one instruction", |b| {
            b[..b.len() - 8].to_vec()
        }),
        ("last byte flipped", |b| {
            let mut b = b.to_vec();
            *b.last_mut().unwrap() ^= 0x40;
            b
        }),
    ];
    for (what, corrupt) in corruptions {
        let before = entries(&dir);
        assert!(!before.is_empty());
        for name in before.keys() {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, corrupt(&bytes)).unwrap();
        }
        assert_eq!(
            e.clone(Cli::Docker, &[], &[0, libc::CLONE_NEWUSER]),
            ["ok", EPERM],
            "after a {what} cache entry"
        );
        let after = entries(&dir);
        assert_eq!(after.len(), before.len(), "{what}");
        assert!(
            after.iter().all(|(n, ino)| before.get(n) != Some(ino)),
            "a {what} entry was not rewritten"
        );
    }
}

/// runc, which reads the profile right, and berth's own runtime give every probe the same
/// answer.
#[test]
fn runc_agrees() {
    let runc = "/usr/sbin/runc";
    assert!(
        Path::new(runc).exists(),
        "{runc} is missing: scripts/install-deps.sh installs it"
    );
    let builtin = Env::start(&[]);
    let external = Env::start(&["--runtime", runc]);
    let mut flags = vec![0];
    flags.extend(namespace_flags());
    let answers = |e: &Env| {
        let mut lines = e.clone(Cli::Docker, &[], &flags);
        lines.extend(e.run(Cli::Docker, &[], &["clone3"]));
        lines.extend(e.syscalls(Cli::Docker, &[], DENIED));
        lines.extend(e.syscalls(Cli::Docker, &[], ALLOWED));
        lines
    };
    let by_runc = answers(&external);
    assert_eq!(by_runc[0], "ok");
    assert!(all_refused(&by_runc[1..flags.len()]), "{by_runc:?}");
    assert_eq!(answers(&builtin), by_runc);
}
