//! Modes of berth's own directories and files, set explicitly: the umask plays no part.
//!
//! The stores hold container root filesystems (setuid files a container made included),
//! specs with the containers' environment, and logs. A host user must reach none of them,
//! so every directory on the way is private to root; only what a container's own processes
//! see as their files (the root of their rootfs, `/etc/hosts`...) keeps a wider mode, which
//! they reach through their mount namespace, never through these host paths.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of a private directory: root only (berth has no user namespaces, so no container
/// user needs to traverse one, unlike Docker's 0710 for remapped roots).
pub const PRIVATE_DIR: u32 = 0o700;

/// Creates the directory `path` (and missing parents) with exactly `mode`. When it exists
/// already, every permission bit `mode` lacks is taken away: stores made by an older
/// version, or by hand, are tightened, never loosened.
pub fn private_dir(path: &Path, mode: u32) -> io::Result<()> {
    let old = fs::metadata(path).ok().filter(|m| m.is_dir());
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)?;
    let want = match &old {
        Some(m) => m.permissions().mode() & 0o7777 & mode,
        None => mode,
    };
    set_mode(path, want)
}

/// Creates the directory `path` with exactly `mode` when it is missing; an existing one is
/// left as it is (it may be a container's root directory, whose mode is the image's).
pub fn dir_with_mode(path: &Path, mode: u32) -> io::Result<()> {
    if fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)?;
    set_mode(path, mode)
}

/// Writes `bytes` to `path` (replacing its content) and gives it exactly `mode`.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    f.set_permissions(fs::Permissions::from_mode(mode))?;
    f.write_all(bytes)
}

/// Gives `path` exactly `mode`.
pub fn set_file_mode(path: &Path, mode: u32) -> io::Result<()> {
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    let now = fs::metadata(path)?.permissions().mode() & 0o7777;
    if now == mode {
        return Ok(());
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn private_dir_creates_exactly_and_only_tightens() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("a/b");
        private_dir(&d, 0o700).unwrap();
        assert_eq!(mode(&d), 0o700);
        fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&d, 0o710).unwrap();
        assert_eq!(mode(&d), 0o710);
        fs::set_permissions(&d, fs::Permissions::from_mode(0o500)).unwrap();
        private_dir(&d, 0o700).unwrap();
        assert_eq!(mode(&d), 0o500);
    }

    #[test]
    fn dir_with_mode_creates_exactly_and_keeps_existing() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("upper");
        dir_with_mode(&d, 0o755).unwrap();
        assert_eq!(mode(&d), 0o755);
        fs::set_permissions(&d, fs::Permissions::from_mode(0o750)).unwrap();
        dir_with_mode(&d, 0o755).unwrap();
        assert_eq!(mode(&d), 0o750);
    }

    #[test]
    fn write_file_sets_the_mode_of_an_existing_file() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        fs::write(&f, b"old old").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o666)).unwrap();
        write_file(&f, b"new", 0o600).unwrap();
        assert_eq!(mode(&f), 0o600);
        assert_eq!(fs::read(&f).unwrap(), b"new");
    }
}
