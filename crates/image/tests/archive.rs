//! `save` and `load`: berth's own round trip, archives written by `podman save` (both
//! formats), berth's archive read by `podman load`, and archives that lie.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_image::archive::{self, ArchiveError};
use berth_image::content::IngestManager;
use berth_image::registry::NoProgress;
use berth_image::snapshot::Kind;
use berth_image::Digest;
use common::*;

fn save_to_file(st: &TestStore, names: &[&str]) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .prefix("bt-save-")
        .suffix(".tar")
        .tempfile()
        .unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    archive::save(&st.store, &names, f.as_file_mut()).unwrap();
    f
}

fn entries(path: &Path) -> HashMap<String, Vec<u8>> {
    let mut ar = tar::Archive::new(std::fs::File::open(path).unwrap());
    let mut out = HashMap::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().to_string_lossy().into_owned();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).unwrap();
        out.insert(p, buf);
    }
    out
}

/// Nothing half-made: no unpack in progress, no staged file left.
fn assert_no_leftovers(st: &TestStore) {
    let active: Vec<_> = st
        .store
        .snapshots()
        .walk()
        .unwrap()
        .into_iter()
        .filter(|s| s.kind != Kind::Committed)
        .collect();
    assert!(active.is_empty(), "{active:?}");
    assert!(st.store.content().list_statuses().unwrap().is_empty());
    assert!(st.store.leases().unwrap().is_empty());
}

#[test]
fn save_then_load_round_trip() {
    require_root();
    let src = TestStore::new();
    let base = layer_tar(&[("etc/os", b"base\n"), ("big", &noise(200 << 10, 7))]);
    let a = make_image(
        &src.store,
        &[base.clone(), layer_tar(&[("a.txt", b"image a\n")])],
        "app/a:1",
    );
    src.store.tag("app/a:1", "app/a:2").unwrap();
    let b = make_image(
        &src.store,
        &[base, layer_tar(&[("b.txt", b"image b\n")])],
        "localhost:5000/b:1",
    );
    let lone = make_image(&src.store, &[layer_tar(&[("lone", b"no tag\n")])], "lone:1");
    let f = save_to_file(&src, &["app/a", "localhost:5000/b:1", lone.id.hex()]);

    // The archive is both layouts, every blob named by its digest, layers uncompressed.
    let files = entries(f.path());
    assert_eq!(files["oci-layout"], br#"{"imageLayoutVersion":"1.0.0"}"#);
    let mut blobs = 0;
    for (p, data) in &files {
        if let Some(hex) = p.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            assert_eq!(Digest::of(data).hex(), hex, "{p}");
            blobs += 1;
        }
    }
    assert_eq!(
        blobs,
        4 + 3 + 3,
        "layers (the base once), configs, manifests"
    );
    assert!(files.contains_key(&format!("blobs/sha256/{}", a.layers[0].diff_id.hex())));
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(
        manifest[0]["RepoTags"],
        serde_json::json!(["app/a:1", "app/a:2"])
    );
    assert_eq!(
        manifest[0]["Config"],
        format!("blobs/sha256/{}", a.id.hex())
    );
    assert_eq!(
        manifest[1]["RepoTags"],
        serde_json::json!(["localhost:5000/b:1"])
    );
    assert_eq!(manifest[2]["RepoTags"], serde_json::json!([]));
    let index: serde_json::Value = serde_json::from_slice(&files["index.json"]).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 4);

    // Loaded elsewhere: the same images, tags and files.
    let dst = TestStore::new();
    let events = Events::default();
    let loaded =
        archive::load(&dst.store, std::fs::File::open(f.path()).unwrap(), &events).unwrap();
    let ids: Vec<&Digest> = loaded.iter().map(|l| &l.id).collect();
    assert_eq!(ids, [&a.id, &b.id, &lone.id]);
    assert_eq!(dst.store.resolve("app/a:2").unwrap(), a.id);
    assert_eq!(dst.store.resolve("localhost:5000/b:1").unwrap(), b.id);
    assert!(dst.store.references_of(&lone.id).unwrap().is_empty());
    let statuses = events.statuses();
    assert!(
        statuses.contains(&"Loaded image: app/a:1".to_string()),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&format!("Loaded image ID: {}", lone.id)),
        "{statuses:?}"
    );
    assert_eq!(
        read_image_file(&dst.store, &a.id, "a.txt").unwrap(),
        b"image a\n"
    );
    assert_eq!(
        read_image_file(&dst.store, &b.id, "big").unwrap(),
        noise(200 << 10, 7)
    );
    assert_no_leftovers(&dst);

    // Saved again from the loaded store: the same layers (diff ids) and configs.
    let again = entries(save_to_file(&dst, &["app/a:1"]).path());
    assert!(again.contains_key(&format!("blobs/sha256/{}", a.id.hex())));
    assert!(again.contains_key(&format!("blobs/sha256/{}", a.layers[1].diff_id.hex())));

    // Loading twice changes nothing.
    archive::load(
        &dst.store,
        std::fs::File::open(f.path()).unwrap(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(dst.store.list().unwrap().len(), 3);
}

struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    fn new() -> Podman {
        which("podman").expect("podman is not installed: run scripts/install-deps.sh");
        Podman {
            dir: tempfile::Builder::new()
                .prefix("bt-podman-")
                .tempdir()
                .unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("podman")
            .arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .args([
                "--storage-driver",
                "vfs",
                "--cgroup-manager",
                "cgroupfs",
                "--events-backend",
                "file",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// (id, diff ids) of an image.
    fn inspect(&self, name: &str) -> (String, Vec<String>) {
        let v: serde_json::Value =
            serde_json::from_str(&self.run(&["image", "inspect", name])).unwrap();
        let layers = v[0]["RootFS"]["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect();
        (v[0]["Id"].as_str().unwrap().to_string(), layers)
    }
}

/// A two-layer image made by podman (import, then a build with COPY only).
fn podman_image(p: &Podman) -> (String, Vec<String>) {
    let rootfs = p.path("rootfs.tar");
    std::fs::write(&rootfs, layer_tar(&[("etc/hello", b"from podman\n")])).unwrap();
    p.run(&["import", rootfs.to_str().unwrap(), "localhost/test/pm:1"]);
    let ctx = p.path("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("file2"), "second layer\n").unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        "FROM localhost/test/pm:1\nCOPY file2 /etc/file2\n",
    )
    .unwrap();
    p.run(&[
        "build",
        "-q",
        "-t",
        "localhost/test/pm:2",
        ctx.to_str().unwrap(),
    ]);
    p.inspect("localhost/test/pm:2")
}

#[test]
fn archives_written_by_podman_save_load() {
    require_root();
    let p = Podman::new();
    let (id, diff_ids) = podman_image(&p);
    assert_eq!(diff_ids.len(), 2);
    let docker_tar = p.path("docker.tar");
    let oci_tar = p.path("oci.tar");
    p.run(&[
        "save",
        "-o",
        docker_tar.to_str().unwrap(),
        "localhost/test/pm:2",
    ]);
    p.run(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        oci_tar.to_str().unwrap(),
        "localhost/test/pm:2",
    ]);

    let mut checked = 0;
    for archive_path in [&docker_tar, &oci_tar] {
        let st = TestStore::new();
        let loaded = archive::load(
            &st.store,
            std::fs::File::open(archive_path).unwrap(),
            &NoProgress,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", archive_path.display()));
        assert_eq!(loaded.len(), 1);
        assert_eq!(
            loaded[0].id.to_string(),
            format!("sha256:{id}"),
            "the image id is podman's"
        );
        assert_eq!(
            st.store.resolve("localhost/test/pm:2").unwrap(),
            loaded[0].id
        );
        let rec = st.store.image_record(&loaded[0].id).unwrap().unwrap();
        let ours: Vec<String> = rec.layers.iter().map(|l| l.diff_id.to_string()).collect();
        assert_eq!(ours, diff_ids);
        assert_eq!(
            read_image_file(&st.store, &loaded[0].id, "etc/hello").unwrap(),
            b"from podman\n"
        );
        assert_eq!(
            read_image_file(&st.store, &loaded[0].id, "etc/file2").unwrap(),
            b"second layer\n"
        );
        assert_no_leftovers(&st);
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn podman_load_reads_what_berth_saves() {
    require_root();
    let st = TestStore::new();
    let img = make_image(
        &st.store,
        &[
            layer_tar(&[("etc/one", b"1\n")]),
            layer_tar(&[("etc/two", b"2\n")]),
        ],
        "localhost/berth/saved:1",
    );
    let f = save_to_file(&st, &["localhost/berth/saved:1"]);
    let p = Podman::new();
    p.run(&["load", "-i", f.path().to_str().unwrap()]);
    let (id, layers) = p.inspect("localhost/berth/saved:1");
    assert_eq!(format!("sha256:{id}"), img.id.to_string());
    let ours: Vec<String> = img.layers.iter().map(|l| l.diff_id.to_string()).collect();
    assert_eq!(layers, ours);
}

/// A docker-archive by hand: `files` plus a manifest.json naming them.
fn handmade(files: &[(&str, Vec<u8>)], manifest: serde_json::Value) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut all: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(p, d)| (p.to_string(), d.clone()))
        .collect();
    all.push((
        "manifest.json".to_string(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    for (p, d) in all {
        let mut h = tar::Header::new_gnu();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, &d[..]).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn archives_that_lie_are_refused_and_leave_nothing() {
    require_root();
    let st = TestStore::new();
    let layer = layer_tar(&[("f", b"real")]);
    let real = Digest::of(&layer);

    // A blob whose bytes are not what its name says.
    let fake_name = Digest::of(b"something else");
    let ar = handmade(
        &[(&format!("blobs/sha256/{}", fake_name.hex()), layer.clone())],
        serde_json::json!([]),
    );
    let e = archive::load(&st.store, &ar[..], &NoProgress).unwrap_err();
    assert!(matches!(e, ArchiveError::BlobDigest { .. }), "{e}");
    assert_no_leftovers(&st);

    // A layer whose diff id is not the config's.
    let lie = Digest::of(b"not the layer");
    let config = config_for(std::slice::from_ref(&lie), "amd64");
    let ar = handmade(
        &[("layer.tar", layer.clone()), ("config.json", config)],
        serde_json::json!([{"Config": "config.json", "RepoTags": ["liar:1"], "Layers": ["layer.tar"]}]),
    );
    let e = archive::load(&st.store, &ar[..], &NoProgress).unwrap_err();
    assert!(matches!(e, ArchiveError::DiffId { .. }), "{e}");
    assert!(e.to_string().contains(&real.to_string()), "{e}");
    assert!(st.store.list().unwrap().is_empty());
    assert!(
        st.store.snapshots().stat(&real.to_string()).is_err(),
        "no layer kept"
    );
    assert_no_leftovers(&st);

    // Neither format.
    let e = archive::load(&st.store, &layer[..], &NoProgress).unwrap_err();
    assert_eq!(e.kind(), berth_image::ErrorKind::InvalidArgument);
    assert_no_leftovers(&st);
}

fn tar_of(entries: &[(&str, Option<&str>, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, link, d) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        match link {
            Some(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, p, target).unwrap();
            }
            None => {
                h.set_size(d.len() as u64);
                b.append_data(&mut h, p, &d[..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

#[test]
fn older_docker_archives_and_nested_oci_indexes_load() {
    require_root();
    let l1 = layer_tar(&[("one", b"first\n")]);
    let l2 = layer_tar(&[("two", b"second\n")]);
    let (d1, d2) = (Digest::of(&l1), Digest::of(&l2));

    // Docker before 25: `<v1 id>/layer.tar`, a second image's layer a symlink to the first's.
    let c1 = config_for(std::slice::from_ref(&d1), "amd64");
    let c2 = config_for(&[d1.clone(), d2.clone()], "amd64");
    let (id1, id2) = (Digest::of(&c1), Digest::of(&c2));
    let ar = tar_of(&[
        ("aaaa/layer.tar", None, l1.clone()),
        ("aaaa/VERSION", None, b"1.0".to_vec()),
        ("bbbb/layer.tar", Some("../aaaa/layer.tar"), Vec::new()),
        ("cccc/layer.tar", None, l2.clone()),
        (&format!("{}.json", id1.hex()), None, c1.clone()),
        (&format!("{}.json", id2.hex()), None, c2.clone()),
        ("manifest.json", None, serde_json::to_vec(&serde_json::json!([
            {"Config": format!("{}.json", id1.hex()), "RepoTags": ["old:1"], "Layers": ["aaaa/layer.tar"]},
            {"Config": format!("{}.json", id2.hex()), "RepoTags": null, "Layers": ["bbbb/layer.tar", "cccc/layer.tar"]},
        ])).unwrap()),
        ("repositories", None, br#"{"old":{"1":"aaaa"}}"#.to_vec()),
    ]);
    let st = TestStore::new();
    let loaded = archive::load(&st.store, &ar[..], &NoProgress).unwrap();
    assert_eq!(
        loaded.iter().map(|l| &l.id).collect::<Vec<_>>(),
        [&id1, &id2]
    );
    assert_eq!(st.store.resolve("old:1").unwrap(), id1);
    assert_eq!(read_image_file(&st.store, &id2, "one").unwrap(), b"first\n");
    assert_eq!(
        read_image_file(&st.store, &id2, "two").unwrap(),
        b"second\n"
    );
    assert_no_leftovers(&st);

    // An OCI layout as containerd-backed Docker writes it: index.json → an index per image
    // (Docker's annotations: the full name, and a bare tag) → the platform's manifest, with
    // gzip layers.
    let gz1 = gzip(&l1);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": id1, "size": c1.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": Digest::of(&gz1), "size": gz1.len()}],
    }))
    .unwrap();
    let md = Digest::of(&manifest);
    let arch = berth_image::import::host_architecture();
    let inner = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len(),
                       "platform": {"os": "linux", "architecture": arch}}],
    }))
    .unwrap();
    let outer = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": Digest::of(&inner), "size": inner.len(),
                       "annotations": {"io.containerd.image.name": "docker.io/library/nested:7", "org.opencontainers.image.ref.name": "7"}}],
    }))
    .unwrap();
    let blob = |d: &[u8]| format!("blobs/sha256/{}", Digest::of(d).hex());
    let ar = tar_of(&[
        (&blob(&gz1), None, gz1.clone()),
        (&blob(&c1), None, c1.clone()),
        (&blob(&manifest), None, manifest.clone()),
        (&blob(&inner), None, inner.clone()),
        ("index.json", None, outer),
        (
            "oci-layout",
            None,
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
    ]);
    let st = TestStore::new();
    let loaded = archive::load(&st.store, &ar[..], &NoProgress).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(st.store.resolve("nested:7").unwrap(), id1);
    let rec = st.store.image_record(&id1).unwrap().unwrap();
    assert_eq!(rec.manifest_digest, md, "the layout's manifest is kept");
    assert_eq!(read_image_file(&st.store, &id1, "one").unwrap(), b"first\n");
    assert_no_leftovers(&st);
}
