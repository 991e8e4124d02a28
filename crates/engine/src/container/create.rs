//! `POST /containers/create`.

use super::{now_rfc3339, Container, ContainerRecord};
use crate::error::{EngineError, IoContext, Result};
use crate::model::{ContainerConfig, HostConfig, LogConfig, NetworkMode, RestartPolicy};
use crate::{names, Engine};
use berth_image::perms::{private_dir, write_file, PRIVATE_DIR};
use std::path::Path;
use std::sync::Arc;

/// Docker refuses memory limits below this.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

impl Engine {
    /// Creates a container; nothing of it is visible until its record is committed last.
    pub async fn create_container(
        &self,
        name: Option<&str>,
        config: ContainerConfig,
        host: HostConfig,
    ) -> Result<(String, Vec<String>)> {
        self.begin_cgroup_grace_period();
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => {
                let n = names::validate(n)?;
                if !self.reserve_name(&n) {
                    let other = self.name_in_use(&n).unwrap_or_default();
                    return Err(EngineError::conflict(format!(
                        "Conflict. The container name \"/{n}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                    )));
                }
                n
            }
            None => self.reserve_random_name(),
        };
        let result = self.create_named(&name, config, host).await;
        self.release_name(&name);
        result
    }

    async fn create_named(
        &self,
        name: &str,
        mut config: ContainerConfig,
        mut host: HostConfig,
    ) -> Result<(String, Vec<String>)> {
        let name = name.to_string();
        if config.image.is_empty() {
            return Err(EngineError::invalid(
                "config cannot be empty in order to create a container",
            ));
        }
        if let Some(signal) = config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
            super::stop::parse_signal(signal)?;
        }
        let image = self.images.resolve(&config.image)?;
        let warnings = validate_host_config(&mut host)?;
        self.settle_log_config(&mut host)?;
        fill_dockers_defaults(&mut host, &self.host_info);

        // Merge the image's defaults the way Docker does at create time.
        let user_entrypoint = config.entrypoint.take().filter(|e| !e.is_empty());
        if user_entrypoint.is_some() {
            config.cmd = config.cmd.filter(|c| !c.is_empty());
        } else {
            config.cmd = config.cmd.filter(|c| !c.is_empty()).or(image.cmd.clone());
        }
        config.entrypoint = user_entrypoint.or(image.entrypoint.clone());
        config.env = Some(merge_env(
            &image.env,
            config.env.as_deref().unwrap_or_default(),
        ));
        if config.working_dir.is_empty() {
            config.working_dir = image.working_dir.clone();
        }
        if config.user.is_empty() {
            config.user = image.user.clone();
        }
        let mut labels = image.labels.clone();
        labels.extend(config.labels.take().unwrap_or_default());
        config.labels = Some(labels);
        if config.stop_signal.is_none() {
            config.stop_signal = image.stop_signal.clone();
        }
        let health = super::health::merge_healthcheck(
            config.passthrough.get("Healthcheck"),
            image.healthcheck.as_ref(),
        );
        if let Some(health) = health {
            config.passthrough.insert("Healthcheck".into(), health);
        }
        if let (None, Some(shell)) = (config.passthrough.get("Shell"), &image.shell) {
            config
                .passthrough
                .insert("Shell".into(), shell.clone().into());
        }
        let mut argv: Vec<String> = config.entrypoint.clone().unwrap_or_default();
        argv.extend(config.cmd.clone().unwrap_or_default());
        if argv.is_empty() {
            return Err(EngineError::invalid("No command specified"));
        }
        let id = new_id();
        if config.hostname.is_empty() {
            // With the host's network, Docker gives the container the host's name too.
            config.hostname = if host.network_mode == NetworkMode::Host {
                nix::unistd::gethostname()
                    .map(|h| h.to_string_lossy().to_string())
                    .unwrap_or_else(|_| id[..12].to_string())
            } else {
                id[..12].to_string()
            };
        }
        let path = argv.remove(0);

        let dir = self.config.container_dir(&id);
        private_dir(&dir, PRIVATE_DIR).at(&dir)?;
        if let Err(e) = write_etc_files(&dir, &config.hostname, &host) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(EngineError::io(&dir, e));
        }
        // Its writable layer, as Docker makes it at create.
        if let Err(e) = self.images.prepare_rootfs(&id, &image.layers) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        let record = ContainerRecord {
            id: id.clone(),
            name,
            created: now_rfc3339(),
            image_id: image.id.clone(),
            layers: image.layers.clone(),
            config,
            host_config: host,
            path,
            args: argv,
            state: crate::model::State::default(),
            restart_count: 0,
            manually_stopped: false,
        };
        if let Err(e) = self.persist(&record) {
            let _ = self.images.remove_rootfs(&id, &dir);
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        self.container_event(&record, "create", &[]);
        self.insert(Arc::new(Container::new(record)));
        Ok((id, warnings))
    }
}

impl Engine {
    /// Reserves a random name no container has; like Docker, digits are appended after a
    /// few clashes.
    fn reserve_random_name(&self) -> String {
        let mut name = names::random_name();
        let mut attempt = 0u32;
        while !self.reserve_name(&name) {
            attempt += 1;
            name = names::random_name();
            if attempt > 3 {
                name = format!("{name}{}", rand::random::<u16>());
            }
        }
        name
    }
}

/// 64 random hex characters, never all digits (Docker avoids ids that parse as numbers).
fn new_id() -> String {
    loop {
        let bytes: [u8; 32] = rand::random();
        let id = hex::encode(bytes);
        if id[..12].chars().any(|c| c.is_ascii_alphabetic()) {
            return id;
        }
    }
}

/// Image env first, then the user's, a later `KEY=` replacing an earlier one.
fn merge_env(image: &[String], user: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for kv in image.iter().chain(user) {
        let key = kv.split('=').next().unwrap_or(kv);
        if let Some(slot) = out
            .iter_mut()
            .find(|e| e.split('=').next().unwrap_or(e) == key)
        {
            *slot = kv.clone();
        } else {
            out.push(kv.clone());
        }
    }
    out
}

/// Checks what Docker checks at create and fills Docker's defaults into the host config.
/// What dockerd writes into a HostConfig at create when the client left it out, so that
/// inspect shows the settings the container really runs with.
fn fill_dockers_defaults(host: &mut HostConfig, facts: &berth_spec::HostInfo) {
    host.oom_kill_disable.get_or_insert(false);
    if host.cgroupns_mode.is_empty() {
        host.cgroupns_mode = if facts.cgroup_v2 { "private" } else { "host" }.into();
    }
    if !host.privileged {
        host.masked_paths
            .get_or_insert_with(|| berth_spec::default_masked_paths(facts));
        host.readonly_paths
            .get_or_insert_with(berth_spec::default_readonly_paths);
    }
    // dockerd's default: swap as large as the memory limit (memory + swap = twice it).
    if host.memory > 0 && host.memory_swap == 0 {
        host.memory_swap = host.memory * 2;
    }
    // The docker CLI sends -1 for "not set"; dockerd stores it as unset.
    if host.memory_swappiness == Some(-1) {
        host.memory_swappiness = None;
    }
}

fn validate_host_config(host: &mut HostConfig) -> Result<Vec<String>> {
    let warnings = Vec::new();
    if !matches!(host.cgroupns_mode.as_str(), "" | "host" | "private") {
        return Err(EngineError::invalid(format!(
            "invalid cgroup namespace mode: {}",
            host.cgroupns_mode
        )));
    }
    // The policy's own checks were made when the request was read.
    if host.auto_remove && host.restart_policy != RestartPolicy::No {
        return Err(EngineError::invalid(
            "can't create 'AutoRemove' container with restart policy",
        ));
    }
    super::spec::check_capabilities(
        host.cap_add.as_deref().unwrap_or_default(),
        host.cap_drop.as_deref().unwrap_or_default(),
    )?;
    if let NetworkMode::Named(other) = &host.network_mode {
        return Err(EngineError::not_found(format!("network {other} not found")));
    }
    if host.memory != 0 && host.memory < MIN_MEMORY {
        return Err(EngineError::invalid("Minimum memory limit allowed is 6MB"));
    }
    if host.memory > 0 && host.memory_swap > 0 && host.memory_swap < host.memory {
        return Err(EngineError::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if host.memory_swap > 0 && host.memory == 0 {
        return Err(EngineError::invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
    if host.nano_cpus < 0 || host.nano_cpus > cpus * 1_000_000_000 {
        return Err(EngineError::invalid(format!(
            "Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
        )));
    }
    if host.nano_cpus > 0 && (host.cpu_quota > 0 || host.cpu_period > 0) {
        return Err(EngineError::invalid(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if host.shm_size < 0 {
        return Err(EngineError::invalid("SHM size can not be less than 0"));
    }
    if host.shm_size == 0 {
        host.shm_size = 64 * 1024 * 1024;
    }
    if host.ipc_mode.is_empty() {
        host.ipc_mode = "private".into();
    }
    for bind in host.binds.iter().flatten() {
        super::spec::parse_bind(bind)?;
    }
    super::spec::parse_security_opts(host.security_opt.as_deref().unwrap_or_default())?;
    Ok(warnings)
}

impl Engine {
    /// The daemon's log driver and options for a container that names none (dockerd gives
    /// the options only with its own driver), checked as dockerd checks them at create.
    fn settle_log_config(&self, host: &mut HostConfig) -> Result<()> {
        let log = host.log_config.get_or_insert_with(LogConfig::default);
        if log.r#type.is_empty() {
            log.r#type = if self.config.log_driver.is_empty() {
                berth_logging::Driver::JsonFile.name().to_string()
            } else {
                self.config.log_driver.clone()
            };
        }
        let opts = log.config.get_or_insert_with(Default::default);
        if opts.is_empty() && log.r#type == self.config.log_driver {
            *opts = self.config.log_opts.clone();
        }
        berth_logging::LogConfig::parse(&log.r#type, opts)
            .map_err(|e| EngineError::invalid(e.to_string()))?;
        Ok(())
    }
}

/// `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` for the container, kept in its
/// directory and bind-mounted in, as Docker does.
fn write_etc_files(dir: &Path, hostname: &str, host: &HostConfig) -> std::io::Result<()> {
    // Bind-mounted in: readable by every user of the container, whatever the umask.
    write_file(
        &dir.join("hostname"),
        format!("{hostname}\n").as_bytes(),
        0o644,
    )?;
    let mut hosts = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for extra in host.extra_hosts.iter().flatten() {
        if let Some((name, ip)) = extra.split_once(':') {
            hosts.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    if host.network_mode == NetworkMode::Host {
        if let Ok(h) = std::fs::read_to_string("/etc/hosts") {
            hosts = h;
        }
    }
    write_file(&dir.join("hosts"), hosts.as_bytes(), 0o644)?;
    write_file(
        &dir.join("resolv.conf"),
        resolv_conf(host).as_bytes(),
        0o644,
    )?;
    Ok(())
}

/// Docker's resolvers for a container when the host leaves it none.
const DEFAULT_NAMESERVERS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];

/// The host's resolv.conf without loopback resolvers (unreachable from a container's own
/// network namespace), or the `--dns` settings; Google's resolvers when none is left, as
/// Docker does.
fn resolv_conf(host: &HostConfig) -> String {
    let host_conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    resolv_conf_from(&host_conf, host)
}

fn resolv_conf_from(host_conf: &str, host: &HostConfig) -> String {
    let mut out = String::new();
    let custom_dns = host.dns.as_ref().filter(|d| !d.is_empty());
    for line in host_conf.lines() {
        let t = line.trim();
        if t.starts_with("nameserver") {
            let addr = t.split_whitespace().nth(1).unwrap_or("");
            let loopback = addr.starts_with("127.") || addr == "::1";
            if custom_dns.is_some() || (loopback && host.network_mode != NetworkMode::Host) {
                continue;
            }
        }
        if (t.starts_with("search") && host.dns_search.as_ref().is_some_and(|s| !s.is_empty()))
            || (t.starts_with("options")
                && host.dns_options.as_ref().is_some_and(|s| !s.is_empty()))
        {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for ns in custom_dns.into_iter().flatten() {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !out
        .lines()
        .any(|l| l.trim_start().starts_with("nameserver"))
    {
        for ns in DEFAULT_NAMESERVERS {
            out.push_str(&format!("nameserver {ns}\n"));
        }
    }
    if let Some(s) = host.dns_search.as_ref().filter(|s| !s.is_empty()) {
        out.push_str(&format!("search {}\n", s.join(" ")));
    }
    if let Some(o) = host.dns_options.as_ref().filter(|s| !s.is_empty()) {
        out.push_str(&format!("options {}\n", o.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_resolvers_and_falls_back_to_dockers() {
        let bridge = HostConfig {
            network_mode: NetworkMode::None,
            ..Default::default()
        };
        let only_local = "nameserver 127.0.0.53\noptions edns0\n";
        assert_eq!(
            resolv_conf_from(only_local, &bridge),
            "options edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"
        );
        let mixed = "nameserver 127.0.0.1\nnameserver 10.0.0.2\n";
        assert_eq!(resolv_conf_from(mixed, &bridge), "nameserver 10.0.0.2\n");
        let custom = HostConfig {
            dns: Some(vec!["1.1.1.1".into()]),
            ..bridge
        };
        assert_eq!(resolv_conf_from(mixed, &custom), "nameserver 1.1.1.1\n");
    }

    #[test]
    fn user_env_overrides_image_env() {
        let image = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        let user = vec!["A=2".to_string(), "B=3".to_string()];
        assert_eq!(merge_env(&image, &user), vec!["PATH=/bin", "A=2", "B=3"]);
    }

    #[test]
    fn ids_are_64_hex_and_not_numeric() {
        let id = new_id();
        assert_eq!(id.len(), 64);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn restart_policy_and_limits_are_checked() {
        let mut h = HostConfig {
            network_mode: NetworkMode::Named("elsewhere".into()),
            ..Default::default()
        };
        let e = validate_host_config(&mut h).unwrap_err();
        assert_eq!(e.to_string(), "network elsewhere not found");
        let mut h = HostConfig {
            memory: 1024,
            ..Default::default()
        };
        assert!(validate_host_config(&mut h).is_err());
        let mut h = HostConfig {
            auto_remove: true,
            restart_policy: RestartPolicy::Always,
            ..Default::default()
        };
        assert!(validate_host_config(&mut h).is_err());
        let mut h = HostConfig {
            cap_add: Some(vec!["FOO".into()]),
            ..Default::default()
        };
        assert!(validate_host_config(&mut h).is_err());
        let mut h = HostConfig {
            security_opt: Some(vec!["no-new-privileges=maybe".into()]),
            ..Default::default()
        };
        assert!(validate_host_config(&mut h).is_err());
        let mut h = HostConfig::default();
        validate_host_config(&mut h).unwrap();
        assert_eq!(h.network_mode, NetworkMode::None);
        assert_eq!(h.shm_size, 64 * 1024 * 1024);
    }
}
