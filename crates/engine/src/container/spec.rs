//! From a container record to berth-spec's [`SpecInput`]: the Docker-to-OCI decisions that
//! need the engine's knowledge (paths, the image's users, the daemon's settings).

use super::ContainerRecord;
use crate::error::{EngineError, Result};
use crate::{container::user, Engine};
use berth_spec::seccomp::{self, SeccompError};
use berth_spec::{
    caps, BindMount, NamespaceMode, NetworkMode, Resources, SeccompMode, SpecInput, TmpfsMount,
    Ulimit, INIT_PATH,
};
use std::path::{Path, PathBuf};

/// One `-v HOST:CTR[:OPTS]` entry. Named volumes come with the storage issue.
pub fn parse_bind(spec: &str) -> Result<BindMount> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [s, d] => (*s, *d, ""),
        [s, d, o] => (*s, *d, *o),
        _ => {
            return Err(EngineError::invalid(format!(
                "invalid volume specification: '{spec}'"
            )))
        }
    };
    if !dst.starts_with('/') {
        return Err(EngineError::invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"bind\": invalid mount path: '{dst}' mount path must be absolute"
        )));
    }
    if !src.starts_with('/') {
        return Err(EngineError::invalid(format!(
            "invalid volume specification: '{spec}': named volumes are not supported yet"
        )));
    }
    let mut bind = BindMount {
        source: PathBuf::from(src),
        destination: dst.to_string(),
        ..Default::default()
    };
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => bind.readonly = true,
            "rw" => bind.readonly = false,
            "z" | "Z" | "nocopy" => {}
            p @ ("private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave") => {
                bind.propagation = Some(p.to_string())
            }
            other => {
                return Err(EngineError::invalid(format!(
                    "invalid volume specification: '{spec}': invalid mode: {other}"
                )))
            }
        }
    }
    Ok(bind)
}

/// What `HostConfig.SecurityOpt` asks for.
#[derive(Debug, Default, PartialEq)]
pub struct SecurityOpts {
    pub no_new_privileges: bool,
    pub seccomp: SeccompMode,
    pub apparmor_profile: Option<String>,
    /// `systempaths=unconfined`: no masked or read-only paths.
    pub unconfined_paths: bool,
}

/// Parses and checks security options as dockerd does, with its messages. A seccomp profile
/// comes as its JSON text (clients read the file): the daemon opens no file a client names.
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOpts> {
    let mut out = SecurityOpts::default();
    for opt in opts {
        match opt.as_str() {
            "no-new-privileges" => {
                out.no_new_privileges = true;
                continue;
            }
            // `label=disable` in short: SELinux labels, which berth does not set.
            "disable" => continue,
            _ => {}
        }
        // Docker's split: at the first `=`, else (deprecated) at the first `:`.
        let cut = if opt.contains('=') {
            opt.split_once('=')
        } else {
            opt.split_once(':')
        };
        let Some((key, value)) = cut else {
            return Err(EngineError::invalid(format!(
                "invalid --security-opt 1: {opt:?}"
            )));
        };
        let invalid = || EngineError::invalid(format!("invalid --security-opt 2: {opt:?}"));
        match key {
            "label" => {}
            "apparmor" => out.apparmor_profile = Some(value.to_string()),
            "seccomp" => out.seccomp = seccomp_mode(value)?,
            "no-new-privileges" => out.no_new_privileges = go_bool(value).ok_or_else(invalid)?,
            "systempaths" if value == "unconfined" => out.unconfined_paths = true,
            _ => return Err(invalid()),
        }
    }
    Ok(out)
}

/// `seccomp=unconfined`, `seccomp=builtin` (or empty: the default profile), or a profile's
/// JSON, which must decode and be a valid profile.
fn seccomp_mode(value: &str) -> Result<SeccompMode> {
    match value {
        "unconfined" => return Ok(SeccompMode::Unconfined),
        "builtin" | "" => return Ok(SeccompMode::Default),
        _ => {}
    }
    let json: serde_json::Value = serde_json::from_str(value).map_err(|e| {
        let mut msg = SeccompError::Decode(e).to_string();
        if !value.trim_start().starts_with('{') {
            msg.push_str(
                " (the profile's JSON is expected, not a file name: clients read the file)",
            );
        }
        EngineError::invalid(msg)
    })?;
    seccomp::validate(&json).map_err(|e| EngineError::invalid(e.to_string()))?;
    Ok(SeccompMode::Profile(json))
}

/// Go's `strconv.ParseBool`, which dockerd uses for option values.
fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `--cap-add`/`--cap-drop` names, checked as dockerd does at create.
pub fn check_capabilities(cap_add: &[String], cap_drop: &[String]) -> Result<()> {
    caps::check_names(cap_add).map_err(|e| EngineError::invalid(format!("invalid CapAdd: {e}")))?;
    caps::check_names(cap_drop).map_err(|e| EngineError::invalid(format!("invalid CapDrop: {e}")))
}

fn namespace_mode(mode: &str) -> NamespaceMode {
    if mode == "host" {
        NamespaceMode::Host
    } else {
        NamespaceMode::Private
    }
}

impl Engine {
    /// The spec input for `rec`, whose root filesystem is mounted at `rootfs`.
    pub(super) fn spec_input(&self, rec: &ContainerRecord, rootfs: &Path) -> Result<SpecInput> {
        let cfg = &rec.config;
        let host = &rec.host_config;
        let dir = self.config.container_dir(&rec.id);
        let ids = user::resolve(
            rootfs,
            &cfg.user,
            host.group_add.as_deref().unwrap_or_default(),
        )?;

        let mut args = vec![rec.path.clone()];
        args.extend(rec.args.iter().cloned());
        let init_binary = match (host.init, &self.config.init_binary) {
            (Some(true), Some(bin)) => {
                args.splice(0..0, [INIT_PATH.to_string(), "--".to_string()]);
                Some(bin.clone())
            }
            (Some(true), None) => {
                return Err(EngineError::invalid(
                    "--init is not available: the daemon has no init binary",
                ))
            }
            _ => None,
        };

        let mut env = cfg.env.clone().unwrap_or_default();
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(
                0,
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            );
        }
        if !env.iter().any(|e| e.starts_with("HOSTNAME=")) {
            env.insert(1.min(env.len()), format!("HOSTNAME={}", cfg.hostname));
        }
        if cfg.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
            env.push("TERM=xterm".into());
        }

        let mut input = SpecInput {
            rootfs: rootfs.to_path_buf(),
            readonly_rootfs: host.readonly_rootfs,
            args,
            env,
            cwd: cfg.working_dir.clone(),
            user: ids,
            hostname: cfg.hostname.clone(),
            domainname: cfg.domainname.clone(),
            tty: cfg.tty,
            open_stdin: cfg.open_stdin,
            console_size: host
                .console_size
                .as_ref()
                .filter(|s| s.len() == 2 && s[0] > 0 && s[1] > 0)
                .map(|s| [s[0] as u64, s[1] as u64]),
            privileged: host.privileged,
            cap_add: host.cap_add.clone().unwrap_or_default(),
            cap_drop: host.cap_drop.clone().unwrap_or_default(),
            network: match host.network_mode {
                crate::model::NetworkMode::Host => NetworkMode::Host,
                _ => NetworkMode::None,
            },
            pid: namespace_mode(&host.pid_mode),
            ipc: namespace_mode(&host.ipc_mode),
            uts: namespace_mode(&host.uts_mode),
            binds: host
                .binds
                .iter()
                .flatten()
                .map(|b| parse_bind(b))
                .collect::<Result<_>>()?,
            tmpfs: host
                .tmpfs
                .iter()
                .flatten()
                .map(|(dst, opts)| TmpfsMount {
                    destination: dst.clone(),
                    options: opts
                        .split(',')
                        .filter(|o| !o.is_empty())
                        .map(String::from)
                        .collect(),
                })
                .collect(),
            hostname_path: Some(dir.join("hostname")),
            hosts_path: Some(dir.join("hosts")),
            resolv_conf_path: Some(dir.join("resolv.conf")),
            shm_size: (host.shm_size > 0).then_some(host.shm_size as u64),
            init_binary,
            resources: Resources {
                memory: (host.memory > 0).then_some(host.memory),
                memory_swap: (host.memory_swap != 0).then_some(host.memory_swap),
                memory_reservation: (host.memory_reservation > 0)
                    .then_some(host.memory_reservation),
                nano_cpus: (host.nano_cpus > 0).then_some(host.nano_cpus),
                cpu_shares: (host.cpu_shares > 0).then_some(host.cpu_shares),
                cpu_period: (host.cpu_period > 0).then_some(host.cpu_period as u64),
                cpu_quota: (host.cpu_quota > 0).then_some(host.cpu_quota),
                cpuset_cpus: Some(host.cpuset_cpus.clone()).filter(|s| !s.is_empty()),
                cpuset_mems: Some(host.cpuset_mems.clone()).filter(|s| !s.is_empty()),
                pids_limit: host.pids_limit.filter(|p| *p > 0),
                ..Default::default()
            },
            ulimits: host
                .ulimits
                .iter()
                .flatten()
                .map(|u| Ulimit {
                    name: u.name.clone(),
                    soft: u.soft,
                    hard: u.hard,
                })
                .collect(),
            cgroups_path: Some(self.cgroup_path(&rec.id)),
            oom_score_adj: host.oom_score_adj as i32,
            sysctls: host.sysctls.clone().unwrap_or_default(),
            masked_paths: host.masked_paths.clone(),
            readonly_paths: host.readonly_paths.clone(),
            cgroupns: match host.cgroupns_mode.as_str() {
                "private" => berth_spec::CgroupnsMode::Private,
                "host" => berth_spec::CgroupnsMode::Host,
                _ => berth_spec::CgroupnsMode::Auto,
            },
            host: self.host_info.clone(),
            ..Default::default()
        };
        let security = parse_security_opts(host.security_opt.as_deref().unwrap_or_default())?;
        input.no_new_privileges = security.no_new_privileges;
        input.seccomp = security.seccomp;
        input.apparmor_profile = security.apparmor_profile;
        if security.unconfined_paths {
            input.masked_paths = Some(vec![]);
            input.readonly_paths = Some(vec![]);
        }
        Ok(input)
    }

    /// The container's cgroup, under the daemon's cgroup parent (or the container's own).
    pub fn cgroup_path(&self, id: &str) -> String {
        format!("{}/{id}", self.config.cgroup_parent.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_parse_like_docker() {
        let b = parse_bind("/data:/mnt:ro").unwrap();
        assert_eq!(b.source, PathBuf::from("/data"));
        assert_eq!(b.destination, "/mnt");
        assert!(b.readonly);
        assert!(!parse_bind("/data:/mnt").unwrap().readonly);
        assert!(parse_bind("/data:mnt").is_err());
        assert!(parse_bind("/data").is_err());
        assert!(parse_bind("/a:/b:bogus").is_err());
    }

    #[test]
    fn security_opts_parse_like_dockerd() {
        let s = |v: &[&str]| v.iter().map(|o| (*o).to_string()).collect::<Vec<_>>();
        let o = parse_security_opts(&s(&["no-new-privileges", "seccomp=unconfined"])).unwrap();
        assert!(o.no_new_privileges);
        assert_eq!(o.seccomp, SeccompMode::Unconfined);
        let o = parse_security_opts(&s(&[
            "no-new-privileges=true",
            "no-new-privileges:0",
            "seccomp=builtin",
            "label=disable",
            "disable",
            "apparmor=unconfined",
            "systempaths=unconfined",
        ]))
        .unwrap();
        assert!(!o.no_new_privileges);
        assert_eq!(o.seccomp, SeccompMode::Default);
        assert_eq!(o.apparmor_profile.as_deref(), Some("unconfined"));
        assert!(o.unconfined_paths);
        let profile = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#;
        let o = parse_security_opts(&[format!("seccomp={profile}")]).unwrap();
        assert!(matches!(o.seccomp, SeccompMode::Profile(_)));

        let err = |v: &str| parse_security_opts(&s(&[v])).unwrap_err().message();
        assert_eq!(
            err("no-new-privileges=maybe"),
            r#"invalid --security-opt 2: "no-new-privileges=maybe""#
        );
        assert_eq!(
            err("no-new-privileges="),
            r#"invalid --security-opt 2: "no-new-privileges=""#
        );
        assert_eq!(err("bogus=1"), r#"invalid --security-opt 2: "bogus=1""#);
        assert_eq!(
            err("systempaths=confined"),
            r#"invalid --security-opt 2: "systempaths=confined""#
        );
        assert_eq!(err("bogus"), r#"invalid --security-opt 1: "bogus""#);
        assert!(err("seccomp={bad").starts_with("Decoding seccomp profile failed: "));
        assert!(err(r#"seccomp={"defaultAction":"SCMP_ACT_NOPE"}"#)
            .starts_with("Decoding seccomp profile failed: "));
        // A file name is not opened: it is not JSON.
        let e = err("seccomp=/etc/passwd");
        assert!(e.starts_with("Decoding seccomp profile failed: "), "{e}");
        assert!(e.contains("not a file name"), "{e}");
    }

    #[test]
    fn capabilities_are_checked_with_dockerd_messages() {
        let s = |v: &[&str]| v.iter().map(|o| (*o).to_string()).collect::<Vec<_>>();
        check_capabilities(
            &s(&["ALL", "net_admin", "CAP_SYS_TIME"]),
            &s(&["all", "Kill"]),
        )
        .unwrap();
        assert_eq!(
            check_capabilities(&s(&["CAP_FOO"]), &[])
                .unwrap_err()
                .message(),
            r#"invalid CapAdd: unknown capability: "CAP_FOO""#
        );
        assert_eq!(
            check_capabilities(&[], &s(&["bar"])).unwrap_err().message(),
            r#"invalid CapDrop: unknown capability: "CAP_BAR""#
        );
    }
}
