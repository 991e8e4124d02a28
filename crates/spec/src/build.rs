//! `build_spec`: a [`SpecInput`] to the OCI `config.json` Docker would write.

use super::caps::effective_caps;
use super::mounts::build_mounts;
use super::resources;
use super::{
    CgroupnsMode, HostInfo, NamespaceMode, NetworkMode, SeccompMode, SpecError, SpecInput,
};
use crate::seccomp::{self, Target};
use oci_spec::runtime::{
    BoxBuilder, Capabilities, Capability, Linux, LinuxCapabilities, LinuxDeviceCgroup,
    LinuxDeviceType, LinuxNamespace, LinuxNamespaceType, LinuxResources, LinuxSeccomp, Process,
    Root, Spec, User,
};
use std::collections::HashMap;
use std::path::PathBuf;

/// Docker's masked paths, before the host-specific thermal_throttle ones.
const MASKED_PATHS: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The paths a container that is not privileged gets masked on this host, as dockerd
/// records them in `HostConfig.MaskedPaths` at create.
pub fn default_masked_paths(host: &HostInfo) -> Vec<String> {
    MASKED_PATHS
        .iter()
        .map(|p| (*p).to_string())
        .chain(host.extra_masked_paths.iter().cloned())
        .collect()
}

/// The paths a container that is not privileged gets read-only (`HostConfig.ReadonlyPaths`).
pub fn default_readonly_paths() -> Vec<String> {
    READONLY_PATHS.iter().map(|p| (*p).to_string()).collect()
}

/// Builds the OCI runtime spec for a container, reproducing dockerd's defaults
/// (moby `oci/defaults.go` + `daemon/oci_linux.go`).
pub fn build_spec(input: &SpecInput) -> Result<Spec, SpecError> {
    let host = &input.host;
    let caps = effective_caps(
        input.privileged,
        &input.cap_add,
        &input.cap_drop,
        &host.capabilities,
    )?;

    let mut spec = Spec::default();
    spec.set_version("1.0.2-dev".to_string());
    spec.set_hooks(None);

    let mut root = Root::default();
    root.set_path(input.rootfs.clone());
    root.set_readonly(Some(input.readonly_rootfs));
    spec.set_root(Some(root));

    let uts_private = input.uts != NamespaceMode::Host;
    spec.set_hostname((uts_private && !input.hostname.is_empty()).then(|| input.hostname.clone()));
    spec.set_domainname(
        (uts_private && !input.domainname.is_empty()).then(|| input.domainname.clone()),
    );
    spec.set_annotations((!input.annotations.is_empty()).then(|| {
        input
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }));

    spec.set_process(Some(process(input, &caps)?));

    let plan = build_mounts(input)?;
    spec.set_mounts(Some(plan.mounts));

    let mut linux = Linux::default();
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    linux.set_rootfs_propagation(plan.rootfs_propagation);
    linux.set_cgroups_path(input.cgroups_path.as_ref().map(PathBuf::from));
    linux.set_namespaces(Some(namespaces(input)?));
    linux.set_sysctl(Some(sysctls(input)));

    if input.privileged {
        linux.set_masked_paths(None);
        linux.set_readonly_paths(None);
    } else {
        linux.set_masked_paths(Some(default_masked_paths(host)));
        linux.set_readonly_paths(Some(default_readonly_paths()));
    }
    // Explicit API overrides win, even for privileged containers (as in moby).
    if let Some(m) = &input.masked_paths {
        linux.set_masked_paths(Some(m.clone()));
    }
    if let Some(r) = &input.readonly_paths {
        linux.set_readonly_paths(Some(r.clone()));
    }

    let mut res = LinuxResources::default();
    if input.privileged {
        res.set_devices(Some(vec![device_rule(true, None, None, None)]));
        linux.set_devices(Some(host.devices.clone()));
    } else {
        res.set_devices(Some(default_device_rules()));
        linux.set_devices(Some(Vec::new()));
    }
    res.set_memory(resources::memory(&input.resources, host)?);
    res.set_cpu(resources::cpu(&input.resources, host)?);
    res.set_pids(resources::pids(&input.resources));
    res.set_block_io(Some(resources::block_io(&input.resources)));
    linux.set_resources(Some(res));

    linux.set_seccomp(seccomp_for(input, &caps)?);
    spec.set_linux(Some(linux));
    Ok(spec)
}

fn to_cap_set(names: &[String]) -> Capabilities {
    names
        .iter()
        .filter_map(|n| {
            serde_json::from_value::<Capability>(serde_json::Value::from(n.as_str())).ok()
        })
        .collect()
}

fn process(input: &SpecInput, caps: &[String]) -> Result<Process, SpecError> {
    let mut p = Process::default();
    p.set_terminal(Some(input.tty));
    p.set_console_size(match (input.tty, input.console_size) {
        (true, Some([h, w])) if h > 0 || w > 0 => {
            Some(BoxBuilder::default().height(h).width(w).build()?)
        }
        _ => None,
    });
    p.set_args(Some(input.args.clone()));
    p.set_env(Some(input.env.clone()));
    p.set_cwd(PathBuf::from(if input.cwd.is_empty() {
        "/"
    } else {
        input.cwd.as_str()
    }));

    let mut user = User::default();
    user.set_uid(input.user.uid);
    user.set_gid(input.user.gid);
    let mut gids = vec![input.user.gid];
    gids.extend(
        input
            .user
            .additional_gids
            .iter()
            .copied()
            .filter(|g| *g != input.user.gid),
    );
    user.set_additional_gids(Some(gids));
    p.set_user(user);

    let set = to_cap_set(caps);
    let mut lc = LinuxCapabilities::default();
    lc.set_bounding(Some(set.clone()));
    lc.set_effective(Some(set.clone()));
    lc.set_permitted(Some(set));
    // Docker 25+ leaves inheritable and ambient empty (CVE-2022-24769); written out, see
    // `empty_missing_inherited_caps`.
    lc.set_inheritable(Some(Default::default()));
    lc.set_ambient(Some(Default::default()));
    p.set_capabilities(Some(lc));

    p.set_rlimits(Some(resources::rlimits(&input.ulimits, &input.host)?));
    p.set_no_new_privileges(input.no_new_privileges.then_some(true));
    p.set_oom_score_adj(Some(input.oom_score_adj));
    p.set_apparmor_profile(match &input.apparmor_profile {
        Some(p) => Some(p.clone()),
        None if input.privileged && input.host.apparmor => Some("unconfined".into()),
        None => None,
    });
    p.set_selinux_label(None);
    Ok(p)
}

/// Makes a missing inheritable or ambient set an empty one. runc empties a missing set, but
/// libcontainer leaves it as it is, so the process would keep the daemon's, and root's
/// inheritable capabilities become permitted and effective again at execve.
pub(crate) fn empty_missing_inherited_caps(mut lc: LinuxCapabilities) -> LinuxCapabilities {
    if lc.inheritable().is_none() {
        lc.set_inheritable(Some(Default::default()));
    }
    if lc.ambient().is_none() {
        lc.set_ambient(Some(Default::default()));
    }
    lc
}

fn ns(typ: LinuxNamespaceType, path: Option<PathBuf>) -> LinuxNamespace {
    let mut n = LinuxNamespace::default();
    n.set_typ(typ);
    n.set_path(path);
    n
}

/// Docker's namespace list: mount, network, uts, pid, ipc, then cgroup.
fn namespaces(input: &SpecInput) -> Result<Vec<LinuxNamespace>, SpecError> {
    let mut out = vec![ns(LinuxNamespaceType::Mount, None)];
    match &input.network {
        NetworkMode::Host => {}
        NetworkMode::None => out.push(ns(LinuxNamespaceType::Network, None)),
        NetworkMode::Path(p) | NetworkMode::Container(p) => {
            out.push(ns(LinuxNamespaceType::Network, Some(p.clone())))
        }
    }
    for (mode, typ) in [
        (&input.uts, LinuxNamespaceType::Uts),
        (&input.pid, LinuxNamespaceType::Pid),
        (&input.ipc, LinuxNamespaceType::Ipc),
    ] {
        match mode {
            NamespaceMode::Host => {}
            NamespaceMode::Private => out.push(ns(typ, None)),
            NamespaceMode::Path(p) => out.push(ns(typ, Some(p.clone()))),
        }
    }
    let cgroup_private = match input.cgroupns {
        CgroupnsMode::Auto => input.host.cgroup_v2,
        CgroupnsMode::Private => true,
        CgroupnsMode::Host => false,
    };
    if cgroup_private {
        out.push(ns(LinuxNamespaceType::Cgroup, None));
    }
    Ok(out)
}

/// Docker's safe network sysctls for containers owning their netns, then `--sysctl`.
fn sysctls(input: &SpecInput) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if input.network.is_private() {
        if input.host.sysctl_ping_group_range {
            out.insert(
                "net.ipv4.ping_group_range".to_string(),
                "0 2147483647".to_string(),
            );
        }
        if input.host.sysctl_unprivileged_port_start {
            out.insert(
                "net.ipv4.ip_unprivileged_port_start".to_string(),
                "0".to_string(),
            );
        }
    }
    for (k, v) in &input.sysctls {
        out.insert(k.clone(), v.clone());
    }
    out
}

fn device_rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
) -> LinuxDeviceCgroup {
    let mut d = LinuxDeviceCgroup::default();
    d.set_allow(allow);
    d.set_typ(typ);
    d.set_major(major);
    d.set_minor(minor);
    d.set_access(Some("rwm".to_string()));
    d
}

/// Docker's device cgroup list: deny all, allow the standard character
/// devices, and deny /dev/fuse (10:229) explicitly. The OCI runtime adds its own
/// defaults (pts, ptmx, tun...) as runc does.
fn default_device_rules() -> Vec<LinuxDeviceCgroup> {
    let c = Some(LinuxDeviceType::C);
    vec![
        device_rule(false, None, None, None),
        device_rule(true, c, Some(1), Some(5)),
        device_rule(true, c, Some(1), Some(3)),
        device_rule(true, c, Some(1), Some(9)),
        device_rule(true, c, Some(1), Some(8)),
        device_rule(true, c, Some(5), Some(0)),
        device_rule(true, c, Some(5), Some(1)),
        device_rule(false, c, Some(10), Some(229)),
    ]
}

fn seccomp_for(input: &SpecInput, caps: &[String]) -> Result<Option<LinuxSeccomp>, SpecError> {
    let target = Target {
        caps,
        arch: &input.host.arch,
        kernel: input.host.kernel,
    };
    Ok(match &input.seccomp {
        SeccompMode::Unconfined => None,
        SeccompMode::Default if input.privileged => None,
        SeccompMode::Default => seccomp::resolve_default(&target)?,
        SeccompMode::Profile(p) => seccomp::resolve(p, &target)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BindMount, HostInfo, Resources, TmpfsMount, UserIds, DEFAULT_SHM_SIZE};
    use oci_spec::runtime::{LinuxSeccompAction, Mount};

    fn base() -> SpecInput {
        SpecInput {
            rootfs: "/var/lib/berth/c1/rootfs".into(),
            args: vec!["sh".into()],
            env: vec!["PATH=/bin".into()],
            hostname: "c1".into(),
            cgroups_path: Some("/berth/c1".into()),
            host: HostInfo {
                cpus: 2,
                ..HostInfo::default()
            },
            ..Default::default()
        }
    }

    fn caps_of(spec: &Spec) -> Vec<String> {
        let mut v: Vec<String> = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .as_ref()
            .unwrap()
            .iter()
            .map(|c| {
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        v.sort();
        v
    }

    fn mount<'a>(spec: &'a Spec, dest: &str) -> Option<&'a Mount> {
        spec.mounts()
            .iter()
            .flatten()
            .find(|m| m.destination().to_str() == Some(dest))
    }

    fn opts(m: &Mount) -> Vec<String> {
        m.options().clone().unwrap_or_default()
    }

    fn ns_types(spec: &Spec) -> Vec<(String, Option<String>)> {
        spec.linux()
            .as_ref()
            .unwrap()
            .namespaces()
            .iter()
            .flatten()
            .map(|n| {
                (
                    serde_json::to_value(n.typ())
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .to_string(),
                    n.path().as_ref().map(|p| p.display().to_string()),
                )
            })
            .collect()
    }

    #[test]
    fn docker_defaults() {
        let spec = build_spec(&base()).unwrap();
        assert_eq!(caps_of(&spec).len(), 14);
        let json = serde_json::to_value(&spec).unwrap();
        let p = &json["process"];
        assert_eq!(p["capabilities"]["inheritable"], serde_json::json!([]));
        assert_eq!(p["capabilities"]["ambient"], serde_json::json!([]));
        assert_eq!(p["oomScoreAdj"], 0);
        assert_eq!(p["cwd"], "/");
        assert_eq!(p["user"]["additionalGids"], serde_json::json!([0]));
        assert!(p.get("noNewPrivileges").is_none());
        assert_eq!(p["rlimits"][0]["type"], "RLIMIT_NOFILE");
        assert_eq!(p["rlimits"][0]["soft"], 1_048_576);
        assert_eq!(json["hostname"], "c1");

        let dests: Vec<&str> = spec
            .mounts()
            .iter()
            .flatten()
            .map(|m| m.destination().to_str().unwrap())
            .collect();
        assert_eq!(
            dests,
            vec![
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
        assert!(
            opts(mount(&spec, "/dev/shm").unwrap()).contains(&format!("size={DEFAULT_SHM_SIZE}"))
        );
        assert!(opts(mount(&spec, "/sys").unwrap()).contains(&"ro".to_string()));

        let linux = &json["linux"];
        assert_eq!(linux["maskedPaths"].as_array().unwrap().len(), 12);
        assert_eq!(linux["readonlyPaths"].as_array().unwrap().len(), 5);
        assert_eq!(linux["cgroupsPath"], "/berth/c1");
        assert_eq!(linux["sysctl"]["net.ipv4.ip_unprivileged_port_start"], "0");
        assert_eq!(linux["sysctl"]["net.ipv4.ping_group_range"], "0 2147483647");
        let devs = linux["resources"]["devices"].as_array().unwrap();
        assert_eq!(devs.len(), 8);
        assert_eq!(
            devs[0],
            serde_json::json!({"allow": false, "access": "rwm"})
        );
        assert_eq!(devs[7]["major"], 10);
        assert_eq!(devs[7]["minor"], 229);
        assert_eq!(devs[7]["allow"], false);
        assert_eq!(linux["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");

        // v1/hybrid host: cgroupns host; uts/pid/ipc/net/mnt private.
        let ns: Vec<String> = ns_types(&spec).into_iter().map(|(t, _)| t).collect();
        assert_eq!(ns, vec!["mount", "network", "uts", "pid", "ipc"]);
    }

    #[test]
    fn cgroupns_private_on_v2() {
        let mut input = base();
        input.host.cgroup_v2 = true;
        let spec = build_spec(&input).unwrap();
        assert!(ns_types(&spec).iter().any(|(t, _)| t == "cgroup"));
        input.cgroupns = CgroupnsMode::Host;
        let spec = build_spec(&input).unwrap();
        assert!(!ns_types(&spec).iter().any(|(t, _)| t == "cgroup"));
    }

    #[test]
    fn network_modes() {
        let mut input = base();
        input.network = NetworkMode::Host;
        let spec = build_spec(&input).unwrap();
        assert!(!ns_types(&spec).iter().any(|(t, _)| t == "network"));
        assert!(spec
            .linux()
            .as_ref()
            .unwrap()
            .sysctl()
            .as_ref()
            .unwrap()
            .is_empty());

        input.network = NetworkMode::Path("/run/berth/netns/c1".into());
        let spec = build_spec(&input).unwrap();
        assert!(ns_types(&spec).contains(&(
            "network".to_string(),
            Some("/run/berth/netns/c1".to_string())
        )));
        assert_eq!(
            spec.linux()
                .as_ref()
                .unwrap()
                .sysctl()
                .as_ref()
                .unwrap()
                .len(),
            2
        );

        input.network = NetworkMode::Container("/proc/9/ns/net".into());
        let spec = build_spec(&input).unwrap();
        assert!(spec
            .linux()
            .as_ref()
            .unwrap()
            .sysctl()
            .as_ref()
            .unwrap()
            .is_empty());

        input.pid = NamespaceMode::Host;
        input.uts = NamespaceMode::Host;
        input.ipc = NamespaceMode::Path("/proc/9/ns/ipc".into());
        let spec = build_spec(&input).unwrap();
        let ns = ns_types(&spec);
        assert!(!ns.iter().any(|(t, _)| t == "pid" || t == "uts"));
        assert!(spec.hostname().is_none());
        assert!(ns.contains(&("ipc".to_string(), Some("/proc/9/ns/ipc".to_string()))));
    }

    #[test]
    fn privileged() {
        let mut input = base();
        input.privileged = true;
        input.host.devices = crate::host::host_devices(std::path::Path::new("/dev"));
        let spec = build_spec(&input).unwrap();
        assert_eq!(caps_of(&spec).len(), 41);
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux.seccomp().is_none());
        assert!(linux.masked_paths().is_none());
        assert!(linux.readonly_paths().is_none());
        let rules = linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .clone()
            .unwrap();
        assert_eq!(rules.len(), 1);
        assert!(rules[0].allow());
        assert!(!opts(mount(&spec, "/sys").unwrap()).contains(&"ro".to_string()));
        assert!(!opts(mount(&spec, "/sys/fs/cgroup").unwrap()).contains(&"ro".to_string()));
        assert_eq!(
            linux.devices().as_ref().unwrap().len(),
            input.host.devices.len()
        );

        // An explicit profile still applies to a privileged container.
        input.seccomp = SeccompMode::Profile(serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW", "syscalls": []
        }));
        let spec = build_spec(&input).unwrap();
        assert_eq!(
            spec.linux()
                .as_ref()
                .unwrap()
                .seccomp()
                .as_ref()
                .unwrap()
                .default_action(),
            LinuxSeccompAction::ScmpActAllow
        );
        // AppArmor hosts run privileged containers unconfined.
        input.host.apparmor = true;
        let spec = build_spec(&input).unwrap();
        assert_eq!(
            spec.process()
                .as_ref()
                .unwrap()
                .apparmor_profile()
                .as_deref(),
            Some("unconfined")
        );
    }

    #[test]
    fn seccomp_follows_final_caps() {
        let names = |spec: &Spec| -> Vec<String> {
            spec.linux()
                .as_ref()
                .unwrap()
                .seccomp()
                .as_ref()
                .unwrap()
                .syscalls()
                .iter()
                .flatten()
                .filter(|s| s.action() == LinuxSeccompAction::ScmpActAllow)
                .flat_map(|s| s.names().clone())
                .collect()
        };
        let spec = build_spec(&base()).unwrap();
        assert!(!names(&spec).contains(&"kcmp".to_string()));
        let mut input = base();
        input.cap_add = vec!["SYS_PTRACE".into()];
        let spec = build_spec(&input).unwrap();
        assert!(names(&spec).contains(&"kcmp".to_string()));
        input.seccomp = SeccompMode::Unconfined;
        assert!(build_spec(&input)
            .unwrap()
            .linux()
            .as_ref()
            .unwrap()
            .seccomp()
            .is_none());
    }

    #[test]
    fn errors_are_dockers() {
        let mut input = base();
        input.cap_add = vec!["CAP_FOO".into()];
        assert_eq!(
            build_spec(&input).unwrap_err().to_string(),
            "unknown capability: \"CAP_FOO\""
        );
        let mut input = base();
        input.binds = vec![BindMount {
            source: "/x".into(),
            destination: "rel".into(),
            ..Default::default()
        }];
        assert!(build_spec(&input).is_err());
        let mut input = base();
        input.binds = vec![BindMount {
            source: "/x".into(),
            destination: "/y".into(),
            propagation: Some("bogus".into()),
            ..Default::default()
        }];
        assert!(matches!(
            build_spec(&input),
            Err(SpecError::BadPropagation(_))
        ));
    }

    #[test]
    fn user_mounts_and_files() {
        let mut input = base();
        input.readonly_rootfs = true;
        input.shm_size = Some(1 << 20);
        input.init_binary = Some("/usr/libexec/berth-init".into());
        input.resolv_conf_path = Some("/c/resolv.conf".into());
        input.hosts_path = Some("/c/hosts".into());
        input.hostname_path = Some("/c/hostname".into());
        input.binds = vec![
            BindMount {
                source: "/data/sub".into(),
                destination: "/data/sub".into(),
                readonly: true,
                ..Default::default()
            },
            BindMount {
                source: "/data".into(),
                destination: "/data".into(),
                propagation: Some("rshared".into()),
                ..Default::default()
            },
        ];
        input.tmpfs = vec![TmpfsMount {
            destination: "/run".into(),
            options: vec!["size=64m".into(), "exec".into()],
        }];
        input.user = UserIds {
            uid: 1000,
            gid: 100,
            additional_gids: vec![100, 27],
        };
        let spec = build_spec(&input).unwrap();
        let dests: Vec<&str> = spec
            .mounts()
            .iter()
            .flatten()
            .map(|m| m.destination().to_str().unwrap())
            .collect();
        assert_eq!(
            &dests[7..],
            &[
                "/sbin/docker-init",
                "/data",
                "/run",
                "/data/sub",
                "/etc/resolv.conf",
                "/etc/hostname",
                "/etc/hosts"
            ]
        );
        assert_eq!(
            opts(mount(&spec, "/data/sub").unwrap()),
            vec!["rbind", "ro", "rprivate"]
        );
        assert_eq!(
            opts(mount(&spec, "/data").unwrap()),
            vec!["rbind", "rshared"]
        );
        assert_eq!(
            opts(mount(&spec, "/run").unwrap()),
            vec!["nosuid", "nodev", "rprivate", "size=64m", "exec"]
        );
        assert_eq!(
            opts(mount(&spec, "/etc/hosts").unwrap()),
            vec!["rbind", "ro", "rprivate"]
        );
        // Read-only rootfs: /sys/fs/cgroup already ro, /dev/shm untouched, init ro.
        assert!(opts(mount(&spec, "/dev/shm").unwrap()).contains(&"size=1048576".to_string()));
        assert!(!opts(mount(&spec, "/dev/shm").unwrap()).contains(&"ro".to_string()));
        assert_eq!(
            opts(mount(&spec, "/sbin/docker-init").unwrap()),
            vec!["bind", "ro"]
        );
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.rootfs_propagation().as_deref(), Some("shared"));
        assert_eq!(spec.root().as_ref().unwrap().readonly(), Some(true));
        let user = spec.process().as_ref().unwrap().user().clone();
        assert_eq!(user.additional_gids().clone().unwrap(), vec![100, 27]);

        // A user /dev/shm replaces the default one.
        input.tmpfs.push(TmpfsMount {
            destination: "/dev/shm".into(),
            options: vec![],
        });
        let spec = build_spec(&input).unwrap();
        let shm: Vec<_> = spec
            .mounts()
            .iter()
            .flatten()
            .filter(|m| m.destination().to_str() == Some("/dev/shm"))
            .collect();
        assert_eq!(shm.len(), 1);
        assert_eq!(shm[0].source().as_ref().unwrap().to_str(), Some("tmpfs"));
    }

    #[test]
    fn resources_in_spec() {
        let mut input = base();
        input.resources = Resources {
            memory: Some(64 << 20),
            nano_cpus: Some(1_500_000_000),
            pids_limit: Some(50),
            blkio_weight: Some(300),
            ..Default::default()
        };
        input.oom_score_adj = 500;
        input.no_new_privileges = true;
        input.tty = true;
        input.console_size = Some([24, 80]);
        let json = serde_json::to_value(build_spec(&input).unwrap()).unwrap();
        let r = &json["linux"]["resources"];
        assert_eq!(r["memory"]["limit"], 64 << 20);
        assert_eq!(r["memory"]["swap"], 128 << 20);
        assert_eq!(r["cpu"]["quota"], 150_000);
        assert_eq!(r["cpu"]["period"], 100_000);
        assert_eq!(r["pids"]["limit"], 50);
        assert_eq!(r["blockIO"]["weight"], 300);
        assert_eq!(json["process"]["oomScoreAdj"], 500);
        assert_eq!(json["process"]["noNewPrivileges"], true);
        assert_eq!(json["process"]["terminal"], true);
        assert_eq!(json["process"]["consoleSize"]["width"], 80);
    }
}
