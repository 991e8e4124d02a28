//! Keeping the long-lived shim small: its start-up (and libcontainer's create, even though
//! that runs in a child) touches code and heap the shim never needs again while it just
//! supervises.

use std::sync::atomic::{AtomicBool, Ordering};

/// How long after a create, start or exec the shim gives back its start-up memory: late
/// enough not to delay the answer the daemon is waiting for.
const SHED_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether a shed is already waiting: a create, start and exec close together need one.
static SHED_PENDING: AtomicBool = AtomicBool::new(false);

/// Sheds start-up memory once the current request has been answered.
pub fn shed_startup_memory_soon() {
    if SHED_PENDING.swap(true, Ordering::Relaxed) {
        return;
    }
    tokio::task::spawn_local(async {
        tokio::time::sleep(SHED_DELAY).await;
        SHED_PENDING.store(false, Ordering::Relaxed);
        shed_startup_memory();
    });
}

/// Gives back start-up memory: free heap pages, and the resident pages of read-only file
/// mappings (code, constants), which are re-read from the page cache if ever touched again.
fn shed_startup_memory() {
    // SAFETY: malloc_trim only returns free heap memory to the kernel.
    unsafe { libc::malloc_trim(0) };
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    for (start, len) in droppable_regions(&smaps) {
        // SAFETY: the region is a private, read-only file mapping without any copied-on-write
        // page (Anonymous: 0), so every page's content equals the file's: dropping the pages
        // only makes the next access fault them in again from the page cache. Nothing runs
        // concurrently (one thread) that could write into it between the check and here.
        unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        // SAFETY: MADV_RANDOM only changes how later faults are served (no read-around), so
        // the few code pages the shim still runs stay the only resident ones.
        unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_RANDOM) };
    }
}

/// (start, length) of the read-only file-backed mappings with no anonymous pages.
fn droppable_regions(smaps: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    // The region being read: (start, len, eligible by header), and its Anonymous size.
    let mut current: Option<(usize, usize, bool)> = None;
    let mut anonymous: Option<u64> = None;
    let mut flush = |cur: Option<(usize, usize, bool)>, anon: Option<u64>| {
        if let (Some((s, l, true)), Some(0)) = (cur, anon) {
            out.push((s, l));
        }
    };
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if first.ends_with(':') {
            if first == "Anonymous:" {
                anonymous = fields.next().and_then(|v| v.parse().ok());
            }
            continue;
        }
        flush(current.take(), anonymous.take());
        let Some((s, e)) = first.split_once('-') else {
            continue;
        };
        let (Ok(s), Ok(e)) = (usize::from_str_radix(s, 16), usize::from_str_radix(e, 16)) else {
            continue;
        };
        let perms = fields.next().unwrap_or("");
        let path = fields.nth(3).unwrap_or("");
        let eligible =
            path.starts_with('/') && perms.len() == 4 && &perms[1..2] != "w" && &perms[3..4] == "p";
        current = Some((s, e.saturating_sub(s), eligible));
    }
    flush(current, anonymous);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_clean_read_only_file_mappings() {
        let smaps = "\
55d0a0000000-55d0a0100000 r--p 00000000 08:01 123 /usr/bin/berth-shim
Rss:                 400 kB
Anonymous:             0 kB
55d0a0100000-55d0a0400000 r-xp 00100000 08:01 123 /usr/bin/berth-shim
Anonymous:             0 kB
55d0a0400000-55d0a0410000 r--p 00400000 08:01 123 /usr/bin/berth-shim
Anonymous:            64 kB
55d0a0410000-55d0a0411000 rw-p 00410000 08:01 123 /usr/bin/berth-shim
Anonymous:             0 kB
7f0000000000-7f0000001000 r--s 00000000 08:01 9 /dev/shm/x
Anonymous:             0 kB
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
Anonymous:           132 kB
7ffc00100000-7ffc00102000 r-xp 00000000 00:00 0                          [vdso]
Anonymous:             0 kB
";
        assert_eq!(
            droppable_regions(smaps),
            vec![(0x55d0a0000000, 0x100000), (0x55d0a0100000, 0x300000)]
        );
    }
}
