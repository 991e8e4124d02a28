//! Copying a whole tree as it is (the native backend's snapshots are full copies of their
//! parent): types, content, owners, modes, xattrs, times and hard links. Symlinks are copied,
//! never followed; sockets are skipped.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{mknod, utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;

use crate::xattr;

/// Copies the content of directory `src` into the existing, empty directory `dst`, and
/// then `src`'s own metadata onto `dst`.
pub fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    let mut links = HashMap::new();
    copy_dir(src, dst, &mut links)?;
    copy_meta(src, &fs::symlink_metadata(src)?, dst)
}

fn copy_dir(src: &Path, dst: &Path, links: &mut HashMap<(u64, u64), PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let (s, d) = (entry.path(), dst.join(entry.file_name()));
        let md = fs::symlink_metadata(&s)?;
        let ft = md.file_type();
        if ft.is_dir() {
            fs::create_dir(&d)?;
            copy_dir(&s, &d, links)?;
            copy_meta(&s, &md, &d)?;
            continue;
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
            mknod(&d, kind, Mode::from_bits_truncate(0o600), md.rdev())?;
        } else {
            continue;
        }
        copy_meta(&s, &md, &d)?;
        if md.nlink() > 1 {
            links.insert((md.dev(), md.ino()), d);
        }
    }
    Ok(())
}

/// Owner, mode (after the owner: chown clears setuid bits), xattrs, then times.
fn copy_meta(src: &Path, md: &fs::Metadata, dst: &Path) -> io::Result<()> {
    std::os::unix::fs::lchown(dst, Some(md.uid()), Some(md.gid()))?;
    if !md.file_type().is_symlink() {
        fs::set_permissions(dst, fs::Permissions::from_mode(md.mode() & 0o7777))?;
    }
    for (k, v) in xattr::portable(src)? {
        if let Err(e) = xattr::lset(dst, &k, &v) {
            tracing::warn!(path = %dst.display(), key = k, error = %e, "cannot copy xattr");
        }
    }
    let at = TimeSpec::new(md.atime(), md.atime_nsec());
    let mt = TimeSpec::new(md.mtime(), md.mtime_nsec());
    utimensat(None, dst, &at, &mt, UtimensatFlags::NoFollowSymlink).map_err(io::Error::from)
}
