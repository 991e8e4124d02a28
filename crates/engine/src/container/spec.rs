//! From a container record to the runtime's [`SpecInput`]: the Docker-to-OCI decisions that
//! need the engine's knowledge (paths, the image's users, the daemon's settings).

use super::ContainerRecord;
use crate::error::{EngineError, Result};
use crate::{container::user, Engine};
use berth_runtime::spec::{
    BindMount, NamespaceMode, NetworkMode, Resources, SeccompMode, SpecInput, TmpfsMount, Ulimit,
    INIT_PATH,
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

fn parse_security_opts(opts: &[String], input: &mut SpecInput) -> Result<()> {
    for opt in opts {
        let (key, value) = opt
            .split_once(['=', ':'])
            .map_or((opt.as_str(), ""), |(k, v)| (k, v));
        match key {
            "no-new-privileges" => input.no_new_privileges = value.is_empty() || value == "true",
            "seccomp" if value == "unconfined" => input.seccomp = SeccompMode::Unconfined,
            "seccomp" => {
                // The docker CLI sends the profile's contents; a path is read here for
                // clients that pass one.
                let text = if value.trim_start().starts_with('{') {
                    value.to_string()
                } else {
                    std::fs::read_to_string(value).map_err(|e| {
                        EngineError::invalid(format!(
                            "opening seccomp profile ({value}) failed: {e}"
                        ))
                    })?
                };
                let json = serde_json::from_str(&text).map_err(|e| {
                    EngineError::invalid(format!("decoding seccomp profile failed: {e}"))
                })?;
                input.seccomp = SeccompMode::Profile(json);
            }
            "apparmor" => input.apparmor_profile = Some(value.to_string()),
            "label" => {}
            "systempaths" if value == "unconfined" => {
                input.masked_paths = Some(vec![]);
                input.readonly_paths = Some(vec![]);
            }
            _ => {
                return Err(EngineError::invalid(format!(
                    "invalid --security-opt 2: {opt:?}"
                )))
            }
        }
    }
    Ok(())
}

fn namespace_mode(mode: &str) -> NamespaceMode {
    if mode == "host" {
        NamespaceMode::Host
    } else {
        NamespaceMode::Private
    }
}

impl Engine {
    /// The runtime input for `rec`, whose root filesystem is mounted at `rootfs`.
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
            network: match host.network_mode.as_str() {
                "host" => NetworkMode::Host,
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
            host: self.host_info.clone(),
            ..Default::default()
        };
        parse_security_opts(host.security_opt.as_deref().unwrap_or_default(), &mut input)?;
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
    fn security_opts_map_to_spec_input() {
        let mut input = SpecInput::default();
        parse_security_opts(
            &["no-new-privileges".into(), "seccomp=unconfined".into()],
            &mut input,
        )
        .unwrap();
        assert!(input.no_new_privileges);
        assert_eq!(input.seccomp, SeccompMode::Unconfined);
        assert!(parse_security_opts(&["bogus=1".into()], &mut input).is_err());
    }
}
