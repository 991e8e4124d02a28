//! berth's stores are root's: a host user reaches no container's files through them. Each
//! check is the attack itself, run as `nobody` on the host, and must fail with EACCES.
//!
//! The harness puts a daemon's roots in a private temporary directory; these tests open it
//! (0755, as `/var/lib` and `/run` are), so only berth's own modes stand in the way.

use berth_e2e::{have, run_cmd, unique, wait_until, Cli, Out, TestDaemon, CMD_TIMEOUT, SOON};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const NOBODY: &str = "65534";

/// Runs `argv` on the host as uid and gid 65534 without supplementary groups.
fn as_nobody(argv: &[&str]) -> Out {
    as_user(65534, 65534, argv)
}

/// Runs `argv` on the host as `uid` and `gid` without supplementary groups. A shell execs
/// it: setpriv itself still holds root's capabilities when it calls execve, so the path of
/// a program it runs would be looked up as root.
fn as_user(uid: u32, gid: u32, argv: &[&str]) -> Out {
    let mut c = if have("setpriv") {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .args(["--clear-groups", "--"]);
        c
    } else if have("runuser") && (uid, gid) == (65534, 65534) {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--"]);
        c
    } else {
        panic!("these tests run commands as other users with setpriv (util-linux)");
    };
    c.args(["/bin/sh", "-c", "exec \"$@\"", "sh"]).args(argv);
    run_cmd(c, None, CMD_TIMEOUT)
}

/// Connects to the unix socket `path` as `uid`/`gid`.
fn connect_as(uid: u32, gid: u32, path: &Path) -> Out {
    assert!(have("python3"), "connecting as another user needs python3");
    let script = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])";
    as_user(
        uid,
        gid,
        &["python3", "-c", script, &path.to_string_lossy()],
    )
}

#[track_caller]
fn assert_denied(o: &Out) {
    assert!(
        !o.success() && o.stderr.contains("Permission denied"),
        "a host user got through (expected EACCES):\n{o:?}"
    );
}

/// A daemon (as root) whose temporary root any user may traverse.
fn open_daemon(args: &[&str]) -> TestDaemon {
    let d = TestDaemon::start_with(args);
    fs::set_permissions(&d.root, fs::Permissions::from_mode(0o755)).unwrap();
    // The attacks below mean nothing if nobody could not run anything at all.
    let me = as_nobody(&["id", "-u"]).ok();
    assert_eq!(me.out(), NOBODY, "{me:?}");
    d
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

/// Every regular file under `dir` (symlinks not followed) for which `pred` holds.
fn files_under(dir: &Path, pred: &dyn Fn(&Path, &fs::Metadata) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(md) = fs::symlink_metadata(&p) else {
            continue;
        };
        if md.is_dir() {
            out.extend(files_under(&p, pred));
        } else if md.is_file() && pred(&p, &md) {
            out.push(p);
        }
    }
    out
}

fn contains(p: &Path, needle: &str) -> bool {
    fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

/// A one-layer image holding a setuid-root copy of busybox at `/plant/busybox`.
fn import_setuid_image(d: &TestDaemon) {
    let busybox = fs::read("/bin/busybox").unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    b.append_data(&mut h, "plant/", std::io::empty()).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o4755);
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(busybox.len() as u64);
    b.append_data(&mut h, "plant/busybox", &busybox[..])
        .unwrap();
    let tar = b.into_inner().unwrap();
    let r = d.http_body(
        "POST",
        "/images/create?fromSrc=-&repo=setuid&tag=latest",
        "application/x-tar",
        &tar,
    );
    assert!(r.status == 200 && !r.text().contains("\"error"), "{r:?}");
}

/// Starts a container that plants a setuid-root busybox at `/plant/busybox` and logs
/// `secret`, which it also has in its environment; returns its id once the file is there.
fn plant(d: &TestDaemon, secret: &str) -> String {
    let env = format!("BERTH_TEST_SECRET={secret}");
    let id = d.run_d(
        Cli::Berth,
        &["-e", &env],
        &[
            "sh",
            "-c",
            "mkdir /plant && cp /bin/busybox /plant/busybox && chmod 4755 /plant/busybox \
             && echo \"$BERTH_TEST_SECRET\" && sleep 1000",
        ],
    );
    wait_until("the planted setuid file", SOON, || {
        d.berth(&["exec", &id, "test", "-u", "/plant/busybox"])
            .success()
    });
    id
}

/// Every setuid-root `busybox` under the data root: the container's rootfs mount, its
/// writable layer, the image layer's snapshot.
fn setuid_files(d: &TestDaemon) -> Vec<PathBuf> {
    files_under(&d.data_root, &|p, md| {
        p.file_name().is_some_and(|n| n == "busybox") && md.mode() & 0o4000 != 0 && md.uid() == 0
    })
}

#[test]
fn a_host_user_cannot_run_a_setuid_file_a_container_planted() {
    let d = open_daemon(&[]);
    import_setuid_image(&d);
    let id = plant(&d, &unique("secret"));
    let files = setuid_files(&d);
    let upper = d.inspect(&id)["GraphDriver"]["Data"]["UpperDir"]
        .as_str()
        .unwrap()
        .to_string();
    let rootfs = d.data_root.join("containers").join(&id).join("rootfs");
    let layers = d.data_root.join("snapshots");
    let in_rootfs = files.iter().any(|f| f.starts_with(&rootfs));
    let in_upper = files.iter().any(|f| f.starts_with(&upper));
    let in_layer = files
        .iter()
        .any(|f| f.starts_with(&layers) && !f.starts_with(&upper));
    assert!(
        in_rootfs && in_upper && in_layer,
        "a setuid file is missing from the rootfs ({in_rootfs}), the writable layer \
         ({in_upper}) or the image layer ({in_layer}): {files:?}"
    );
    for f in &files {
        let path = f.to_string_lossy();
        assert_denied(&as_nobody(&[&path, "id", "-u"]));
    }
    // The container keeps its file.
    d.berth(&["exec", &id, "test", "-u", "/plant/busybox"]).ok();
}

#[test]
fn a_host_user_cannot_read_a_containers_spec_or_log() {
    let d = open_daemon(&[]);
    let secret = unique("berth-secret");
    let id = plant(&d, &secret);
    wait_until("the secret in the log", SOON, || {
        d.berth(&["logs", &id]).stdout.contains(&secret)
    });
    let mut files = files_under(&d.data_root, &|p, _| contains(p, &secret));
    files.extend(files_under(&d.exec_root, &|p, _| contains(p, &secret)));
    let dir = d.data_root.join("containers").join(&id);
    for want in [
        dir.join("bundle/config.json"),
        dir.join(format!("{id}-json.log")),
    ] {
        assert!(
            files.contains(&want),
            "{} not found in {files:?}",
            want.display()
        );
    }
    for f in &files {
        assert_denied(&as_nobody(&["cat", &f.to_string_lossy()]));
    }
}

#[test]
fn a_host_user_cannot_list_the_roots_or_reach_a_shim() {
    let d = open_daemon(&[]);
    let id = d.run_d(Cli::Berth, &[], &["sleep", "1000"]);
    for root in [&d.data_root, &d.exec_root] {
        assert_denied(&as_nobody(&["ls", &root.to_string_lossy()]));
    }
    let sock = d.exec_root.join("s").join(&id[..12]).join("shim.sock");
    // Root reaches it: the path is right.
    std::os::unix::net::UnixStream::connect(&sock)
        .unwrap_or_else(|e| panic!("root cannot connect to {}: {e}", sock.display()));
    assert_denied(&connect_as(65534, 65534, &sock));
}

/// berthd with one more socket, `api.sock`, in its exec root, where its default one lies.
const SOCKET_IN_EXEC_ROOT: [&str; 4] = [
    "sh",
    "-c",
    r#"p=; for a; do [ "$p" = --exec-root ] && e=$a; p=$a; done; exec "$@" -H "unix://$e/api.sock""#,
    "sh",
];

#[test]
fn the_socket_group_passes_through_the_exec_root_to_the_socket_only() {
    let group = nix::unistd::Group::from_name("nogroup")
        .ok()
        .flatten()
        .expect("this test needs the group nogroup");
    let gid = group.gid.as_raw();
    let d = TestDaemon::start_wrapped(&SOCKET_IN_EXEC_ROOT, &["--group", "nogroup"]);
    fs::set_permissions(&d.root, fs::Permissions::from_mode(0o755)).unwrap();
    let id = d.run_d(Cli::Berth, &[], &["sleep", "1000"]);
    let api = d.exec_root.join("api.sock");
    let shim = d.exec_root.join("s").join(&id[..12]).join("shim.sock");
    // A member of the socket's group reaches berthd there...
    connect_as(65534, gid, &api).ok();
    // ...but lists nothing in the exec root and reaches no shim.
    assert_denied(&as_user(
        65534,
        gid,
        &["ls", &d.exec_root.to_string_lossy()],
    ));
    assert_denied(&connect_as(65534, gid, &shim));
    // Others do not pass.
    assert_denied(&connect_as(65534, gid + 1, &api));
}

/// The directories of a store and of one container that must be root's only.
fn private_dirs(d: &TestDaemon, id: &str) -> Vec<PathBuf> {
    let c = d.data_root.join("containers").join(id);
    let s = d.exec_root.join("s");
    vec![
        d.data_root.clone(),
        d.data_root.join("containers"),
        d.data_root.join("content"),
        d.data_root.join("snapshots"),
        c.join("bundle"),
        c.clone(),
        d.exec_root.clone(),
        s.join(&id[..12]),
        s,
    ]
}

#[track_caller]
fn assert_private(dirs: &[PathBuf]) {
    for p in dirs {
        let m = mode(p);
        assert!(
            m == 0o700 || m == 0o710,
            "{} has mode {m:o}, want 0700 or 0710",
            p.display()
        );
    }
}

#[test]
fn stores_and_container_dirs_are_private() {
    let d = open_daemon(&[]);
    let id = d.run_d(Cli::Berth, &[], &["sleep", "1000"]);
    assert_private(&private_dirs(&d, &id));
    let c = d.data_root.join("containers").join(&id);
    assert_eq!(mode(&c.join("bundle/config.json")) & 0o077, 0);
    assert_eq!(mode(&c.join(format!("{id}-json.log"))) & 0o037, 0);
}

#[test]
fn a_daemon_tightens_loose_roots_at_start() {
    let mut d = open_daemon(&[]);
    let id = plant(&d, "loose");
    d.kill9();
    let dirs = private_dirs(&d, &id);
    for p in &dirs {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    // Loose as an older berth left them: nobody gets in.
    let ls = as_nobody(&["ls", &d.data_root.join("containers").to_string_lossy()]).ok();
    assert!(ls.stdout.contains(&id), "{ls:?}");
    let files = setuid_files(&d);
    assert!(!files.is_empty(), "no planted setuid file found");

    d.restart();
    for root in [&d.data_root, &d.exec_root] {
        assert_denied(&as_nobody(&["ls", &root.to_string_lossy()]));
    }
    for f in &files {
        assert_denied(&as_nobody(&[&f.to_string_lossy(), "id", "-u"]));
    }
    assert_private(&dirs);
    // The container lives on, and its shim still answers.
    d.berth(&["exec", &id, "true"]).ok();
}

/// A container whose user is not root still uses its rootfs and its etc files.
fn unprivileged_user_works(d: &TestDaemon) {
    let script = "id -u; ls / >/dev/null && cat /etc/hosts /etc/hostname /etc/resolv.conf \
                  >/dev/null && echo hi >/tmp/f && cat /tmp/f";
    let o = d.run_sh(Cli::Berth, &["-u", NOBODY], script).ok();
    assert_eq!(
        o.lines(),
        vec![NOBODY.to_string(), "hi".to_string()],
        "{o:?}"
    );
    let id = d.run_d(Cli::Berth, &[], &["sleep", "1000"]);
    let o = d
        .berth(&["exec", "-u", NOBODY, &id, "sh", "-c", script])
        .ok();
    assert_eq!(
        o.lines(),
        vec![NOBODY.to_string(), "hi".to_string()],
        "{o:?}"
    );
}

#[test]
fn an_unprivileged_container_user_still_works() {
    unprivileged_user_works(&open_daemon(&[]));
}

#[test]
fn an_unprivileged_container_user_still_works_with_runc() {
    assert!(
        Path::new("/usr/sbin/runc").exists(),
        "this test needs runc at /usr/sbin/runc"
    );
    unprivileged_user_works(&open_daemon(&["--runtime", "/usr/sbin/runc"]));
}

/// Modes the container's users need are set explicitly: a daemon started with umask 077
/// still gives them a usable root and etc files.
#[test]
fn a_restrictive_daemon_umask_does_not_lock_out_container_users() {
    let d = TestDaemon::start_wrapped(&["sh", "-c", "umask 077 && exec \"$@\"", "sh"], &[]);
    unprivileged_user_works(&d);
    // Containers get Docker's umask, not the one berthd was started with.
    let o = d.run_rm(Cli::Berth, &[], &["sh", "-c", "umask"]).ok();
    assert_eq!(o.out(), "0022", "{o:?}");
}
