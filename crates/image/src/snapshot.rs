//! Unpacked layers and container root filesystems.
//!
//! Each layer is unpacked once, into `<root>/snapshots/<chain_id_hex>/fs`, in
//! overlay form (whiteouts are overlay whiteouts). Unpacking happens in a
//! `*.tmp-*` directory that is renamed into place when complete, so a crash
//! leaves nothing visible; `open` removes such leftovers.
//!
//! A container's rootfs is an overlayfs mount of its layers plus
//! `<container_dir>/upper`; without overlay support the layers are copied.

use std::collections::HashMap;
use std::ffi::CString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::content::{sync_dir, unique_suffix};
use crate::digest::Digest;
use crate::layer_apply::{self, LayerError, WhiteoutMode, OVERLAY_OPAQUE_XATTR};
use crate::perms::{dir_with_mode, private_dir, PRIVATE_DIR};

/// overlayfs takes its mount options in one page.
const MAX_MOUNT_OPTIONS: usize = 4095;
const COPIED_MARKER: &str = "rootfs.copied";
const EMPTY_LOWER: &str = "lower-empty";
/// Mode of a root directory no layer gave a mode to, as Docker's.
const ROOT_DIR: u32 = 0o755;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("layer snapshot {chain_id} not found")]
    NotFound { chain_id: Digest },
    #[error(transparent)]
    Layer(#[from] LayerError),
    #[error("too many layers ({layers}): overlay mount options exceed one page")]
    TooManyLayers { layers: usize },
    #[error("path {path:?} cannot be used in overlay mount options (contains ',' or ':')")]
    BadPath { path: PathBuf },
    #[error("rootfs {path:?} is still mounted")]
    StillMounted { path: PathBuf },
    #[error("{op} {path:?}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl SnapshotError {
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            SnapshotError::NotFound { .. } => crate::ErrorKind::NotFound,
            SnapshotError::Layer(e) => e.kind(),
            SnapshotError::TooManyLayers { .. } | SnapshotError::BadPath { .. } => {
                crate::ErrorKind::InvalidArgument
            }
            SnapshotError::StillMounted { .. } => crate::ErrorKind::Conflict,
            SnapshotError::Io { .. } => crate::ErrorKind::Internal,
        }
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> SnapshotError {
    let path = path.to_path_buf();
    move |source| SnapshotError::Io { op, path, source }
}

/// OCI chain id: chain(L1) = diff_id1, chain(Ln) = sha256(chain(Ln-1) + " " + diff_idn).
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(p) => {
            let mut h = Sha256::new();
            h.update(format!("{p} {diff_id}").as_bytes());
            Digest::from_hasher(h)
        }
    }
}

/// Chain ids of all layers of an image, bottom first.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut out: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let c = chain_id(out.last(), d);
        out.push(c);
    }
    out
}

/// What is known about an unpacked layer (stored as `meta.json` beside `fs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub chain_id: Digest,
    pub diff_id: Digest,
    pub parent: Option<Digest>,
    /// Bytes of regular-file content in this layer.
    pub size: u64,
}

/// How a container rootfs was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootfsKind {
    Overlay,
    /// Layers copied into the rootfs (no overlay support).
    Copy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rootfs {
    pub path: PathBuf,
    pub kind: RootfsKind,
}

#[derive(Debug, Clone)]
pub struct Snapshotter {
    dir: PathBuf,
    overlay: bool,
}

impl Snapshotter {
    /// Opens (creating) `<root>/snapshots`, removing interrupted unpacks/deletes.
    pub fn open(root: &Path) -> Result<Snapshotter, SnapshotError> {
        let dir = root.join("snapshots");
        // Layers hold the images' setuid files: no host user may reach them.
        private_dir(&dir, PRIVATE_DIR).map_err(io_err("create", &dir))?;
        for entry in fs::read_dir(&dir).map_err(io_err("read dir", &dir))? {
            let entry = entry.map_err(io_err("read dir", &dir))?;
            if entry.file_name().to_string_lossy().contains(".tmp-") {
                let p = entry.path();
                tracing::info!(path = %p.display(), "removing interrupted snapshot work");
                fs::remove_dir_all(&p).map_err(io_err("remove", &p))?;
            }
        }
        Ok(Snapshotter { dir, overlay: true })
    }

    /// Turns overlayfs off: rootfs are then always copies (for hosts or tests
    /// without overlay).
    pub fn set_overlay(&mut self, enabled: bool) {
        self.overlay = enabled;
    }

    /// `<root>/snapshots/<hex>/fs`
    pub fn path(&self, chain_id: &Digest) -> PathBuf {
        self.dir.join(chain_id.hex()).join("fs")
    }

    pub fn exists(&self, chain_id: &Digest) -> bool {
        self.dir.join(chain_id.hex()).join("meta.json").is_file()
    }

    pub fn info(&self, chain_id: &Digest) -> Result<SnapshotInfo, SnapshotError> {
        let p = self.dir.join(chain_id.hex()).join("meta.json");
        let bytes = fs::read(&p).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                SnapshotError::NotFound {
                    chain_id: chain_id.clone(),
                }
            } else {
                io_err("read", &p)(e)
            }
        })?;
        serde_json::from_slice(&bytes).map_err(|e| io_err("parse", &p)(io::Error::other(e)))
    }

    /// All complete snapshots.
    pub fn list(&self) -> Result<Vec<Digest>, SnapshotError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err("read dir", &self.dir))? {
            let entry = entry.map_err(io_err("read dir", &self.dir))?;
            if let Some(d) = entry
                .file_name()
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
            {
                if self.exists(&d) {
                    out.push(d);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Unpacks a layer (plain or compressed tar) on top of `parent`. The stream is
    /// always read to the end (callers may tee it). If `expected_diff_id` is
    /// given and differs, nothing is kept.
    pub fn unpack(
        &self,
        parent: Option<&Digest>,
        reader: impl Read,
        expected_diff_id: Option<&Digest>,
    ) -> Result<SnapshotInfo, SnapshotError> {
        let tmp = self.dir.join(format!("unpack.tmp-{}", unique_suffix()));
        let fs_dir = tmp.join("fs");
        private_dir(&tmp, PRIVATE_DIR).map_err(io_err("create", &tmp))?;
        // A layer without a "./" entry leaves this mode to a copied rootfs's root.
        dir_with_mode(&fs_dir, ROOT_DIR).map_err(io_err("create", &fs_dir))?;
        let result = self.unpack_into(&tmp, parent, reader, expected_diff_id);
        if result.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        result
    }

    fn unpack_into(
        &self,
        tmp: &Path,
        parent: Option<&Digest>,
        reader: impl Read,
        expected_diff_id: Option<&Digest>,
    ) -> Result<SnapshotInfo, SnapshotError> {
        let applied = layer_apply::apply_layer(reader, &tmp.join("fs"), WhiteoutMode::Overlay)?;
        if let Some(e) = expected_diff_id {
            if e != &applied.diff_id {
                return Err(LayerError::DiffIdMismatch {
                    expected: e.clone(),
                    actual: applied.diff_id,
                }
                .into());
            }
        }
        let info = SnapshotInfo {
            chain_id: chain_id(parent, &applied.diff_id),
            diff_id: applied.diff_id,
            parent: parent.cloned(),
            size: applied.size,
        };
        let meta = tmp.join("meta.json");
        let json =
            serde_json::to_vec(&info).map_err(|e| io_err("encode", &meta)(io::Error::other(e)))?;
        fs::write(&meta, json).map_err(io_err("write", &meta))?;
        // Flush the whole unpacked tree before it becomes visible.
        let dirf = File::open(tmp).map_err(io_err("open", tmp))?;
        // SAFETY: syncfs only reads the fd, which is open for the call's duration.
        if unsafe { libc::syncfs(dirf.as_raw_fd()) } != 0 {
            return Err(io_err("syncfs", tmp)(io::Error::last_os_error()));
        }
        let dst = self.dir.join(info.chain_id.hex());
        match fs::rename(tmp, &dst) {
            Ok(()) => {
                sync_dir(&self.dir).map_err(io_err("sync", &self.dir))?;
                Ok(info)
            }
            // Someone unpacked the same chain first: theirs is as good as ours.
            Err(e) if dst.join("meta.json").is_file() => {
                tracing::debug!(error = %e, chain = %info.chain_id, "snapshot already present");
                let _ = fs::remove_dir_all(tmp);
                Ok(info)
            }
            Err(e) => Err(io_err("rename", &dst)(e)),
        }
    }

    /// Deletes a layer snapshot (rename first, so a crash leaves only `*.tmp-*`).
    pub fn remove_snapshot(&self, chain_id: &Digest) -> Result<(), SnapshotError> {
        let dir = self.dir.join(chain_id.hex());
        let doomed = self
            .dir
            .join(format!("{}.tmp-del-{}", chain_id.hex(), unique_suffix()));
        match fs::rename(&dir, &doomed) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("rename", &dir)(e)),
        }
        fs::remove_dir_all(&doomed).map_err(io_err("remove", &doomed))
    }

    /// Makes `<container_dir>/rootfs` from `layers` (chain ids, bottom first):
    /// an overlay mount with `<container_dir>/upper` as its writable layer, or
    /// a copy when overlay is unavailable. Idempotent: an existing mount or
    /// completed copy is reused (e.g. after a daemon restart).
    pub fn prepare_rootfs(
        &self,
        layers: &[Digest],
        container_dir: &Path,
    ) -> Result<Rootfs, SnapshotError> {
        let rootfs = container_dir.join("rootfs");
        if is_mounted(container_dir)? {
            return Ok(Rootfs {
                path: rootfs,
                kind: RootfsKind::Overlay,
            });
        }
        if container_dir.join(COPIED_MARKER).exists() {
            return Ok(Rootfs {
                path: rootfs,
                kind: RootfsKind::Copy,
            });
        }
        for l in layers {
            if !self.exists(l) {
                return Err(SnapshotError::NotFound {
                    chain_id: l.clone(),
                });
            }
        }
        let upper = container_dir.join("upper");
        let work = container_dir.join("work");
        // The overlay's root takes the upper dir's mode: it stays open for the container's
        // users, who never reach it by this host path (the container dir is private).
        for d in [&rootfs, &upper] {
            dir_with_mode(d, ROOT_DIR).map_err(io_err("create", d))?;
        }
        private_dir(&work, PRIVATE_DIR).map_err(io_err("create", &work))?;
        if self.overlay {
            match self.mount_overlay(layers, container_dir, &rootfs, &upper, &work) {
                Ok(()) => {
                    return Ok(Rootfs {
                        path: rootfs,
                        kind: RootfsKind::Overlay,
                    })
                }
                Err(SnapshotError::Io { source, .. })
                    if matches!(
                        source.raw_os_error(),
                        Some(libc::ENODEV) | Some(libc::EINVAL)
                    ) =>
                {
                    tracing::warn!(error = %source, "overlay mount failed, copying layers instead");
                }
                Err(e) => return Err(e),
            }
        }
        self.copy_rootfs(layers, container_dir, &rootfs)?;
        Ok(Rootfs {
            path: rootfs,
            kind: RootfsKind::Copy,
        })
    }

    fn mount_overlay(
        &self,
        layers: &[Digest],
        container_dir: &Path,
        rootfs: &Path,
        upper: &Path,
        work: &Path,
    ) -> Result<(), SnapshotError> {
        let mut lowers: Vec<PathBuf> = layers.iter().rev().map(|l| self.path(l)).collect();
        if lowers.is_empty() {
            let empty = container_dir.join(EMPTY_LOWER);
            dir_with_mode(&empty, ROOT_DIR).map_err(io_err("create", &empty))?;
            lowers.push(empty);
        }
        for p in lowers
            .iter()
            .chain([&upper.to_path_buf(), &work.to_path_buf()])
        {
            if p.as_os_str()
                .as_bytes()
                .iter()
                .any(|b| *b == b',' || *b == b':')
            {
                return Err(SnapshotError::BadPath { path: p.clone() });
            }
        }
        let join = |ls: &[String]| ls.join(":");
        let tail = format!(
            ",upperdir={},workdir={}{}",
            upper.display(),
            work.display(),
            if Path::new("/sys/module/overlay/parameters/index").exists() {
                ",index=off"
            } else {
                ""
            }
        );
        let full: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
        let mut opts = format!("lowerdir={}{tail}", join(&full));
        // Too long for one page: name the layers by short /proc/self/fd paths.
        let mut _held: Vec<File> = Vec::new();
        if opts.len() > MAX_MOUNT_OPTIONS {
            let mut short = Vec::new();
            for p in &lowers {
                let f = File::open(p).map_err(io_err("open", p))?;
                short.push(format!("/proc/self/fd/{}", f.as_raw_fd()));
                _held.push(f);
            }
            opts = format!("lowerdir={}{tail}", join(&short));
            if opts.len() > MAX_MOUNT_OPTIONS {
                return Err(SnapshotError::TooManyLayers {
                    layers: layers.len(),
                });
            }
        }
        mount(
            Some("overlay"),
            rootfs,
            Some("overlay"),
            MsFlags::empty(),
            Some(opts.as_str()),
        )
        .map_err(|e| io_err("mount overlay on", rootfs)(io::Error::from(e)))
    }

    fn copy_rootfs(
        &self,
        layers: &[Digest],
        container_dir: &Path,
        rootfs: &Path,
    ) -> Result<(), SnapshotError> {
        // An unfinished copy is started over.
        fs::remove_dir_all(rootfs).map_err(io_err("remove", rootfs))?;
        dir_with_mode(rootfs, ROOT_DIR).map_err(io_err("create", rootfs))?;
        for l in layers {
            let src = self.path(l);
            copy_layer(&src, rootfs).map_err(io_err("copy layer into", rootfs))?;
        }
        let marker = container_dir.join(COPIED_MARKER);
        fs::write(&marker, b"").map_err(io_err("write", &marker))?;
        Ok(())
    }
}

/// Whether `<container_dir>/rootfs` is a mount point.
pub fn is_mounted(container_dir: &Path) -> Result<bool, SnapshotError> {
    let rootfs = container_dir.join("rootfs");
    let canon = match fs::canonicalize(&rootfs) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err("resolve", &rootfs)(e)),
    };
    let info = fs::read_to_string("/proc/self/mountinfo")
        .map_err(io_err("read", Path::new("/proc/self/mountinfo")))?;
    Ok(info.lines().any(|line| {
        line.split(' ')
            .nth(4)
            .map(|mp| unescape_mountinfo(mp) == canon.as_os_str().as_bytes())
            .unwrap_or(false)
    }))
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Unmounts `<container_dir>/rootfs`; a busy mount is detached lazily.
pub fn unmount(container_dir: &Path) -> Result<(), SnapshotError> {
    let rootfs = container_dir.join("rootfs");
    // Loop: mounts may be stacked.
    for _ in 0..16 {
        if !is_mounted(container_dir)? {
            return Ok(());
        }
        match umount2(&rootfs, MntFlags::empty()) {
            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
            Err(Errno::EBUSY) => umount2(&rootfs, MntFlags::MNT_DETACH)
                .map_err(|e| io_err("unmount", &rootfs)(io::Error::from(e)))?,
            Err(e) => return Err(io_err("unmount", &rootfs)(io::Error::from(e))),
        }
    }
    if is_mounted(container_dir)? {
        return Err(SnapshotError::StillMounted { path: rootfs });
    }
    Ok(())
}

/// Unmounts and deletes what `prepare_rootfs` made in `container_dir`
/// (rootfs, upper, work, ...), leaving the directory's other files alone.
pub fn remove(container_dir: &Path) -> Result<(), SnapshotError> {
    unmount(container_dir)?;
    if is_mounted(container_dir)? {
        // Never delete through a live mount: that would delete layer content.
        return Err(SnapshotError::StillMounted {
            path: container_dir.join("rootfs"),
        });
    }
    for name in ["rootfs", "upper", "work", EMPTY_LOWER] {
        let p = container_dir.join(name);
        match fs::remove_dir_all(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &p)(e)),
        }
    }
    let marker = container_dir.join(COPIED_MARKER);
    match fs::remove_file(&marker) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove", &marker)(e)),
    }
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
}

fn lgetxattr(p: &Path, key: &str) -> io::Result<Option<Vec<u8>>> {
    let cp = cpath(p)?;
    let ck = CString::new(key).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: valid C strings; `buf` is writable for `buf.len()` bytes.
    let n =
        unsafe { libc::lgetxattr(cp.as_ptr(), ck.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => Ok(None),
            _ => Err(e),
        };
    }
    buf.truncate(n as usize);
    Ok(Some(buf))
}

fn list_xattrs(p: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let cp = cpath(p)?;
    let mut names = vec![0u8; 8192];
    // SAFETY: valid C string; `names` is writable for `names.len()` bytes.
    let n = unsafe { libc::llistxattr(cp.as_ptr(), names.as_mut_ptr().cast(), names.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENOTSUP) => Ok(Vec::new()),
            _ => Err(e),
        };
    }
    let mut out = Vec::new();
    for name in names[..n as usize]
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
    {
        let Ok(key) = std::str::from_utf8(name) else {
            continue;
        };
        if key.starts_with("trusted.overlay.") {
            continue;
        }
        if let Some(v) = lgetxattr(p, key)? {
            out.push((key.to_string(), v));
        }
    }
    Ok(out)
}

fn lsetxattr(p: &Path, key: &str, value: &[u8]) -> io::Result<()> {
    let cp = cpath(p)?;
    let ck = CString::new(key).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: valid C strings; `value` is readable for `value.len()` bytes.
    let rc = unsafe {
        libc::lsetxattr(
            cp.as_ptr(),
            ck.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn remove_path(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Copies metadata (owner, mode, xattrs, times) without following symlinks.
fn copy_meta(src: &Path, md: &fs::Metadata, dst: &Path) -> io::Result<()> {
    std::os::unix::fs::lchown(dst, Some(md.uid()), Some(md.gid()))?;
    if !md.file_type().is_symlink() {
        fs::set_permissions(dst, fs::Permissions::from_mode(md.mode() & 0o7777))?;
    }
    for (k, v) in list_xattrs(src)? {
        if let Err(e) = lsetxattr(dst, &k, &v) {
            tracing::warn!(path = %dst.display(), key = k, error = %e, "cannot copy xattr");
        }
    }
    let at = TimeSpec::new(md.atime(), md.atime_nsec());
    let mt = TimeSpec::new(md.mtime(), md.mtime_nsec());
    utimensat(None, dst, &at, &mt, UtimensatFlags::NoFollowSymlink).map_err(io::Error::from)
}

/// Copies one overlay-form layer onto `dst`, honouring its whiteouts. `dst`
/// is only ever descended through directories this function made real, so
/// symlinks from lower layers are replaced, never followed.
fn copy_layer(src: &Path, dst: &Path) -> io::Result<()> {
    let mut links = HashMap::new();
    copy_dir(src, dst, &mut links)?;
    let md = fs::symlink_metadata(src)?;
    copy_meta(src, &md, dst)
}

fn copy_dir(src: &Path, dst: &Path, links: &mut HashMap<(u64, u64), PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let name = entry.file_name();
        let s = entry.path();
        let d = dst.join(&name);
        let md = fs::symlink_metadata(&s)?;
        let ft = md.file_type();
        if ft.is_char_device() && md.rdev() == 0 {
            remove_path(&d)?;
            continue;
        }
        let existing = fs::symlink_metadata(&d).ok();
        if ft.is_dir() {
            match existing {
                Some(m) if m.is_dir() => {
                    if lgetxattr(&s, OVERLAY_OPAQUE_XATTR)?.as_deref() == Some(b"y") {
                        for child in fs::read_dir(&d)? {
                            remove_path(&child?.path())?;
                        }
                    }
                }
                Some(_) => {
                    remove_path(&d)?;
                    fs::create_dir(&d)?;
                }
                None => fs::create_dir(&d)?,
            }
            copy_dir(&s, &d, links)?;
            copy_meta(&s, &md, &d)?;
            continue;
        }
        if existing.is_some() {
            remove_path(&d)?;
        }
        if md.nlink() > 1 {
            if let Some(first) = links.get(&(md.dev(), md.ino())) {
                fs::hard_link(first, &d)?;
                continue;
            }
        }
        if ft.is_file() {
            fs::copy(&s, &d)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&s)?, &d)?;
        } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
            let kind = if ft.is_char_device() {
                SFlag::S_IFCHR
            } else if ft.is_block_device() {
                SFlag::S_IFBLK
            } else {
                SFlag::S_IFIFO
            };
            nix::sys::stat::mknod(&d, kind, Mode::from_bits_truncate(0o600), md.rdev())?;
        } else {
            continue; // sockets are not copied
        }
        copy_meta(&s, &md, &d)?;
        if md.nlink() > 1 {
            links.insert((md.dev(), md.ino()), d);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer_apply::tests::{gzip, TarBuilder};

    fn two_layers(s: &Snapshotter) -> Vec<Digest> {
        let l1 = TarBuilder::new()
            .dir("etc/")
            .file("etc/keep", b"k")
            .file("etc/gone", b"g")
            .dir("opq/")
            .file("opq/old", b"o")
            .symlink("lnk", "etc/keep")
            .build();
        let l2 = TarBuilder::new()
            .file("etc/.wh.gone", b"")
            .dir("opq/")
            .file("opq/.wh..wh..opq", b"")
            .file("opq/new", b"n")
            .file("etc/added", b"a")
            .build();
        let a = s.unpack(None, &gzip(&l1)[..], None).unwrap();
        assert_eq!(a.chain_id, Digest::of(&l1));
        let b = s
            .unpack(Some(&a.chain_id), &l2[..], Some(&Digest::of(&l2)))
            .unwrap();
        assert_eq!(b.chain_id, chain_id(Some(&a.chain_id), &Digest::of(&l2)));
        assert_eq!(
            chain_ids(&[a.diff_id.clone(), b.diff_id.clone()]),
            vec![a.chain_id.clone(), b.chain_id.clone()]
        );
        vec![a.chain_id, b.chain_id]
    }

    fn check_merged(rootfs: &Path) {
        assert_eq!(fs::read(rootfs.join("etc/keep")).unwrap(), b"k");
        assert!(fs::symlink_metadata(rootfs.join("etc/gone")).is_err());
        assert!(rootfs.join("etc/added").exists());
        assert!(rootfs.join("opq/new").exists());
        assert!(!rootfs.join("opq/old").exists());
        assert_eq!(
            fs::read_link(rootfs.join("lnk")).unwrap(),
            Path::new("etc/keep")
        );
    }

    #[test]
    fn overlay_rootfs_with_whiteouts() {
        let t = tempfile::tempdir().unwrap();
        let s = Snapshotter::open(t.path()).unwrap();
        let chains = two_layers(&s);
        assert_eq!(s.list().unwrap().len(), 2);
        let cdir = t.path().join("containers/c1");
        let r = s.prepare_rootfs(&chains, &cdir).unwrap();
        assert_eq!(r.kind, RootfsKind::Overlay);
        assert!(is_mounted(&cdir).unwrap());
        check_merged(&r.path);
        // Writes land in upper, not in the layers.
        fs::write(r.path.join("etc/keep"), b"changed").unwrap();
        assert_eq!(fs::read(s.path(&chains[0]).join("etc/keep")).unwrap(), b"k");
        assert_eq!(fs::read(cdir.join("upper/etc/keep")).unwrap(), b"changed");
        // Idempotent.
        assert_eq!(s.prepare_rootfs(&chains, &cdir).unwrap(), r);
        unmount(&cdir).unwrap();
        assert!(!is_mounted(&cdir).unwrap());
        // Remount after "reboot" keeps the container's changes.
        let r = s.prepare_rootfs(&chains, &cdir).unwrap();
        assert_eq!(fs::read(r.path.join("etc/keep")).unwrap(), b"changed");
        remove(&cdir).unwrap();
        assert!(!cdir.join("rootfs").exists());
        assert!(!cdir.join("upper").exists());
        // Layers untouched.
        assert!(s.path(&chains[1]).join("opq/new").exists());
    }

    #[test]
    fn busy_mount_is_detached() {
        let t = tempfile::tempdir().unwrap();
        let s = Snapshotter::open(t.path()).unwrap();
        let chains = two_layers(&s);
        let cdir = t.path().join("c");
        let r = s.prepare_rootfs(&chains, &cdir).unwrap();
        let busy = File::open(r.path.join("etc/keep")).unwrap();
        remove(&cdir).unwrap();
        assert!(!is_mounted(&cdir).unwrap());
        drop(busy);
    }

    #[test]
    fn copy_fallback_honours_whiteouts() {
        let t = tempfile::tempdir().unwrap();
        let mut s = Snapshotter::open(t.path()).unwrap();
        s.set_overlay(false);
        let chains = two_layers(&s);
        let cdir = t.path().join("c");
        let r = s.prepare_rootfs(&chains, &cdir).unwrap();
        assert_eq!(r.kind, RootfsKind::Copy);
        assert!(!is_mounted(&cdir).unwrap());
        check_merged(&r.path);
        assert_eq!(
            s.prepare_rootfs(&chains, &cdir).unwrap().kind,
            RootfsKind::Copy
        );
        remove(&cdir).unwrap();
        assert!(!cdir.join("rootfs").exists());
    }

    #[test]
    fn zero_layers_and_missing_layers() {
        let t = tempfile::tempdir().unwrap();
        let s = Snapshotter::open(t.path()).unwrap();
        let cdir = t.path().join("c");
        let r = s.prepare_rootfs(&[], &cdir).unwrap();
        fs::write(r.path.join("x"), b"").unwrap();
        remove(&cdir).unwrap();
        let e = s.prepare_rootfs(&[Digest::of(b"nope")], &cdir).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::NotFound);
    }

    #[test]
    fn many_layers_use_short_paths() {
        let t = tempfile::tempdir().unwrap();
        let s = Snapshotter::open(t.path()).unwrap();
        let mut parent: Option<Digest> = None;
        let mut chains = Vec::new();
        for i in 0..70 {
            let tar = TarBuilder::new().file(&format!("f{i}"), b"x").build();
            let info = s.unpack(parent.as_ref(), &tar[..], None).unwrap();
            parent = Some(info.chain_id.clone());
            chains.push(info.chain_id);
        }
        let cdir = t.path().join("c");
        let r = s.prepare_rootfs(&chains, &cdir).unwrap();
        assert_eq!(r.kind, RootfsKind::Overlay);
        assert!(r.path.join("f0").exists() && r.path.join("f69").exists());
        remove(&cdir).unwrap();
    }

    #[test]
    fn failed_unpack_leaves_nothing_and_open_cleans_tmp() {
        let t = tempfile::tempdir().unwrap();
        let s = Snapshotter::open(t.path()).unwrap();
        let tar = TarBuilder::new().file("a", b"x").build();
        let e = s
            .unpack(None, &tar[..], Some(&Digest::of(b"other")))
            .unwrap_err();
        assert!(matches!(
            e,
            SnapshotError::Layer(LayerError::DiffIdMismatch { .. })
        ));
        let bad = TarBuilder::new().file("../x", b"x").build();
        assert!(s.unpack(None, &bad[..], None).is_err());
        assert_eq!(fs::read_dir(t.path().join("snapshots")).unwrap().count(), 0);
        fs::create_dir_all(t.path().join("snapshots/unpack.tmp-123/fs")).unwrap();
        let info = s.unpack(None, &tar[..], None).unwrap();
        Snapshotter::open(t.path()).unwrap();
        assert_eq!(s.list().unwrap(), vec![info.chain_id.clone()]);
        s.remove_snapshot(&info.chain_id).unwrap();
        assert!(s.list().unwrap().is_empty());
        assert_eq!(fs::read_dir(t.path().join("snapshots")).unwrap().count(), 0);
    }
}
