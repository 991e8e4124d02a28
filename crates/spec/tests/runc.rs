//! Runs generated specs with runc and checks Docker's defaults from inside the
//! container. Skips (with the reason printed) unless root with runc and a
//! static busybox available. Every cgroup directory it creates is removed.

use berth_cgroups::{self as cgroups, CgroupLayout};
use berth_spec::{build_spec, write_bundle, HostInfo, NetworkMode, Resources, SpecInput};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const RUNC: &str = "/usr/sbin/runc";
const BUSYBOX: &str = "/bin/busybox";
const PARENT: &str = "berthtest-rt";

/// Why these tests cannot run here, if they cannot: they then fail with that reason.
fn missing_requirement() -> Option<String> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string));
    if uid.as_deref() != Some("0") {
        return Some("not running as root".into());
    }
    if !Path::new(RUNC).exists() {
        return Some(format!("{RUNC} not found"));
    }
    if !Path::new(BUSYBOX).exists() {
        return Some(format!("{BUSYBOX} not found"));
    }
    None
}

/// Removes `/<PARENT>/<id>` and `/<PARENT>` from every hierarchy (runc removes
/// the container's own directory on exit; this catches the rest).
fn cleanup_cgroups(layout: &CgroupLayout, id: &str) {
    let mut dirs: Vec<PathBuf> = Vec::new();
    match layout {
        CgroupLayout::V2 { root } => dirs.push(root.clone()),
        CgroupLayout::V1 { controllers, .. } => dirs.extend(controllers.values().cloned()),
        CgroupLayout::Hybrid {
            controllers,
            unified,
            ..
        } => {
            dirs.extend(controllers.values().cloned());
            dirs.push(unified.clone());
        }
    }
    dirs.sort();
    dirs.dedup();
    for d in dirs {
        let _ = fs::remove_dir(d.join(PARENT).join(id));
        let _ = fs::remove_dir(d.join(PARENT));
    }
}

struct Bundle {
    dir: tempfile::TempDir,
}

fn make_bundle() -> Bundle {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("rootfs/bin");
    fs::create_dir_all(&bin).expect("mkdir");
    for d in ["proc", "sys", "dev", "etc", "tmp"] {
        fs::create_dir_all(dir.path().join("rootfs").join(d)).expect("mkdir");
    }
    fs::copy(BUSYBOX, bin.join("busybox")).expect("copy busybox");
    // Relative links: `busybox --install -s` would point at the host path.
    let list = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = std::os::unix::fs::symlink("busybox", bin.join(applet));
        }
    }
    Bundle { dir }
}

fn run(bundle: &Bundle, input: &SpecInput, id: &str) -> String {
    let spec = build_spec(input).expect("build_spec");
    write_bundle(bundle.dir.path(), &spec).expect("write_bundle");
    let out = Command::new(RUNC)
        .args(["run", "-b"])
        .arg(bundle.dir.path())
        .arg(id)
        .output()
        .expect("runc run");
    let _ = Command::new(RUNC).args(["delete", "-f", id]).output();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    eprintln!("--- {id} stdout ---\n{stdout}--- {id} stderr ---\n{stderr}");
    stdout
}

const SCRIPT: &str = r#"
grep CapEff /proc/self/status
# Only try the write once the file is seen read-only mounted, so a broken
# spec can never poke the host's sysrq. (Some kernels have no sysrq-trigger.)
if grep -q ' /proc/sysrq-trigger ro,' /proc/self/mountinfo; then
  (echo 1 > /proc/sysrq-trigger) 2>/dev/null && echo SYSRQ=writable || echo SYSRQ=blocked
elif [ -e /proc/sysrq-trigger ]; then
  echo SYSRQ=not-readonly
else
  echo SYSRQ=absent
fi
# /proc/sys is read-only; kernel.domainname is per UTS namespace, so even a
# successful write would not touch the host.
(echo berth > /proc/sys/kernel/domainname) 2>/dev/null && echo PROCSYS=writable || echo PROCSYS=blocked
unshare -U true 2>/dev/null && echo UNSHARE_U=ok || echo UNSHARE_U=blocked
unshare -n true 2>/dev/null && echo UNSHARE_N=ok || echo UNSHARE_N=blocked
# Masked files read as /dev/null (this kernel has no /proc/kcore).
echo MASKED=$(head -c 1 /proc/interrupts | wc -c)
grep -q ' /proc/kcore ' /proc/self/mountinfo && echo KCORE=masked || echo KCORE=absent
if [ -f /sys/fs/cgroup/memory.max ]; then
  echo MEM=$(cat /sys/fs/cgroup/memory.max)
  echo CPU=$(cat /sys/fs/cgroup/cpu.max)
  echo PIDS=$(cat /sys/fs/cgroup/pids.max)
else
  echo MEM=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)
  echo SWAP=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes)
  echo CPU=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)
  echo PIDS=$(cat /sys/fs/cgroup/pids/pids.max)
fi
echo NOFILE=$(ulimit -n)
echo HOST=$(hostname)
echo NET=$(ls /sys/class/net | tr '\n' ' ')
echo SYS=$(awk '$5=="/sys"{split($6,o,",");print o[1]}' /proc/self/mountinfo)
"#;

fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_default()
        .trim()
}

#[test]
fn runc_runs_docker_defaults() {
    if let Some(why) = missing_requirement() {
        panic!("the runc tests cannot run: {why} (run as root after scripts/install-deps.sh)");
    }
    let layout = cgroups::detect();
    let id = format!("t{}", std::process::id());
    let bundle = make_bundle();
    let host = HostInfo::detect();
    let v1 = layout.is_v1_stats();

    let input = SpecInput {
        rootfs: bundle.dir.path().join("rootfs"),
        args: vec!["/bin/sh".into(), "-c".into(), SCRIPT.into()],
        env: vec!["PATH=/bin".into()],
        hostname: "berthbox".into(),
        network: NetworkMode::None,
        cgroups_path: Some(format!("/{PARENT}/{id}")),
        resources: Resources {
            memory: Some(64 << 20),
            nano_cpus: Some(1_500_000_000),
            pids_limit: Some(77),
            ..Default::default()
        },
        host: host.clone(),
        ..Default::default()
    };
    let out = run(&bundle, &input, &id);
    let priv_id = format!("{id}p");
    let priv_input = SpecInput {
        privileged: true,
        resources: Resources::default(),
        cgroups_path: Some(format!("/{PARENT}/{priv_id}")),
        ..input.clone()
    };
    let priv_out = run(&bundle, &priv_input, &priv_id);
    cleanup_cgroups(&layout, &id);
    cleanup_cgroups(&layout, &priv_id);

    assert_eq!(line(&out, "CapEff:"), "00000000a80425fb");
    let sysrq = if Path::new("/proc/sysrq-trigger").exists() {
        "blocked"
    } else {
        "absent"
    };
    assert_eq!(line(&out, "SYSRQ="), sysrq);
    assert_eq!(line(&out, "PROCSYS="), "blocked");
    assert_eq!(line(&out, "UNSHARE_U="), "blocked");
    assert_eq!(line(&out, "UNSHARE_N="), "blocked");
    assert_eq!(line(&out, "MASKED="), "0");
    if Path::new("/proc/kcore").exists() {
        assert_eq!(line(&out, "KCORE="), "masked");
    }
    let nofile = host.nofile_hard.map_or(1_048_576, |h| h.min(1_048_576));
    assert_eq!(line(&out, "NOFILE="), nofile.to_string());
    assert_eq!(line(&out, "HOST="), "berthbox");
    assert_eq!(line(&out, "NET="), "lo");
    assert_eq!(line(&out, "SYS="), "ro");
    assert_eq!(line(&out, "PIDS="), "77");
    if v1 {
        assert_eq!(line(&out, "MEM="), (64u64 << 20).to_string());
        assert_eq!(line(&out, "SWAP="), (128u64 << 20).to_string());
        assert_eq!(line(&out, "CPU="), "150000 100000");
    } else {
        assert_eq!(line(&out, "MEM="), (64u64 << 20).to_string());
        assert_eq!(line(&out, "CPU="), "150000 100000");
    }

    // Privileged: the engine's whole bounding set, no seccomp, writable /sys.
    let bnd = fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    assert_eq!(line(&priv_out, "CapEff:"), bnd);
    assert_eq!(line(&priv_out, "UNSHARE_N="), "ok");
    assert_ne!(line(&priv_out, "SYSRQ="), "blocked");
    assert_eq!(line(&priv_out, "PROCSYS="), "writable");
    assert_eq!(line(&priv_out, "MASKED="), "1");
    assert_eq!(line(&priv_out, "SYS="), "rw");
    assert_eq!(line(&priv_out, "PIDS="), "max");

    // Nothing of ours is left in any hierarchy.
    for c in ["memory", "pids", "cpu", "freezer"] {
        if let Some(d) = layout.controller_dir(c) {
            for cid in [&id, &priv_id] {
                let p = d.join(PARENT).join(cid);
                assert!(!p.exists(), "{} left behind", p.display());
            }
        }
    }
}

fn runc_state(id: &str) -> String {
    let out = Command::new(RUNC)
        .args(["state", id])
        .output()
        .expect("runc state");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["status"].as_str().unwrap_or_default().to_string()
}

fn start_detached(bundle: &Bundle, input: &SpecInput, id: &str) {
    let spec = build_spec(input).expect("build_spec");
    write_bundle(bundle.dir.path(), &spec).expect("write_bundle");
    let st = Command::new(RUNC)
        .args(["run", "-d", "-b"])
        .arg(bundle.dir.path())
        .arg(id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("runc run -d");
    assert!(st.success(), "runc run -d {id} failed");
}

/// `runc run -d` returns once init was told to start; the user's process execs just after.
/// Until then runc's init threads count in the cgroup's `pids.current` too.
fn wait_until_exec(pid: i32, comm: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if now.trim() == comm {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pid {pid} is still {now:?}, not {comm}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn cgroup_driving_on_a_live_container() {
    if let Some(why) = missing_requirement() {
        panic!("the runc tests cannot run: {why} (run as root after scripts/install-deps.sh)");
    }
    let layout = cgroups::detect();
    let id = format!("c{}", std::process::id());
    let oom_id = format!("{id}oom");
    let bundle = make_bundle();
    let cg = format!("/{PARENT}/{id}");
    let input = SpecInput {
        rootfs: bundle.dir.path().join("rootfs"),
        args: vec!["sleep".into(), "30".into()],
        env: vec!["PATH=/bin".into()],
        cgroups_path: Some(cg.clone()),
        resources: Resources {
            memory: Some(64 << 20),
            pids_limit: Some(20),
            ..Default::default()
        },
        host: HostInfo::detect(),
        ..Default::default()
    };
    start_detached(&bundle, &input, &id);

    let result = std::panic::catch_unwind(|| {
        let pids = cgroups::pids(&layout, &cg).expect("pids");
        assert_eq!(pids.len(), 1, "{pids:?}");
        wait_until_exec(pids[0], "sleep");

        cgroups::freeze(&layout, &cg).expect("freeze");
        assert_eq!(runc_state(&id), "paused");
        cgroups::thaw(&layout, &cg).expect("thaw");
        assert_eq!(runc_state(&id), "running");

        let s = cgroups::stats(&layout, &cg).expect("stats");
        eprintln!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
        assert_eq!(s.memory_stats.limit, 64 << 20);
        assert!(s.memory_stats.usage > 0);
        assert_eq!(s.pids_stats.current, 1);
        assert_eq!(s.pids_stats.limit, 20);
        assert!(s.cpu_stats.cpu_usage.total_usage > 0);
        assert!(s.cpu_stats.system_cpu_usage > 0);
        assert!(s.cpu_stats.online_cpus > 0);
        assert!(!cgroups::oom_killed(&layout, &cg));
    });
    let _ = Command::new(RUNC).args(["delete", "-f", &id]).output();

    // A container that outgrows its memory is OOM-killed and we can tell.
    let oom_cg = format!("/{PARENT}/{oom_id}");
    let oom_input = SpecInput {
        args: vec![
            "dd".into(),
            "if=/dev/zero".into(),
            "of=/dev/null".into(),
            "bs=64M".into(),
            "count=1".into(),
        ],
        cgroups_path: Some(oom_cg.clone()),
        resources: Resources {
            memory: Some(8 << 20),
            memory_swap: Some(8 << 20),
            ..Default::default()
        },
        ..input.clone()
    };
    start_detached(&bundle, &oom_input, &oom_id);
    let mut stopped = false;
    for _ in 0..100 {
        if runc_state(&oom_id) == "stopped" {
            stopped = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let oom = cgroups::oom_killed(&layout, &oom_cg);
    let _ = Command::new(RUNC).args(["delete", "-f", &oom_id]).output();
    cleanup_cgroups(&layout, &id);
    cleanup_cgroups(&layout, &oom_id);

    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    assert!(stopped, "dd did not stop");
    assert!(oom, "oom kill not seen");
    for c in ["memory", "pids", "cpu", "freezer"] {
        if let Some(d) = layout.controller_dir(c) {
            for cid in [&id, &oom_id] {
                let p = d.join(PARENT).join(cid);
                assert!(!p.exists(), "{} left behind", p.display());
            }
        }
    }
}
