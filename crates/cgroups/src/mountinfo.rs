//! Reading `/proc/<pid>/mountinfo`: the mounts a process sees, with their filesystem type
//! and superblock options (where cgroup v1 names its controllers).

use std::path::PathBuf;

/// One line of mountinfo, as far as berth needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount<'a> {
    /// Where it is mounted (field 5), unescaped.
    pub mount_point: PathBuf,
    /// The filesystem type after the ` - ` separator (`cgroup`, `cgroup2`, `tmpfs`...).
    pub fstype: &'a str,
    /// The superblock options (`rw,memory` for a v1 memory hierarchy).
    pub super_options: &'a str,
}

/// The mounts listed in mountinfo text; malformed lines are skipped.
pub fn mounts(mountinfo: &str) -> impl Iterator<Item = Mount<'_>> {
    mountinfo.lines().filter_map(parse_line)
}

/// "36 25 0:31 / /sys/fs/cgroup/memory rw,... shared:14 - cgroup cgroup rw,memory"
fn parse_line(line: &str) -> Option<Mount<'_>> {
    let (left, right) = line.split_once(" - ")?;
    let mount_point = left.split_whitespace().nth(4)?;
    let mut r = right.split_whitespace();
    let (fstype, _source, super_options) = (r.next()?, r.next()?, r.next()?);
    Some(Mount {
        mount_point: PathBuf::from(unescape(mount_point)),
        fstype,
        super_options,
    })
}

/// Unescapes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let octal = std::str::from_utf8(&b[i + 1..i + 4]).ok();
            if let Some(v) = octal.and_then(|o| u8::from_str_radix(o, 8).ok()) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn escaped_mountpoint() {
        assert_eq!(unescape("/a\\040b"), "/a b");
    }

    #[test]
    fn lines_with_optional_fields_and_garbage() {
        let mi = "\
25 30 0:23 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
not a mount line
26 25 0:24 / /sys/fs/cgroup/unified rw,relatime shared:10 master:1 - cgroup2 cgroup2 rw,nsdelegate
";
        let got: Vec<_> = mounts(mi).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].mount_point, Path::new("/sys/fs/cgroup"));
        assert_eq!(got[0].fstype, "tmpfs");
        assert_eq!(got[1].mount_point, Path::new("/sys/fs/cgroup/unified"));
        assert_eq!(got[1].fstype, "cgroup2");
        assert_eq!(got[1].super_options, "rw,nsdelegate");
    }
}
