//! Daemon settings: flags, then a daemon.json-like config file for what the flags leave unset.

use anyhow::{bail, Context};
use berth_engine::image_transfer::RegistryConfig;
use berth_engine::EngineConfig;
use clap::Parser;
use serde::Deserialize;
use std::path::PathBuf;

pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

#[derive(Debug, Parser)]
#[command(name = "berthd", version, about = "The berth container engine daemon")]
pub struct Args {
    /// Root directory of persistent state
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Root directory for execution state files
    #[arg(long)]
    pub exec_root: Option<PathBuf>,
    /// Daemon socket(s) to connect to (unix://PATH)
    #[arg(short = 'H', long = "host")]
    pub hosts: Vec<String>,
    /// Daemon configuration file (JSON, like daemon.json)
    #[arg(long)]
    pub config_file: Option<PathBuf>,
    /// Set the logging level (debug, info, warn, error)
    #[arg(short = 'l', long)]
    pub log_level: Option<String>,
    /// Group for the unix socket
    #[arg(short = 'G', long)]
    pub group: Option<String>,
    /// OCI runtime: "builtin" (libcontainer in the shim) or a path to runc
    #[arg(long)]
    pub runtime: Option<String>,
    /// Parent cgroup of all containers
    #[arg(long)]
    pub cgroup_parent: Option<String>,
    /// Path to the berth-shim binary (default: next to berthd)
    #[arg(long)]
    pub shim: Option<PathBuf>,
    /// Path to the init binary for --init (default: docker-init or tini if found)
    #[arg(long)]
    pub init_path: Option<PathBuf>,
    /// Enable insecure registry communication (host:port or CIDR; repeatable)
    #[arg(long = "insecure-registry", value_name = "list")]
    pub insecure_registries: Vec<String>,
    /// Preferred Docker registry mirror (repeatable)
    #[arg(long = "registry-mirror", value_name = "list")]
    pub registry_mirrors: Vec<String>,
    /// Directory of per-registry TLS files, <dir>/<host:port>/ca.crt (default:
    /// /etc/berth/certs.d and /etc/docker/certs.d)
    #[arg(long, value_name = "dir")]
    pub certs_dir: Option<PathBuf>,
    /// Set the max concurrent downloads (default 3)
    #[arg(long, value_name = "int")]
    pub max_concurrent_downloads: Option<usize>,
    /// Set the max concurrent uploads (default 5)
    #[arg(long, value_name = "int")]
    pub max_concurrent_uploads: Option<usize>,
    /// Verify TLS of registries on 127.0.0.0/8 too (they are insecure by default, as
    /// dockerd has them): for tests of certificate checks.
    #[arg(long, hide = true)]
    pub verify_loopback_registries: bool,
    /// Default driver for container logs
    #[arg(long)]
    pub log_driver: Option<String>,
    /// Default log driver options for containers (KEY=VALUE, repeatable)
    #[arg(long = "log-opt", value_parser = key_value)]
    pub log_opts: Vec<(String, String)>,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("invalid log opt {s:?}: expected KEY=VALUE"))
}

/// The subset of Docker's daemon.json berthd understands.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    data_root: Option<PathBuf>,
    exec_root: Option<PathBuf>,
    hosts: Option<Vec<String>>,
    log_level: Option<String>,
    group: Option<String>,
    runtime: Option<String>,
    default_runtime: Option<String>,
    cgroup_parent: Option<String>,
    init_path: Option<PathBuf>,
    #[serde(default)]
    insecure_registries: Vec<String>,
    #[serde(default)]
    registry_mirrors: Vec<String>,
    certs_dir: Option<PathBuf>,
    max_concurrent_downloads: Option<usize>,
    max_concurrent_uploads: Option<usize>,
    log_driver: Option<String>,
    log_opts: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub engine: EngineConfig,
    pub hosts: Vec<String>,
    pub log_level: String,
    pub group: Option<String>,
}

impl Settings {
    pub fn load(args: Args) -> anyhow::Result<Self> {
        let file: FileConfig = match &args.config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                serde_json::from_str(&text)
                    .with_context(|| format!("invalid config file {}", path.display()))?
            }
            None => FileConfig::default(),
        };
        let registry = registry_config(&args, &file)?;
        let hosts = if args.hosts.is_empty() {
            file.hosts.unwrap_or_else(|| vec![DEFAULT_HOST.to_string()])
        } else {
            args.hosts
        };
        for h in &hosts {
            if !h.starts_with("unix://") {
                bail!("unsupported host {h:?}: only unix:// sockets are served so far");
            }
        }
        let runtime = args
            .runtime
            .or(file.runtime)
            .or(file.default_runtime)
            .unwrap_or_else(|| "builtin".into());
        let exe = std::env::current_exe().context("locating berthd")?;
        let shim_binary = args
            .shim
            .unwrap_or_else(|| exe.with_file_name("berth-shim"));
        let init_binary = args.init_path.or(file.init_path).or_else(find_init);
        let log_driver = args
            .log_driver
            .or(file.log_driver)
            .unwrap_or_else(|| "json-file".into());
        let log_opts = if args.log_opts.is_empty() {
            file.log_opts.unwrap_or_default()
        } else {
            args.log_opts.into_iter().collect()
        };
        // A bad default would fail every create: refuse it at start, as dockerd does.
        berth_logging::LogConfig::parse(&log_driver, &log_opts)
            .map_err(|e| anyhow::anyhow!("default log config: {e}"))?;
        Ok(Self {
            engine: EngineConfig {
                data_root: args
                    .data_root
                    .or(file.data_root)
                    .unwrap_or_else(|| "/var/lib/berth".into()),
                exec_root: args
                    .exec_root
                    .or(file.exec_root)
                    .unwrap_or_else(|| "/run/berth".into()),
                runtime,
                shim_binary,
                cgroup_parent: args
                    .cgroup_parent
                    .or(file.cgroup_parent)
                    .unwrap_or_else(|| "/berth".into()),
                init_binary,
                registry,
                log_driver,
                log_opts,
            },
            hosts,
            log_level: args
                .log_level
                .or(file.log_level)
                .unwrap_or_else(|| "info".into()),
            group: args.group.or(file.group),
        })
    }
}

/// dockerd's registry settings: the flags and the file's lists add up; a flag's single
/// value wins over the file's.
fn registry_config(args: &Args, file: &FileConfig) -> anyhow::Result<RegistryConfig> {
    let defaults = RegistryConfig::default();
    let positive = |what: &str, v: Option<usize>, default: usize| match v {
        Some(0) => bail!("invalid {what}: it must be at least 1"),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    Ok(RegistryConfig {
        insecure_registries: [&args.insecure_registries, &file.insecure_registries]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        insecure_loopback: !args.verify_loopback_registries,
        mirrors: [&args.registry_mirrors, &file.registry_mirrors]
            .into_iter()
            .flatten()
            .cloned()
            .collect(),
        certs_dirs: match args.certs_dir.as_ref().or(file.certs_dir.as_ref()) {
            Some(d) => vec![d.clone()],
            None => defaults.certs_dirs.clone(),
        },
        max_concurrent_downloads: positive(
            "max-concurrent-downloads",
            args.max_concurrent_downloads
                .or(file.max_concurrent_downloads),
            defaults.max_concurrent_downloads,
        )?,
        max_concurrent_uploads: positive(
            "max-concurrent-uploads",
            args.max_concurrent_uploads.or(file.max_concurrent_uploads),
            defaults.max_concurrent_uploads,
        )?,
        ..defaults
    })
}

/// A static init for `--init`: Docker's `docker-init` (tini) when installed.
fn find_init() -> Option<PathBuf> {
    [
        "/usr/bin/docker-init",
        "/usr/libexec/docker/docker-init",
        "/usr/bin/tini-static",
        "/usr/bin/tini",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str], file: Option<&str>) -> anyhow::Result<Settings> {
        let mut argv = vec!["berthd"];
        argv.extend_from_slice(args);
        let path = std::env::temp_dir().join(format!("berthd-config-{}.json", std::process::id()));
        let path_text = path.to_string_lossy().into_owned();
        if let Some(text) = file {
            std::fs::write(&path, text)?;
            argv.extend_from_slice(&["--config-file", &path_text]);
        }
        let res = Settings::load(Args::try_parse_from(argv)?);
        let _ = std::fs::remove_file(&path);
        res
    }

    #[test]
    fn registry_settings_add_up_from_flags_and_file() {
        let s = settings(
            &[
                "--insecure-registry",
                "10.0.0.0/8",
                "--insecure-registry",
                "myreg:5000",
                "--registry-mirror",
                "https://mirror.example",
            ],
            Some(
                r#"{"insecure-registries": ["other:5000"], "registry-mirrors": ["https://m2.example"],
                    "certs-dir": "/srv/certs.d", "max-concurrent-downloads": 6}"#,
            ),
        )
        .unwrap();
        let r = &s.engine.registry;
        assert_eq!(
            r.insecure_registries,
            ["10.0.0.0/8", "myreg:5000", "other:5000"]
        );
        assert_eq!(r.mirrors, ["https://mirror.example", "https://m2.example"]);
        assert_eq!(r.certs_dirs, [PathBuf::from("/srv/certs.d")]);
        assert_eq!(r.max_concurrent_downloads, 6);
        assert_eq!(r.max_concurrent_uploads, 5);
        assert!(r.insecure_loopback);

        let s = settings(&["--verify-loopback-registries"], None).unwrap();
        let r = &s.engine.registry;
        assert!(!r.insecure_loopback);
        assert_eq!(
            r.certs_dirs,
            [
                PathBuf::from("/etc/berth/certs.d"),
                PathBuf::from("/etc/docker/certs.d")
            ]
        );
        assert!(settings(&["--max-concurrent-uploads", "0"], None).is_err());
    }
}
