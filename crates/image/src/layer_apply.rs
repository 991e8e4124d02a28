//! Unpack a layer tar (plain or gzip) into a directory with OCI/Docker
//! semantics: whiteouts, hardlinks, symlinks, devices, ownership, modes, mtimes
//! and xattrs, computing the layer's diff_id (sha256 of the uncompressed tar).
//!
//! Security: every entry is created relative to a directory fd that was reached
//! from the target root by `openat(O_NOFOLLOW|O_DIRECTORY)` one component at a
//! time, so `..`, absolute paths and symlinks (whether made by this archive or
//! found in the target) can never lead a write outside the target. Parent
//! components that are symlinks are refused outright; a final component that
//! exists is replaced, never written through.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{
    fchmodat, fstatat, mkdirat, mknodat, utimensat, FchmodatFlags, Mode, SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, linkat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};

use crate::digest::{Digest, HashingReader};
use crate::xattr;

const WHITEOUT_PREFIX: &str = ".wh.";
const WHITEOUT_META_PREFIX: &str = ".wh..wh.";
const WHITEOUT_OPAQUE: &str = ".wh..wh..opq";

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("invalid tar entry {path:?}: path escapes the target directory")]
    PathEscape { path: PathBuf },
    #[error("invalid tar entry {path:?}: refusing to follow symlink {component:?}")]
    SymlinkInPath { path: PathBuf, component: PathBuf },
    #[error("invalid tar entry {path:?}: {component:?} is not a directory")]
    NotADirectory { path: PathBuf, component: PathBuf },
    #[error("invalid tar entry {path:?}: {reason}")]
    InvalidEntry { path: PathBuf, reason: String },
    #[error("unsupported layer compression: {0}")]
    UnsupportedCompression(&'static str),
    #[error("invalid layer archive: {source}")]
    Archive {
        #[source]
        source: io::Error,
    },
    #[error("layer diff_id mismatch: expected {expected}, got {actual}")]
    DiffIdMismatch { expected: Digest, actual: Digest },
    #[error("{op} {path:?}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl LayerError {
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            LayerError::Io { .. } => crate::ErrorKind::Internal,
            _ => crate::ErrorKind::InvalidArgument,
        }
    }
}

fn sys(op: &'static str, path: &Path) -> impl FnOnce(Errno) -> LayerError {
    let path = path.to_path_buf();
    move |e| LayerError::Io {
        op,
        path,
        source: io::Error::from(e),
    }
}

/// What to do with whiteout entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// Unpacking into the layer's own directory for overlayfs: `.wh.x` becomes a
    /// 0:0 character device `x`, `.wh..wh..opq` the xattr `trusted.overlay.opaque=y`.
    Overlay,
    /// Applying onto the merged tree of the lower layers: whiteouts delete.
    Apply,
}

/// Result of unpacking one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// sha256 of the uncompressed tar stream.
    pub diff_id: Digest,
    /// Bytes of the uncompressed tar stream.
    pub tar_size: u64,
    /// Bytes of regular-file content written (Docker's layer "Size").
    pub size: u64,
}

/// Wraps `reader` in a decompressor chosen by the stream's magic bytes.
pub fn decompress<'a, R: Read + 'a>(mut reader: R) -> Result<Box<dyn Read + 'a>, LayerError> {
    let mut head = Vec::with_capacity(6);
    let mut buf = [0u8; 6];
    while head.len() < 6 {
        let n = reader
            .read(&mut buf[..6 - head.len()])
            .map_err(|source| LayerError::Archive { source })?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let kind = if head.starts_with(&[0x1f, 0x8b]) {
        "gzip"
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "zstd"
    } else if head.starts_with(b"BZh") {
        return Err(LayerError::UnsupportedCompression("bzip2"));
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return Err(LayerError::UnsupportedCompression("xz"));
    } else {
        "plain"
    };
    let stream = Cursor::new(head).chain(reader);
    Ok(match kind {
        "gzip" => Box::new(flate2::read::MultiGzDecoder::new(stream)),
        "zstd" => Box::new(
            zstd::stream::read::Decoder::new(stream)
                .map_err(|source| LayerError::Archive { source })?,
        ),
        _ => Box::new(stream),
    })
}

/// Unpacks a (possibly compressed) layer tar into `target`, which must exist.
pub fn apply_layer<R: Read>(
    reader: R,
    target: &Path,
    mode: WhiteoutMode,
) -> Result<Applied, LayerError> {
    let plain = decompress(reader)?;
    let mut hashing = HashingReader::new(plain);
    let mut applier = Applier::new(target, mode)?;
    {
        let mut archive = tar::Archive::new(&mut hashing);
        let entries = archive
            .entries()
            .map_err(|source| LayerError::Archive { source })?;
        for entry in entries {
            let mut entry = entry.map_err(|source| LayerError::Archive { source })?;
            applier.entry(&mut entry)?;
        }
    }
    applier.finish();
    let (diff_id, tar_size) = hashing
        .finish()
        .map_err(|source| LayerError::Archive { source })?;
    Ok(Applied {
        diff_id,
        tar_size,
        size: applier.size,
    })
}

/// Turns an archive path into plain components: leading `/` and `.` are
/// dropped (they are relative to the target), `..` is refused.
fn clean_components(path: &Path) -> Result<Vec<OsString>, LayerError> {
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_os_string()),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(LayerError::PathEscape {
                    path: path.to_path_buf(),
                })
            }
        }
    }
    Ok(out)
}

fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: `fd` was just returned by a successful open call and is owned by nobody else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn proc_path(dir: &OwnedFd, name: &OsStr) -> PathBuf {
    let mut p = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    if !name.is_empty() {
        p.push(name);
    }
    p
}

/// Sets an xattr on `name` inside `dir` (the directory itself when `name` is empty),
/// never following a final symlink.
fn set_xattr_at(dir: &OwnedFd, name: &OsStr, key: &str, value: &[u8]) -> io::Result<()> {
    // `.` makes the directory, not the /proc magic link, the target.
    let name = if name.is_empty() {
        OsStr::new(".")
    } else {
        name
    };
    crate::xattr::lset(&proc_path(dir, name), key, value)
}

/// Removes `name` inside `dir` (recursively for directories), never following
/// symlinks. Missing is fine.
pub(crate) fn remove_at(dir: &OwnedFd, name: &OsStr) -> io::Result<()> {
    let st = match fstatat(Some(dir.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
        // std's remove_dir_all does not follow symlinks inside the tree.
        std::fs::remove_dir_all(proc_path(dir, name))
    } else {
        unlinkat(Some(dir.as_raw_fd()), name, UnlinkatFlags::NoRemoveDir).map_err(Into::into)
    }
}

/// Opens directory `name` in `dir`, refusing symlinks; creates it if asked.
fn open_dir_at(
    dir: &OwnedFd,
    name: &OsStr,
    create: bool,
    entry: &Path,
    so_far: &Path,
) -> Result<OwnedFd, LayerError> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match openat(Some(dir.as_raw_fd()), name, flags, Mode::empty()) {
        Ok(fd) => Ok(owned(fd)),
        Err(Errno::ENOENT) if create => {
            match mkdirat(Some(dir.as_raw_fd()), name, Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(sys("mkdir", so_far)(e)),
            }
            openat(Some(dir.as_raw_fd()), name, flags, Mode::empty())
                .map(owned)
                .map_err(sys("open", so_far))
        }
        Err(Errno::ELOOP) | Err(Errno::ENOTDIR) => {
            let is_link = fstatat(Some(dir.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK)
                .unwrap_or(false);
            if is_link {
                Err(LayerError::SymlinkInPath {
                    path: entry.to_path_buf(),
                    component: so_far.to_path_buf(),
                })
            } else {
                Err(LayerError::NotADirectory {
                    path: entry.to_path_buf(),
                    component: so_far.to_path_buf(),
                })
            }
        }
        Err(e) => Err(sys("open", so_far)(e)),
    }
}

struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: i64,
    xattrs: Vec<(String, Vec<u8>)>,
}

struct Applier {
    root: OwnedFd,
    root_path: PathBuf,
    mode: WhiteoutMode,
    /// Directory mtimes are set last: creating children would change them.
    dir_times: Vec<(Vec<OsString>, i64)>,
    /// Paths this layer wrote, so an opaque whiteout (Apply mode) keeps them.
    unpacked: HashSet<Vec<OsString>>,
    /// Last parent directory opened, reused by the next entry in the same dir.
    cache: Option<(Vec<OsString>, OwnedFd)>,
    size: u64,
    is_root: bool,
}

/// A numeric header field; an empty one (all NUL or spaces) reads as 0, as Go's tar reader
/// (and so `docker import`) reads it.
fn numeric(parsed: std::io::Result<u64>, raw: &[u8]) -> Option<u64> {
    match parsed {
        Ok(v) => Some(v),
        Err(_) if raw.iter().all(|b| *b == 0 || *b == b' ') => Some(0),
        Err(_) => None,
    }
}

impl Applier {
    fn new(target: &Path, mode: WhiteoutMode) -> Result<Applier, LayerError> {
        let fd = openat(
            None,
            target,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(sys("open", target))?;
        Ok(Applier {
            root: owned(fd),
            root_path: target.to_path_buf(),
            mode,
            dir_times: Vec::new(),
            unpacked: HashSet::new(),
            cache: None,
            size: 0,
            is_root: nix::unistd::geteuid().is_root(),
        })
    }

    fn full(&self, comps: &[OsString]) -> PathBuf {
        let mut p = self.root_path.clone();
        p.extend(comps);
        p
    }

    /// Walks `comps` from the root one directory at a time.
    fn open_parent(
        &mut self,
        comps: &[OsString],
        create: bool,
        entry: &Path,
    ) -> Result<OwnedFd, LayerError> {
        if let Some((cached, fd)) = &self.cache {
            if cached.as_slice() == comps {
                return fd.try_clone().map_err(|source| LayerError::Io {
                    op: "dup",
                    path: self.full(comps),
                    source,
                });
            }
        }
        let mut cur = self.root.try_clone().map_err(|source| LayerError::Io {
            op: "dup",
            path: self.root_path.clone(),
            source,
        })?;
        let mut so_far = PathBuf::new();
        for c in comps {
            so_far.push(c);
            cur = open_dir_at(&cur, c, create, entry, &so_far)?;
        }
        if let Ok(dup) = cur.try_clone() {
            self.cache = Some((comps.to_vec(), dup));
        }
        Ok(cur)
    }

    fn remove(&mut self, dir: &OwnedFd, name: &OsStr, path: &Path) -> Result<(), LayerError> {
        self.cache = None;
        remove_at(dir, name).map_err(|source| LayerError::Io {
            op: "remove",
            path: path.to_path_buf(),
            source,
        })
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), LayerError> {
        let raw_path = entry
            .path()
            .map_err(|source| LayerError::Archive { source })?
            .into_owned();
        let comps = clean_components(&raw_path)?;
        let header = entry.header();
        let kind = header.entry_type();
        let invalid = |reason: &str| LayerError::InvalidEntry {
            path: raw_path.clone(),
            reason: reason.to_string(),
        };
        let mut meta = Meta {
            mode: header.mode().map_err(|_| invalid("bad mode"))? & 0o7777,
            uid: numeric(header.uid(), &header.as_old().uid).ok_or_else(|| invalid("bad uid"))?
                as u32,
            gid: numeric(header.gid(), &header.as_old().gid).ok_or_else(|| invalid("bad gid"))?
                as u32,
            mtime: numeric(header.mtime(), &header.as_old().mtime)
                .ok_or_else(|| invalid("bad mtime"))? as i64,
            xattrs: Vec::new(),
        };
        let link_name = entry
            .link_name()
            .map_err(|source| LayerError::Archive { source })?
            .map(|l| l.into_owned());
        let dev = match kind {
            tar::EntryType::Char | tar::EntryType::Block => {
                let major = header
                    .device_major()
                    .ok()
                    .flatten()
                    .ok_or_else(|| invalid("bad device number"))?;
                let minor = header
                    .device_minor()
                    .ok()
                    .flatten()
                    .ok_or_else(|| invalid("bad device number"))?;
                libc::makedev(major, minor)
            }
            _ => 0,
        };
        if let Some(pax) = entry
            .pax_extensions()
            .map_err(|source| LayerError::Archive { source })?
        {
            for ext in pax {
                let ext = ext.map_err(|source| LayerError::Archive { source })?;
                let Ok(key) = ext.key() else { continue };
                let value = ext.value_bytes();
                let num = || std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                if let Some(x) = key.strip_prefix("SCHILY.xattr.") {
                    // Overlay's own xattrs would let an archive redirect lookups.
                    if !x.starts_with(xattr::OVERLAY_PREFIX) {
                        meta.xattrs.push((x.to_string(), value.to_vec()));
                    }
                } else if key == "uid" {
                    meta.uid = num().unwrap_or(meta.uid);
                } else if key == "gid" {
                    meta.gid = num().unwrap_or(meta.gid);
                }
            }
        }

        // The root directory itself ("./").
        let Some((name, parent_comps)) = comps.split_last() else {
            if !kind.is_dir() {
                return Err(invalid("the root entry must be a directory"));
            }
            let root = self.root.try_clone().map_err(|source| LayerError::Io {
                op: "dup",
                path: self.root_path.clone(),
                source,
            })?;
            self.set_meta(&root, OsStr::new(""), &meta, false)?;
            self.dir_times.push((Vec::new(), meta.mtime));
            return Ok(());
        };
        let name_str = name.to_string_lossy();
        let full = self.full(&comps);

        if let Some(hidden) = name_str.strip_prefix(WHITEOUT_PREFIX) {
            let parent = self.open_parent(parent_comps, true, &raw_path)?;
            return self.whiteout(&parent, parent_comps, hidden, &full);
        }

        let parent = self.open_parent(parent_comps, true, &raw_path)?;
        let pfd = Some(parent.as_raw_fd());

        // Replace whatever is there, except merge a directory into a directory.
        match fstatat(pfd, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => {
                let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
                if !(is_dir && kind.is_dir()) {
                    self.remove(&parent, name, &full)?;
                }
            }
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(sys("stat", &full)(e)),
        }

        let mut is_symlink = false;
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let fd = openat(
                    pfd,
                    name.as_os_str(),
                    OFlag::O_CREAT
                        | OFlag::O_EXCL
                        | OFlag::O_WRONLY
                        | OFlag::O_NOFOLLOW
                        | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(sys("create", &full))?;
                let mut file = File::from(owned(fd));
                let n = io::copy(entry, &mut file).map_err(|source| LayerError::Io {
                    op: "write",
                    path: full.clone(),
                    source,
                })?;
                self.size += n;
            }
            tar::EntryType::Directory => {
                match mkdirat(pfd, name.as_os_str(), Mode::from_bits_truncate(0o700)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => return Err(sys("mkdir", &full)(e)),
                }
                self.dir_times.push((comps.clone(), meta.mtime));
            }
            tar::EntryType::Symlink => {
                let target = link_name.ok_or_else(|| invalid("symlink without target"))?;
                symlinkat(&target, pfd, name.as_os_str()).map_err(sys("symlink", &full))?;
                is_symlink = true;
            }
            tar::EntryType::Link => {
                let target = link_name.ok_or_else(|| invalid("hardlink without target"))?;
                let tcomps = clean_components(&target)?;
                let Some((tname, tparent)) = tcomps.split_last() else {
                    return Err(invalid("hardlink to the root directory"));
                };
                let tdir = self.open_parent(tparent, false, &raw_path)?;
                linkat(
                    Some(tdir.as_raw_fd()),
                    tname.as_os_str(),
                    pfd,
                    name.as_os_str(),
                    AtFlags::empty(),
                )
                .map_err(sys("link", &full))?;
                self.unpacked.insert(comps);
                // A hardlink shares the target's inode and metadata.
                return Ok(());
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let sflag = match kind {
                    tar::EntryType::Char => SFlag::S_IFCHR,
                    tar::EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                mknodat(
                    pfd,
                    name.as_os_str(),
                    sflag,
                    Mode::from_bits_truncate(0o600),
                    dev,
                )
                .map_err(sys("mknod", &full))?;
            }
            other => {
                tracing::warn!(path = %raw_path.display(), kind = ?other, "skipping unsupported tar entry type");
                return Ok(());
            }
        }
        self.set_meta(&parent, name, &meta, is_symlink)?;
        if !kind.is_dir() {
            let t = TimeSpec::new(meta.mtime, 0);
            utimensat(
                pfd,
                name.as_os_str(),
                &t,
                &t,
                UtimensatFlags::NoFollowSymlink,
            )
            .map_err(sys("set times on", &full))?;
        }
        self.unpacked.insert(comps);
        Ok(())
    }

    fn whiteout(
        &mut self,
        parent: &OwnedFd,
        parent_comps: &[OsString],
        hidden: &str,
        full: &Path,
    ) -> Result<(), LayerError> {
        let pfd = Some(parent.as_raw_fd());
        let opaque = format!("{WHITEOUT_PREFIX}{hidden}") == WHITEOUT_OPAQUE;
        match (self.mode, opaque) {
            (WhiteoutMode::Overlay, true) => {
                set_xattr_at(parent, OsStr::new(""), xattr::OVERLAY_OPAQUE, b"y").map_err(
                    |source| LayerError::Io {
                        op: "set opaque xattr on",
                        path: self.full(parent_comps),
                        source,
                    },
                )
            }
            (WhiteoutMode::Apply, true) => {
                // Hide everything below this directory that lower layers put there.
                let dir = proc_path(parent, OsStr::new(""));
                let children = std::fs::read_dir(&dir).map_err(|source| LayerError::Io {
                    op: "read dir",
                    path: self.full(parent_comps),
                    source,
                })?;
                for child in children {
                    let child = child.map_err(|source| LayerError::Io {
                        op: "read dir",
                        path: self.full(parent_comps),
                        source,
                    })?;
                    let mut c = parent_comps.to_vec();
                    c.push(child.file_name());
                    if !self.unpacked.contains(&c) {
                        let p = self.full(&c);
                        self.remove(parent, &child.file_name(), &p)?;
                    }
                }
                Ok(())
            }
            // Other `.wh..wh.*` names are aufs bookkeeping: nothing to do.
            (_, false)
                if format!("{WHITEOUT_PREFIX}{hidden}").starts_with(WHITEOUT_META_PREFIX) =>
            {
                Ok(())
            }
            (mode, false) => {
                if hidden.is_empty() || hidden == "." || hidden == ".." || hidden.contains('/') {
                    return Err(LayerError::InvalidEntry {
                        path: full.to_path_buf(),
                        reason: "invalid whiteout name".to_string(),
                    });
                }
                let hidden = OsStr::new(hidden);
                let mut target = full.to_path_buf();
                target.set_file_name(hidden);
                self.remove(parent, hidden, &target)?;
                if mode == WhiteoutMode::Overlay {
                    mknodat(pfd, hidden, SFlag::S_IFCHR, Mode::empty(), 0)
                        .map_err(sys("mknod whiteout", &target))?;
                    fchownat(
                        pfd,
                        hidden,
                        Some(Uid::from_raw(0)),
                        Some(Gid::from_raw(0)),
                        AtFlags::AT_SYMLINK_NOFOLLOW,
                    )
                    .map_err(sys("chown", &target))?;
                }
                Ok(())
            }
        }
    }

    fn set_meta(
        &self,
        dir: &OwnedFd,
        name: &OsStr,
        meta: &Meta,
        is_symlink: bool,
    ) -> Result<(), LayerError> {
        let path = || {
            let mut p = PathBuf::from(&self.root_path);
            p.push(name);
            p
        };
        let dfd = Some(dir.as_raw_fd());
        // Empty name means the directory itself (the root entry).
        let at_name: &OsStr = if name.is_empty() {
            OsStr::new(".")
        } else {
            name
        };
        match fchownat(
            dfd,
            at_name,
            Some(Uid::from_raw(meta.uid)),
            Some(Gid::from_raw(meta.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(()) => {}
            // Unprivileged callers (tests as non-root) keep their own ownership.
            Err(Errno::EPERM) if !self.is_root => {}
            Err(e) => return Err(sys("chown", &path())(e)),
        }
        // chmod after chown: chown clears setuid/setgid bits.
        if !is_symlink {
            fchmodat(
                dfd,
                at_name,
                Mode::from_bits_truncate(meta.mode),
                FchmodatFlags::FollowSymlink,
            )
            .map_err(sys("chmod", &path()))?;
        }
        for (key, value) in &meta.xattrs {
            if let Err(e) = set_xattr_at(dir, name, key, value) {
                tracing::warn!(path = %path().display(), key, error = %e, "cannot set xattr");
            }
        }
        Ok(())
    }

    /// Sets directory mtimes, deepest last-written first. Best effort: a
    /// directory removed by a later whiteout is simply gone.
    fn finish(&mut self) {
        let times = std::mem::take(&mut self.dir_times);
        for (comps, mtime) in times.iter().rev() {
            let t = TimeSpec::new(*mtime, 0);
            let (dir, name) = match comps.split_last() {
                Some((name, parent)) => match self.open_parent(parent, false, Path::new("")) {
                    Ok(d) => (d, name.as_os_str()),
                    Err(_) => continue,
                },
                None => match self.root.try_clone() {
                    Ok(d) => (d, OsStr::new(".")),
                    Err(_) => continue,
                },
            };
            let _ = utimensat(
                Some(dir.as_raw_fd()),
                name,
                &t,
                &t,
                UtimensatFlags::NoFollowSymlink,
            );
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn blank_numeric_fields_read_as_zero() {
        let mut h = tar::Header::new_old();
        h.set_path("f").unwrap();
        h.set_size(2);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        let old = h.as_old_mut();
        old.uid = [0; 8];
        old.gid = [b' '; 8];
        old.mtime = [0; 12];
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b"hi"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        apply_layer(&bytes[..], dir.path(), WhiteoutMode::Apply).unwrap();
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"hi");

        let mut h = tar::Header::new_old();
        h.set_path("g").unwrap();
        h.set_size(0);
        h.as_old_mut().uid = *b"zz\0\0\0\0\0\0";
        h.set_cksum();
        let mut b = tar::Builder::new(Vec::new());
        b.append(&h, &b""[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        assert!(apply_layer(&bytes[..], dir.path(), WhiteoutMode::Apply).is_err());
    }

    /// Builds tar archives in tests.
    pub struct TarBuilder {
        b: tar::Builder<Vec<u8>>,
    }

    impl TarBuilder {
        pub fn new() -> Self {
            TarBuilder {
                b: tar::Builder::new(Vec::new()),
            }
        }
        fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(1_600_000_000);
            h.set_size(0);
            h
        }
        /// Writes the name straight into the header so tests can use `..`.
        fn raw(&mut self, mut h: tar::Header, path: &str, data: &[u8]) {
            let name = &mut h.as_old_mut().name;
            name.fill(0);
            name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_size(data.len() as u64);
            h.set_cksum();
            self.b.append(&h, data).unwrap();
        }
        pub fn dir(mut self, path: &str) -> Self {
            self.raw(Self::header(tar::EntryType::Directory, 0o755), path, b"");
            self
        }
        pub fn file(mut self, path: &str, data: &[u8]) -> Self {
            self.raw(Self::header(tar::EntryType::Regular, 0o644), path, data);
            self
        }
        pub fn file_owned(mut self, path: &str, data: &[u8], mode: u32, uid: u64) -> Self {
            let mut h = Self::header(tar::EntryType::Regular, mode);
            h.set_uid(uid);
            h.set_gid(uid);
            self.raw(h, path, data);
            self
        }
        pub fn symlink(mut self, path: &str, target: &str) -> Self {
            let mut h = Self::header(tar::EntryType::Symlink, 0o777);
            h.set_link_name(target).unwrap();
            self.raw(h, path, b"");
            self
        }
        pub fn hardlink(mut self, path: &str, target: &str) -> Self {
            let mut h = Self::header(tar::EntryType::Link, 0o644);
            h.set_link_name(target).unwrap();
            self.raw(h, path, b"");
            self
        }
        pub fn chardev(mut self, path: &str, major: u32, minor: u32) -> Self {
            let mut h = Self::header(tar::EntryType::Char, 0o666);
            h.set_device_major(major).unwrap();
            h.set_device_minor(minor).unwrap();
            self.raw(h, path, b"");
            self
        }
        pub fn fifo(mut self, path: &str) -> Self {
            self.raw(Self::header(tar::EntryType::Fifo, 0o644), path, b"");
            self
        }
        /// A PAX extended header applying to the next entry.
        pub fn pax(mut self, records: &[(&str, &[u8])]) -> Self {
            let mut data = Vec::new();
            for (k, v) in records {
                let body_len = k.len() + v.len() + 3; // ' ', '=', '\n'
                let mut len = body_len + 1;
                while format!("{len}").len() + body_len != len {
                    len += 1;
                }
                data.extend_from_slice(format!("{len} {k}=").as_bytes());
                data.extend_from_slice(v);
                data.push(b'\n');
            }
            let h = Self::header(tar::EntryType::XHeader, 0o644);
            self.raw(h, "PaxHeaders/x", &data);
            self
        }
        pub fn long_file(mut self, path: &str, data: &[u8]) -> Self {
            let mut h = Self::header(tar::EntryType::Regular, 0o644);
            h.set_size(data.len() as u64);
            self.b.append_data(&mut h, path, data).unwrap();
            self
        }
        pub fn build(self) -> Vec<u8> {
            self.b.into_inner().unwrap()
        }
    }

    pub fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn getxattr(path: &Path, key: &str) -> Option<Vec<u8>> {
        crate::xattr::lget(path, key).unwrap()
    }

    #[test]
    fn unpacks_all_kinds_and_computes_diff_id() {
        let t = tempfile::tempdir().unwrap();
        let tar = TarBuilder::new()
            .dir("./")
            .dir("etc/")
            .file("etc/hostname", b"box\n")
            .file_owned("bin/su", b"x", 0o4755, 1000)
            .symlink("etc/link", "/etc/hostname")
            .hardlink("etc/hard", "etc/hostname")
            .chardev("dev/null", 1, 3)
            .fifo("run/fifo")
            .build();
        let applied = apply_layer(&gzip(&tar)[..], t.path(), WhiteoutMode::Overlay).unwrap();
        assert_eq!(applied.diff_id, Digest::of(&tar));
        assert_eq!(applied.tar_size, tar.len() as u64);
        assert_eq!(applied.size, 5);
        let r = t.path();
        assert_eq!(std::fs::read(r.join("etc/hostname")).unwrap(), b"box\n");
        let su = std::fs::metadata(r.join("bin/su")).unwrap();
        assert_eq!(su.permissions().mode() & 0o7777, 0o4755);
        assert_eq!(su.uid(), 1000);
        assert_eq!(su.mtime(), 1_600_000_000);
        assert_eq!(
            std::fs::read_link(r.join("etc/link")).unwrap(),
            Path::new("/etc/hostname")
        );
        let h1 = std::fs::metadata(r.join("etc/hostname")).unwrap();
        let h2 = std::fs::metadata(r.join("etc/hard")).unwrap();
        assert_eq!(h1.ino(), h2.ino());
        let null = std::fs::metadata(r.join("dev/null")).unwrap();
        assert_eq!(null.rdev(), libc::makedev(1, 3));
        assert_eq!(null.mode() & libc::S_IFMT, libc::S_IFCHR);
        let fifo = std::fs::metadata(r.join("run/fifo")).unwrap();
        assert_eq!(fifo.mode() & libc::S_IFMT, libc::S_IFIFO);
        // Directory mtime set after its children were created.
        assert_eq!(
            std::fs::metadata(r.join("etc")).unwrap().mtime(),
            1_600_000_000
        );
    }

    #[test]
    fn overlay_whiteouts() {
        let t = tempfile::tempdir().unwrap();
        let tar = TarBuilder::new()
            .dir("a/")
            .file("a/.wh.gone", b"")
            .dir("opq/")
            .file("opq/.wh..wh..opq", b"")
            .file("opq/new", b"n")
            .file(".wh..wh.plnk", b"")
            .build();
        apply_layer(&tar[..], t.path(), WhiteoutMode::Overlay).unwrap();
        let wh = std::fs::symlink_metadata(t.path().join("a/gone")).unwrap();
        assert_eq!(wh.mode() & libc::S_IFMT, libc::S_IFCHR);
        assert_eq!(wh.rdev(), 0);
        assert_eq!((wh.uid(), wh.gid()), (0, 0));
        assert_eq!(
            getxattr(&t.path().join("opq"), xattr::OVERLAY_OPAQUE).as_deref(),
            Some(&b"y"[..])
        );
        assert!(t.path().join("opq/new").exists());
        assert!(!t.path().join(".wh..wh.plnk").exists());
    }

    #[test]
    fn apply_mode_whiteouts_delete() {
        let t = tempfile::tempdir().unwrap();
        let l1 = TarBuilder::new()
            .file("a/keep", b"")
            .file("a/gone", b"")
            .file("o/old1", b"")
            .file("o/sub/old2", b"")
            .build();
        apply_layer(&l1[..], t.path(), WhiteoutMode::Apply).unwrap();
        let l2 = TarBuilder::new()
            .file("a/.wh.gone", b"")
            .dir("o/")
            .file("o/new", b"")
            .file("o/.wh..wh..opq", b"")
            .build();
        apply_layer(&l2[..], t.path(), WhiteoutMode::Apply).unwrap();
        assert!(t.path().join("a/keep").exists());
        assert!(!t.path().join("a/gone").exists());
        assert!(t.path().join("o/new").exists());
        assert!(!t.path().join("o/old1").exists());
        assert!(!t.path().join("o/sub").exists());
    }

    #[test]
    fn replaces_existing_entries_without_following() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, b"orig").unwrap();
        // A symlink then a regular file of the same name: the file replaces the link.
        let tar = TarBuilder::new()
            .symlink("f", victim.to_str().unwrap())
            .file("f", b"new")
            .build();
        apply_layer(&tar[..], t.path(), WhiteoutMode::Overlay).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"orig");
        assert_eq!(std::fs::read(t.path().join("f")).unwrap(), b"new");
    }

    #[test]
    fn rejects_parent_dir_escape() {
        let base = tempfile::tempdir().unwrap();
        let target = base.path().join("root");
        std::fs::create_dir(&target).unwrap();
        let tar = TarBuilder::new().file("../evil", b"x").build();
        let e = apply_layer(&tar[..], &target, WhiteoutMode::Overlay).unwrap_err();
        assert!(matches!(e, LayerError::PathEscape { .. }), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        assert!(!base.path().join("evil").exists());
        let tar = TarBuilder::new().file("a/../../evil2", b"x").build();
        assert!(apply_layer(&tar[..], &target, WhiteoutMode::Overlay).is_err());
        assert!(!base.path().join("evil2").exists());
        // Hardlink targets are checked too.
        let tar = TarBuilder::new().hardlink("h", "../../etc/passwd").build();
        assert!(matches!(
            apply_layer(&tar[..], &target, WhiteoutMode::Overlay),
            Err(LayerError::PathEscape { .. })
        ));
    }

    #[test]
    fn rejects_writing_through_symlinks() {
        let target = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let x = outside.path().join("x");
        std::fs::create_dir(&x).unwrap();
        let tar = TarBuilder::new()
            .symlink("a", x.to_str().unwrap())
            .file("a/f", b"pwned")
            .build();
        let e = apply_layer(&tar[..], target.path(), WhiteoutMode::Overlay).unwrap_err();
        assert!(matches!(e, LayerError::SymlinkInPath { .. }), "{e}");
        assert!(!x.join("f").exists());
        // Relative symlinks pointing up are refused the same way.
        let tar = TarBuilder::new()
            .symlink("b", "../../../../../../../../tmp")
            .file("b/f", b"pwned")
            .build();
        assert!(apply_layer(&tar[..], target.path(), WhiteoutMode::Apply).is_err());
        // A symlink already present in the target (from a lower layer) likewise.
        let t2 = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&x, t2.path().join("lib")).unwrap();
        let tar = TarBuilder::new().file("lib/evil", b"x").build();
        assert!(apply_layer(&tar[..], t2.path(), WhiteoutMode::Apply).is_err());
        // Hardlink through a symlinked directory.
        std::fs::write(x.join("secret"), b"s").unwrap();
        let tar = TarBuilder::new().hardlink("h", "lib/secret").build();
        assert!(apply_layer(&tar[..], t2.path(), WhiteoutMode::Apply).is_err());
        assert!(!x.join("evil").exists());
        // Whiteouts cannot delete through a symlink either.
        let tar = TarBuilder::new().file("lib/.wh.secret", b"").build();
        assert!(apply_layer(&tar[..], t2.path(), WhiteoutMode::Apply).is_err());
        assert!(x.join("secret").exists());
    }

    #[test]
    fn absolute_paths_stay_inside() {
        let t = tempfile::tempdir().unwrap();
        let tar = TarBuilder::new().file("/abs/file", b"x").build();
        apply_layer(&tar[..], t.path(), WhiteoutMode::Overlay).unwrap();
        assert!(t.path().join("abs/file").exists());
    }

    #[test]
    fn zstd_layers_and_garbage() {
        let t = tempfile::tempdir().unwrap();
        let tar = TarBuilder::new().file("z", b"zstd!").build();
        let z = zstd::encode_all(&tar[..], 3).unwrap();
        apply_layer(&z[..], t.path(), WhiteoutMode::Overlay).unwrap();
        assert_eq!(std::fs::read(t.path().join("z")).unwrap(), b"zstd!");
        let e = apply_layer(&b"BZh91AY"[..], t.path(), WhiteoutMode::Overlay).unwrap_err();
        assert!(matches!(e, LayerError::UnsupportedCompression("bzip2")));
        let e = apply_layer(&[7u8; 1024][..], t.path(), WhiteoutMode::Overlay).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn pax_xattrs_long_names_and_padding() {
        let t = tempfile::tempdir().unwrap();
        let long = format!("{}/file", "d".repeat(150));
        let mut tar = TarBuilder::new()
            .pax(&[
                ("SCHILY.xattr.user.test", b"v1"),
                ("SCHILY.xattr.trusted.overlay.redirect", b"/etc"),
                ("uid", b"4242"),
            ])
            .file("x", b"data")
            .long_file(&long, b"l")
            .build();
        // Real tars are padded to 10 KiB: the diff_id covers the padding too.
        tar.extend_from_slice(&[0u8; 8192]);
        let a = apply_layer(&tar[..], t.path(), WhiteoutMode::Overlay).unwrap();
        assert_eq!(a.diff_id, Digest::of(&tar));
        assert_eq!(a.tar_size, tar.len() as u64);
        let x = t.path().join("x");
        assert_eq!(getxattr(&x, "user.test").as_deref(), Some(&b"v1"[..]));
        assert_eq!(getxattr(&x, "trusted.overlay.redirect"), None);
        assert_eq!(std::fs::metadata(&x).unwrap().uid(), 4242);
        assert_eq!(std::fs::read(t.path().join(&long)).unwrap(), b"l");
    }

    #[test]
    fn dir_replaces_symlink_and_file_replaces_dir() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("lib")).unwrap();
        std::fs::create_dir_all(t.path().join("d/sub")).unwrap();
        let tar = TarBuilder::new()
            .dir("lib/")
            .file("lib/x", b"x")
            .file("d", b"now a file")
            .build();
        apply_layer(&tar[..], t.path(), WhiteoutMode::Apply).unwrap();
        assert!(std::fs::symlink_metadata(t.path().join("lib"))
            .unwrap()
            .is_dir());
        assert!(t.path().join("lib/x").is_file());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert_eq!(std::fs::read(t.path().join("d")).unwrap(), b"now a file");
    }

    #[test]
    fn empty_stream_is_an_empty_layer() {
        let t = tempfile::tempdir().unwrap();
        let a = apply_layer(&b""[..], t.path(), WhiteoutMode::Overlay).unwrap();
        assert_eq!(a.diff_id, Digest::of(b""));
        assert_eq!(a.size, 0);
    }
}
