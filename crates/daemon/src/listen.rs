//! Listening sockets: `unix://PATH`, owned by root:GROUP with mode 0660 like dockerd's.

use anyhow::{bail, Context};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tokio::net::UnixListener;

pub fn bind_all(hosts: &[String], group: Option<&str>) -> anyhow::Result<Vec<UnixListener>> {
    hosts.iter().map(|h| bind(h, group)).collect()
}

fn bind(host: &str, group: Option<&str>) -> anyhow::Result<UnixListener> {
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
    Ok(listener)
}
