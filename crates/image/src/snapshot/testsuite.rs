//! The contract every snapshotter backend meets (as containerd's `core/snapshots/testsuite`):
//! each test below runs once per backend, in `overlay::` and `native::`. Trees are looked
//! at through the mounts a snapshotter hands out, as a container sees them. These tests
//! mount, chown and mknod: they need root.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::mount::{mount_all, unmount};
use super::{open, Backend, Kind, Mount, SnapshotError, Snapshotter, Usage};
use crate::digest::Digest;
use crate::layer_apply::tests::TarBuilder;
use crate::xattr;

macro_rules! suite {
    ($($test:ident),* $(,)?) => {
        mod overlay {
            $(#[test]
            fn $test() {
                super::run(super::Backend::Overlay, stringify!($test), super::$test)
            })*
        }
        mod native {
            $(#[test]
            fn $test() {
                super::run(super::Backend::Native, stringify!($test), super::$test)
            })*
        }
    };
}

suite!(
    prepare_commit_and_view_chains,
    wrong_kinds_and_names_are_refused,
    remove_refuses_a_snapshot_with_children,
    diff_round_trips_through_apply,
    applied_whiteouts_and_opaque_dirs_hide_lower_content,
    usage_counts_what_a_snapshot_adds,
    an_active_snapshot_of_a_killed_process_is_found_and_removable,
    open_removes_unrecorded_trees,
);

/// What a test gets: the snapshotter, its data root, and how to reopen it.
struct Ctx {
    backend: Backend,
    root: PathBuf,
    test: &'static str,
}

impl Ctx {
    fn open(&self) -> Box<dyn Snapshotter> {
        open(&self.root, self.backend).unwrap()
    }
}

fn run(backend: Backend, test: &'static str, f: fn(&Ctx, Box<dyn Snapshotter>)) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the snapshotter suite mounts, chowns and mknods: run it as root"
    );
    let t = tempfile::tempdir().unwrap();
    let ctx = Ctx {
        backend,
        root: t.path().to_path_buf(),
        test,
    };
    let sn = ctx.open();
    let want = match backend {
        Backend::Native => "native",
        _ => "overlay",
    };
    assert_eq!(sn.name(), want);
    f(&ctx, sn);
}

/// A snapshot mounted for the length of a test.
struct Mounted(PathBuf);

impl Mounted {
    fn new(ctx: &Ctx, mounts: &[Mount], name: &str) -> Mounted {
        let at = ctx.root.join("mnt").join(name);
        fs::create_dir_all(&at).unwrap();
        mount_all(mounts, &at).unwrap();
        Mounted(at)
    }
    fn of(ctx: &Ctx, sn: &dyn Snapshotter, key: &str) -> Mounted {
        Mounted::new(ctx, &sn.mounts(key).unwrap(), key)
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        unmount(&self.0).unwrap();
    }
}

/// Commits `files` (path → content; a trailing `/` makes a directory) as `name`.
fn committed(ctx: &Ctx, sn: &dyn Snapshotter, name: &str, parent: Option<&str>, files: &[&str]) {
    let key = format!("{name}-active");
    let mounts = sn.prepare(&key, parent).unwrap();
    {
        let m = Mounted::new(ctx, &mounts, &key);
        for f in files {
            match f.strip_suffix('/') {
                Some(d) => fs::create_dir_all(m.p(d)).unwrap(),
                None => fs::write(m.p(f), f.as_bytes()).unwrap(),
            }
        }
    }
    sn.commit(name, &key).unwrap();
}

fn prepare_commit_and_view_chains(ctx: &Ctx, sn: Box<dyn Snapshotter>) {
    let sn = &*sn;
    committed(ctx, sn, "a", None, &["base", "dir/", "dir/in-a"]);
    let a = sn.stat("a").unwrap();
    assert_eq!((a.kind, a.parent), (Kind::Committed, None));
    assert_eq!(
        sn.stat("a-active").unwrap_err().kind(),
        crate::ErrorKind::NotFound
    );

    committed(ctx, sn, "b", Some("a"), &["top", "dir/in-b"]);
    assert_eq!(sn.stat("b").unwrap().parent.as_deref(), Some("a"));

    // Three deep, deleting something of the first.
    let mounts = sn.prepare("c", Some("b")).unwrap();
    assert_eq!(sn.stat("c").unwrap().kind, Kind::Active);
    {
        let m = Mounted::new(ctx, &mounts, "c");
        assert_eq!(fs::read(m.p("base")).unwrap(), b"base");
        assert_eq!(fs::read(m.p("top")).unwrap(), b"top");
        assert!(m.p("dir/in-a").exists() && m.p("dir/in-b").exists());
        fs::remove_file(m.p("base")).unwrap();
        fs::remove_file(m.p("dir/in-a")).unwrap();
        fs::write(m.p("mine"), b"c").unwrap();
    }
    // Writes went into c alone: a view of b shows b as committed, and refuses writes.
    let v = sn.view("vb", Some("b")).unwrap();
    assert_eq!(sn.stat("vb").unwrap().kind, Kind::View);
    {
        let m = Mounted::new(ctx, &v, "vb");
        assert_eq!(fs::read(m.p("base")).unwrap(), b"base");
        assert!(m.p("dir/in-a").exists() && !m.p("mine").exists());
        let e = fs::write(m.p("new"), b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{e}");
    }
    sn.commit("c-done", "c").unwrap();
    // A view of the top of the chain, mounted twice from its own mounts.
    sn.view("vc", Some("c-done")).unwrap();
    {
        let m = Mounted::of(ctx, sn, "vc");
        assert!(!m.p("base").exists() && !m.p("dir/in-a").exists());
        assert_eq!(fs::read(m.p("mine")).unwrap(), b"c");
        assert_eq!(fs::read(m.p("dir/in-b")).unwrap(), b"dir/in-b");
    }
    // A view with no parent is an empty, read-only tree.
    let v = sn.view("empty", None).unwrap();
    {
        let m = Mounted::new(ctx, &v, "empty");
        assert_eq!(fs::read_dir(&m.0).unwrap().count(), 0);
        assert!(fs::write(m.p("x"), b"").is_err());
    }
    let walked: Vec<(String, Kind, Option<String>)> = sn
        .walk()
        .unwrap()
        .into_iter()
        .map(|i| (i.name, i.kind, i.parent))
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        walked,
        vec![
            ("a".into(), Kind::Committed, None),
            ("b".into(), Kind::Committed, s("a")),
            ("c-done".into(), Kind::Committed, s("b")),
            ("empty".into(), Kind::View, None),
            ("vb".into(), Kind::View, s("b")),
            ("vc".into(), Kind::View, s("c-done")),
        ]
    );
}

fn wrong_kinds_and_names_are_refused(ctx: &Ctx, sn: Box<dyn Snapshotter>) {
    let sn = &*sn;
    committed(ctx, sn, "base", None, &["f"]);
    sn.prepare("work", Some("base")).unwrap();
    sn.view("look", Some("base")).unwrap();
    let kind = |r: Result<Vec<Mount>, SnapshotError>| r.unwrap_err().kind();
    // Keys and names share one namespace.
    assert_eq!(
        kind(sn.prepare("work", None)),
        crate::ErrorKind::AlreadyExists
    );
    assert_eq!(kind(sn.view("base", None)), crate::ErrorKind::AlreadyExists);
    // Only committed snapshots are parents.
    assert_eq!(
        kind(sn.prepare("x", Some("work"))),
        crate::ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(sn.view("x", Some("look"))),
        crate::ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(sn.prepare("x", Some("nope"))),
        crate::ErrorKind::NotFound
    );
    // Only active snapshots commit, and to a free name.
    let e = sn.commit("y", "look").unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{e}");
    assert_eq!(
        sn.commit("z", "base").unwrap_err().kind(),
        crate::ErrorKind::InvalidArgument
    );
    assert_eq!(
        sn.commit("base", "work").unwrap_err().kind(),
        crate::ErrorKind::AlreadyExists
    );
    assert_eq!(
        sn.commit("q", "nope").unwrap_err().kind(),
        crate::ErrorKind::NotFound
    );
    // A committed snapshot is not mounted, only its views and children are.
    assert!(sn.mounts("base").is_err());
    // Nothing of the refused calls was left.
    let names: Vec<String> = sn.walk().unwrap().into_iter().map(|i| i.name).collect();
    assert_eq!(names, vec!["base", "look", "work"]);
    assert_eq!(sn.stat("work").unwrap().kind, Kind::Active);
    let e = sn
        .apply("look", &mut &TarBuilder::new().build()[..])
        .unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
}

fn remove_refuses_a_snapshot_with_children(ctx: &Ctx, sn: Box<dyn Snapshotter>) {
    let sn = &*sn;
    committed(ctx, sn, "a", None, &["f"]);
    committed(ctx, sn, "b", Some("a"), &["g"]);
    sn.prepare("c", Some("b")).unwrap();
    sn.view("v", Some("a")).unwrap();
    for parent in ["a", "b"] {
        let e = sn.remove(parent).unwrap_err();
        assert!(matches!(e, SnapshotError::HasChildren { .. }), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::Conflict);
    }
    assert_eq!(sn.stat("a").unwrap().kind, Kind::Committed);
    for key in ["c", "b", "v", "a"] {
        sn.remove(key).unwrap();
    }
    assert!(sn.walk().unwrap().is_empty());
    assert_eq!(
        sn.remove("a").unwrap_err().kind(),
        crate::ErrorKind::NotFound
    );
    // Their trees are gone from the disk too.
    let trees = ctx.root.join("snapshots/snapshots");
    assert_eq!(fs::read_dir(&trees).unwrap().count(), 0);
}

/// Builds a base with every kind of entry, changes it every way through a mount, and
/// checks the diff, applied onto the same base, gives the same tree.
fn diff_round_trips_through_apply(ctx: &Ctx, sn: Box<dyn Snapshotter>) {
    let sn = &*sn;
    let mounts = sn.prepare("base-active", None).unwrap();
    {
        let m = Mounted::new(ctx, &mounts, "base");
        fs::create_dir_all(m.p("etc/sub")).unwrap();
        fs::write(m.p("etc/keep"), b"keep").unwrap();
        fs::write(m.p("etc/edit"), b"old").unwrap();
        fs::write(m.p("etc/chmod"), b"m").unwrap();
        fs::write(m.p("etc/chown"), b"o").unwrap();
        fs::write(m.p("etc/gone"), b"g").unwrap();
        fs::write(m.p("etc/sub/deep"), b"d").unwrap();
        fs::write(m.p("to-link"), b"becomes a symlink").unwrap();
        fs::create_dir_all(m.p("tree/a/b")).unwrap();
        fs::write(m.p("tree/a/b/c"), b"c").unwrap();
        fs::create_dir_all(m.p("opq/old")).unwrap();
        fs::write(m.p("opq/old/f"), b"f").unwrap();
        fs::write(m.p("opq/file"), b"f").unwrap();
        fs::write(m.p("lower-linked"), b"shared").unwrap();
        xattr::lset(&m.p("etc/keep"), "user.base", b"b").unwrap();
        std::os::unix::fs::symlink("etc/keep", m.p("sym")).unwrap();
    }
    sn.commit("base", "base-active").unwrap();

    let mounts = sn.prepare("changed", Some("base")).unwrap();
    let m = Mounted::new(ctx, &mounts, "changed");
    fs::write(m.p("etc/edit"), b"new content").unwrap();
    fs::set_permissions(m.p("etc/chmod"), fs::Permissions::from_mode(0o4750)).unwrap();
    std::os::unix::fs::lchown(m.p("etc/chown"), Some(1000), Some(1001)).unwrap();
    fs::remove_file(m.p("etc/gone")).unwrap();
    fs::remove_dir_all(m.p("tree")).unwrap();
    fs::remove_file(m.p("to-link")).unwrap();
    std::os::unix::fs::symlink("/etc/keep", m.p("to-link")).unwrap();
    // Replaced wholesale: overlay marks it opaque.
    fs::remove_dir_all(m.p("opq")).unwrap();
    fs::create_dir(m.p("opq")).unwrap();
    fs::write(m.p("opq/fresh"), b"fresh").unwrap();
    fs::create_dir(m.p("private")).unwrap();
    fs::set_permissions(m.p("private"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(m.p("private/x"), b"x").unwrap();
    std::os::unix::fs::lchown(m.p("private/x"), Some(33), Some(33)).unwrap();
    fs::write(m.p("etc/sub/added"), b"added").unwrap();
    xattr::lset(&m.p("etc/sub/added"), "user.mime", b"text/plain").unwrap();
    xattr::lset(&m.p("etc/keep"), "user.later", b"l").unwrap();
    fs::write(m.p("h1"), b"hard").unwrap();
    fs::hard_link(m.p("h1"), m.p("h2")).unwrap();
    fs::hard_link(m.p("lower-linked"), m.p("new-link")).unwrap();
    nix::unistd::mkfifo(
        &m.p("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o640),
    )
    .unwrap();
    nix::sys::stat::mknod(
        &m.p("null"),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o666),
        libc::makedev(1, 3),
    )
    .unwrap();

    let mut tar = Vec::new();
    sn.diff("changed", &mut tar).unwrap();
    let names = tar_names(&tar);
    for want in ["etc/.wh.gone", ".wh.tree", "etc/edit", "h2", "null", "fifo"] {
        assert!(names.contains(want), "{want} not in the diff: {names:?}");
    }
    assert!(!names.iter().any(|n| n.starts_with("tree/")), "{names:?}");
    if sn.name() == "overlay" {
        assert!(names.contains("opq/.wh..wh..opq"), "{names:?}");
    } else {
        assert!(
            names.contains("opq/.wh.old") && names.contains("opq/.wh.file"),
            "{names:?}"
        );
    }
    let needle = b"trusted.overlay";
    assert!(
        !tar.windows(needle.len()).any(|w| w == needle),
        "overlay's own xattrs leaked into the layer"
    );

    sn.prepare("rebuilt", Some("base")).unwrap();
    let applied = sn.apply("rebuilt", &mut &tar[..]).unwrap();
    assert_eq!(applied.diff_id, Digest::of(&tar));
    sn.commit("rebuilt-done", "rebuilt").unwrap();
    sn.view("rebuilt-view", Some("rebuilt-done")).unwrap();
    let r = Mounted::of(ctx, sn, "rebuilt-view");
    let (mut want, got) = (describe(&m.0), describe(&r.0));
    assert_eq!(want.entries.len(), 20, "{want:?}");
    if sn.name() == "native" {
        // A new link to a file the parent has already: the compared trees show only the
        // new name, which the layer carries as a copy (as Docker's naive differ does).
        let pair = vec![PathBuf::from("lower-linked"), PathBuf::from("new-link")];
        assert!(want.links.remove(&pair), "{:?}", want.links);
    }
    assert_eq!(got, want);
}

/// Applied layers hide lower content with whiteouts and opaque dirs, and no archive
/// makes a directory opaque through overlayfs's own xattr.
fn applied_whiteouts_and_opaque_dirs_hide_lower_content(ctx: &Ctx, sn: Box<dyn Snapshotter>) {
    let sn = &*sn;
    committed(
        ctx,
        sn,
        "base",
        None,
        &["a/", "a/gone", "a/kept", "o/", "o/old", "x/", "x/f"],
    );
    let layer = TarBuilder::new()
        .file("a/.wh.gone", b"")
        .dir("o/")
        .file("o/.wh..wh..opq", b"")
        .file("o/new", b"n")
        .pax(&[("SCHILY.xattr.trusted.overlay.opaque", b"y")])
        .dir("x/")
        .build();
    sn.prepare("top", Some("base")).unwrap();
    sn.apply("top", &mut &layer[..]).unwrap();
    let m = Mounted::of(ctx, sn, "top");
    assert!(!m.p("a/gone").exists());
    assert!(m.p("a/kept").exists());
    assert!(!m.p("o/old").exists());
    assert_eq!(fs::read(m.p("o/new")).unwrap(), b"n");
    assert!(
        m.p("x/f").exists(),
        "an archive's trusted.overlay.opaque hid x/f"
    );
    assert_eq!(xattr::lget(&m.p("x"), xattr::OVERLAY_OPAQUE).unwrap(), None);
}

fn usage_counts_what_a_snapshot_adds(ctx: &Ctx, sn: Box<dyn Snapshotter>) {
    let sn = &*sn;
    let mounts = sn.prepare("u", None).unwrap();
    {
        let m = Mounted::new(ctx, &mounts, "u");
        fs::create_dir(m.p("d")).unwrap();
        fs::write(m.p("d/big"), vec![7u8; 1000]).unwrap();
        fs::write(m.p("small"), vec![1u8; 24]).unwrap();
        fs::hard_link(m.p("d/big"), m.p("big-again")).unwrap();
        std::os::unix::fs::symlink("small", m.p("sym")).unwrap();
    }
    let want = Usage {
        size: 1024,
        inodes: 4,
    };
    assert_eq!(sn.usage("u").unwrap(), want);
    sn.commit("u-done", "u").unwrap();
    assert_eq!(sn.usage("u-done").unwrap(), want);

    let mounts = sn.prepare("child", Some("u-done")).unwrap();
    assert_eq!(sn.usage("child").unwrap(), Usage::default());
    {
        let m = Mounted::new(ctx, &mounts, "child");
        fs::write(m.p("new"), vec![0u8; 100]).unwrap();
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(m.p("small"))
            .unwrap();
        std::io::Write::write_all(&mut f, &[2u8; 6]).unwrap();
    }
    assert_eq!(
        sn.usage("child").unwrap(),
        Usage {
            size: 130,
            inodes: 2
        }
    );
    assert_eq!(
        sn.usage("nope").unwrap_err().kind(),
        crate::ErrorKind::NotFound
    );
}

const CRASH_ROOT: &str = "BERTH_TEST_SNAPSHOT_CRASH_ROOT";

/// Another process prepares a snapshot, writes into it and is SIGKILLed: the snapshot is
/// there for walk, its content as written, and it is removable.
fn an_active_snapshot_of_a_killed_process_is_found_and_removable(
    ctx: &Ctx,
    sn: Box<dyn Snapshotter>,
) {
    drop(sn);
    if let Ok(root) = std::env::var(CRASH_ROOT) {
        // The child, run by the parent below: its own temporary root goes now, as no
        // destructor runs after the kill.
        fs::remove_dir_all(&ctx.root).unwrap();
        let sn = open(Path::new(&root), ctx.backend).unwrap();
        let mounts = sn.prepare("killed", Some("base")).unwrap();
        let dir = mounts[0].writable_dir().unwrap();
        fs::write(dir.join("half"), b"written before the kill").unwrap();
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL).unwrap();
        unreachable!("SIGKILL returned");
    }
    let backend = match ctx.backend {
        Backend::Native => "native",
        _ => "overlay",
    };
    let shared = ctx.root.join("shared");
    fs::create_dir(&shared).unwrap();
    {
        let parent = open(&shared, ctx.backend).unwrap();
        committed(ctx, parent.as_ref(), "base", None, &["f"]);
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &format!("snapshot::testsuite::{backend}::{}", ctx.test),
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CRASH_ROOT, &shared)
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");

    let sn = open(&shared, ctx.backend).unwrap();
    let info = sn.stat("killed").unwrap();
    assert_eq!(
        (info.kind, info.parent.as_deref()),
        (Kind::Active, Some("base"))
    );
    assert!(sn.walk().unwrap().iter().any(|i| i.name == "killed"));
    {
        let m = Mounted::of(ctx, sn.as_ref(), "killed");
        assert_eq!(fs::read(m.p("half")).unwrap(), b"written before the kill");
        assert_eq!(fs::read(m.p("f")).unwrap(), b"f");
    }
    sn.remove("killed").unwrap();
    sn.remove("base").unwrap();
    let trees = shared.join("snapshots/snapshots");
    assert_eq!(fs::read_dir(&trees).unwrap().count(), 0);
}

/// What a crash between a tree's making and its record (or a record's removal and its
/// tree's) leaves is deleted when the store opens again.
fn open_removes_unrecorded_trees(ctx: &Ctx, sn: Box<dyn Snapshotter>) {
    committed(ctx, sn.as_ref(), "kept", None, &["f"]);
    drop(sn);
    let store = ctx.root.join("snapshots");
    for leftover in [
        "snapshots/999/fs",
        "new-1-2-3/fs",
        "rm-4-5-6/fs",
        "unpack.tmp-7/fs",
    ] {
        fs::create_dir_all(store.join(leftover)).unwrap();
        fs::write(store.join(leftover).join("file"), b"x").unwrap();
    }
    let sn = ctx.open();
    for leftover in ["snapshots/999", "new-1-2-3", "rm-4-5-6", "unpack.tmp-7"] {
        assert!(!store.join(leftover).exists(), "{leftover} survived");
    }
    sn.view("look", Some("kept")).unwrap();
    let m = Mounted::of(ctx, sn.as_ref(), "look");
    assert_eq!(fs::read(m.p("f")).unwrap(), b"f");
}

fn tar_names(tar: &[u8]) -> BTreeSet<String> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            e.path()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string()
        })
        .collect()
}

/// A tree as a container sees it: each path's type, mode, owner, content or target,
/// device, xattrs and (but for directories, whose times follow their content) mtime, and
/// which paths share an inode.
#[derive(Debug, PartialEq, Eq)]
struct Tree {
    entries: BTreeMap<PathBuf, String>,
    links: BTreeSet<Vec<PathBuf>>,
}

fn describe(root: &Path) -> Tree {
    let mut t = Tree {
        entries: BTreeMap::new(),
        links: BTreeSet::new(),
    };
    let mut inodes: HashMap<u64, Vec<PathBuf>> = HashMap::new();
    walk(root, Path::new(""), &mut t, &mut inodes);
    t.links = inodes
        .into_values()
        .filter(|v| v.len() > 1)
        .map(|mut v| {
            v.sort();
            v
        })
        .collect();
    t
}

fn walk(dir: &Path, rel: &Path, t: &mut Tree, inodes: &mut HashMap<u64, Vec<PathBuf>>) {
    let mut names: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for n in names {
        let (p, r) = (dir.join(&n), rel.join(&n));
        let md = fs::symlink_metadata(&p).unwrap();
        let ft = md.file_type();
        let what = if ft.is_dir() {
            "dir".to_string()
        } else if ft.is_symlink() {
            format!("symlink -> {}", fs::read_link(&p).unwrap().display())
        } else if ft.is_file() {
            let mut s = String::new();
            fs::File::open(&p).unwrap().read_to_string(&mut s).unwrap();
            format!("file {s:?} mtime {}", md.mtime())
        } else if ft.is_fifo() {
            format!("fifo mtime {}", md.mtime())
        } else {
            format!("device {:x} mtime {}", md.rdev(), md.mtime())
        };
        let xattrs = xattr::portable(&p).unwrap();
        t.entries.insert(
            r.clone(),
            format!(
                "{what} mode {:o} owner {}:{} xattrs {xattrs:?}",
                md.mode() & 0o7777,
                md.uid(),
                md.gid()
            ),
        );
        if !ft.is_dir() {
            inodes.entry(md.ino()).or_default().push(r.clone());
        }
        if ft.is_dir() {
            walk(&p, &r, t, inodes);
        }
    }
}

#[test]
fn a_store_keeps_its_backend() {
    let t = tempfile::tempdir().unwrap();
    drop(open(t.path(), Backend::Native).unwrap());
    assert_eq!(open(t.path(), Backend::Auto).unwrap().name(), "native");
    let e = open(t.path(), Backend::Overlay).err().unwrap();
    assert!(matches!(e, SnapshotError::OtherBackend { .. }), "{e}");
}
