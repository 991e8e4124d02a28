//! A container's seccomp profile, compiled to BPF once and loaded from a cache.
//!
//! libcontainer compiles the profile with libseccomp inside every container's init; for
//! Docker's default profile (three architectures, ~350 syscalls) that is most of the time a
//! container takes to create. The BPF libseccomp produces depends only on the profile, the
//! libseccomp version, the kernel's seccomp API level and this compiler, so the shim compiles
//! each profile once, keeps the program in a cache directory, and init loads the program as
//! it is.

use crate::exit::write_atomic;
use anyhow::{bail, Context, Result};
use libseccomp::{
    get_api, ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
    ScmpVersion,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Names what the compiler does in the cache key: a change to how profiles are compiled
/// must bump it, so that no program of an older compiler is ever served from the cache.
/// 2: SCMP_CMP_MASKED_EQ reads `value` as the mask and `valueTwo` as the datum (1 had them
/// swapped, which let every container clone new namespaces).
const COMPILER: &str = "berth-seccomp/2";

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
    /// libcontainer then compiles it in init as usual (see [`for_libcontainer`]).
    pub fn prepare(profile: &LinuxSeccomp, cache_dir: &Path) -> Result<Option<Filter>> {
        if uses_notify(profile) {
            return Ok(None);
        }
        let program = match private_dir(cache_dir) {
            Ok(()) => cached_program(profile, cache_dir)?,
            // The cache only saves time; one that cannot be kept private is not used.
            Err(_) => decode(&compile(profile)?)?,
        };
        Ok(Some(Filter {
            program,
            flags: load_flags(profile),
        }))
    }

    /// Keeps the filter in `path` (for the container's later execs).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut bytes = self.flags.to_le_bytes().to_vec();
        bytes.extend_from_slice(&encode(&self.program));
        std::fs::write(path, bytes)
    }

    /// A filter [`save`](Self::save)d before. A missing file is an error like any other: a
    /// process that should have the filter must not run without it.
    pub fn open(path: &Path) -> Result<Filter> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let (flags, program) = bytes
            .split_at_checked(8)
            .context("truncated seccomp filter")?;
        let mut f = [0u8; 8];
        f.copy_from_slice(flags);
        Ok(Filter {
            program: decode(program)?,
            flags: u64::from_le_bytes(f),
        })
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

/// The profile as libcontainer 0.7 must be given it when it compiles the profile itself.
///
/// libcontainer builds a SCMP_CMP_MASKED_EQ condition with `valueTwo` as the mask and
/// `value` as the datum: the reverse of the OCI spec, of runc and of Docker's profile, where
/// `value` is the mask. Read that way, Docker's `clone` rule (mask 0x7E020000, datum 0)
/// becomes `flags & 0 == 0x7E020000`, which libseccomp turns into an always-true test, and
/// every container may clone new namespaces. Swapping the two here makes libcontainer's
/// reading the spec's. Only for libcontainer: an external runc reads the profile right.
pub fn for_libcontainer(profile: &LinuxSeccomp) -> Result<LinuxSeccomp> {
    let mut profile = profile.clone();
    let mut syscalls = profile.syscalls().clone();
    for call in syscalls.iter_mut().flatten() {
        let args = match call.args() {
            Some(args) => Some(
                args.iter()
                    .map(swap_mask_and_datum)
                    .collect::<Result<Vec<_>>>()?,
            ),
            None => None,
        };
        call.set_args(args);
    }
    profile.set_syscalls(syscalls);
    Ok(profile)
}

fn swap_mask_and_datum(arg: &LinuxSeccompArg) -> Result<LinuxSeccompArg> {
    if arg.op() != LinuxSeccompOperator::ScmpCmpMaskedEq {
        return Ok(*arg);
    }
    LinuxSeccompArgBuilder::default()
        .index(arg.index())
        .op(arg.op())
        .value(arg.value_two().unwrap_or(0))
        .value_two(arg.value())
        .build()
        .context("building a seccomp argument")
}

/// Creates the cache directory, or tightens it: 0700 and owned by the shim's user (root).
/// Every container would load what is in it, so no one else may write there.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let me = nix::unistd::geteuid().as_raw();
    if meta.uid() != me {
        std::os::unix::fs::lchown(dir, Some(me), None)?;
    }
    if meta.mode() & 0o7777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The program for `profile` from the cache, or compiled and written there. An entry that
/// cannot be used (corrupt, someone else's, of another key) is replaced.
fn cached_program(profile: &LinuxSeccomp, dir: &Path) -> Result<Vec<libc::sock_filter>> {
    let key = cache_key(profile)?;
    let name = format!("{:016x}.bpf", hash64(key.as_bytes()));
    if let Some(program) = read_entry(&dir.join(&name), &key) {
        return Ok(program);
    }
    let bpf = compile(profile)?;
    let program = decode(&bpf)?;
    // The cache only saves time: failing to write it is not an error.
    let _ = write_atomic(
        dir,
        &name,
        &[key.as_bytes(), &hash64(&bpf).to_le_bytes(), &bpf].concat(),
    );
    Ok(program)
}

/// A cache entry is the key (it names the whole profile, so a hash collision of file names
/// is never a hit), a checksum of the program, then the program.
fn read_entry(path: &Path, key: &str) -> Option<Vec<libc::sock_filter>> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.uid() != nix::unistd::geteuid().as_raw() || meta.mode() & 0o022 != 0
    {
        return None;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    let (sum, bpf) = bytes.strip_prefix(key.as_bytes())?.split_at_checked(8)?;
    if sum != hash64(bpf).to_le_bytes() {
        return None;
    }
    decode(bpf).ok()
}

fn hash64(bytes: &[u8]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

/// What the compiled program depends on, written in front of it in the cache file.
fn cache_key(profile: &LinuxSeccomp) -> Result<String> {
    let version = ScmpVersion::current().context("libseccomp version")?;
    let json = serde_json::to_string(profile)?;
    Ok(format!(
        "{COMPILER} libseccomp/{version} api/{}\n{json}\n",
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

/// The profile to BPF, with the rules runc (and libcontainer) apply: rules whose action is
/// the default are left out, syscalls this libseccomp does not know are skipped, and when
/// one argument is compared more than once (libseccomp allows one comparison per argument
/// in a rule) each comparison becomes a rule of its own.
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
        let conditions: Vec<ScmpArgCompare> = args.iter().map(condition).collect();
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

/// One argument comparison, read as runc and libseccomp-golang read the OCI spec: `value`
/// is the operand, and for SCMP_CMP_MASKED_EQ `value` is the mask and `valueTwo` the
/// datum (`arg & value == valueTwo`).
fn condition(arg: &LinuxSeccompArg) -> ScmpArgCompare {
    let op = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        LinuxSeccompOperator::ScmpCmpMaskedEq => {
            return ScmpArgCompare::new(
                arg.index() as u32,
                ScmpCompareOp::MaskedEqual(arg.value()),
                arg.value_two().unwrap_or(0),
            )
        }
    };
    ScmpArgCompare::new(arg.index() as u32, op, arg.value())
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

/// Instructions to raw BPF (8-byte `sock_filter`s in native byte order).
fn encode(program: &[libc::sock_filter]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for i in program {
        bytes.extend_from_slice(&i.code.to_ne_bytes());
        bytes.extend_from_slice(&[i.jt, i.jf]);
        bytes.extend_from_slice(&i.k.to_ne_bytes());
    }
    bytes
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

    /// What the rules' errno is in the tests below: a `getppid` rule that matched.
    const MATCHED: i32 = 77;

    /// Everything allowed, but `getppid` fails with [`MATCHED`] when `args` match. getppid
    /// ignores its arguments, yet seccomp sees them: a harmless call to test comparisons on.
    fn getppid_rule(args: &str) -> LinuxSeccomp {
        profile(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{{"names":["getppid"],
                "action":"SCMP_ACT_ERRNO","errnoRet":{MATCHED},"args":[{args}]}}]}}"#
        ))
    }

    /// What `getppid(args...)` gives (0, or the errno) for each of `calls`, on a new thread
    /// that first sets no_new_privs and installs a filter with `install`. Both are per
    /// thread, so the test process itself stays unfiltered.
    fn getppid_under(install: impl FnOnce() + Send, calls: &[[u64; 6]]) -> Vec<i32> {
        std::thread::scope(|s| {
            s.spawn(|| {
                // SAFETY: prctl with integer arguments only.
                let rc = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
                assert_eq!(rc, 0, "PR_SET_NO_NEW_PRIVS");
                install();
                calls
                    .iter()
                    .map(|a| {
                        // SAFETY: getppid reads none of its arguments.
                        let rc = unsafe {
                            libc::syscall(libc::SYS_getppid, a[0], a[1], a[2], a[3], a[4], a[5])
                        };
                        match rc {
                            -1 => std::io::Error::last_os_error().raw_os_error().unwrap(),
                            _ => 0,
                        }
                    })
                    .collect()
            })
            .join()
            .unwrap()
        })
    }

    /// Loads berth's compiled filter for `p`.
    fn berth(p: &LinuxSeccomp) -> impl FnOnce() + Send + '_ {
        move || {
            let dir = tempfile::tempdir().unwrap();
            Filter::prepare(p, dir.path())
                .unwrap()
                .unwrap()
                .load()
                .unwrap()
        }
    }

    /// Lets libcontainer compile and load `p` as it does in a container's init.
    fn libcontainer(p: LinuxSeccomp) -> impl FnOnce() + Send {
        move || {
            libcontainer::seccomp::initialize_seccomp(&p).unwrap();
        }
    }

    fn arg0(v: u64) -> [u64; 6] {
        [v, 0, 0, 0, 0, 0]
    }

    const NAMESPACE_FLAGS: [u64; 7] = [
        libc::CLONE_NEWUSER as u64,
        libc::CLONE_NEWNS as u64,
        libc::CLONE_NEWNET as u64,
        libc::CLONE_NEWPID as u64,
        libc::CLONE_NEWIPC as u64,
        libc::CLONE_NEWUTS as u64,
        libc::CLONE_NEWCGROUP as u64,
    ];

    /// (the `args` of a rule, [(argument 0, whether the rule matches)]).
    fn operator_table() -> Vec<(String, Vec<(u64, bool)>)> {
        let one = |op: &str, value: u64| format!(r#"{{"index":0,"op":"{op}","value":{value}}}"#);
        let mut clone = vec![(libc::SIGCHLD as u64, true), (0, true)];
        clone.extend(
            NAMESPACE_FLAGS
                .iter()
                .map(|f| (f | libc::SIGCHLD as u64, false)),
        );
        vec![
            (
                one("SCMP_CMP_EQ", 5),
                vec![(5, true), (4, false), (6, false)],
            ),
            (one("SCMP_CMP_NE", 5), vec![(4, true), (5, false)]),
            (
                one("SCMP_CMP_LT", 5),
                vec![(4, true), (5, false), (6, false)],
            ),
            (
                one("SCMP_CMP_LE", 5),
                vec![(5, true), (4, true), (6, false)],
            ),
            (
                one("SCMP_CMP_GT", 5),
                vec![(6, true), (5, false), (4, false)],
            ),
            (
                one("SCMP_CMP_GE", 5),
                vec![(5, true), (6, true), (4, false)],
            ),
            (
                one("SCMP_CMP_GT", 0xffff_ffff),
                vec![(0x1_0000_0000, true), (0xffff_ffff, false)],
            ),
            // Docker's `clone` rule: value is the mask, the datum (valueTwo) is 0.
            (one("SCMP_CMP_MASKED_EQ", 0x7E02_0000), clone),
            (
                r#"{"index":0,"op":"SCMP_CMP_MASKED_EQ","value":240,"valueTwo":48}"#.into(),
                vec![(0x35, true), (0x3f, true), (0x45, false), (0x05, false)],
            ),
        ]
    }

    #[test]
    fn every_operator_compares_as_runc_does() {
        let table = operator_table();
        for (args, cases) in &table {
            let p = getppid_rule(args);
            let calls: Vec<_> = cases.iter().map(|&(a, _)| arg0(a)).collect();
            let want: Vec<_> = cases
                .iter()
                .map(|&(_, m)| if m { MATCHED } else { 0 })
                .collect();
            assert_eq!(getppid_under(berth(&p), &calls), want, "rule args {args}");
        }
        assert!(table.len() >= 7);
    }

    #[test]
    fn all_arguments_of_a_rule_must_match() {
        let p = getppid_rule(
            r#"{"index":0,"op":"SCMP_CMP_EQ","value":1},
               {"index":1,"op":"SCMP_CMP_MASKED_EQ","value":12,"valueTwo":4}"#,
        );
        let calls = [
            [1, 4, 0, 0, 0, 0],
            [1, 0x15, 0, 0, 0, 0],
            [1, 8, 0, 0, 0, 0],
            [1, 12, 0, 0, 0, 0],
            [2, 4, 0, 0, 0, 0],
        ];
        assert_eq!(
            getppid_under(berth(&p), &calls),
            [MATCHED, MATCHED, 0, 0, 0]
        );
    }

    #[test]
    fn one_argument_compared_twice_makes_separate_rules() {
        // As runc does: libseccomp takes one comparison per argument and rule.
        let p = getppid_rule(
            r#"{"index":0,"op":"SCMP_CMP_EQ","value":1},{"index":0,"op":"SCMP_CMP_EQ","value":2},
               {"index":1,"op":"SCMP_CMP_EQ","value":9}"#,
        );
        let calls = [arg0(1), arg0(2), arg0(3), [3, 9, 0, 0, 0, 0]];
        assert_eq!(
            getppid_under(berth(&p), &calls),
            [MATCHED, MATCHED, 0, MATCHED]
        );
    }

    #[test]
    fn errno_ret_is_what_the_call_returns() {
        // Docker's clone3 rule: ENOSYS, so that libc falls back to clone.
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
                {"names":["getppid"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#,
        );
        assert_eq!(getppid_under(berth(&p), &[arg0(0)]), [libc::ENOSYS]);
    }

    #[test]
    fn libcontainer_reads_masked_eq_backwards() {
        // The reason for `for_libcontainer`: given the profile as it is, libcontainer 0.7
        // compiles Docker's clone rule into one that lets namespaces through. Should this
        // fail after an upgrade, libcontainer reads the spec right and the swap must go.
        let p = getppid_rule(r#"{"index":0,"op":"SCMP_CMP_MASKED_EQ","value":2114060288}"#);
        let newuser = arg0(libc::CLONE_NEWUSER as u64 | libc::SIGCHLD as u64);
        assert_eq!(getppid_under(libcontainer(p), &[newuser]), [MATCHED]);
    }

    #[test]
    fn libcontainer_compiles_the_swapped_profile_right() {
        let table = operator_table();
        for (args, cases) in &table {
            let p = for_libcontainer(&getppid_rule(args)).unwrap();
            let calls: Vec<_> = cases.iter().map(|&(a, _)| arg0(a)).collect();
            let want: Vec<_> = cases
                .iter()
                .map(|&(_, m)| if m { MATCHED } else { 0 })
                .collect();
            assert_eq!(
                getppid_under(libcontainer(p), &calls),
                want,
                "rule args {args}"
            );
        }
        assert!(table.len() >= 7);
    }

    #[test]
    fn for_libcontainer_swaps_only_masked_eq_operands() {
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","listenerPath":"/l","syscalls":[
                {"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[
                    {"index":0,"op":"SCMP_CMP_MASKED_EQ","value":2114060288},
                    {"index":1,"op":"SCMP_CMP_MASKED_EQ","value":240,"valueTwo":48},
                    {"index":2,"op":"SCMP_CMP_EQ","value":7,"valueTwo":9}]},
                {"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let swapped = serde_json::to_value(for_libcontainer(&p).unwrap()).unwrap();
        assert_eq!(
            swapped["syscalls"][0]["args"],
            serde_json::json!([
                {"index":0,"op":"SCMP_CMP_MASKED_EQ","value":0,"valueTwo":2114060288u64},
                {"index":1,"op":"SCMP_CMP_MASKED_EQ","value":48,"valueTwo":240},
                {"index":2,"op":"SCMP_CMP_EQ","value":7,"valueTwo":9}])
        );
        // Everything else is left as it was.
        let mut back = swapped.clone();
        back["syscalls"][0]["args"] =
            serde_json::to_value(p.syscalls().as_ref().unwrap()[0].args()).unwrap();
        assert_eq!(back, serde_json::to_value(&p).unwrap());
    }

    #[test]
    fn the_cache_key_names_this_compiler() {
        let key = cache_key(&getppid_rule("")).unwrap();
        assert!(key.starts_with("berth-seccomp/2 "), "{key}");
    }

    fn default_like() -> LinuxSeccomp {
        getppid_rule(r#"{"index":0,"op":"SCMP_CMP_MASKED_EQ","value":2114060288}"#)
    }

    /// The only file in `dir`.
    fn entry(dir: &Path) -> std::path::PathBuf {
        let files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|f| f.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().mode() & 0o7777
    }

    #[test]
    fn the_cache_dir_is_made_private() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test changes owners and must run as root"
        );
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/seccomp");
        Filter::prepare(&default_like(), &dir).unwrap().unwrap();
        assert_eq!(mode(&dir), 0o700);
        entry(&dir);
        // An existing directory is tightened and taken back.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        Filter::prepare(&default_like(), &dir).unwrap().unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(std::fs::metadata(&dir).unwrap().uid(), 0);
    }

    #[test]
    fn a_corrupt_entry_is_recompiled_and_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = default_like();
        let good = Filter::prepare(&p, dir.path()).unwrap().unwrap();
        let path = entry(dir.path());
        let original = std::fs::read(&path).unwrap();
        let key_len = cache_key(&p).unwrap().len();
        let mut flipped = original.clone();
        *flipped.last_mut().unwrap() ^= 0x40;
        let mut garbage_program = original[..key_len + 8].to_vec();
        garbage_program.extend_from_slice(&[0xab; 64]);
        let corruptions: Vec<(&str, Vec<u8>)> = vec![
            ("garbage", b"garbage".to_vec()),
            ("empty", Vec::new()),
            (
                "truncated by one instruction",
                original[..original.len() - 8].to_vec(),
            ),
            ("truncated in the key", original[..key_len / 2].to_vec()),
            ("odd length", original[..original.len() - 3].to_vec()),
            ("one bit flipped", flipped),
            ("another program under the key", garbage_program),
        ];
        for (what, bytes) in &corruptions {
            std::fs::write(&path, bytes).unwrap();
            let f = Filter::prepare(&p, dir.path())
                .unwrap_or_else(|e| panic!("{what}: {e:#}"))
                .unwrap();
            assert_eq!(encode(&f.program), encode(&good.program), "{what}");
            assert_eq!(
                std::fs::read(&path).unwrap(),
                original,
                "{what}: not rewritten"
            );
        }
        // And it still filters.
        let calls = [arg0(libc::SIGCHLD as u64), arg0(libc::CLONE_NEWUSER as u64)];
        assert_eq!(getppid_under(berth(&p), &calls), [MATCHED, 0]);
    }

    #[test]
    fn an_entry_others_could_have_written_is_not_used() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test changes owners and must run as root"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = default_like();
        Filter::prepare(&p, dir.path()).unwrap().unwrap();
        let path = entry(dir.path());
        let key = cache_key(&p).unwrap();
        assert!(read_entry(&path, &key).is_some());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o646)).unwrap();
        assert!(read_entry(&path, &key).is_none(), "writable by others");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        assert!(read_entry(&path, &key).is_none(), "someone else's");
        // prepare replaces it with one of its own.
        Filter::prepare(&p, dir.path()).unwrap().unwrap();
        assert!(read_entry(&path, &key).is_some());
    }

    #[test]
    fn compiles_once_then_reads_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let p = profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
                "syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}"#,
        );
        let first = Filter::prepare(&p, dir.path()).unwrap().unwrap();
        let path = entry(dir.path());
        let written = std::fs::metadata(&path).unwrap().ino();
        let again = Filter::prepare(&p, dir.path()).unwrap().unwrap();
        assert_eq!(encode(&first.program), encode(&again.program));
        assert_eq!(
            std::fs::metadata(&path).unwrap().ino(),
            written,
            "rewritten on a hit"
        );
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
        let back = Filter::open(&path).unwrap();
        assert_eq!(back.flags, f.flags);
        assert_eq!(encode(&back.program), encode(&f.program));
        assert!(Filter::open(&dir.path().join("none")).is_err());
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
