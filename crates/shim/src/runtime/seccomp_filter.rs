//! A container's seccomp profile, compiled to BPF once and loaded from a cache.
//!
//! libcontainer compiles the profile with libseccomp inside every container's init; for
//! Docker's default profile (three architectures, ~350 syscalls) that is most of the time a
//! container takes to create. The BPF libseccomp produces depends only on the profile, the
//! libseccomp version and the kernel's seccomp API level, so the shim compiles each profile
//! once, keeps the program in a cache directory, and init loads the program as it is.

use crate::exit::write_atomic;
use anyhow::{bail, Context, Result};
use libseccomp::{
    get_api, ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
    ScmpVersion,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::Path;

/// A compiled filter, ready to load.
#[derive(Clone)]
pub struct Filter {
    program: Vec<libc::sock_filter>,
    /// seccomp(2) flags (`c_ulong` is `u64` on the 64-bit hosts berth runs on).
    flags: u64,
}

impl Filter {
    /// The filter for `profile`, from `cache_dir` or compiled (and then cached). `None` when
    /// the profile needs what a plain BPF program cannot give (a user-notification fd); the
    /// runtime then compiles it in init as usual.
    pub fn prepare(profile: &LinuxSeccomp, cache_dir: &Path) -> Result<Option<Filter>> {
        if uses_notify(profile) {
            return Ok(None);
        }
        let key = cache_key(profile)?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let name = format!("{:016x}.bpf", hasher.finish());
        let bytes = match std::fs::read(cache_dir.join(&name)) {
            // The file names the whole key, so a hash collision is never taken for a hit.
            Ok(file) if file.starts_with(key.as_bytes()) => file[key.len()..].to_vec(),
            _ => {
                let bpf = compile(profile)?;
                // The cache only saves time: failing to write it is not an error.
                let _ = std::fs::create_dir_all(cache_dir).and_then(|()| {
                    write_atomic(cache_dir, &name, &[key.as_bytes(), &bpf].concat())
                });
                bpf
            }
        };
        Ok(Some(Filter {
            program: decode(&bytes)?,
            flags: load_flags(profile),
        }))
    }

    /// Keeps the filter in `path` (for the container's later execs).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut bytes = self.flags.to_le_bytes().to_vec();
        for i in &self.program {
            bytes.extend_from_slice(&i.code.to_ne_bytes());
            bytes.extend_from_slice(&[i.jt, i.jf]);
            bytes.extend_from_slice(&i.k.to_ne_bytes());
        }
        std::fs::write(path, bytes)
    }

    /// A filter [`save`](Self::save)d before; `None` if there is none.
    pub fn open(path: &Path) -> Result<Option<Filter>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let (flags, program) = bytes
            .split_at_checked(8)
            .context("truncated seccomp filter")?;
        let mut f = [0u8; 8];
        f.copy_from_slice(flags);
        Ok(Some(Filter {
            program: decode(program)?,
            flags: u64::from_le_bytes(f),
        }))
    }

    /// Installs the filter on the calling thread. Needs `no_new_privs` or CAP_SYS_ADMIN.
    pub fn load(&self) -> std::io::Result<()> {
        let prog = libc::sock_fprog {
            len: self.program.len() as u16,
            filter: self.program.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `prog` points at `program`, which outlives the call; the kernel copies it.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                self.flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }
}

/// What the compiled program depends on, written in front of it in the cache file.
fn cache_key(profile: &LinuxSeccomp) -> Result<String> {
    let version = ScmpVersion::current().context("libseccomp version")?;
    let json = serde_json::to_string(profile)?;
    Ok(format!(
        "berth-seccomp/1 libseccomp/{version} api/{}\n{json}\n",
        get_api()
    ))
}

fn uses_notify(profile: &LinuxSeccomp) -> bool {
    profile.default_action() == LinuxSeccompAction::ScmpActNotify
        || profile
            .syscalls()
            .iter()
            .flatten()
            .any(|s| s.action() == LinuxSeccompAction::ScmpActNotify)
}

/// The seccomp(2) flags libseccomp would pass for the profile's filter attributes.
fn load_flags(profile: &LinuxSeccomp) -> u64 {
    let mut flags = 0;
    for flag in profile.flags().iter().flatten() {
        flags |= match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
            }
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => 1 << 5,
        };
    }
    flags
}

/// The profile to BPF, with the rules libcontainer (and runc) apply: rules whose action is
/// the default are left out, syscalls this libseccomp does not know are skipped, and
/// several conditions on one argument become separate rules.
fn compile(profile: &LinuxSeccomp) -> Result<Vec<u8>> {
    let default = action(profile.default_action(), profile.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).context("creating the seccomp filter")?;
    for flag in profile.flags().iter().flatten() {
        match flag {
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => ctx.set_ctl_log(true),
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => ctx.set_ctl_tsync(true),
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => ctx.set_ctl_ssb(true),
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => ctx.set_ctl_waitkill(true),
        }
        .with_context(|| format!("seccomp flag {flag:?}"))?;
    }
    for &a in profile.architectures().iter().flatten() {
        ctx.add_arch(arch(a)?)
            .with_context(|| format!("seccomp architecture {a:?}"))?;
    }
    for rule in profile.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret())?;
        if act == default {
            continue;
        }
        let args = rule.args().as_deref().unwrap_or_default();
        let conditions: Vec<ScmpArgCompare> = args
            .iter()
            .map(|a| ScmpArgCompare::new(a.index() as u32, op(a.op(), a.value_two()), a.value()))
            .collect();
        let mut indexes = HashSet::new();
        let repeated_index = !args.iter().all(|a| indexes.insert(a.index()));
        for name in rule.names() {
            let Ok(nr) = ScmpSyscall::from_name(name) else {
                continue;
            };
            if repeated_index {
                for c in &conditions {
                    ctx.add_rule_conditional(act, nr, std::slice::from_ref(c))
                        .with_context(|| format!("seccomp rule for {name}"))?;
                }
            } else {
                ctx.add_rule_conditional(act, nr, &conditions)
                    .with_context(|| format!("seccomp rule for {name}"))?;
            }
        }
    }
    let mut out = tempfile_in_memory()?;
    ctx.export_bpf(&out)
        .context("exporting the seccomp filter")?;
    read_all(&mut out)
}

/// A memfd: libseccomp 2.5 exports BPF only to a file descriptor.
fn tempfile_in_memory() -> Result<std::fs::File> {
    let fd = nix::sys::memfd::memfd_create(
        c"berth-seccomp",
        nix::sys::memfd::MemFdCreateFlag::MFD_CLOEXEC,
    )
    .context("memfd_create")?;
    Ok(std::fs::File::from(fd))
}

fn read_all(f: &mut std::fs::File) -> Result<Vec<u8>> {
    use std::io::{Read, Seek};
    f.rewind()?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Raw BPF (8-byte `sock_filter`s in native byte order) to instructions.
fn decode(bytes: &[u8]) -> Result<Vec<libc::sock_filter>> {
    const MAX_INSNS: usize = 4096; // BPF_MAXINSNS
    if bytes.is_empty() || !bytes.len().is_multiple_of(8) || bytes.len() / 8 > MAX_INSNS {
        bail!("bad seccomp program: {} bytes", bytes.len());
    }
    Ok(bytes
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

fn action(action: LinuxSeccompAction, errno: Option<u32>) -> Result<ScmpAction> {
    let errno = errno.map(|e| e as i32).unwrap_or(libc::EPERM);
    Ok(match action {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(
            u16::try_from(errno).with_context(|| format!("SCMP_ACT_TRACE errno {errno}"))?,
        ),
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
    })
}

fn op(op: LinuxSeccompOperator, value_two: Option<u64>) -> ScmpCompareOp {
    match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(value_two.unwrap_or(0)),
    }
}

fn arch(arch: Arch) -> Result<ScmpArch> {
    Ok(match arch {
        Arch::ScmpArchNative => ScmpArch::Native,
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        other => bail!("seccomp architecture {other:?} is not supported"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn compiles_once_then_reads_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let first = Filter::prepare(&p, dir.path()).unwrap().unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "one cache file per profile");
        let again = Filter::prepare(&p, dir.path()).unwrap().unwrap();
        assert_eq!(first.program.len(), again.program.len());
        assert!(first
            .program
            .iter()
            .zip(&again.program)
            .all(|(a, b)| (a.code, a.jt, a.jf, a.k) == (b.code, b.jt, b.jf, b.k)));
    }

    #[test]
    fn a_different_profile_is_compiled_not_taken_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let allow = |names: &str| {
            profile(&format!(
                r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":[{names}],"action":"SCMP_ACT_ALLOW"}}]}}"#
            ))
        };
        let small = Filter::prepare(&allow(r#""read""#), dir.path())
            .unwrap()
            .unwrap();
        let big = Filter::prepare(&allow(r#""read","write","close","openat""#), dir.path())
            .unwrap()
            .unwrap();
        assert!(big.program.len() > small.program.len());
        // A cache file that does not carry the profile's key is ignored.
        for f in std::fs::read_dir(dir.path()).unwrap() {
            std::fs::write(f.unwrap().path(), b"garbage").unwrap();
        }
        let rebuilt = Filter::prepare(&allow(r#""read""#), dir.path())
            .unwrap()
            .unwrap();
        assert_eq!(rebuilt.program.len(), small.program.len());
    }

    #[test]
    fn saved_filters_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","flags":["SECCOMP_FILTER_FLAG_LOG"],
                "syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let f = Filter::prepare(&p, dir.path()).unwrap().unwrap();
        let path = dir.path().join("saved");
        f.save(&path).unwrap();
        let back = Filter::open(&path).unwrap().unwrap();
        assert_eq!(back.flags, f.flags);
        assert_eq!(back.program.len(), f.program.len());
        assert!(Filter::open(&dir.path().join("none")).unwrap().is_none());
        std::fs::write(&path, [1, 2, 3]).unwrap();
        assert!(Filter::open(&path).is_err());
    }

    #[test]
    fn notify_profiles_are_left_to_the_runtime() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#,
        );
        assert!(Filter::prepare(&p, Path::new("/nonexistent"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn load_flags_follow_the_profile() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}"#,
        );
        assert_eq!(
            load_flags(&p),
            libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        );
    }

    #[test]
    fn rejects_truncated_programs() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[0; 7]).is_err());
        assert_eq!(decode(&[0; 16]).unwrap().len(), 2);
    }
}
