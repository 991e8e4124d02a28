//! A data root the previous berth wrote still starts its containers, with their changes.
//! That berth kept each image layer at `snapshots/<chain id>/fs` (with a `meta.json`) and a
//! container's changes in `containers/<id>/upper` (overlay's upper dir, `work/` beside it).
//! The test makes that layout from a fresh one by moving the same trees there.

use berth_e2e::{daemon, wait_until, TestDaemon, SOON};
use serde_json::json;
use std::fs;
use std::path::{Path, PathBuf};

/// Appends a line to `/runs`, shows them, and deletes a file of the image once it did.
const SCRIPT: &str = "echo run >> /runs; cat /runs; test -e /bin/ls && echo has-ls; rm -f /bin/ls";

/// Rewrites `d`'s (stopped) data root into the previous layout.
fn to_previous_layout(d: &TestDaemon, id: &str, upper: &Path, diff_id: &str) {
    let snapshots = d.data_root.join("snapshots");
    let trees = snapshots.join("snapshots");
    let container_tree = upper.parent().unwrap();
    let layers: Vec<PathBuf> = fs::read_dir(&trees)
        .unwrap_or_else(|e| panic!("{}: {e} (upper {})", trees.display(), upper.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p != container_tree)
        .collect();
    assert_eq!(layers.len(), 1, "busybox has one layer: {layers:?}");
    // One layer: its chain id is its diff id.
    let old_layer = snapshots.join(diff_id.trim_start_matches("sha256:"));
    fs::create_dir(&old_layer).unwrap();
    fs::rename(layers[0].join("fs"), old_layer.join("fs")).unwrap();
    let meta = json!({"chain_id": diff_id, "diff_id": diff_id, "parent": null, "size": 0});
    fs::write(old_layer.join("meta.json"), meta.to_string()).unwrap();
    let dir = d.data_root.join("containers").join(id);
    fs::rename(upper, dir.join("upper")).unwrap();
    fs::create_dir(dir.join("work")).unwrap();
    fs::remove_dir_all(&trees).unwrap();
    fs::remove_file(snapshots.join("metadata.redb")).unwrap();
}

#[test]
fn a_container_of_the_previous_layout_starts_with_its_changes() {
    let mut d = daemon!();
    let first = d
        .berth(&["run", "--name", "old", "busybox", "sh", "-c", SCRIPT])
        .ok();
    assert_eq!(first.lines(), vec!["run", "has-ls"], "{first:?}");
    let id = d.inspect("old")["Id"].as_str().unwrap().to_string();
    let upper = PathBuf::from(
        d.inspect(&id)["GraphDriver"]["Data"]["UpperDir"]
            .as_str()
            .unwrap(),
    );
    assert!(upper.join("runs").is_file(), "{}", upper.display());
    let image = d.http("GET", "/images/busybox/json").json();
    let diff_id = image["RootFS"]["Layers"][0].as_str().unwrap().to_string();
    d.kill9();
    to_previous_layout(&d, &id, &upper, &diff_id);
    d.restart();

    // Its file and its deletion are there: the second run sees both.
    let second = d.berth(&["start", "-a", "old"]).ok();
    assert_eq!(second.lines(), vec!["run", "run"], "{second:?}");
    let dir = d.data_root.join("containers").join(&id);
    assert!(
        !dir.join("upper").exists(),
        "the old upper dir was not moved"
    );
    // The image layer it stood on is untouched, and serves new containers.
    let fresh = d
        .berth(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "test -e /bin/ls && ! test -e /runs && echo clean",
        ])
        .ok();
    assert_eq!(fresh.out(), "clean", "{fresh:?}");
    // And it goes away whole, its writable layer and then the old layer.
    d.berth(&["rm", "old"]).ok();
    d.berth(&["rmi", "busybox"]).ok();
    let snapshots = d.data_root.join("snapshots");
    let left = || -> Vec<String> {
        let trees = fs::read_dir(snapshots.join("snapshots")).unwrap();
        fs::read_dir(&snapshots)
            .unwrap()
            .chain(trees)
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n != "metadata.redb" && n != "snapshots")
            .collect()
    };
    wait_until("the layers to go", SOON, || left().is_empty());
}
