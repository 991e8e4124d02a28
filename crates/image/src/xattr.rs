//! Extended attributes of a path, never following a final symlink: the one place berth reads
//! and sets them (layer unpacking, snapshot copies, diffs).

use std::io;
use std::path::Path;

use rustix::fs::XattrFlags;

/// overlayfs marks a directory that hides its lower layers' content with this attribute.
pub const OVERLAY_OPAQUE: &str = "trusted.overlay.opaque";
/// overlayfs's own attributes: never taken from an archive (they would redirect lookups),
/// never written into one.
pub const OVERLAY_PREFIX: &str = "trusted.overlay.";

/// `lsetxattr(2)`. To set an attribute on a directory reached by an fd, pass
/// `/proc/self/fd/<n>/.`: the `.` makes the directory, not the magic link, the target.
pub fn lset(path: &Path, key: &str, value: &[u8]) -> io::Result<()> {
    rustix::fs::lsetxattr(path, key, value, XattrFlags::empty()).map_err(io::Error::from)
}

/// `lgetxattr(2)`; `None` when the attribute is absent or the filesystem has none.
pub fn lget(path: &Path, key: &str) -> io::Result<Option<Vec<u8>>> {
    loop {
        let len = match rustix::fs::lgetxattr_query(path, key) {
            Ok(n) => n,
            Err(e) if absent(e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut buf = vec![0u8; len];
        match rustix::fs::lgetxattr(path, key, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(Some(buf));
            }
            Err(e) if absent(e) => return Ok(None),
            // It grew between the two calls: ask again.
            Err(rustix::io::Errno::RANGE) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Names of every attribute of `path`.
pub fn llist(path: &Path) -> io::Result<Vec<String>> {
    loop {
        let len = match rustix::fs::llistxattr_query(path) {
            Ok(n) => n,
            Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut buf = vec![0u8; len];
        match rustix::fs::llistxattr(path, &mut buf[..]) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf
                    .split(|b| *b == 0)
                    .filter(|n| !n.is_empty())
                    .filter_map(|n| std::str::from_utf8(n).ok().map(str::to_string))
                    .collect());
            }
            Err(rustix::io::Errno::RANGE) => continue,
            Err(rustix::io::Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        }
    }
}

/// Every attribute of `path` but overlayfs's own, sorted by name: what a copy or an
/// archive carries.
pub fn portable(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for key in llist(path)? {
        if key.starts_with(OVERLAY_PREFIX) {
            continue;
        }
        if let Some(v) = lget(path, &key)? {
            out.push((key, v));
        }
    }
    out.sort();
    Ok(out)
}

fn absent(e: rustix::io::Errno) -> bool {
    e == rustix::io::Errno::NODATA || e == rustix::io::Errno::NOTSUP
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_list_without_following_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        std::fs::write(&f, b"").unwrap();
        let link = t.path().join("l");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        lset(&f, "user.a", b"1").unwrap();
        lset(&f, OVERLAY_OPAQUE, b"y").unwrap();
        assert_eq!(lget(&f, "user.a").unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(lget(&f, "user.none").unwrap(), None);
        assert_eq!(
            portable(&f).unwrap(),
            vec![("user.a".into(), b"1".to_vec())]
        );
        // The link's own attributes, not its target's.
        assert_eq!(lget(&link, "user.a").unwrap(), None);
        // The directory behind an fd, through /proc.
        let dir = std::fs::File::open(t.path()).unwrap();
        let p = format!("/proc/self/fd/{}/.", std::os::fd::AsRawFd::as_raw_fd(&dir));
        lset(Path::new(&p), "user.d", b"x").unwrap();
        assert_eq!(
            lget(t.path(), "user.d").unwrap().as_deref(),
            Some(&b"x"[..])
        );
    }
}
