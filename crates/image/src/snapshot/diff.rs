//! A snapshot's changes over its parent, as an OCI layer tar ([`write_layer`]) or as its
//! [`Usage`]. Two sources of changes:
//!
//! - an overlay upper directory ([`upper_changes`]), as Docker's overlay2 differ reads it:
//!   everything in it is added or changed, a 0:0 character device is a whiteout and
//!   `trusted.overlay.opaque=y` marks an opaque directory;
//! - two whole trees ([`tree_changes`], for the native backend): a walk of both comparing
//!   each path's type, mode, owner, times, size, link target, device and xattrs, and the
//!   content when all of those agree but the mtime has no sub-second part (a copy that
//!   lost precision could hide a change).
//!
//! Entries come sorted by name, a directory before its content; overlayfs's own xattrs
//! never go into a layer.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::Usage;
use crate::xattr;

const WHITEOUT_PREFIX: &str = ".wh.";
const WHITEOUT_OPAQUE: &str = ".wh..wh..opq";

/// One change, relative to the snapshot's root.
#[derive(Debug)]
pub enum Change<'a> {
    /// `rel` was added or changed; `path` is where to read it.
    Entry {
        rel: &'a Path,
        path: &'a Path,
        md: &'a fs::Metadata,
    },
    /// `rel`, which the parent has, was deleted.
    Whiteout { rel: &'a Path },
    /// Directory `rel` (just given as an entry) hides what the parent had in it.
    Opaque { rel: &'a Path },
}

pub type Visit<'a> = dyn FnMut(Change<'_>) -> io::Result<()> + 'a;

fn sorted_names(dir: &Path) -> io::Result<Vec<OsString>> {
    let mut names = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

fn is_whiteout(md: &fs::Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

/// The changes an overlay upper directory holds.
pub fn upper_changes(upper: &Path, f: &mut Visit<'_>) -> io::Result<()> {
    walk_upper(upper, Path::new(""), f)
}

fn walk_upper(dir: &Path, rel: &Path, f: &mut Visit<'_>) -> io::Result<()> {
    for name in sorted_names(dir)? {
        let (path, rel) = (dir.join(&name), rel.join(&name));
        let md = fs::symlink_metadata(&path)?;
        if is_whiteout(&md) {
            f(Change::Whiteout { rel: &rel })?;
            continue;
        }
        f(Change::Entry {
            rel: &rel,
            path: &path,
            md: &md,
        })?;
        if md.is_dir() {
            if xattr::lget(&path, xattr::OVERLAY_OPAQUE)?.as_deref() == Some(b"y") {
                f(Change::Opaque { rel: &rel })?;
            }
            walk_upper(&path, &rel, f)?;
        }
    }
    Ok(())
}

/// The changes that turn tree `lower` (none: an empty tree) into tree `upper`.
pub fn tree_changes(lower: Option<&Path>, upper: &Path, f: &mut Visit<'_>) -> io::Result<()> {
    walk_trees(lower, upper, Path::new(""), f)
}

fn walk_trees(lower: Option<&Path>, upper: &Path, rel: &Path, f: &mut Visit<'_>) -> io::Result<()> {
    let unames: BTreeSet<OsString> = sorted_names(upper)?.into_iter().collect();
    let lnames: BTreeSet<OsString> = match lower {
        Some(l) => sorted_names(l)?.into_iter().collect(),
        None => BTreeSet::new(),
    };
    for name in unames.union(&lnames) {
        let r = rel.join(name);
        let lower_path = lower
            .filter(|_| lnames.contains(name))
            .map(|l| l.join(name));
        if !unames.contains(name) {
            f(Change::Whiteout { rel: &r })?;
            continue;
        }
        let path = upper.join(name);
        let md = fs::symlink_metadata(&path)?;
        let lower_md = match &lower_path {
            Some(p) => Some(fs::symlink_metadata(p)?),
            None => None,
        };
        let same = match (&lower_path, &lower_md) {
            (Some(lp), Some(lmd)) => same_entry(lp, lmd, &path, &md)?,
            _ => false,
        };
        if !same {
            f(Change::Entry {
                rel: &r,
                path: &path,
                md: &md,
            })?;
        }
        if md.is_dir() {
            let below = lower_path.filter(|_| lower_md.as_ref().is_some_and(|m| m.is_dir()));
            walk_trees(below.as_deref(), &path, &r, f)?;
        }
    }
    Ok(())
}

fn same_entry(lp: &Path, l: &fs::Metadata, up: &Path, u: &fs::Metadata) -> io::Result<bool> {
    let t = u.file_type();
    let basic = l.file_type() == t
        && l.mode() == u.mode()
        && (l.uid(), l.gid()) == (u.uid(), u.gid())
        && (l.mtime(), l.mtime_nsec()) == (u.mtime(), u.mtime_nsec())
        && (t.is_dir() || l.size() == u.size())
        && (!(t.is_char_device() || t.is_block_device()) || l.rdev() == u.rdev());
    if !basic || xattr::portable(lp)? != xattr::portable(up)? {
        return Ok(false);
    }
    if t.is_symlink() {
        return Ok(fs::read_link(lp)? == fs::read_link(up)?);
    }
    if t.is_file() && u.mtime_nsec() == 0 {
        return same_content(lp, up);
    }
    Ok(true)
}

fn same_content(a: &Path, b: &Path) -> io::Result<bool> {
    let (mut a, mut b) = (File::open(a)?, File::open(b)?);
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = read_full(&mut a, &mut ba)?;
        if n != read_full(&mut b, &mut bb)? || ba[..n] != bb[..n] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The usage of a set of changes.
pub fn usage(changes: impl FnOnce(&mut Visit<'_>) -> io::Result<()>) -> io::Result<Usage> {
    let mut seen = HashSet::new();
    let mut u = Usage::default();
    changes(&mut |c| {
        if let Change::Entry { md, .. } = c {
            if seen.insert((md.dev(), md.ino())) {
                u.inodes += 1;
                if md.is_file() {
                    u.size += md.len();
                }
            }
        }
        Ok(())
    })?;
    Ok(u)
}

/// Writes a set of changes to `out` as an uncompressed layer tar.
pub fn write_layer(
    changes: impl FnOnce(&mut Visit<'_>) -> io::Result<()>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut w = LayerWriter {
        tar: tar::Builder::new(out),
        links: HashMap::new(),
    };
    changes(&mut |c| w.add(c))?;
    w.tar.into_inner()?;
    Ok(())
}

struct LayerWriter<'a> {
    tar: tar::Builder<&'a mut dyn Write>,
    /// First path written for each multiply-linked inode: later ones become hard links.
    links: HashMap<(u64, u64), PathBuf>,
}

impl LayerWriter<'_> {
    fn add(&mut self, c: Change<'_>) -> io::Result<()> {
        match c {
            Change::Entry { rel, path, md } => self.entry(rel, path, md),
            Change::Whiteout { rel } => {
                let name = rel.file_name().unwrap_or_default();
                let mut wh = OsString::from(WHITEOUT_PREFIX);
                wh.push(name);
                self.marker(&rel.with_file_name(wh))
            }
            Change::Opaque { rel } => self.marker(&rel.join(WHITEOUT_OPAQUE)),
        }
    }

    /// An empty file that only means something to the applier.
    fn marker(&mut self, rel: &Path) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(0);
        self.tar.append_data(&mut h, rel, io::empty())
    }

    fn entry(&mut self, rel: &Path, path: &Path, md: &fs::Metadata) -> io::Result<()> {
        let t = md.file_type();
        if t.is_socket() {
            return Ok(());
        }
        let mut h = tar::Header::new_gnu();
        h.set_metadata_in_mode(md, tar::HeaderMode::Complete);
        h.set_mode(md.mode() & 0o7777);
        if !t.is_dir() && md.nlink() > 1 {
            let id = (md.dev(), md.ino());
            if let Some(first) = self.links.get(&id) {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                let first = first.clone();
                return self.tar.append_link(&mut h, rel, first);
            }
            self.links.insert(id, rel.to_path_buf());
        }
        self.xattrs(rel, path)?;
        if t.is_symlink() {
            h.set_size(0);
            return self.tar.append_link(&mut h, rel, fs::read_link(path)?);
        }
        if t.is_file() {
            let f = File::open(path)?;
            return self.tar.append_data(&mut h, rel, f.take(md.len()));
        }
        if t.is_char_device() || t.is_block_device() {
            h.set_device_major(libc::major(md.rdev()))?;
            h.set_device_minor(libc::minor(md.rdev()))?;
        }
        h.set_size(0);
        self.tar.append_data(&mut h, rel, io::empty())
    }

    /// A PAX header carrying the xattrs of the entry that follows.
    fn xattrs(&mut self, rel: &Path, path: &Path) -> io::Result<()> {
        let attrs = xattr::portable(path)?;
        if attrs.is_empty() {
            return Ok(());
        }
        let mut data = Vec::new();
        for (k, v) in &attrs {
            let key = format!("SCHILY.xattr.{k}");
            pax_record(&mut data, key.as_bytes(), v);
        }
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::XHeader);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        let base = rel.file_name().map(|n| n.as_bytes()).unwrap_or(b"x");
        let mut name = b"PaxHeaders.0/".to_vec();
        name.extend_from_slice(&base[..base.len().min(80)]);
        h.set_path(Path::new(std::ffi::OsStr::from_bytes(&name)))?;
        h.set_cksum();
        self.tar.append(&h, data.as_slice())
    }
}

/// `"<len> <key>=<value>\n"`, where len counts the whole record, its own digits included.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len.to_string().len() + body != len {
        len += 1;
    }
    out.extend_from_slice(format!("{len} ").as_bytes());
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        let mut out = Vec::new();
        pax_record(&mut out, b"SCHILY.xattr.user.a", b"1");
        assert_eq!(out, b"25 SCHILY.xattr.user.a=1\n");
        // Across the steps from one digit to two and from two to three.
        for n in 0..200 {
            let mut out = Vec::new();
            pax_record(&mut out, b"k", &vec![b'v'; n]);
            let len: usize =
                std::str::from_utf8(&out[..out.iter().position(|b| *b == b' ').unwrap()])
                    .unwrap()
                    .parse()
                    .unwrap();
            assert_eq!(len, out.len(), "{n}");
        }
    }

    #[test]
    fn tree_changes_find_content_behind_equal_metadata() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        for d in [&a, &b] {
            fs::create_dir(d).unwrap();
        }
        fs::write(a.join("f"), b"one").unwrap();
        fs::write(b.join("f"), b"two").unwrap();
        let when = nix::sys::time::TimeSpec::new(1_600_000_000, 0);
        for d in [&a, &b] {
            nix::sys::stat::utimensat(
                None,
                &d.join("f"),
                &when,
                &when,
                nix::sys::stat::UtimensatFlags::NoFollowSymlink,
            )
            .unwrap();
        }
        fs::set_permissions(
            b.join("f"),
            fs::metadata(a.join("f")).unwrap().permissions(),
        )
        .unwrap();
        let mut changed = Vec::new();
        tree_changes(Some(&a), &b, &mut |c| {
            if let Change::Entry { rel, .. } = c {
                changed.push(rel.to_path_buf());
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(changed, vec![PathBuf::from("f")]);
    }
}
