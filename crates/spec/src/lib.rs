//! berth-spec: the OCI runtime spec of a container, as Docker would generate it.
//!
//! [`build_spec`] is a pure function of a [`SpecInput`]: everything it needs to
//! know about the host (capabilities the engine holds, kernel version, cgroup
//! version, host devices...) comes in [`HostInfo`], which [`HostInfo::detect`]
//! fills from the running system.
//!
//! - [`caps`]: Docker's capability names and defaults.
//! - [`seccomp`]: Docker-format seccomp profiles resolved to OCI seccomp, and validated.
//! - [`exec_process`]: the `process` of a `docker exec`.
//! - [`write_bundle`]: writing `config.json` into a bundle directory.

mod build;
mod bundle;
pub mod caps;
mod exec;
mod host;
mod mounts;
mod resources;
pub mod seccomp;

pub use build::{build_spec, default_masked_paths, default_readonly_paths};
pub use bundle::write_bundle;
pub use exec::exec_process;
pub use host::HostInfo;

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a container's `docker-init` is mounted (Docker's `/sbin/docker-init`).
pub const INIT_PATH: &str = "/sbin/docker-init";

/// Docker's default `/dev/shm` size: 64 MiB.
pub const DEFAULT_SHM_SIZE: u64 = 64 * 1024 * 1024;

/// The soft and hard `RLIMIT_NOFILE` containers get unless `--ulimit nofile` says
/// otherwise (what dockerd under containerd passes on by default).
pub const DEFAULT_NOFILE: u64 = 1_048_576;

/// Errors turning a [`SpecInput`] into a spec: each message is the one Docker gives.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// `--cap-add`/`--cap-drop` named a capability the kernel does not have.
    #[error("unknown capability: {0:?}")]
    UnknownCapability(String),
    /// A known capability the engine itself does not hold.
    #[error("capability not supported by your kernel or not available in the current environment: {0:?}")]
    UnavailableCapability(String),
    /// `--ulimit` with a name that is not an rlimit.
    #[error("invalid ulimit type: {0}")]
    UnknownUlimit(String),
    /// `--ulimit` with soft > hard.
    #[error("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")]
    UlimitOrder {
        /// Soft limit given.
        soft: i64,
        /// Hard limit given.
        hard: i64,
    },
    /// Bad bind-mount propagation mode.
    #[error("invalid mount propagation mode: {0:?}")]
    BadPropagation(String),
    /// Bad tmpfs option.
    #[error("invalid tmpfs option {0:?}")]
    BadTmpfsOption(String),
    /// Mount destinations must be absolute.
    #[error("invalid mount path: '{0}' mount path must be absolute")]
    RelativeDestination(String),
    /// `--memory` below Docker's minimum.
    #[error("Minimum memory limit allowed is 6MB")]
    MemoryTooSmall,
    /// `--memory-swap` smaller than `--memory`.
    #[error("Minimum memoryswap limit should be larger than memory limit, see usage")]
    SwapBelowMemory,
    /// `--memory-swap` without `--memory`.
    #[error("You should always set the Memory limit when using Memoryswap limit, see usage")]
    SwapWithoutMemory,
    /// Negative `--cpu-shares`.
    #[error("invalid CPU shares ({0}): value must be a positive integer")]
    BadCpuShares(i64),
    /// Negative `--cpus`.
    #[error("Range of CPUs is from 0.01 to {0}.00, as there are only {0} CPUs available")]
    BadNanoCpus(usize),
    /// The seccomp profile could not be used.
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    /// oci-spec refused a value (should not happen with validated input).
    #[error("building OCI spec: {0}")]
    Oci(#[from] oci_spec::OciSpecError),
}

/// How the container's seccomp filter is chosen (`--security-opt seccomp=...`).
#[derive(Debug, Clone, Default, PartialEq)]
pub enum SeccompMode {
    /// Docker's default profile, resolved for the container's capabilities.
    /// Privileged containers run without a filter.
    #[default]
    Default,
    /// `seccomp=unconfined`: no filter.
    Unconfined,
    /// A Docker-format profile (JSON with `archMap`, `includes`, `excludes`...).
    /// Applied even to privileged containers, as Docker does.
    Profile(serde_json::Value),
}

/// The container's network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkMode {
    /// `--network none`: a new namespace holding only loopback.
    #[default]
    None,
    /// `--network host`: the host's namespace.
    Host,
    /// A namespace the engine prepared (bridge networks...): joined by path,
    /// and treated as the container's own (Docker's default network sysctls apply).
    Path(PathBuf),
    /// `--network container:<id>`: another container's namespace, joined by path
    /// (`/proc/<pid>/ns/net`); no network sysctls are set.
    Container(PathBuf),
}

impl NetworkMode {
    /// Does the container own its network namespace (Docker's `IsPrivate`)?
    pub fn is_private(&self) -> bool {
        matches!(self, NetworkMode::None | NetworkMode::Path(_))
    }
}

/// Mode of a namespace other than network (pid, ipc, uts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NamespaceMode {
    /// A new namespace (Docker's default).
    #[default]
    Private,
    /// The host's namespace (`--pid host`, `--ipc host`, `--uts host`).
    Host,
    /// Join an existing namespace by path (`--pid container:<id>`...).
    Path(PathBuf),
}

/// `--cgroupns`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CgroupnsMode {
    /// Docker's daemon default: private on cgroup v2 hosts, host on v1/hybrid.
    #[default]
    Auto,
    /// A new cgroup namespace.
    Private,
    /// The host's cgroup namespace.
    Host,
}

/// The process identity, already resolved to numbers (from the image's /etc/passwd
/// and /etc/group, `--user` and `--group-add`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserIds {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups. Docker always lists the primary group first;
    /// it is added here when missing.
    pub additional_gids: Vec<u32>,
}

/// A bind mount (`-v`, `--mount type=bind|volume`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BindMount {
    /// Host path (a volume's `_data` directory for volumes).
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub destination: String,
    /// Mounted read-only.
    pub readonly: bool,
    /// `private`, `rprivate` (default), `shared`, `rshared`, `slave` or `rslave`.
    pub propagation: Option<String>,
    /// `bind-recursive=disabled`: a plain `bind` instead of `rbind`.
    pub non_recursive: bool,
}

/// A tmpfs mount (`--tmpfs /run:size=64m,mode=1777`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TmpfsMount {
    /// Absolute path inside the container.
    pub destination: String,
    /// Mount options as given after the colon, split on commas
    /// (`size=`, `mode=`, `uid=`, `gid=`, `nr_inodes=`, `exec`, `ro`...).
    pub options: Vec<String>,
}

/// One `--ulimit name=soft:hard`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// Docker's name: `nofile`, `nproc`, `core`, `memlock`, `stack`...
    pub name: String,
    /// Soft limit (-1 = unlimited).
    pub soft: i64,
    /// Hard limit (-1 = unlimited).
    pub hard: i64,
}

/// Cgroup resource limits, in Docker's units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--memory-swap` in bytes: memory plus swap; -1 for unlimited swap.
    /// When `memory` is set and this is not, Docker uses twice the memory.
    pub memory_swap: Option<i64>,
    /// `--memory-reservation` in bytes.
    pub memory_reservation: Option<i64>,
    /// `--memory-swappiness` (0-100).
    pub memory_swappiness: Option<u64>,
    /// `--oom-kill-disable`.
    pub oom_kill_disable: Option<bool>,
    /// `--cpus` in billionths of a CPU (1.5 CPUs = 1_500_000_000).
    pub nano_cpus: Option<i64>,
    /// `--cpu-shares`.
    pub cpu_shares: Option<i64>,
    /// `--cpu-period` in µs (overrides the one `nano_cpus` implies).
    pub cpu_period: Option<u64>,
    /// `--cpu-quota` in µs (overrides the one `nano_cpus` implies).
    pub cpu_quota: Option<i64>,
    /// `--cpuset-cpus`, e.g. "0-2,4".
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--pids-limit`; 0 or negative means unlimited.
    pub pids_limit: Option<i64>,
    /// `--blkio-weight` (10-1000).
    pub blkio_weight: Option<u16>,
}

/// Everything `docker run` can decide about a container's OCI spec.
///
/// Values are already resolved by the engine: the command is the final
/// entrypoint + cmd, the environment is merged with the image's, the user is
/// numeric. `Default` gives a container as plain `docker run` would make it
/// (with an empty rootfs path and no command).
#[derive(Debug, Clone, Default)]
pub struct SpecInput {
    /// The container's root filesystem (the mounted overlay).
    pub rootfs: PathBuf,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// Entrypoint + cmd. With `init_binary`, the caller puts
    /// [`INIT_PATH`] and `--` first, as Docker does.
    pub args: Vec<String>,
    /// `KEY=VALUE` list, already merged (image env, `-e`, PATH, HOSTNAME, TERM).
    pub env: Vec<String>,
    /// Working directory; empty means `/`.
    pub cwd: String,
    /// Process user.
    pub user: UserIds,
    /// Container hostname (set when the UTS namespace is private). With
    /// `--network host` Docker puts the host's hostname here.
    pub hostname: String,
    /// `--domainname`.
    pub domainname: String,
    /// `-t`: the process gets a terminal.
    pub tty: bool,
    /// `-i`: kept open stdin. Does not change the spec (the shim handles stdin);
    /// recorded here so the engine passes one complete description.
    pub open_stdin: bool,
    /// Terminal size `[height, width]` when `tty` (Docker's `ConsoleSize`).
    pub console_size: Option<[u64; 2]>,

    /// `--privileged`.
    pub privileged: bool,
    /// `--cap-add`: Docker names with or without `CAP_`, any case, or `ALL`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`: as `cap_add`.
    pub cap_drop: Vec<String>,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--security-opt seccomp=...`.
    pub seccomp: SeccompMode,
    /// `--security-opt apparmor=...`. `None` with a privileged container on an
    /// AppArmor host gives `unconfined`; otherwise no profile is set (berth
    /// does not load Docker's `docker-default` profile).
    pub apparmor_profile: Option<String>,

    /// Network namespace.
    pub network: NetworkMode,
    /// `--pid`.
    pub pid: NamespaceMode,
    /// `--ipc` (Docker's `private`/`shareable` are both [`NamespaceMode::Private`]).
    /// With [`NamespaceMode::Host`] the host's /dev/shm is bind mounted.
    pub ipc: NamespaceMode,
    /// `--uts`.
    pub uts: NamespaceMode,
    /// `--cgroupns`.
    pub cgroupns: CgroupnsMode,

    /// Bind mounts and volumes.
    pub binds: Vec<BindMount>,
    /// `--tmpfs` mounts.
    pub tmpfs: Vec<TmpfsMount>,
    /// Host path of the generated `/etc/hostname`.
    pub hostname_path: Option<PathBuf>,
    /// Host path of the generated `/etc/hosts`.
    pub hosts_path: Option<PathBuf>,
    /// Host path of the generated `/etc/resolv.conf`.
    pub resolv_conf_path: Option<PathBuf>,
    /// `--shm-size` in bytes; `None` is Docker's 64 MiB.
    pub shm_size: Option<u64>,
    /// `--init`: host path of the init binary, bind mounted read-only at
    /// [`INIT_PATH`] (only with a private pid namespace, as Docker does).
    pub init_binary: Option<PathBuf>,

    /// Cgroup limits.
    pub resources: Resources,
    /// `--ulimit`; `nofile` defaults to [`DEFAULT_NOFILE`].
    pub ulimits: Vec<Ulimit>,
    /// Absolute cgroup path, e.g. `/berth/<id>`.
    pub cgroups_path: Option<String>,
    /// `--oom-score-adj` (Docker always writes it, 0 by default).
    pub oom_score_adj: i32,
    /// `--sysctl`, applied over Docker's default network sysctls.
    pub sysctls: BTreeMap<String, String>,
    /// `--security-opt systempaths=unconfined` or API `MaskedPaths`: replaces the defaults.
    pub masked_paths: Option<Vec<String>>,
    /// API `ReadonlyPaths`: replaces the defaults.
    pub readonly_paths: Option<Vec<String>>,
    /// Annotations copied into the spec.
    pub annotations: BTreeMap<String, String>,

    /// Facts about the host the spec is for.
    pub host: HostInfo,
}
