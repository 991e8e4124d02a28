//! `--user NAME|UID[:GROUP|GID]` resolved against the image's /etc/passwd and /etc/group.

use crate::error::{EngineError, Result};
use berth_spec::UserIds;
use std::path::Path;

struct Entry {
    name: String,
    id: u32,
    gid: u32,
}

fn read_db(rootfs: &Path, file: &str) -> Vec<Entry> {
    let text = std::fs::read_to_string(rootfs.join(file)).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            let id = f.get(2)?.parse().ok()?;
            let gid = f.get(3).and_then(|g| g.parse().ok()).unwrap_or(id);
            Some(Entry {
                name: f[0].to_string(),
                id,
                gid,
            })
        })
        .collect()
}

/// Resolves the user the way runc's `user.GetExecUser` does for Docker.
pub fn resolve(rootfs: &Path, spec: &str, group_add: &[String]) -> Result<UserIds> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = read_db(rootfs, "etc/passwd");
    let groups = read_db(rootfs, "etc/group");
    let (uid, mut gid) = if user.is_empty() {
        (0, 0)
    } else if let Ok(uid) = user.parse::<u32>() {
        let gid = passwd.iter().find(|e| e.id == uid).map_or(0, |e| e.gid);
        (uid, gid)
    } else {
        let e = passwd.iter().find(|e| e.name == user).ok_or_else(|| {
            EngineError::invalid(format!(
                "unable to find user {user}: no matching entries in passwd file"
            ))
        })?;
        (e.id, e.gid)
    };
    let lookup_group = |g: &str| -> Result<u32> {
        if let Ok(n) = g.parse::<u32>() {
            return Ok(n);
        }
        groups
            .iter()
            .find(|e| e.name == g)
            .map(|e| e.id)
            .ok_or_else(|| {
                EngineError::invalid(format!(
                    "unable to find group {g}: no matching entries in group file"
                ))
            })
    };
    if let Some(g) = group.filter(|g| !g.is_empty()) {
        gid = lookup_group(g)?;
    }
    let mut additional_gids = vec![gid];
    for g in group_add {
        let n = lookup_group(g)?;
        if !additional_gids.contains(&n) {
            additional_gids.push(n);
        }
    }
    Ok(UserIds {
        uid,
        gid,
        additional_gids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_resolve() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65533::/:/bin/false\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nnogroup:x:65533:\n",
        )
        .unwrap();
        let u = resolve(dir.path(), "nobody", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (65534, 65533));
        let u = resolve(dir.path(), "1000:1001", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (1000, 1001));
        let u = resolve(dir.path(), "", &[]).unwrap();
        assert_eq!((u.uid, u.gid), (0, 0));
        assert!(resolve(dir.path(), "ghost", &[]).is_err());
        assert!(resolve(dir.path(), "0:ghosts", &[]).is_err());
    }
}
