//! Cgroup limits and rlimits in Docker's semantics.

use super::{HostInfo, Resources, SpecError, Ulimit, DEFAULT_NOFILE};
use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, PosixRlimit, PosixRlimitBuilder,
    PosixRlimitType,
};

/// Docker refuses memory limits below 6 MiB.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// CFS period Docker uses for `--cpus`: 100 ms in µs.
const CFS_PERIOD: u64 = 100_000;

/// `linux.resources.memory`, after Docker's defaulting (`swap = 2 * memory`)
/// and checks. `None` when nothing is limited.
pub(crate) fn memory(r: &Resources, host: &HostInfo) -> Result<Option<LinuxMemory>, SpecError> {
    let mem = r.memory.unwrap_or(0);
    if mem != 0 && mem < MIN_MEMORY {
        return Err(SpecError::MemoryTooSmall);
    }
    let mut swap = match r.memory_swap {
        Some(s) => s,
        None if mem > 0 => mem * 2,
        None => 0,
    };
    if mem > 0 && swap != -1 && !host.swap_limit {
        // Docker warns "Memory limited without swap." and drops the swap limit.
        swap = -1;
    }
    if mem > 0 && swap > 0 && swap < mem {
        return Err(SpecError::SwapBelowMemory);
    }
    if mem == 0 && swap > 0 {
        return Err(SpecError::SwapWithoutMemory);
    }

    let mut m = LinuxMemory::default();
    let mut any = false;
    if mem > 0 {
        m.set_limit(Some(mem));
        any = true;
    }
    if let Some(res) = r.memory_reservation.filter(|v| *v > 0) {
        m.set_reservation(Some(res));
        any = true;
    }
    if swap > 0 {
        m.set_swap(Some(swap));
        any = true;
    }
    if let Some(sw) = r.memory_swappiness {
        m.set_swappiness(Some(sw));
        any = true;
    }
    if let Some(d) = r.oom_kill_disable {
        m.set_disable_oom_killer(Some(d));
        any = true;
    }
    Ok(any.then_some(m))
}

/// `linux.resources.cpu`: `--cpus` becomes a CFS quota over a 100 ms period.
pub(crate) fn cpu(r: &Resources, host: &HostInfo) -> Result<Option<LinuxCpu>, SpecError> {
    let mut c = LinuxCpu::default();
    let mut any = false;
    if let Some(shares) = r.cpu_shares.filter(|s| *s != 0) {
        let shares = u64::try_from(shares).map_err(|_| SpecError::BadCpuShares(shares))?;
        c.set_shares(Some(shares));
        any = true;
    }
    if let Some(cpus) = r.cpuset_cpus.as_ref().filter(|s| !s.is_empty()) {
        c.set_cpus(Some(cpus.clone()));
        any = true;
    }
    if let Some(mems) = r.cpuset_mems.as_ref().filter(|s| !s.is_empty()) {
        c.set_mems(Some(mems.clone()));
        any = true;
    }
    if let Some(nano) = r.nano_cpus.filter(|n| *n != 0) {
        let max = i64::try_from(host.cpus)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000_000);
        if nano < 0 || nano > max {
            return Err(SpecError::BadNanoCpus(host.cpus));
        }
        c.set_period(Some(CFS_PERIOD));
        c.set_quota(Some(nano * CFS_PERIOD as i64 / 1_000_000_000));
        any = true;
    }
    if let Some(p) = r.cpu_period.filter(|p| *p != 0) {
        c.set_period(Some(p));
        any = true;
    }
    if let Some(q) = r.cpu_quota.filter(|q| *q != 0) {
        c.set_quota(Some(q));
        any = true;
    }
    Ok(any.then_some(c))
}

/// `linux.resources.pids`: 0 or negative means unlimited (-1 for the OCI runtime).
pub(crate) fn pids(r: &Resources) -> Option<LinuxPids> {
    r.pids_limit.map(|l| {
        let mut p = LinuxPids::default();
        p.set_limit(if l <= 0 { -1 } else { l });
        p
    })
}

/// `linux.resources.blockIO`: Docker always writes the (possibly empty) section.
pub(crate) fn block_io(r: &Resources) -> LinuxBlockIo {
    let mut b = LinuxBlockIo::default();
    if let Some(w) = r.blkio_weight.filter(|w| *w != 0) {
        b.set_weight(Some(w));
    }
    b
}

/// Docker's ulimit names (go-units) and the rlimit each sets.
const ULIMITS: &[(&str, PosixRlimitType)] = &[
    ("core", PosixRlimitType::RlimitCore),
    ("cpu", PosixRlimitType::RlimitCpu),
    ("data", PosixRlimitType::RlimitData),
    ("fsize", PosixRlimitType::RlimitFsize),
    ("locks", PosixRlimitType::RlimitLocks),
    ("memlock", PosixRlimitType::RlimitMemlock),
    ("msgqueue", PosixRlimitType::RlimitMsgqueue),
    ("nice", PosixRlimitType::RlimitNice),
    ("nofile", PosixRlimitType::RlimitNofile),
    ("nproc", PosixRlimitType::RlimitNproc),
    ("rss", PosixRlimitType::RlimitRss),
    ("rtprio", PosixRlimitType::RlimitRtprio),
    ("rttime", PosixRlimitType::RlimitRttime),
    ("sigpending", PosixRlimitType::RlimitSigpending),
    ("stack", PosixRlimitType::RlimitStack),
];

/// Maps a Docker ulimit name (`nofile`) to its rlimit type (`RLIMIT_NOFILE`).
pub fn ulimit_type(name: &str) -> Option<PosixRlimitType> {
    ULIMITS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// -1 (unlimited) becomes RLIM_INFINITY, as Go's uint64 cast does.
fn rlim(v: i64) -> u64 {
    if v < 0 {
        u64::MAX
    } else {
        v as u64
    }
}

/// `process.rlimits`: the user's ulimits plus the `nofile` default, capped at
/// the engine's own hard limit (raising it needs CAP_SYS_RESOURCE, which the
/// engine may not hold; the OCI runtime would then fail to start the container).
pub(crate) fn rlimits(ulimits: &[Ulimit], host: &HostInfo) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut out = Vec::new();
    let mut has_nofile = false;
    for u in ulimits {
        let typ = ulimit_type(&u.name).ok_or_else(|| SpecError::UnknownUlimit(u.name.clone()))?;
        if u.soft >= 0 && u.hard >= 0 && u.soft > u.hard {
            return Err(SpecError::UlimitOrder {
                soft: u.soft,
                hard: u.hard,
            });
        }
        has_nofile |= typ == PosixRlimitType::RlimitNofile;
        out.push(
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(rlim(u.soft))
                .hard(rlim(u.hard))
                .build()?,
        );
    }
    if !has_nofile {
        let n = host
            .nofile_hard
            .map_or(DEFAULT_NOFILE, |h| h.min(DEFAULT_NOFILE));
        out.push(
            PosixRlimitBuilder::default()
                .typ(PosixRlimitType::RlimitNofile)
                .soft(n)
                .hard(n)
                .build()?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostInfo {
        HostInfo {
            cpus: 2,
            ..HostInfo::default()
        }
    }

    #[test]
    fn cpus_one_and_a_half() {
        let r = Resources {
            nano_cpus: Some(1_500_000_000),
            ..Default::default()
        };
        let c = cpu(&r, &host()).unwrap().unwrap();
        assert_eq!(c.quota(), Some(150_000));
        assert_eq!(c.period(), Some(100_000));
        let r = Resources {
            nano_cpus: Some(3_000_000_000),
            ..Default::default()
        };
        assert_eq!(
            cpu(&r, &host()).unwrap_err().to_string(),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert!(cpu(&Resources::default(), &host()).unwrap().is_none());
        let r = Resources {
            cpu_shares: Some(-3),
            ..Default::default()
        };
        assert!(cpu(&r, &host()).is_err());
    }

    #[test]
    fn memory_swap_math() {
        let mib = 1024 * 1024;
        let r = Resources {
            memory: Some(64 * mib),
            ..Default::default()
        };
        let m = memory(&r, &host()).unwrap().unwrap();
        assert_eq!(m.limit(), Some(64 * mib));
        assert_eq!(m.swap(), Some(128 * mib));

        let r = Resources {
            memory: Some(64 * mib),
            memory_swap: Some(-1),
            ..Default::default()
        };
        let m = memory(&r, &host()).unwrap().unwrap();
        assert_eq!(m.swap(), None);

        let r = Resources {
            memory: Some(64 * mib),
            memory_swap: Some(100 * mib),
            ..Default::default()
        };
        assert_eq!(
            memory(&r, &host()).unwrap().unwrap().swap(),
            Some(100 * mib)
        );

        let no_swap = HostInfo {
            swap_limit: false,
            ..host()
        };
        let r = Resources {
            memory: Some(64 * mib),
            ..Default::default()
        };
        assert_eq!(memory(&r, &no_swap).unwrap().unwrap().swap(), None);

        let bad = |mem, swap| Resources {
            memory: mem,
            memory_swap: swap,
            ..Default::default()
        };
        assert!(matches!(
            memory(&bad(Some(mib), None), &host()),
            Err(SpecError::MemoryTooSmall)
        ));
        assert!(matches!(
            memory(&bad(Some(64 * mib), Some(32 * mib)), &host()),
            Err(SpecError::SwapBelowMemory)
        ));
        assert!(matches!(
            memory(&bad(None, Some(32 * mib)), &host()),
            Err(SpecError::SwapWithoutMemory)
        ));
        assert!(memory(&Resources::default(), &host()).unwrap().is_none());
    }

    #[test]
    fn pids_unlimited() {
        let r = |l| Resources {
            pids_limit: Some(l),
            ..Default::default()
        };
        assert_eq!(pids(&r(0)).unwrap().limit(), -1);
        assert_eq!(pids(&r(100)).unwrap().limit(), 100);
        assert!(pids(&Resources::default()).is_none());
    }

    #[test]
    fn ulimit_mapping() {
        let got = rlimits(
            &[Ulimit {
                name: "nproc".into(),
                soft: 10,
                hard: 20,
            }],
            &host(),
        )
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].typ(), PosixRlimitType::RlimitNproc);
        assert_eq!((got[0].soft(), got[0].hard()), (10, 20));
        assert_eq!(got[1].typ(), PosixRlimitType::RlimitNofile);
        assert_eq!(got[1].soft(), DEFAULT_NOFILE);

        let got = rlimits(
            &[Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: -1,
            }],
            &host(),
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].hard(), u64::MAX);
        let json = serde_json::to_value(got[0]).unwrap();
        assert_eq!(json["type"], "RLIMIT_NOFILE");

        let err = rlimits(
            &[Ulimit {
                name: "bogus".into(),
                soft: 1,
                hard: 1,
            }],
            &host(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "invalid ulimit type: bogus");
        assert!(ulimit_type("stack").is_some());
        assert!(rlimits(
            &[Ulimit {
                name: "core".into(),
                soft: 5,
                hard: 1
            }],
            &host()
        )
        .is_err());
        // An engine with a lower hard limit caps the default.
        let low = HostInfo {
            nofile_hard: Some(20000),
            ..host()
        };
        let got = rlimits(&[], &low).unwrap();
        assert_eq!((got[0].soft(), got[0].hard()), (20000, 20000));
    }
}
