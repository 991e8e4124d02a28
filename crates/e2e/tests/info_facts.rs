//! `/info` and inspect report what is true on this host: each fact is measured here too and
//! compared.

use berth_e2e::daemon;
use std::path::Path;

/// moby's names for the file systems a data root may be on.
fn fs_name(magic: i64) -> &'static str {
    match magic {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        _ => "<unknown>",
    }
}

#[test]
fn info_facts_match_the_host() {
    let d = daemon!();
    let i = d.http("GET", "/info").json();

    let forwarding = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
        .expect("reading ip_forward")
        .trim()
        == "1";
    assert_eq!(i["IPv4Forwarding"], forwarding, "{i}");

    let st = nix::sys::statfs::statfs(&d.data_root).expect("statfs of the data root");
    let want = fs_name(st.filesystem_type().0);
    let status = i["DriverStatus"].as_array().expect("DriverStatus");
    assert_eq!(status[0][0], "Backing Filesystem", "{i}");
    assert_eq!(status[0][1], want, "{i}");

    let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers");
    if v2.exists() {
        let controllers = std::fs::read_to_string(v2).expect("cgroup.controllers");
        let has = |c: &str| controllers.split_whitespace().any(|x| x == c);
        assert_eq!(i["MemoryLimit"], has("memory"), "{i}");
        assert_eq!(i["SwapLimit"], has("memory"), "{i}");
        assert_eq!(i["CPUShares"], has("cpu"), "{i}");
        assert_eq!(i["CpuCfsQuota"], has("cpu"), "{i}");
        assert_eq!(i["CPUSet"], has("cpuset"), "{i}");
        assert_eq!(i["PidsLimit"], has("pids"), "{i}");
        assert_eq!(i["OomKillDisable"], false, "{i}");
    } else {
        let file = |p: &str| Path::new("/sys/fs/cgroup").join(p).exists();
        assert_eq!(
            i["MemoryLimit"],
            file("memory/memory.limit_in_bytes"),
            "{i}"
        );
        assert_eq!(
            i["SwapLimit"],
            file("memory/memory.memsw.limit_in_bytes"),
            "{i}"
        );
        assert_eq!(
            i["OomKillDisable"],
            file("memory/memory.oom_control"),
            "{i}"
        );
        assert_eq!(i["CPUShares"], file("cpu/cpu.shares"), "{i}");
        assert_eq!(i["PidsLimit"], file("pids"), "{i}");
    }
}

/// The storage driver named is the one whose mounts the containers get: overlay2 mounts an
/// overlay at the rootfs, vfs (the copying backend) does not.
#[test]
fn the_storage_driver_is_the_one_in_use() {
    let d = daemon!();
    let driver = d.http("GET", "/info").json()["Driver"]
        .as_str()
        .expect("Driver")
        .to_string();
    assert!(driver == "overlay2" || driver == "vfs", "{driver}");
    let id = d
        .docker(&["run", "-d", "busybox", "sleep", "300"])
        .ok()
        .out();
    let c = d.http("GET", &format!("/containers/{id}/json")).json();
    assert_eq!(c["Driver"], driver.as_str(), "{c}");
    assert_eq!(c["GraphDriver"]["Name"], driver.as_str(), "{c}");
    let merged = c["GraphDriver"]["Data"]["MergedDir"]
        .as_str()
        .expect("MergedDir")
        .to_string();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    // The last mount on the path is the one seen there.
    let fstype = mountinfo
        .lines()
        .rev()
        .filter(|l| l.split(' ').nth(4) == Some(merged.as_str()))
        .find_map(|l| l.split(" - ").nth(1)?.split(' ').next().map(String::from));
    if driver == "overlay2" {
        assert_eq!(fstype.as_deref(), Some("overlay"), "{merged}");
    } else {
        assert_ne!(fstype.as_deref(), Some("overlay"), "{merged}");
    }
    let img = d.http("GET", "/images/busybox/json").json();
    assert_eq!(img["GraphDriver"]["Name"], driver.as_str(), "{img}");
    d.docker(&["rm", "-f", &id]).ok();
}
