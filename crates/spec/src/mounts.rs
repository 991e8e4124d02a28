//! The spec's mount list: Docker's defaults, user mounts and the engine's files.

use super::{NamespaceMode, SpecError, SpecInput, DEFAULT_SHM_SIZE, INIT_PATH};
use oci_spec::runtime::{Mount, MountBuilder};
use std::path::{Component, Path};

fn mount(dest: &str, typ: &str, source: &str, opts: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(opts.iter().map(|o| (*o).to_string()).collect::<Vec<_>>())
        .build()?)
}

/// Docker's default mounts (`oci.DefaultLinuxSpec`), before `/dev/shm` gets its size.
fn default_mounts() -> Result<Vec<Mount>, SpecError> {
    Ok(vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777"],
        )?,
    ])
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];

/// Flags of mount(8) grouped by the bit they set or clear, so later options win
/// over earlier ones (moby's `MergeTmpfsOptions`).
const FLAG_GROUPS: &[&[&str]] = &[
    &["ro", "rw"],
    &["suid", "nosuid"],
    &["dev", "nodev"],
    &["exec", "noexec"],
    &["sync", "async"],
    &["dirsync"],
    &["remount"],
    &["mand", "nomand"],
    &["atime", "noatime"],
    &["diratime", "nodiratime"],
    &["relatime", "norelatime"],
    &["strictatime", "nostrictatime"],
    // Only one propagation/bind mode.
    &[
        "bind",
        "rbind",
        "unbindable",
        "runbindable",
        "private",
        "rprivate",
        "shared",
        "rshared",
        "slave",
        "rslave",
    ],
];
const TMPFS_DATA: &[&str] = &[
    "size",
    "mode",
    "uid",
    "gid",
    "nr_inodes",
    "nr_blocks",
    "mpol",
];

/// Merges tmpfs options keeping the last of each flag group and data key.
pub(crate) fn merge_tmpfs_options(options: &[String]) -> Result<Vec<String>, SpecError> {
    let mut seen_groups: Vec<usize> = Vec::new();
    let mut seen_data: Vec<String> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for opt in options.iter().rev() {
        if opt == "defaults" {
            continue;
        }
        if let Some(g) = FLAG_GROUPS.iter().position(|g| g.contains(&opt.as_str())) {
            if !seen_groups.contains(&g) {
                seen_groups.push(g);
                out.push(opt.clone());
            }
            continue;
        }
        let key = match opt.split_once('=') {
            Some((k, _)) if TMPFS_DATA.contains(&k) => k.to_string(),
            Some((k, _)) => return Err(SpecError::BadTmpfsOption(k.to_string())),
            None => return Err(SpecError::BadTmpfsOption(opt.clone())),
        };
        if !seen_data.contains(&key) {
            seen_data.push(key);
            out.push(opt.clone());
        }
    }
    out.reverse();
    Ok(out)
}

/// Cleans an absolute container path ("/a//b/../c" -> "/a/c").
fn clean_dest(dest: &str) -> Result<String, SpecError> {
    if !dest.starts_with('/') {
        return Err(SpecError::RelativeDestination(dest.to_string()));
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(dest).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str().unwrap_or_default()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

/// A user-side mount before it becomes an OCI mount (Docker's `container.Mount`).
struct UserMount {
    dest: String,
    mount: Mount,
}

/// What building mounts decided besides the list itself.
pub(crate) struct MountPlan {
    pub mounts: Vec<Mount>,
    /// `linux.rootfsPropagation` forced by shared/slave bind mounts.
    pub rootfs_propagation: Option<String>,
}

/// Builds the full mount list the way moby's `withMounts` orders and filters it.
pub(crate) fn build_mounts(input: &SpecInput) -> Result<MountPlan, SpecError> {
    let mut rootfs_propagation: Option<String> = None;
    let mut user: Vec<UserMount> = Vec::new();

    for b in &input.binds {
        let dest = clean_dest(&b.destination)?;
        let prop = b.propagation.clone().unwrap_or_else(|| "rprivate".into());
        if !PROPAGATIONS.contains(&prop.as_str()) {
            return Err(SpecError::BadPropagation(prop));
        }
        // Shared/slave volumes need the rootfs to propagate too.
        match prop.as_str() {
            "shared" | "rshared" => rootfs_propagation = Some("shared".into()),
            "slave" | "rslave" if rootfs_propagation.is_none() => {
                rootfs_propagation = Some("rslave".into())
            }
            _ => {}
        }
        let mut opts = vec![if b.non_recursive { "bind" } else { "rbind" }.to_string()];
        if b.readonly {
            opts.push("ro".into());
        }
        opts.push(prop);
        user.push(UserMount {
            mount: MountBuilder::default()
                .destination(&dest)
                .typ("bind")
                .source(&b.source)
                .options(opts)
                .build()?,
            dest,
        });
    }

    for t in &input.tmpfs {
        let dest = clean_dest(&t.destination)?;
        let mut opts: Vec<String> = ["noexec", "nosuid", "nodev", "rprivate"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        opts.extend(t.options.iter().filter(|o| !o.is_empty()).cloned());
        let opts = merge_tmpfs_options(&opts)?;
        user.push(UserMount {
            mount: MountBuilder::default()
                .destination(&dest)
                .typ("tmpfs")
                .source("tmpfs")
                .options(opts)
                .build()?,
            dest,
        });
    }

    // The engine's generated files: writable unless the rootfs is read-only, and
    // skipped when the user mounted something there.
    for (dest, src) in [
        ("/etc/resolv.conf", &input.resolv_conf_path),
        ("/etc/hostname", &input.hostname_path),
        ("/etc/hosts", &input.hosts_path),
    ] {
        let Some(src) = src else { continue };
        if user.iter().any(|m| m.dest == dest) {
            continue;
        }
        let mut opts = vec!["rbind".to_string()];
        if input.readonly_rootfs {
            opts.push("ro".into());
        }
        opts.push("rprivate".into());
        user.push(UserMount {
            mount: MountBuilder::default()
                .destination(dest)
                .typ("bind")
                .source(src)
                .options(opts)
                .build()?,
            dest: dest.to_string(),
        });
    }

    // `--ipc host` shares the host's /dev/shm.
    if input.ipc == NamespaceMode::Host && !user.iter().any(|m| m.dest == "/dev/shm") {
        user.push(UserMount {
            mount: mount("/dev/shm", "bind", "/dev/shm", &["rbind", "rprivate"])?,
            dest: "/dev/shm".into(),
        });
    }

    // Parents before children: Docker sorts by path depth (stable).
    user.sort_by_key(|m| m.dest.split('/').filter(|s| !s.is_empty()).count());

    let mut defaults = default_mounts()?;
    if let (Some(init), NamespaceMode::Private) = (&input.init_binary, &input.pid) {
        defaults.push(
            MountBuilder::default()
                .destination(INIT_PATH)
                .typ("bind")
                .source(init)
                .options(vec!["bind".to_string(), "ro".to_string()])
                .build()?,
        );
    }

    let user_dev = user.iter().any(|m| m.dest == "/dev");
    let shm = format!("size={}", input.shm_size.unwrap_or(DEFAULT_SHM_SIZE));
    let mut mounts = Vec::new();
    for mut m in defaults {
        let dest = m.destination().to_string_lossy().into_owned();
        if user.iter().any(|u| u.dest == dest) || (user_dev && dest.starts_with("/dev/")) {
            continue;
        }
        if dest == "/dev/shm" {
            push_opt(&mut m, &shm);
        }
        let typ = m.typ().clone().unwrap_or_default();
        if input.readonly_rootfs
            && !matches!(
                dest.as_str(),
                "/proc" | "/dev/pts" | "/dev/shm" | "/dev/mqueue" | "/dev"
            )
        {
            push_opt(&mut m, "ro");
        }
        if input.privileged && (dest == "/sys" || typ == "cgroup") {
            // Privileged containers get a writable /sys and cgroupfs.
            let opts: Vec<String> = m
                .options()
                .iter()
                .flatten()
                .filter(|o| o.as_str() != "ro")
                .cloned()
                .collect();
            m.set_options(Some(opts));
        }
        mounts.push(m);
    }
    mounts.extend(user.into_iter().map(|u| u.mount));
    Ok(MountPlan {
        mounts,
        rootfs_propagation,
    })
}

fn push_opt(m: &mut Mount, opt: &str) {
    let mut opts = m.options().clone().unwrap_or_default();
    if !opts.iter().any(|o| o == opt) {
        opts.push(opt.to_string());
    }
    m.set_options(Some(opts));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_string()).collect()
    }

    #[test]
    fn tmpfs_merge_last_wins() {
        let got = merge_tmpfs_options(&s(&[
            "noexec", "nosuid", "nodev", "rprivate", "exec", "size=1m", "size=2m",
        ]))
        .unwrap();
        assert_eq!(got, s(&["nosuid", "nodev", "rprivate", "exec", "size=2m"]));
        assert!(merge_tmpfs_options(&s(&["bogus=1"])).is_err());
        assert!(merge_tmpfs_options(&s(&["weird"])).is_err());
    }

    #[test]
    fn clean_paths() {
        assert_eq!(clean_dest("/a//b/../c/").unwrap(), "/a/c");
        assert!(clean_dest("rel").is_err());
    }
}
