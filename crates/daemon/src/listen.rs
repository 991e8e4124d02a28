//! Listening sockets: `unix://PATH`, owned by root:GROUP with mode 0660 like dockerd's.

use anyhow::{bail, Context};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::net::UnixListener;

pub fn bind_all(
    hosts: &[String],
    group: Option<&str>,
    exec_root: &Path,
) -> anyhow::Result<Vec<UnixListener>> {
    hosts.iter().map(|h| bind(h, group, exec_root)).collect()
}

fn bind(host: &str, group: Option<&str>, exec_root: &Path) -> anyhow::Result<UnixListener> {
    let Some(path) = host.strip_prefix("unix://") else {
        bail!("unsupported host {host:?}");
    };
    let path = Path::new(path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // A socket file left by a daemon that died is stale: nothing answers on it.
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("{} is in use by another daemon", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    }
    let listener =
        UnixListener::bind(path).with_context(|| format!("binding {}", path.display()))?;
    let gid = match group {
        Some(g) => match nix::unistd::Group::from_name(g)? {
            Some(gr) => Some(gr.gid),
            None => {
                tracing::warn!("group {g} not found: socket stays root:root");
                None
            }
        },
        None => None,
    };
    nix::unistd::chown(path, Some(nix::unistd::Uid::from_raw(0)), gid)
        .with_context(|| format!("chown {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))?;
    if let (Some(gid), Some(dir)) = (gid, path.parent()) {
        if same_dir(dir, exec_root) {
            let_group_through(dir, gid)?;
        }
    }
    Ok(listener)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// The default socket lies in the exec root, which is root's alone: the socket's group may
/// pass through it (0710, as Docker's directories since CVE-2021-41091) to the socket, but
/// not list it, and what else is there stays root's (each shim's directory is 0700).
fn let_group_through(dir: &Path, gid: nix::unistd::Gid) -> anyhow::Result<()> {
    nix::unistd::chown(dir, Some(nix::unistd::Uid::from_raw(0)), Some(gid))
        .with_context(|| format!("chown {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o710))
        .with_context(|| format!("chmod {}", dir.display()))
}
