//! Docker-format seccomp profiles turned into the OCI `linux.seccomp` section.
//!
//! Docker's profile format extends the OCI one with `archMap` and per-rule
//! `includes`/`excludes` filters (by capability, architecture and minimum kernel).
//! The filters are resolved here, for the container's final capability set and
//! the host's architecture and kernel, the way moby's `profiles/seccomp` does.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag, LinuxSyscall,
};
use serde::Deserialize;
use std::path::PathBuf;

/// Docker's default profile (moby/profiles `default.json`), embedded at build time.
pub const DEFAULT_PROFILE: &str = include_str!("default.json");

/// Errors reading or resolving a seccomp profile.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The profile JSON does not have Docker's seccomp profile shape.
    #[error("Decoding seccomp profile failed: {0}")]
    Decode(#[from] serde_json::Error),
    /// Both `architectures` and `archMap` were given.
    #[error("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'")]
    ArchConflict,
    /// A rule had both `name` and `names`.
    #[error("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'")]
    NameConflict,
    /// A `minKernel` value was not `<kernel>.<major>`.
    #[error("invalid kernel version: {0:?}, expected \"<kernel>.<major>\"")]
    KernelVersion(String),
    /// A profile without a default action.
    #[error("seccomp profile has no defaultAction")]
    NoDefaultAction,
}

/// A kernel version as the profile's `minKernel` compares it: only the first two numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion {
    /// The "6" in 6.1.0.
    pub kernel: u64,
    /// The "1" in 6.1.0.
    pub major: u64,
}

impl KernelVersion {
    /// Parses `uname -r` style strings ("6.1.0-13-amd64", "3.12-rc5", "4.8").
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.trim().splitn(3, '.');
        let kernel = parts.next()?.parse().ok()?;
        let major_part = parts.next()?;
        // "12-rc5" or "12-1-amd64": only the leading digits count.
        let digits: String = major_part
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let major = digits.parse().ok()?;
        Some(Self { kernel, major })
    }

    /// The running kernel's version, from /proc/sys/kernel/osrelease.
    pub fn host() -> Option<Self> {
        let s = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
        Self::parse(&s)
    }
}

/// The host facts a profile's filters are evaluated against.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    /// The container's bounding capabilities (`CAP_...` names).
    pub caps: &'a [String],
    /// libseccomp's name of the native architecture ("amd64", "arm64", ...).
    pub arch: &'a str,
    /// Host kernel; `None` treats every `minKernel` condition as met.
    pub kernel: Option<KernelVersion>,
}

/// libseccomp's name for the architecture this binary was built for, as Go's
/// `GOARCH` maps to it in moby.
pub fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86" => "x86",
        "x86_64" => "amd64",
        "arm" => "arm",
        "aarch64" => "arm64",
        "loongarch64" => "loong64",
        "mips64" => "mips64",
        "powerpc" => "ppc",
        "powerpc64" => {
            if cfg!(target_endian = "little") {
                "ppc64le"
            } else {
                "ppc64"
            }
        }
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        other => other,
    }
}

/// The seccomp architecture whose `archMap` entry applies to a native name.
fn scmp_arch(native: &str) -> Option<Arch> {
    Some(match native {
        "x86" => Arch::ScmpArchX86,
        "amd64" => Arch::ScmpArchX86_64,
        "arm" => Arch::ScmpArchArm,
        "arm64" => Arch::ScmpArchAarch64,
        "loong64" => Arch::ScmpArchLoongarch64,
        "mips64" => Arch::ScmpArchMips64,
        "mips64n32" => Arch::ScmpArchMips64n32,
        "mipsel64" => Arch::ScmpArchMipsel64,
        "mips3l64n32" => Arch::ScmpArchMipsel64n32,
        "mipsle" => Arch::ScmpArchMipsel,
        "ppc" => Arch::ScmpArchPpc,
        "ppc64" => Arch::ScmpArchPpc64,
        "ppc64le" => Arch::ScmpArchPpc64le,
        "riscv64" => Arch::ScmpArchRiscv64,
        "s390" => Arch::ScmpArchS390,
        "s390x" => Arch::ScmpArchS390x,
        _ => return None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    #[serde(default)]
    default_action: Option<String>,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<Arch>>,
    #[serde(default)]
    arch_map: Option<Vec<ArchMapEntry>>,
    #[serde(default)]
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    #[serde(default)]
    listener_path: Option<PathBuf>,
    #[serde(default)]
    listener_metadata: Option<String>,
    #[serde(default)]
    syscalls: Option<Vec<Rule>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMapEntry {
    architecture: Arch,
    #[serde(default)]
    sub_architectures: Option<Vec<Arch>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    action: LinuxSeccompAction,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<LinuxSeccompArg>>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// Parses a `minKernel` value strictly ("<kernel>.<major>"); empty means no condition.
fn min_kernel(v: &Option<String>) -> Result<Option<KernelVersion>, SeccompError> {
    match v.as_deref() {
        None | Some("") => Ok(None),
        Some(s) => {
            let mut it = s.split('.');
            let (Some(k), Some(m), None) = (it.next(), it.next(), it.next()) else {
                return Err(SeccompError::KernelVersion(s.to_string()));
            };
            match (k.parse::<u64>(), m.parse::<u64>()) {
                (Ok(kernel), Ok(major)) if kernel != 0 || major != 0 => {
                    Ok(Some(KernelVersion { kernel, major }))
                }
                _ => Err(SeccompError::KernelVersion(s.to_string())),
            }
        }
    }
}

/// Does the host kernel satisfy `want`? An unknown host kernel is assumed new enough.
fn kernel_at_least(host: Option<KernelVersion>, want: KernelVersion) -> bool {
    host.is_none_or(|h| h >= want)
}

/// Resolves a Docker-format profile (a JSON value) for one container.
///
/// Returns `Ok(None)` when the profile disables seccomp (no default action and
/// no rules), as Docker does.
pub fn resolve(
    profile: &serde_json::Value,
    target: &Target<'_>,
) -> Result<Option<LinuxSeccomp>, SeccompError> {
    resolve_profile(parse(profile)?, target)
}

/// Resolves Docker's embedded default profile.
pub fn resolve_default(target: &Target<'_>) -> Result<Option<LinuxSeccomp>, SeccompError> {
    let profile: Profile = serde_json::from_str(DEFAULT_PROFILE)?;
    resolve_profile(profile, target)
}

/// A profile is a JSON object (serde would also take an array for a struct).
fn parse(profile: &serde_json::Value) -> Result<Profile, SeccompError> {
    if !profile.is_object() {
        return Err(SeccompError::Decode(serde::de::Error::custom(
            "the profile is not a JSON object",
        )));
    }
    Ok(serde_json::from_value(profile.clone())?)
}

/// Checks a Docker-format profile without a container to resolve it for: its shape and
/// actions, every rule's `minKernel`, and the conflicts resolving would find. Lets the engine
/// refuse a bad profile at create.
pub fn validate(profile: &serde_json::Value) -> Result<(), SeccompError> {
    let profile = parse(profile)?;
    for rule in profile.syscalls.iter().flatten() {
        for filter in [&rule.includes, &rule.excludes].into_iter().flatten() {
            min_kernel(&filter.min_kernel)?;
        }
    }
    let target = Target {
        caps: &[],
        arch: native_arch(),
        kernel: None,
    };
    resolve_profile(profile, &target).map(drop)
}

fn resolve_profile(
    profile: Profile,
    target: &Target<'_>,
) -> Result<Option<LinuxSeccomp>, SeccompError> {
    let rules = profile.syscalls.unwrap_or_default();
    let default_action = match profile.default_action.as_deref() {
        None | Some("") if rules.is_empty() => return Ok(None),
        None | Some("") => return Err(SeccompError::NoDefaultAction),
        Some(a) => serde_json::from_value::<LinuxSeccompAction>(serde_json::Value::from(a))?,
    };
    let mut architectures = profile.architectures.unwrap_or_default();
    let arch_map = profile.arch_map.unwrap_or_default();
    if !architectures.is_empty() && !arch_map.is_empty() {
        return Err(SeccompError::ArchConflict);
    }
    if let Some(native) = scmp_arch(target.arch) {
        if let Some(entry) = arch_map.iter().find(|e| e.architecture == native) {
            architectures.push(entry.architecture);
            architectures.extend(entry.sub_architectures.iter().flatten().copied());
        }
    }

    let mut syscalls = Vec::new();
    for rule in rules {
        let names = match (rule.name, rule.names) {
            (Some(n), Some(ns)) if !n.is_empty() && !ns.is_empty() => {
                return Err(SeccompError::NameConflict)
            }
            (Some(n), _) if !n.is_empty() => vec![n],
            (_, ns) => ns.unwrap_or_default(),
        };
        if !applies(&rule.includes, &rule.excludes, target)? {
            continue;
        }
        let mut call = LinuxSyscall::default();
        call.set_names(names);
        call.set_action(rule.action);
        call.set_errno_ret(rule.errno_ret);
        call.set_args(rule.args);
        syscalls.push(call);
    }

    let mut out = LinuxSeccomp::default();
    out.set_default_action(default_action);
    out.set_default_errno_ret(profile.default_errno_ret);
    out.set_architectures((!architectures.is_empty()).then_some(architectures));
    out.set_flags(profile.flags);
    out.set_listener_path(profile.listener_path);
    out.set_listener_metadata(profile.listener_metadata);
    out.set_syscalls(Some(syscalls));
    Ok(Some(out))
}

/// Evaluates a rule's `excludes` then `includes` filters like moby: any matching
/// exclude drops the rule; every include condition must hold.
fn applies(
    includes: &Option<Filter>,
    excludes: &Option<Filter>,
    t: &Target<'_>,
) -> Result<bool, SeccompError> {
    let has_cap = |c: &String| t.caps.contains(c);
    if let Some(ex) = excludes {
        if ex.arches.iter().flatten().any(|a| a == t.arch) {
            return Ok(false);
        }
        if ex.caps.iter().flatten().any(has_cap) {
            return Ok(false);
        }
        if let Some(v) = min_kernel(&ex.min_kernel)? {
            if kernel_at_least(t.kernel, v) {
                return Ok(false);
            }
        }
    }
    if let Some(inc) = includes {
        if let Some(arches) = inc.arches.as_ref().filter(|a| !a.is_empty()) {
            if !arches.iter().any(|a| a == t.arch) {
                return Ok(false);
            }
        }
        if !inc.caps.iter().flatten().all(has_cap) {
            return Ok(false);
        }
        if let Some(v) = min_kernel(&inc.min_kernel)? {
            if !kernel_at_least(t.kernel, v) {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::DEFAULT_CAPABILITIES;

    fn caps(extra: &[&str]) -> Vec<String> {
        DEFAULT_CAPABILITIES
            .iter()
            .chain(extra.iter())
            .map(|c| (*c).to_string())
            .collect()
    }

    fn allowed(s: &LinuxSeccomp, name: &str) -> Vec<LinuxSyscall> {
        s.syscalls()
            .iter()
            .flatten()
            .filter(|c| c.names().iter().any(|n| n == name))
            .filter(|c| c.action() == LinuxSeccompAction::ScmpActAllow)
            .cloned()
            .collect()
    }

    fn target(caps: &[String]) -> Target<'_> {
        Target {
            caps,
            arch: "amd64",
            kernel: KernelVersion::parse("6.1.0"),
        }
    }

    #[test]
    fn default_profile_shape_on_amd64() {
        let c = caps(&[]);
        let s = resolve_default(&target(&c)).unwrap().unwrap();
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(s.default_errno_ret(), Some(1));
        assert_eq!(
            s.architectures().clone().unwrap(),
            vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
        );
        // Plain syscalls are allowed; arch-gated ones follow the arch.
        assert!(!allowed(&s, "read").is_empty());
        assert!(!allowed(&s, "arch_prctl").is_empty());
        assert!(allowed(&s, "s390_runtime_instr").is_empty());
        assert!(allowed(&s, "set_tls").is_empty());
    }

    #[test]
    fn cap_gated_rules() {
        let c = caps(&[]);
        let s = resolve_default(&target(&c)).unwrap().unwrap();
        // Without CAP_SYS_ADMIN: no unshare/mount/setns, clone only without namespace flags,
        // clone3 answers ENOSYS so libc falls back to clone.
        assert!(allowed(&s, "unshare").is_empty());
        assert!(allowed(&s, "mount").is_empty());
        assert!(allowed(&s, "setns").is_empty());
        let clone = allowed(&s, "clone");
        assert_eq!(clone.len(), 1);
        let arg = clone[0].args().clone().unwrap()[0];
        assert_eq!(arg.index(), 0);
        assert_eq!(arg.value(), 0x7E020000);
        let clone3: Vec<_> = s
            .syscalls()
            .iter()
            .flatten()
            .filter(|c| c.names() == &vec!["clone3".to_string()])
            .collect();
        assert_eq!(clone3.len(), 1);
        assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(clone3[0].errno_ret(), Some(38));
        // ptrace comes from the minKernel 4.8 rule, not the CAP_SYS_PTRACE one.
        assert_eq!(allowed(&s, "ptrace").len(), 1);
        assert!(allowed(&s, "kcmp").is_empty());

        let c = caps(&["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]);
        let s = resolve_default(&target(&c)).unwrap().unwrap();
        assert_eq!(allowed(&s, "unshare").len(), 1);
        assert_eq!(allowed(&s, "kcmp").len(), 1);
        assert_eq!(allowed(&s, "ptrace").len(), 2);
        // With CAP_SYS_ADMIN the unrestricted clone rule replaces the masked one.
        let clone = allowed(&s, "clone");
        assert_eq!(clone.len(), 1);
        assert!(clone[0].args().is_none());
        assert!(s
            .syscalls()
            .iter()
            .flatten()
            .all(|c| c.names() != &vec!["clone3".to_string()]
                || c.action() == LinuxSeccompAction::ScmpActAllow));
    }

    #[test]
    fn min_kernel_gate() {
        let c = caps(&[]);
        let old = Target {
            caps: &c,
            arch: "amd64",
            kernel: KernelVersion::parse("4.4.0-generic"),
        };
        let s = resolve_default(&old).unwrap().unwrap();
        assert!(allowed(&s, "ptrace").is_empty());
    }

    #[test]
    fn custom_profile_and_errors() {
        let c = caps(&[]);
        let p = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [
                {"name": "chmod", "action": "SCMP_ACT_ERRNO"},
                {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "excludes": {"caps": ["CAP_CHOWN"]}}
            ]
        });
        let s = resolve(&p, &target(&c)).unwrap().unwrap();
        assert_eq!(s.syscalls().as_ref().map(Vec::len), Some(1));
        assert_eq!(s.syscalls().clone().unwrap()[0].names(), &vec!["chmod"]);

        assert!(resolve(&serde_json::json!({}), &target(&c))
            .unwrap()
            .is_none());

        let both = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64"],
            "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": null}],
            "syscalls": []
        });
        assert!(matches!(
            resolve(&both, &target(&c)),
            Err(SeccompError::ArchConflict)
        ));
        let bad = serde_json::json!({"defaultAction": "SCMP_ACT_NOPE", "syscalls": []});
        assert!(resolve(&bad, &target(&c)).is_err());
    }

    #[test]
    fn validate_finds_what_resolve_would() {
        let ok = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
        });
        validate(&ok).unwrap();
        validate(&serde_json::from_str(DEFAULT_PROFILE).unwrap()).unwrap();
        validate(&serde_json::json!({})).unwrap();
        let bad = [
            serde_json::json!([]),
            serde_json::json!({"defaultAction": "SCMP_ACT_NOPE"}),
            serde_json::json!({"defaultAction": 3}),
            serde_json::json!({"syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}),
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]}),
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ERRNO"}]}),
            // A rule another arch would skip is still checked.
            serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["a"], "action": "SCMP_ACT_ERRNO",
                    "excludes": {"arches": ["amd64", "arm64"], "minKernel": "five"}}]}),
        ];
        for p in &bad {
            assert!(validate(p).is_err(), "{p}");
        }
        let err = validate(&serde_json::json!({"defaultAction": "SCMP_ACT_NOPE"})).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Decoding seccomp profile failed: "),
            "{err}"
        );
    }

    #[test]
    fn kernel_version_parse() {
        assert_eq!(
            KernelVersion::parse("6.18.44-fc-v595"),
            Some(KernelVersion {
                kernel: 6,
                major: 18
            })
        );
        assert_eq!(
            KernelVersion::parse("3.12-rc5"),
            Some(KernelVersion {
                kernel: 3,
                major: 12
            })
        );
        assert!(min_kernel(&Some("4".into())).is_err());
        assert!(min_kernel(&Some("0.0".into())).is_err());
    }
}
