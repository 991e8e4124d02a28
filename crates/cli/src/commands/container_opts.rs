//! Flags shared by `run` and `create`, and their translation into the
//! `POST /containers/create` body (the same shape docker 28 sends).

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use berth_api::container::{
    ContainerConfig, ContainerCreateRequest, EndpointSettings, HealthConfig, HostConfig, LogConfig,
    NetworkingConfig, PortBinding, RestartPolicy, Ulimit,
};
use clap::{ArgAction, Args};
use serde_json::{json, Value};

#[derive(Args, Debug, Clone, Default)]
#[command(disable_help_flag = true)]
pub struct ContainerOpts {
    /// Add Linux capabilities
    #[arg(long = "cap-add", value_name = "list")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop", value_name = "list")]
    pub cap_drop: Vec<String>,
    /// CPU shares (relative weight)
    #[arg(
        short = 'c',
        long = "cpu-shares",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub cpu_shares: Option<i64>,
    /// Number of CPUs
    #[arg(long = "cpus", value_name = "decimal", value_parser = parse_nano_cpus)]
    pub cpus: Option<i64>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long = "cpuset-cpus", value_name = "string")]
    pub cpuset_cpus: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long = "entrypoint", value_name = "string")]
    pub entrypoint: Option<String>,
    /// Set environment variables
    #[arg(short = 'e', long = "env", value_name = "list")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list")]
    pub env_file: Vec<String>,
    /// Container host name
    #[arg(short = 'h', long = "hostname", value_name = "string")]
    pub hostname: Option<String>,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long = "init")]
    pub init: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Set meta data on a container
    #[arg(short = 'l', long = "label", value_name = "list")]
    pub label: Vec<String>,
    /// Memory limit
    #[arg(short = 'm', long = "memory", value_name = "bytes", value_parser = parse_bytes)]
    pub memory: Option<i64>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long = "memory-swap", value_name = "bytes", value_parser = parse_swap, allow_hyphen_values = true)]
    pub memory_swap: Option<i64>,
    /// Assign a name to the container
    #[arg(long = "name", value_name = "string")]
    pub name: Option<String>,
    /// Connect a container to a network: none or host (the default network is none until
    /// berth's networking lands)
    #[arg(long = "network", visible_alias = "net", value_name = "network")]
    pub network: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", value_name = "int", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,
    /// Set platform if server is multi-platform capable (ignored)
    #[arg(long = "platform", value_name = "string")]
    pub platform: Option<String>,
    /// Give extended privileges to this container
    #[arg(long = "privileged")]
    pub privileged: bool,
    /// Publish a container's port(s) to the host (accepted; publishing comes with networking)
    #[arg(short = 'p', long = "publish", value_name = "list")]
    pub publish: Vec<String>,
    /// Pull image before running ("always", "missing", "never")
    #[arg(long = "pull", value_name = "string", default_value = "missing")]
    pub pull: String,
    /// Mount the container's root filesystem as read only
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// Restart policy to apply when a container exits (default "no")
    #[arg(long = "restart", value_name = "string")]
    pub restart: Option<String>,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long = "rm")]
    pub rm: bool,
    /// Security Options
    #[arg(long = "security-opt", value_name = "list")]
    pub security_opt: Vec<String>,
    /// Size of /dev/shm
    #[arg(long = "shm-size", value_name = "bytes", value_parser = parse_bytes)]
    pub shm_size: Option<i64>,
    /// Command to run to check health
    #[arg(long = "health-cmd", value_name = "string")]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(long = "health-interval", value_name = "duration", value_parser = go_duration, allow_hyphen_values = true)]
    pub health_interval: Option<i64>,
    /// Consecutive failures needed to report unhealthy
    #[arg(
        long = "health-retries",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub health_retries: Option<i64>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-period", value_name = "duration", value_parser = go_duration, allow_hyphen_values = true)]
    pub health_start_period: Option<i64>,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(long = "health-start-interval", value_name = "duration", value_parser = go_duration, allow_hyphen_values = true)]
    pub health_start_interval: Option<i64>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(long = "health-timeout", value_name = "duration", value_parser = go_duration, allow_hyphen_values = true)]
    pub health_timeout: Option<i64>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long = "no-healthcheck")]
    pub no_healthcheck: bool,
    /// Logging driver for the container
    #[arg(long = "log-driver", value_name = "string")]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long = "log-opt", value_name = "list")]
    pub log_opt: Vec<String>,
    /// Signal to stop the container
    #[arg(long = "stop-signal", value_name = "string")]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(
        long = "stop-timeout",
        value_name = "int",
        allow_negative_numbers = true
    )]
    pub stop_timeout: Option<i64>,
    /// Mount a tmpfs directory
    #[arg(long = "tmpfs", value_name = "list")]
    pub tmpfs: Vec<String>,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Ulimit options
    #[arg(long = "ulimit", value_name = "ulimit")]
    pub ulimit: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long = "user", value_name = "string")]
    pub user: Option<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume", value_name = "list")]
    pub volume: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir", value_name = "string")]
    pub workdir: Option<String>,
    /// Print help
    #[arg(long = "help", action = ArgAction::Help)]
    pub help: Option<bool>,
    /// IMAGE [COMMAND] [ARG...]
    #[arg(
        value_name = "IMAGE [COMMAND] [ARG...]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
}

/// go-units `RAMInBytes`: `512m`, `1g`, `64k`, `1.5GiB`, plain bytes; binary multiples.
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    let err = || format!("invalid size: '{s}'");
    let t = s.trim_end();
    let num_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, rest) = t.split_at(num_end);
    if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
        return Err(err());
    }
    let value: f64 = num.parse().map_err(|_| err())?;
    let rest = rest.strip_prefix(' ').unwrap_or(rest).to_ascii_lowercase();
    let mut chars = rest.chars().peekable();
    let mult: f64 = match chars.peek() {
        Some('k') => 1024f64,
        Some('m') => 1024f64.powi(2),
        Some('g') => 1024f64.powi(3),
        Some('t') => 1024f64.powi(4),
        Some('p') => 1024f64.powi(5),
        _ => 1.0,
    };
    if mult != 1.0 {
        chars.next();
    }
    let suffix: String = chars.collect();
    let ok = matches!(
        (mult != 1.0, suffix.as_str()),
        (_, "") | (_, "b") | (true, "i") | (true, "ib")
    );
    if !ok {
        return Err(err());
    }
    Ok((value * mult) as i64)
}

pub fn parse_bytes(s: &str) -> Result<i64, String> {
    ram_in_bytes(s)
}

pub fn parse_swap(s: &str) -> Result<i64, String> {
    if s == "-1" {
        return Ok(-1);
    }
    ram_in_bytes(s)
}

/// A Go duration (`500ms`, `1m30s`) in nanoseconds.
fn go_duration(s: &str) -> Result<i64, String> {
    berth_api::timetypes::parse_go_duration(s)
        .and_then(|n| i64::try_from(n).ok())
        .ok_or_else(|| format!("time: invalid duration \"{s}\""))
}

/// docker's `--health-*` and `--no-healthcheck` into `Config.Healthcheck`.
fn health_config(o: &ContainerOpts) -> Result<Option<HealthConfig>> {
    let any = o.health_cmd.is_some()
        || o.health_interval.is_some()
        || o.health_timeout.is_some()
        || o.health_start_period.is_some()
        || o.health_start_interval.is_some()
        || o.health_retries.is_some();
    if o.no_healthcheck {
        if any {
            bail!("--no-healthcheck conflicts with --health-* options");
        }
        return Ok(Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..HealthConfig::default()
        }));
    }
    if !any {
        return Ok(None);
    }
    for (flag, v) in [
        ("--health-interval", o.health_interval),
        ("--health-timeout", o.health_timeout),
        ("--health-start-period", o.health_start_period),
        ("--health-start-interval", o.health_start_interval),
        ("--health-retries", o.health_retries),
    ] {
        if v.is_some_and(|v| v < 0) {
            bail!("{flag} cannot be negative");
        }
    }
    Ok(Some(HealthConfig {
        test: o
            .health_cmd
            .as_ref()
            .map(|c| vec!["CMD-SHELL".to_string(), c.clone()]),
        interval: o.health_interval.unwrap_or(0),
        timeout: o.health_timeout.unwrap_or(0),
        start_period: o.health_start_period.unwrap_or(0),
        start_interval: o.health_start_interval.unwrap_or(0),
        retries: o.health_retries.unwrap_or(0),
    }))
}

/// `--log-opt k=v` pairs.
fn log_opts(flags: &[String]) -> Result<BTreeMap<String, String>> {
    flags
        .iter()
        .map(|f| match f.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => bail!(
                "invalid argument \"{f}\" for \"--log-opt\" flag: invalid key value pair format"
            ),
        })
        .collect()
}

/// `--cpus 1.5` → 1500000000 nano CPUs (docker's `NanoCPUs.Set`).
pub fn parse_nano_cpus(s: &str) -> Result<i64, String> {
    let v: f64 = s
        .parse()
        .map_err(|_| format!("failed to parse {s} as a rational number"))?;
    let nano = (v * 1e9).round();
    if nano < 0.0 || nano > i64::MAX as f64 {
        return Err("value is too precise".to_string());
    }
    Ok(nano as i64)
}

/// `name=soft[:hard]`.
pub fn parse_ulimit(s: &str) -> Result<Ulimit> {
    const NAMES: &[&str] = &[
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    let Some((name, limits)) = s.split_once('=') else {
        bail!("invalid ulimit argument: {s}");
    };
    if !NAMES.contains(&name) {
        bail!("invalid ulimit type: {name}");
    }
    let (soft, hard) = match limits.split_once(':') {
        Some((a, b)) => (a, b),
        None => (limits, limits),
    };
    let soft: i64 = soft
        .parse()
        .with_context(|| format!("invalid ulimit soft value: {soft}"))?;
    let hard: i64 = hard
        .parse()
        .with_context(|| format!("invalid ulimit hard value: {hard}"))?;
    if soft > hard {
        bail!("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}");
    }
    Ok(Ulimit {
        name: name.to_string(),
        hard,
        soft,
    })
}

/// `no | always | unless-stopped | on-failure[:N]`.
pub fn parse_restart(s: &str) -> Result<RestartPolicy> {
    let (name, count) = match s.split_once(':') {
        Some((n, c)) => (n, Some(c)),
        None => (s, None),
    };
    let max: i64 = match count {
        Some(c) => c
            .parse()
            .map_err(|_| anyhow::anyhow!("maximum retry count must be an integer"))?,
        None => 0,
    };
    match name {
        "" | "no" | "always" | "unless-stopped" if count.is_some() => {
            bail!("maximum retry count cannot be used with restart policy '{name}'")
        }
        "" => Ok(restart_policy("no", 0)),
        "no" | "always" | "unless-stopped" | "on-failure" => Ok(restart_policy(name, max)),
        _ => bail!("invalid restart policy '{name}'"),
    }
}

fn restart_policy(name: &str, maximum_retry_count: i64) -> RestartPolicy {
    RestartPolicy {
        name: name.to_string(),
        maximum_retry_count,
    }
}

/// docker's `ValidateEnv`: `FOO` without `=` takes FOO's value from our environment if set.
pub fn expand_env(entry: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String> {
    let (k, has_value) = match entry.split_once('=') {
        Some((k, _)) => (k, true),
        None => (entry, false),
    };
    if k.is_empty() {
        bail!("invalid environment variable: {entry}");
    }
    if has_value {
        return Ok(entry.to_string());
    }
    Ok(match lookup(k) {
        Some(v) => format!("{k}={v}"),
        None => entry.to_string(),
    })
}

/// Reads an env file: `#` comments and blank lines skipped; bare names looked up; names that
/// are not set in our environment are left out (docker's `ParseEnvFile`).
pub fn parse_env_file(
    content: &str,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => {
                let k = k.trim_start();
                if k.is_empty() {
                    bail!("no variable name on line '{line}'");
                }
                if k.contains(char::is_whitespace) {
                    bail!("variable '{k}' contains whitespaces");
                }
                out.push(format!("{k}={v}"));
            }
            None => {
                let k = trimmed.trim_end();
                if k.contains(char::is_whitespace) {
                    bail!("{path}:{}: variable '{k}' contains whitespaces", i + 1);
                }
                if let Some(v) = lookup(k) {
                    out.push(format!("{k}={v}"));
                }
            }
        }
    }
    Ok(out)
}

/// `-v`: `HOST:CTR[:opts]` and `name:CTR` go to `HostConfig.Binds`, a lone `CTR` is an
/// anonymous volume in `Config.Volumes`.
pub fn parse_volume(spec: &str) -> Result<(Option<String>, Option<String>)> {
    let parts: Vec<&str> = spec.split(':').collect();
    match parts.as_slice() {
        [ctr] if ctr.starts_with('/') => Ok((None, Some((*ctr).to_string()))),
        [_] => bail!("invalid volume specification: '{spec}'"),
        [src, dst] | [src, dst, _] if !src.is_empty() && dst.starts_with('/') => {
            Ok((Some(spec.to_string()), None))
        }
        _ => bail!("invalid volume specification: '{spec}'"),
    }
}

/// `-p [ip:][hostPort:]containerPort[/proto]` → (port key, binding).
pub fn parse_publish(spec: &str) -> Result<(String, PortBinding)> {
    let (addr, proto) = match spec.rsplit_once('/') {
        Some((a, p)) => (a, p.to_lowercase()),
        None => (spec, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        bail!("invalid proto: {proto}");
    }
    let parts: Vec<&str> = if let Some(rest) = addr.strip_prefix('[') {
        // [ipv6]:host:ctr
        let Some((ip, rest)) = rest.split_once(']') else {
            bail!("invalid IP address: {addr}");
        };
        let rest = rest.trim_start_matches(':');
        let mut v = vec![ip];
        v.extend(rest.split(':'));
        v
    } else {
        addr.split(':').collect()
    };
    let (ip, host, ctr) = match parts.as_slice() {
        [c] => ("", "", *c),
        [h, c] => ("", *h, *c),
        [i, h, c] => (*i, *h, *c),
        _ => bail!("invalid port format: {spec}"),
    };
    if ctr.is_empty() || !ctr.chars().all(|c| c.is_ascii_digit() || c == '-') {
        bail!("invalid containerPort: {ctr}");
    }
    if !host.chars().all(|c| c.is_ascii_digit() || c == '-') {
        bail!("invalid hostPort: {host}");
    }
    Ok((
        format!("{ctr}/{proto}"),
        PortBinding {
            host_ip: ip.to_string(),
            host_port: host.to_string(),
        },
    ))
}

/// What `create` sends: the body, the name, and the image (for pulls).
pub struct CreateRequest {
    pub body: ContainerCreateRequest,
    pub name: Option<String>,
    pub image: String,
}

/// Checks `--security-opt` values as the docker CLI does and replaces a seccomp profile's file
/// name by the profile's compacted JSON: the daemon takes the profile, never a path.
/// `seccomp=unconfined` and `seccomp=builtin` pass through.
pub fn security_opts(
    opts: &[String],
    read_file: &dyn Fn(&str) -> Result<String>,
) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(opts.len());
    for opt in opts {
        let mut cut = opt.split_once('=');
        if cut.is_none() && opt != "no-new-privileges" {
            cut = opt.split_once(':');
        }
        let Some((key, value)) = cut.filter(|(_, v)| !v.is_empty()) else {
            if opt == "no-new-privileges" {
                out.push(opt.clone());
                continue;
            }
            bail!("Invalid --security-opt: {opt:?}");
        };
        if key != "seccomp" || value == "unconfined" || value == "builtin" {
            out.push(opt.clone());
            continue;
        }
        let text = read_file(value)
            .map_err(|e| anyhow::anyhow!("opening seccomp profile ({value}) failed: {e:#}"))?;
        let json: Value = serde_json::from_str(&text).map_err(|e| {
            anyhow::anyhow!("compacting json for seccomp profile ({value}) failed: {e}")
        })?;
        out.push(format!("seccomp={json}"));
    }
    Ok(out)
}

/// Translates the flags into docker's create body. `attach` is false for `-d` and `create`
/// without `-a`; `console` is the terminal size for `-t`.
pub fn build_create(
    o: &ContainerOpts,
    attach: bool,
    console: Option<(u16, u16)>,
    lookup: &dyn Fn(&str) -> Option<String>,
    read_file: &dyn Fn(&str) -> Result<String>,
) -> Result<CreateRequest> {
    let Some((image, cmd)) = o.args.split_first() else {
        bail!("\"run\" requires at least 1 argument");
    };
    if image.is_empty() {
        bail!("invalid reference format");
    }

    let mut env = Vec::new();
    for f in &o.env_file {
        let content = read_file(f).with_context(|| format!("open {f}"))?;
        env.extend(parse_env_file(&content, f, lookup)?);
    }
    for e in &o.env {
        env.push(expand_env(e, lookup)?);
    }

    let labels: BTreeMap<String, String> = o
        .label
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
            (k.to_string(), v.to_string())
        })
        .collect();

    let mut binds = Vec::new();
    let mut volumes = BTreeMap::new();
    for v in &o.volume {
        match parse_volume(v)? {
            (Some(b), _) => binds.push(b),
            (_, Some(anon)) => {
                volumes.insert(anon, json!({}));
            }
            _ => {}
        }
    }

    let mut exposed = BTreeMap::new();
    let mut bindings: BTreeMap<String, Option<Vec<PortBinding>>> = BTreeMap::new();
    for p in &o.publish {
        let (key, binding) = parse_publish(p)?;
        exposed.insert(key.clone(), json!({}));
        bindings
            .entry(key)
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(binding);
    }

    let tmpfs: BTreeMap<String, String> = o
        .tmpfs
        .iter()
        .map(|t| {
            let (path, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
            (path.to_string(), opts.to_string())
        })
        .collect();

    let security_opt = security_opts(&o.security_opt, read_file)?;

    let ulimits = o
        .ulimit
        .iter()
        .map(|u| parse_ulimit(u))
        .collect::<Result<Vec<_>>>()?;

    let restart = match &o.restart {
        Some(r) => parse_restart(r)?,
        None => restart_policy("no", 0),
    };
    if o.rm && restart.name != "no" {
        bail!("conflicting options: cannot specify both --restart and --rm");
    }

    // "default" lets the daemon choose (none until berth's networking lands); named networks
    // are passed on and the daemon says if they do not exist.
    let network = o.network.clone().unwrap_or_else(|| "default".to_string());

    let entrypoint = o.entrypoint.as_ref().map(|e| vec![e.clone()]);
    let some_list = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());

    let interactive = o.interactive;
    let config = ContainerConfig {
        hostname: o.hostname.clone().unwrap_or_default(),
        user: o.user.clone().unwrap_or_default(),
        attach_stdin: attach && interactive,
        attach_stdout: attach,
        attach_stderr: attach,
        exposed_ports: Some(exposed),
        tty: o.tty,
        open_stdin: interactive,
        stdin_once: attach && interactive,
        env: some_list(&env),
        cmd: some_list(cmd),
        image: image.clone(),
        volumes: Some(volumes),
        working_dir: o.workdir.clone().unwrap_or_default(),
        entrypoint,
        labels: Some(labels),
        stop_signal: o.stop_signal.clone(),
        stop_timeout: o.stop_timeout,
        healthcheck: health_config(o)?,
        ..ContainerConfig::default()
    };

    let console_size = match (o.tty, console) {
        (true, Some((h, w))) => vec![h, w],
        _ => vec![0, 0],
    };
    let host = HostConfig {
        binds: some_list(&binds),
        log_config: Some(LogConfig {
            r#type: o.log_driver.clone().unwrap_or_default(),
            config: Some(log_opts(&o.log_opt)?),
        }),
        network_mode: network.clone(),
        port_bindings: Some(bindings),
        restart_policy: Some(restart),
        auto_remove: o.rm,
        console_size: Some(console_size),
        cap_add: some_list(&o.cap_add),
        cap_drop: some_list(&o.cap_drop),
        dns: Some(Vec::new()),
        dns_options: Some(Vec::new()),
        dns_search: Some(Vec::new()),
        privileged: o.privileged,
        readonly_rootfs: o.read_only,
        security_opt: some_list(&security_opt),
        tmpfs: Some(tmpfs),
        shm_size: o.shm_size.unwrap_or(0),
        cpu_shares: o.cpu_shares.unwrap_or(0),
        memory: o.memory.unwrap_or(0),
        nano_cpus: o.cpus.unwrap_or(0),
        blkio_weight_device: Some(Vec::new()),
        blkio_device_read_bps: Some(Vec::new()),
        blkio_device_write_bps: Some(Vec::new()),
        blkio_device_read_iops: Some(Vec::new()),
        blkio_device_write_iops: Some(Vec::new()),
        cpuset_cpus: o.cpuset_cpus.clone().unwrap_or_default(),
        devices: Some(Vec::new()),
        memory_swap: o.memory_swap.unwrap_or(0),
        memory_swappiness: Some(-1),
        oom_kill_disable: Some(false),
        pids_limit: Some(o.pids_limit.unwrap_or(0)),
        ulimits: Some(ulimits),
        init: o.init.then_some(true),
        ..HostConfig::default()
    };

    let endpoints = BTreeMap::from([(network, Some(EndpointSettings::default()))]);
    Ok(CreateRequest {
        body: ContainerCreateRequest {
            config,
            host_config: Some(host),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(endpoints),
            }),
        },
        name: o.name.clone(),
        image: image.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        o: ContainerOpts,
    }

    fn opts(args: &[&str]) -> ContainerOpts {
        let mut argv = vec!["t"];
        argv.extend_from_slice(args);
        T::try_parse_from(argv).unwrap().o
    }

    /// The create body as it goes on the wire.
    fn body(r: &CreateRequest) -> Value {
        serde_json::to_value(&r.body).unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn no_file(p: &str) -> Result<String> {
        bail!("no file {p}")
    }

    #[test]
    fn sizes() {
        assert_eq!(ram_in_bytes("512m"), Ok(512 * 1024 * 1024));
        assert_eq!(ram_in_bytes("1g"), Ok(1 << 30));
        assert_eq!(ram_in_bytes("64k"), Ok(65536));
        assert_eq!(ram_in_bytes("1.5GiB"), Ok(1610612736));
        assert_eq!(ram_in_bytes("100"), Ok(100));
        assert_eq!(ram_in_bytes("10 MB"), Ok(10 << 20));
        assert_eq!(ram_in_bytes("1x"), Err("invalid size: '1x'".to_string()));
        assert!(ram_in_bytes("m").is_err());
        assert!(ram_in_bytes("-1").is_err());
        assert_eq!(parse_swap("-1"), Ok(-1));
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_nano_cpus("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_nano_cpus("0.01"), Ok(10_000_000));
        assert!(parse_nano_cpus("x").is_err());
    }

    #[test]
    fn restart_policies() {
        assert_eq!(parse_restart("always").unwrap().name, "always");
        let p = serde_json::to_value(parse_restart("on-failure:3").unwrap()).unwrap();
        assert_eq!(p, json!({"Name": "on-failure", "MaximumRetryCount": 3}));
        assert!(parse_restart("always:3").is_err());
        assert!(parse_restart("sometimes").is_err());
    }

    #[test]
    fn ulimits() {
        let ulimit = |s: &str| serde_json::to_value(parse_ulimit(s).unwrap()).unwrap();
        assert_eq!(
            ulimit("nofile=1024:2048"),
            json!({"Name": "nofile", "Hard": 2048, "Soft": 1024})
        );
        assert_eq!(
            ulimit("nproc=10"),
            json!({"Name": "nproc", "Hard": 10, "Soft": 10})
        );
        assert!(parse_ulimit("bogus=1").is_err());
        assert!(parse_ulimit("nofile=10:5").is_err());
    }

    #[test]
    fn env_handling() {
        let lookup = |k: &str| (k == "HOME").then(|| "/root".to_string());
        assert_eq!(expand_env("A=1", &lookup).unwrap(), "A=1");
        assert_eq!(expand_env("HOME", &lookup).unwrap(), "HOME=/root");
        assert_eq!(expand_env("UNSET", &lookup).unwrap(), "UNSET");
        assert!(expand_env("=x", &lookup).is_err());
        let file = "# comment\n\nA=1\nHOME\nUNSET\nB=two words\n";
        assert_eq!(
            parse_env_file(file, "f", &lookup).unwrap(),
            vec!["A=1", "HOME=/root", "B=two words"]
        );
    }

    #[test]
    fn volumes_and_ports() {
        assert_eq!(
            parse_volume("/host:/ctr:ro").unwrap(),
            (Some("/host:/ctr:ro".into()), None)
        );
        assert_eq!(
            parse_volume("data:/ctr").unwrap(),
            (Some("data:/ctr".into()), None)
        );
        assert_eq!(parse_volume("/anon").unwrap(), (None, Some("/anon".into())));
        assert!(parse_volume("relative").is_err());
        let publish = |s: &str| {
            let (k, b) = parse_publish(s).unwrap();
            (k, serde_json::to_value(b).unwrap())
        };
        assert_eq!(
            publish("8080:80"),
            ("80/tcp".into(), json!({"HostIp": "", "HostPort": "8080"}))
        );
        assert_eq!(
            publish("127.0.0.1:53:53/udp"),
            (
                "53/udp".into(),
                json!({"HostIp": "127.0.0.1", "HostPort": "53"})
            )
        );
        assert_eq!(parse_publish("80").unwrap().0, "80/tcp");
        assert!(parse_publish("a:b").is_err());
    }

    #[test]
    fn create_body_matches_trace_for_plain_run() {
        // `docker run --rm busybox echo hi` (section 3 of the traces).
        let o = opts(&["--rm", "busybox", "echo", "hi"]);
        let r = build_create(&o, true, None, &no_env, &no_file).unwrap();
        let b = &body(&r);
        assert_eq!(r.image, "busybox");
        assert_eq!(r.name, None);
        assert_eq!(b["Cmd"], json!(["echo", "hi"]));
        assert_eq!(b["AttachStdout"], true);
        assert_eq!(b["AttachStderr"], true);
        assert_eq!(b["AttachStdin"], false);
        assert_eq!(b["Env"], Value::Null);
        assert_eq!(b["Entrypoint"], Value::Null);
        assert_eq!(b["Volumes"], json!({}));
        assert_eq!(b["Labels"], json!({}));
        let h = &b["HostConfig"];
        assert_eq!(h["AutoRemove"], true);
        assert_eq!(h["NetworkMode"], "default");
        assert_eq!(
            h["RestartPolicy"],
            json!({"Name": "no", "MaximumRetryCount": 0})
        );
        assert_eq!(h["ConsoleSize"], json!([0, 0]));
        assert_eq!(h["MemorySwappiness"], -1);
        assert_eq!(h["Binds"], Value::Null);
        assert!(b["NetworkingConfig"]["EndpointsConfig"]["default"].is_object());
        assert!(h.get("Init").is_none());
    }

    #[test]
    fn create_body_interactive_tty_and_detach() {
        // `run -it` (section 11).
        let o = opts(&["-it", "--rm", "busybox", "sh"]);
        let b = body(&build_create(&o, true, Some((40, 120)), &no_env, &no_file).unwrap());
        assert_eq!(b["Tty"], true);
        assert_eq!(b["OpenStdin"], true);
        assert_eq!(b["StdinOnce"], true);
        assert_eq!(b["AttachStdin"], true);
        assert_eq!(b["HostConfig"]["ConsoleSize"], json!([40, 120]));
        // `run -d --name t1` (section 4): nothing attached.
        let o = opts(&["--name", "t1", "busybox", "sleep", "1000"]);
        let r = build_create(&o, false, None, &no_env, &no_file).unwrap();
        assert_eq!(r.name.as_deref(), Some("t1"));
        let b = body(&r);
        assert_eq!(b["AttachStdout"], false);
        assert_eq!(b["AttachStderr"], false);
        assert_eq!(b["HostConfig"]["AutoRemove"], false);
        // -d -i keeps stdin open but does not attach it.
        let o = opts(&["-i", "busybox"]);
        let b = body(&build_create(&o, false, None, &no_env, &no_file).unwrap());
        assert_eq!(b["OpenStdin"], true);
        assert_eq!(b["AttachStdin"], false);
        assert_eq!(b["StdinOnce"], false);
        assert_eq!(b["Cmd"], Value::Null);
    }

    #[test]
    fn create_body_resources_and_security() {
        let o = opts(&[
            "-m",
            "512m",
            "--memory-swap",
            "1g",
            "--cpus",
            "1.5",
            "-c",
            "512",
            "--cpuset-cpus",
            "0-1",
            "--pids-limit",
            "100",
            "--ulimit",
            "nofile=1024:2048",
            "--shm-size",
            "64k",
            "--privileged",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--read-only",
            "--init",
            "--restart",
            "on-failure:2",
            "--network",
            "none",
            "--stop-signal",
            "SIGINT",
            "--stop-timeout",
            "5",
            "--tmpfs",
            "/run:rw,size=64m",
            "-v",
            "/h:/c:ro",
            "-v",
            "/anon",
            "-p",
            "8080:80",
            "-l",
            "a=b",
            "-l",
            "flag",
            "-w",
            "/work",
            "-u",
            "1000:1000",
            "--entrypoint",
            "/bin/sh",
            "-h",
            "box",
            "-e",
            "X=1",
            "busybox",
        ]);
        let b = body(&build_create(&o, true, None, &no_env, &no_file).unwrap());
        let h = &b["HostConfig"];
        assert_eq!(h["Memory"], 536870912);
        assert_eq!(h["MemorySwap"], 1073741824);
        assert_eq!(h["NanoCpus"], 1500000000i64);
        assert_eq!(h["CpuShares"], 512);
        assert_eq!(h["CpusetCpus"], "0-1");
        assert_eq!(h["PidsLimit"], 100);
        assert_eq!(
            h["Ulimits"],
            json!([{"Name": "nofile", "Hard": 2048, "Soft": 1024}])
        );
        assert_eq!(h["ShmSize"], 65536);
        assert_eq!(h["Privileged"], true);
        assert_eq!(h["CapAdd"], json!(["NET_ADMIN"]));
        assert_eq!(h["CapDrop"], json!(["ALL"]));
        assert_eq!(h["SecurityOpt"], json!(["no-new-privileges"]));
        assert_eq!(h["ReadonlyRootfs"], true);
        assert_eq!(h["Init"], true);
        assert_eq!(
            h["RestartPolicy"],
            json!({"Name": "on-failure", "MaximumRetryCount": 2})
        );
        assert_eq!(h["NetworkMode"], "none");
        assert_eq!(h["Tmpfs"], json!({"/run": "rw,size=64m"}));
        assert_eq!(h["Binds"], json!(["/h:/c:ro"]));
        assert_eq!(
            h["PortBindings"],
            json!({"80/tcp": [{"HostIp": "", "HostPort": "8080"}]})
        );
        assert!(b["NetworkingConfig"]["EndpointsConfig"]["none"].is_object());
        assert_eq!(b["Volumes"], json!({"/anon": {}}));
        assert_eq!(b["ExposedPorts"], json!({"80/tcp": {}}));
        assert_eq!(b["Labels"], json!({"a": "b", "flag": ""}));
        assert_eq!(b["WorkingDir"], "/work");
        assert_eq!(b["User"], "1000:1000");
        assert_eq!(b["Entrypoint"], json!(["/bin/sh"]));
        assert_eq!(b["Hostname"], "box");
        assert_eq!(b["Env"], json!(["X=1"]));
        assert_eq!(b["StopSignal"], "SIGINT");
        assert_eq!(b["StopTimeout"], 5);
    }

    #[test]
    fn seccomp_profiles_are_sent_as_json() {
        let files = |p: &str| -> Result<String> {
            match p {
                "/p.json" => Ok("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n".into()),
                "/bad.json" => Ok("{not json".into()),
                _ => bail!("No such file or directory (os error 2)"),
            }
        };
        let s = |v: &[&str]| v.iter().map(|o| (*o).to_string()).collect::<Vec<_>>();
        assert_eq!(
            security_opts(
                &s(&[
                    "seccomp=/p.json",
                    "seccomp=unconfined",
                    "seccomp:builtin",
                    "no-new-privileges",
                    "label=disable",
                ]),
                &files
            )
            .unwrap(),
            s(&[
                r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW"}"#,
                "seccomp=unconfined",
                "seccomp:builtin",
                "no-new-privileges",
                "label=disable",
            ])
        );
        let err = |o: &str| security_opts(&s(&[o]), &files).unwrap_err().to_string();
        assert_eq!(
            err("seccomp=/none.json"),
            "opening seccomp profile (/none.json) failed: No such file or directory (os error 2)"
        );
        assert!(err("seccomp=/bad.json")
            .starts_with("compacting json for seccomp profile (/bad.json) failed: "));
        assert_eq!(err("seccomp="), r#"Invalid --security-opt: "seccomp=""#);
        assert_eq!(err("apparmor"), r#"Invalid --security-opt: "apparmor""#);
        // Values are the daemon's to judge.
        assert_eq!(
            security_opts(&s(&["no-new-privileges=maybe"]), &files).unwrap(),
            s(&["no-new-privileges=maybe"])
        );
    }

    #[test]
    fn create_body_env_sources_and_conflicts() {
        let lookup = |k: &str| (k == "FOO").then(|| "bar".to_string());
        let read = |p: &str| -> Result<String> {
            assert_eq!(p, "envs");
            Ok("A=1\nFOO\n".to_string())
        };
        let o = opts(&["--env-file", "envs", "-e", "FOO", "-e", "B=2", "busybox"]);
        let b = body(&build_create(&o, true, None, &lookup, &read).unwrap());
        assert_eq!(b["Env"], json!(["A=1", "FOO=bar", "FOO=bar", "B=2"]));
        let o = opts(&["--entrypoint=", "busybox"]);
        let b = body(&build_create(&o, true, None, &no_env, &no_file).unwrap());
        assert_eq!(b["Entrypoint"], json!([""]));
        let o = opts(&["--rm", "--restart", "always", "busybox"]);
        assert!(build_create(&o, true, None, &no_env, &no_file).is_err());
    }
}
