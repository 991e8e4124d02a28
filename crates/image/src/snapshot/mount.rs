//! What a snapshotter hands out ([`Mount`]) and mounting it: the only place the image crate
//! calls mount(2).

use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};

/// overlayfs takes its mount options in one page.
const MAX_MOUNT_OPTIONS: usize = 4095;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountKind {
    /// `source` bound at the target; `ro` in the options makes it read-only.
    Bind,
    /// overlayfs; the layers are in the options (`lowerdir=`, `upperdir=`, `workdir=`).
    Overlay,
}

/// One mount making up a snapshot's tree, as containerd's `mount.Mount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountKind,
    pub source: PathBuf,
    pub options: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("too many layers ({layers}): overlay mount options exceed one page")]
    TooManyLayers { layers: usize },
    #[error("path {path:?} cannot be used in overlay mount options (contains ',' or ':')")]
    BadPath { path: PathBuf },
    #[error("{path:?} is still mounted")]
    StillMounted { path: PathBuf },
    #[error("{op} {path:?}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl MountError {
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            MountError::TooManyLayers { .. } | MountError::BadPath { .. } => {
                crate::ErrorKind::InvalidArgument
            }
            MountError::StillMounted { .. } => crate::ErrorKind::Conflict,
            MountError::Io { .. } => crate::ErrorKind::Internal,
        }
    }
}

fn io_err(op: &'static str, path: &Path) -> impl FnOnce(io::Error) -> MountError {
    let path = path.to_path_buf();
    move |source| MountError::Io { op, path, source }
}

impl Mount {
    pub fn bind(source: &Path, readonly: bool) -> Mount {
        Mount {
            kind: MountKind::Bind,
            source: source.to_path_buf(),
            options: vec![if readonly { "ro" } else { "rw" }.to_string()],
        }
    }

    /// An overlay of `lowers` (topmost first) under `upper` (with its `work` dir); without
    /// an upper it is read-only.
    pub fn overlay(lowers: &[PathBuf], upper: Option<(&Path, &Path)>) -> Result<Mount, MountError> {
        let upper_paths = upper.map(|(u, w)| [u, w]);
        for p in lowers
            .iter()
            .map(PathBuf::as_path)
            .chain(upper_paths.iter().flatten().copied())
        {
            if p.as_os_str()
                .as_bytes()
                .iter()
                .any(|b| *b == b',' || *b == b':')
            {
                return Err(MountError::BadPath {
                    path: p.to_path_buf(),
                });
            }
        }
        let lowerdir = lowers
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        let mut options = vec![format!("lowerdir={lowerdir}")];
        if let Some((u, w)) = upper {
            options.push(format!("upperdir={}", u.display()));
            options.push(format!("workdir={}", w.display()));
        }
        options.extend(overlay_defaults());
        Ok(Mount {
            kind: MountKind::Overlay,
            source: PathBuf::from("overlay"),
            options,
        })
    }

    /// The value of `key=` in the options.
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find_map(|o| o.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
    }

    /// The directory that takes this mount's writes: the overlay's upper dir or the bound
    /// directory (`None` when read-only).
    pub fn writable_dir(&self) -> Option<PathBuf> {
        match self.kind {
            MountKind::Overlay => self.option("upperdir").map(PathBuf::from),
            MountKind::Bind if self.options.iter().any(|o| o == "ro") => None,
            MountKind::Bind => Some(self.source.clone()),
        }
    }

    /// Mounts this at `target` (an existing directory).
    pub fn mount(&self, target: &Path) -> Result<(), MountError> {
        match self.kind {
            MountKind::Bind => self.mount_bind(target),
            MountKind::Overlay => self.mount_overlay(target),
        }
    }

    fn mount_bind(&self, target: &Path) -> Result<(), MountError> {
        mount(
            Some(&self.source),
            target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| io_err("bind mount on", target)(e.into()))?;
        if self.options.iter().any(|o| o == "ro") {
            // A bind mount takes MS_RDONLY only when remounted.
            let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
            if let Err(e) = mount(None::<&str>, target, None::<&str>, flags, None::<&str>) {
                let _ = umount2(target, MntFlags::MNT_DETACH);
                return Err(io_err("remount read-only", target)(e.into()));
            }
        }
        Ok(())
    }

    fn mount_overlay(&self, target: &Path) -> Result<(), MountError> {
        let mut opts = self.options.join(",");
        // Too long for one page: name the lower layers by short /proc/self/fd paths.
        let mut _held: Vec<File> = Vec::new();
        if opts.len() > MAX_MOUNT_OPTIONS {
            let lowers = self.option("lowerdir").unwrap_or_default();
            let mut short = Vec::new();
            for p in lowers.split(':').map(Path::new) {
                let f = File::open(p).map_err(io_err("open", p))?;
                short.push(format!("/proc/self/fd/{}", f.as_raw_fd()));
                _held.push(f);
            }
            let rest = self
                .options
                .iter()
                .filter(|o| !o.starts_with("lowerdir="))
                .cloned();
            opts = std::iter::once(format!("lowerdir={}", short.join(":")))
                .chain(rest)
                .collect::<Vec<_>>()
                .join(",");
            if opts.len() > MAX_MOUNT_OPTIONS {
                return Err(MountError::TooManyLayers {
                    layers: short.len(),
                });
            }
        }
        mount(
            Some("overlay"),
            target,
            Some("overlay"),
            MsFlags::empty(),
            Some(opts.as_str()),
        )
        .map_err(|e| io_err("mount overlay on", target)(e.into()))
    }
}

/// Options every overlay gets when the kernel knows them: no inode index (layers are shared
/// by many mounts), and neither directory redirects nor metadata-only copy-ups, so that an
/// upper dir alone is the whole change set a diff reads.
fn overlay_defaults() -> Vec<String> {
    let params = Path::new("/sys/module/overlay/parameters");
    ["index", "redirect_dir", "metacopy"]
        .into_iter()
        .filter(|p| params.join(p).exists())
        .map(|p| format!("{p}=off"))
        .collect()
}

/// Mounts `mounts` at `target`, in order.
pub fn mount_all(mounts: &[Mount], target: &Path) -> Result<(), MountError> {
    for (i, m) in mounts.iter().enumerate() {
        if let Err(e) = m.mount(target) {
            for _ in 0..i {
                let _ = umount2(target, MntFlags::MNT_DETACH);
            }
            return Err(e);
        }
    }
    Ok(())
}

/// Whether `path` is a mount point.
pub fn is_mounted(path: &Path) -> Result<bool, MountError> {
    let canon = match fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_err("resolve", path)(e)),
    };
    let info = fs::read_to_string("/proc/self/mountinfo")
        .map_err(io_err("read", Path::new("/proc/self/mountinfo")))?;
    Ok(info.lines().any(|line| {
        line.split(' ')
            .nth(4)
            .is_some_and(|mp| unescape_mountinfo(mp) == canon.as_os_str().as_bytes())
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

/// Unmounts everything at `target`; a busy mount is detached lazily.
pub fn unmount(target: &Path) -> Result<(), MountError> {
    // Loop: mounts may be stacked.
    for _ in 0..16 {
        if !is_mounted(target)? {
            return Ok(());
        }
        match umount2(target, MntFlags::empty()) {
            Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => {}
            Err(Errno::EBUSY) => umount2(target, MntFlags::MNT_DETACH)
                .map_err(|e| io_err("unmount", target)(e.into()))?,
            Err(e) => return Err(io_err("unmount", target)(e.into())),
        }
    }
    if is_mounted(target)? {
        return Err(MountError::StillMounted {
            path: target.to_path_buf(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_mountinfo_paths() {
        assert_eq!(unescape_mountinfo(r"/a\040b"), b"/a b".to_vec());
        assert_eq!(unescape_mountinfo(r"/x\011y"), b"/x\ty".to_vec());
    }

    #[test]
    fn overlay_options_and_bad_paths() {
        let m = Mount::overlay(
            &[PathBuf::from("/l1"), PathBuf::from("/l2")],
            Some((Path::new("/u"), Path::new("/w"))),
        )
        .unwrap();
        assert_eq!(m.option("lowerdir"), Some("/l1:/l2"));
        assert_eq!(m.writable_dir(), Some(PathBuf::from("/u")));
        assert_eq!(m.option("workdir"), Some("/w"));
        let e = Mount::overlay(&[PathBuf::from("/a:b")], None).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument);
        assert_eq!(Mount::bind(Path::new("/x"), true).writable_dir(), None);
    }

    #[test]
    fn read_only_bind_refuses_writes() {
        let t = tempfile::tempdir().unwrap();
        let (src, dst) = (t.path().join("src"), t.path().join("dst"));
        fs::create_dir(&src).unwrap();
        fs::create_dir(&dst).unwrap();
        mount_all(&[Mount::bind(&src, true)], &dst).unwrap();
        assert!(is_mounted(&dst).unwrap());
        let e = fs::write(dst.join("f"), b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS));
        unmount(&dst).unwrap();
        assert!(!is_mounted(&dst).unwrap());
    }
}
