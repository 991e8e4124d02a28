//! Capability names and Docker's `--cap-add`/`--cap-drop`/`--privileged` math.

use super::SpecError;

/// Every capability the kernel knows, indexed by its bit number (linux/capability.h).
pub const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The 14 capabilities Docker grants a non-privileged container, in Docker's order.
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

const ALL: &str = "ALL";

/// Bit number of a canonical capability name (`CAP_...`).
pub fn cap_bit(name: &str) -> Option<u32> {
    ALL_CAPABILITIES
        .iter()
        .position(|c| *c == name)
        .and_then(|i| u32::try_from(i).ok())
}

/// Capabilities present in a bit mask such as `CapBnd` of /proc/self/status.
pub fn caps_from_mask(mask: u64) -> Vec<String> {
    ALL_CAPABILITIES
        .iter()
        .enumerate()
        .filter(|(bit, _)| mask & (1u64 << bit) != 0)
        .map(|(_, name)| (*name).to_string())
        .collect()
}

/// Upper-cases and adds the `CAP_` prefix, keeping the `ALL` magic value. Unknown names fail
/// with Docker's message: `unknown capability: "CAP_FOO"`.
fn canonical(raw: &str) -> Result<String, SpecError> {
    let c = raw.to_uppercase();
    if c == ALL {
        return Ok(c);
    }
    let c = if c.starts_with("CAP_") {
        c
    } else {
        format!("CAP_{c}")
    };
    if cap_bit(&c).is_none() {
        return Err(SpecError::UnknownCapability(c));
    }
    Ok(c)
}

/// Checks `--cap-add`/`--cap-drop` names as Docker does at create: any case, with or without
/// `CAP_`, or `ALL`. Whether the host has them is only known at start.
pub fn check_names(names: &[String]) -> Result<(), SpecError> {
    names.iter().try_for_each(|n| canonical(n).map(drop))
}

/// Canonical names; a known capability missing from `available` fails like Docker does when
/// the daemon itself lacks it.
fn normalize(names: &[String], available: &[String]) -> Result<Vec<String>, SpecError> {
    let mut out = Vec::with_capacity(names.len());
    for raw in names {
        let c = canonical(raw)?;
        if c != ALL && !available.contains(&c) {
            return Err(SpecError::UnavailableCapability(c));
        }
        out.push(c);
    }
    Ok(out)
}

/// The container's final capability set, as Docker's `TweakCapabilities` computes it.
///
/// `available` is the set the engine itself holds (its bounding set): privileged
/// containers and `--cap-add ALL` get exactly that.
pub fn effective_caps(
    privileged: bool,
    cap_add: &[String],
    cap_drop: &[String],
    available: &[String],
) -> Result<Vec<String>, SpecError> {
    if privileged {
        return Ok(available.to_vec());
    }
    let basics: Vec<String> = DEFAULT_CAPABILITIES
        .iter()
        .map(|c| (*c).to_string())
        .collect();
    if cap_add.is_empty() && cap_drop.is_empty() {
        return Ok(basics);
    }
    let drop = normalize(cap_drop, available)?;
    let add = normalize(cap_add, available)?;
    let has_all = |v: &[String]| v.iter().any(|c| c == ALL);

    let mut caps: Vec<String> = if has_all(&add) {
        available
            .iter()
            .filter(|c| !drop.contains(c))
            .cloned()
            .collect()
    } else if has_all(&drop) {
        add
    } else {
        let mut v: Vec<String> = basics.into_iter().filter(|c| !drop.contains(c)).collect();
        v.extend(add);
        v
    };
    // Docker keeps duplicates in the list; the OCI set type removes them anyway.
    let mut seen = Vec::with_capacity(caps.len());
    caps.retain(|c| {
        if seen.contains(c) {
            false
        } else {
            seen.push(c.clone());
            true
        }
    });
    Ok(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<String> {
        ALL_CAPABILITIES.iter().map(|c| (*c).to_string()).collect()
    }
    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|c| (*c).to_string()).collect()
    }

    #[test]
    fn default_is_fourteen() {
        let caps = effective_caps(false, &[], &[], &all()).unwrap();
        assert_eq!(caps.len(), 14);
        assert_eq!(caps, s(&DEFAULT_CAPABILITIES));
    }

    #[test]
    fn drop_all_then_add_one() {
        let caps = effective_caps(false, &s(&["net_admin"]), &s(&["ALL"]), &all()).unwrap();
        assert_eq!(caps, s(&["CAP_NET_ADMIN"]));
    }

    #[test]
    fn add_all_minus_drop() {
        let caps = effective_caps(false, &s(&["all"]), &s(&["CAP_SYS_ADMIN"]), &all()).unwrap();
        assert_eq!(caps.len(), 40);
        assert!(!caps.contains(&"CAP_SYS_ADMIN".to_string()));
    }

    #[test]
    fn add_and_drop_mixed_case() {
        let caps = effective_caps(
            false,
            &s(&["Sys_Ptrace"]),
            &s(&["cap_chown", "KILL"]),
            &all(),
        )
        .unwrap();
        assert_eq!(caps.len(), 13);
        assert!(caps.contains(&"CAP_SYS_PTRACE".to_string()));
        assert!(!caps.contains(&"CAP_CHOWN".to_string()));
        assert!(!caps.contains(&"CAP_KILL".to_string()));
    }

    #[test]
    fn privileged_gets_available() {
        let avail = caps_from_mask(0x1fffeffffff);
        assert_eq!(avail.len(), 40);
        assert!(!avail.contains(&"CAP_SYS_RESOURCE".to_string()));
        let caps = effective_caps(true, &s(&["FOO"]), &[], &avail).unwrap();
        assert_eq!(caps, avail);
    }

    #[test]
    fn unknown_capability_message() {
        let err = effective_caps(false, &s(&["foo"]), &[], &all()).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_FOO\"");
    }

    #[test]
    fn names_are_checked_like_docker() {
        check_names(&s(&[
            "ALL",
            "all",
            "net_admin",
            "CAP_SYS_ADMIN",
            "Cap_Chown",
            "bpf",
        ]))
        .unwrap();
        for bad in ["FOO", "CAP_FOO", "", "CAP_", "NET ADMIN", "ALL_CAPS"] {
            let err = check_names(&s(&["KILL", bad])).unwrap_err();
            assert!(
                err.to_string().starts_with("unknown capability: \"CAP_"),
                "{bad}: {err}"
            );
        }
        assert_eq!(
            check_names(&s(&["foo"])).unwrap_err().to_string(),
            "unknown capability: \"CAP_FOO\""
        );
    }

    #[test]
    fn unavailable_capability_message() {
        let avail = caps_from_mask(0x1fffeffffff);
        let err = effective_caps(false, &s(&["SYS_RESOURCE"]), &[], &avail).unwrap_err();
        assert_eq!(
            err.to_string(),
            "capability not supported by your kernel or not available in the current environment: \"CAP_SYS_RESOURCE\""
        );
    }

    #[test]
    fn mask_decodes_docker_default() {
        // The CapEff Docker's 14 defaults produce.
        let caps = caps_from_mask(0xa80425fb);
        let mut want = s(&DEFAULT_CAPABILITIES);
        want.sort();
        let mut got = caps.clone();
        got.sort();
        assert_eq!(got, want);
    }
}
