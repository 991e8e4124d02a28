//! Pull and push against Debian's `docker-registry` over plain HTTP (127.0.0.1 is an
//! insecure registry by default: HTTPS is tried first, then HTTP), and against the fake
//! registry for what a real one will not do on demand: tampered blobs, connections cut
//! in the middle of a blob, a process killed mid-pull, manifest lists for other platforms.

mod common;

use std::sync::Arc;

use berth_image::content::IngestManager;
use berth_image::registry::{
    self, Platform, PullOptions, PushOptions, Registry, RegistryConfig, RegistryError,
};
use berth_image::snapshot::Kind;
use berth_image::{Digest, Reference};
use common::fake::Fake;
use common::*;

fn registry() -> Registry {
    Registry::new(RegistryConfig {
        // Small chunks: layers go up in several PATCHes.
        chunk_size: 64 << 10,
        ..RegistryConfig::default()
    })
    .unwrap()
}

fn r(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

fn two_layers() -> Vec<Vec<u8>> {
    vec![
        layer_tar(&[
            ("etc/base.txt", b"base layer\n"),
            ("bin/tool", &noise(300 << 10, 1)),
        ]),
        layer_tar(&[("etc/top.txt", b"top layer\n")]),
    ]
}

#[test]
fn push_then_pull_round_trip_through_docker_registry() {
    require_root();
    let reg = DockerRegistry::start(RegistryOpts::default());
    let rt = rt();
    let client = registry();
    let src = TestStore::new();
    let image = make_image(&src.store, &two_layers(), "local/app:1");
    src.store
        .tag("local/app:1", &format!("{}/berth/app:v1", reg.host()))
        .unwrap();

    // Push: every layer uploaded in chunks, then the manifest.
    let events = Arc::new(Events::default());
    let target = r(&format!("{}/berth/app:v1", reg.host()));
    let pushed = rt
        .block_on(registry::push(
            src.store.clone(),
            &client,
            &target,
            &PushOptions::default(),
            events.clone(),
        ))
        .unwrap_or_else(|e| panic!("push: {e}\n{}", reg.log()));
    assert_eq!(pushed.tag, "v1");
    assert_eq!(
        pushed.digest, image.manifest_digest,
        "the stored manifest goes as it is"
    );
    assert_eq!(events.has("Pushed"), 2, "{:?}", events.statuses());
    assert!(events.statuses().contains(&format!(
        "v1: digest: {} size: {}",
        pushed.digest, pushed.size
    )));

    // The registry serves that manifest under the tag.
    let served = rt.block_on(async {
        reqwest::Client::builder()
            .tls_backend_preconfigured(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            )
            .build()
            .unwrap()
            .get(format!("http://{}/v2/berth/app/manifests/v1", reg.host()))
            .header(
                "Accept",
                "application/vnd.docker.distribution.manifest.v2+json",
            )
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    assert_eq!(Digest::of(&served), pushed.digest);
    assert_eq!(served.len() as u64, pushed.size);

    // Pull into an empty store: same image, its files unpacked, tag and digest recorded.
    let dst = TestStore::new();
    let events = Arc::new(Events::default());
    let pulled = rt
        .block_on(registry::pull(
            dst.store.clone(),
            &client,
            &target,
            &PullOptions::default(),
            events.clone(),
        ))
        .unwrap_or_else(|e| panic!("pull: {e}\n{}", reg.log()));
    assert_eq!(pulled.id, image.id);
    assert_eq!(pulled.digest, pushed.digest);
    assert!(!pulled.up_to_date);
    assert_eq!(events.has("Pull complete"), 2, "{:?}", events.statuses());
    assert!(events.statuses().contains(&format!(
        "Status: Downloaded newer image for {}",
        target.familiar()
    )));
    assert_eq!(
        read_image_file(&dst.store, &pulled.id, "etc/top.txt").unwrap(),
        b"top layer\n"
    );
    assert_eq!(
        read_image_file(&dst.store, &pulled.id, "bin/tool").unwrap(),
        noise(300 << 10, 1)
    );
    let refs: Vec<String> = dst
        .store
        .references_of(&pulled.id)
        .unwrap()
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert!(refs.contains(&target.to_string()), "{refs:?}");
    assert!(
        refs.contains(&format!("{}/berth/app@{}", reg.host(), pushed.digest)),
        "{refs:?}"
    );

    // Again: nothing to fetch.
    let events = Arc::new(Events::default());
    let again = rt
        .block_on(registry::pull(
            dst.store.clone(),
            &client,
            &target,
            &PullOptions::default(),
            events.clone(),
        ))
        .unwrap();
    assert!(again.up_to_date);
    assert_eq!(events.has("Already exists"), 2, "{:?}", events.statuses());

    // By digest, into a third store.
    let third = TestStore::new();
    let by_digest = r(&format!("{}/berth/app@{}", reg.host(), pushed.digest));
    let p3 = rt
        .block_on(registry::pull(
            third.store.clone(),
            &client,
            &by_digest,
            &PullOptions::default(),
            Arc::new(registry::NoProgress),
        ))
        .unwrap();
    assert_eq!(p3.id, image.id);
    assert_eq!(
        third.store.references_of(&p3.id).unwrap(),
        vec![by_digest.clone()]
    );

    // The pulled image pushed to another repository: mounted from the first, same digest.
    dst.store
        .tag(
            &target.to_string(),
            &format!("{}/berth/copy:v1", reg.host()),
        )
        .unwrap();
    let events = Arc::new(Events::default());
    let copy = rt
        .block_on(registry::push(
            dst.store.clone(),
            &client,
            &r(&format!("{}/berth/copy:v1", reg.host())),
            &PushOptions::default(),
            events.clone(),
        ))
        .unwrap();
    assert_eq!(copy.digest, pushed.digest);
    assert_eq!(
        events.has("Mounted from berth/app"),
        2,
        "{:?}",
        events.statuses()
    );

    // And the first again: the registry has every layer.
    let events = Arc::new(Events::default());
    rt.block_on(registry::push(
        src.store.clone(),
        &client,
        &target,
        &PushOptions::default(),
        events.clone(),
    ))
    .unwrap();
    assert_eq!(
        events.has("Layer already exists"),
        2,
        "{:?}",
        events.statuses()
    );
}

#[test]
fn missing_manifest_and_missing_local_image_read_as_docker_s() {
    require_root();
    let reg = DockerRegistry::start(RegistryOpts::default());
    let rt = rt();
    let client = registry();
    let st = TestStore::new();
    let e = rt
        .block_on(registry::pull(
            st.store.clone(),
            &client,
            &r(&format!("{}/nope/nothing:1", reg.host())),
            &PullOptions::default(),
            Arc::new(registry::NoProgress),
        ))
        .unwrap_err();
    assert_eq!(e.kind(), berth_image::ErrorKind::NotFound, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("nope/nothing")
            && (msg.contains("not found") || msg.contains("does not exist")),
        "{msg}"
    );
    let e = rt
        .block_on(registry::push(
            st.store.clone(),
            &client,
            &r(&format!("{}/nope/nothing:1", reg.host())),
            &PushOptions::default(),
            Arc::new(registry::NoProgress),
        ))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "An image does not exist locally with the tag: {}/nope/nothing:1",
            reg.host()
        )
    );
}

#[test]
fn chunked_upload_and_cross_repository_mount_on_the_wire() {
    require_root();
    let fake = Fake::start();
    let rt = rt();
    let client = registry();
    let st = TestStore::new();
    let image = make_image(
        &st.store,
        &two_layers(),
        &format!("{}/a/one:1", fake.host()),
    );
    let big = &image.layers[0];
    rt.block_on(registry::push(
        st.store.clone(),
        &client,
        &r(&format!("{}/a/one:1", fake.host())),
        &PushOptions::default(),
        Arc::new(registry::NoProgress),
    ))
    .unwrap();
    let reqs = fake.requests();
    let chunks = (big.blob_size as usize).div_ceil(64 << 10);
    assert!(chunks >= 2, "the big layer must need several chunks");
    // The PATCHes of the big layer's upload, in order (layers go up side by side).
    let mut by_upload: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for q in reqs.iter().filter(|q| q.method == "PATCH") {
        by_upload
            .entry(q.path.as_str())
            .or_default()
            .push(q.content_range.as_deref().unwrap_or("none"));
    }
    let big_upload = by_upload
        .values()
        .find(|v| v.len() == chunks)
        .unwrap_or_else(|| panic!("no upload of {chunks} chunks: {by_upload:?}"));
    assert_eq!(big_upload[0], "0-65535");
    assert_eq!(big_upload[1], "65536-131071");
    assert!(
        reqs.iter()
            .any(|q| q.method == "PUT" && q.query.contains(&big.blob.hex()[..16])),
        "a PUT with the digest ends each upload"
    );
    assert!(fake.has_blob(&big.blob));

    // Same image, other repository: one POST ?mount=&from= per layer, no upload.
    st.store
        .tag(
            &format!("{}/a/one:1", fake.host()),
            &format!("{}/b/two:1", fake.host()),
        )
        .unwrap();
    let before = fake.requests().len();
    let events = Arc::new(Events::default());
    rt.block_on(registry::push(
        st.store.clone(),
        &client,
        &r(&format!("{}/b/two:1", fake.host())),
        &PushOptions::default(),
        events.clone(),
    ))
    .unwrap();
    let later = &fake.requests()[before..];
    // The registry's HEAD says it has them already (one registry, one blob store).
    assert_eq!(
        events.has("Layer already exists"),
        2,
        "{:?}",
        events.statuses()
    );
    assert!(later.iter().all(|q| q.method != "PATCH"));
}

#[test]
fn mount_is_tried_when_the_repository_lacks_the_blob() {
    require_root();
    let fake = Fake::start();
    let rt = rt();
    let client = registry();
    let st = TestStore::new();
    let image = make_image(
        &st.store,
        &[layer_tar(&[("m", b"mount me")])],
        &format!("{}/src/img:1", fake.host()),
    );
    st.store
        .tag(
            &format!("{}/src/img:1", fake.host()),
            &format!("{}/dst/img:1", fake.host()),
        )
        .unwrap();
    // The registry lacks the blob: the mount is asked for, refused (202), and the upload
    // the POST opened carries the blob.
    let events = Arc::new(Events::default());
    rt.block_on(registry::push(
        st.store.clone(),
        &client,
        &r(&format!("{}/dst/img:1", fake.host())),
        &PushOptions::default(),
        events.clone(),
    ))
    .unwrap();
    let posts: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|q| q.method == "POST" && q.query.contains("mount="))
        .collect();
    assert!(
        posts
            .iter()
            .any(|q| q.query.contains("from=src%2Fimg") || q.query.contains("from=src/img")),
        "{posts:?}"
    );
    // Not mountable (the registry lacked it): the upload the POST opened carried it.
    assert!(fake.has_blob(&image.layers[0].blob));
    assert_eq!(events.has("Pushed"), 1, "{:?}", events.statuses());
}

fn layer_blob(files: &[(&str, &[u8])]) -> (Vec<u8>, Digest) {
    let tar = layer_tar(files);
    let diff = Digest::of(&tar);
    (gzip(&tar), diff)
}

/// No image, no snapshot being unpacked, and `blob` neither stored nor half-stored.
fn assert_clean(st: &TestStore, blob: &Digest) {
    assert!(
        st.store.list().unwrap().is_empty(),
        "no image may be recorded"
    );
    assert!(
        !st.store.content().exists(blob),
        "the bad blob must not be stored"
    );
    let active: Vec<_> = st
        .store
        .snapshots()
        .walk()
        .unwrap()
        .into_iter()
        .filter(|s| s.kind != Kind::Committed)
        .collect();
    assert!(active.is_empty(), "unpacks left behind: {active:?}");
}

#[test]
fn tampered_blob_is_refused_and_nothing_is_stored() {
    require_root();
    let fake = Fake::start();
    let rt = rt();
    let client = registry();
    let st = TestStore::new();
    let (blob, diff) = layer_blob(&[("x", b"genuine")]);
    let gz = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    let (_, _, _) = fake.add_image("t/img", "1", &[(blob.clone(), gz, diff)], "amd64", false);
    let d = Digest::of(&blob);
    fake.state.tamper.lock().unwrap().insert(d.to_string());
    let e = rt
        .block_on(registry::pull(
            st.store.clone(),
            &client,
            &r(&format!("{}/t/img:1", fake.host())),
            &PullOptions::default(),
            Arc::new(registry::NoProgress),
        ))
        .unwrap_err();
    assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("digest mismatch"), "{e}");
    assert!(e.to_string().contains(&d.to_string()), "{e}");
    assert_clean(&st, &d);
    assert!(
        st.store.content().status(&format!("pull-{d}")).is_err(),
        "a blob that failed its digest is not kept for resuming"
    );
    // The first layer's snapshot was not committed either.
    assert!(st
        .store
        .snapshots()
        .stat(&diff_of(&blob).to_string())
        .is_err());

    // A manifest that does not hash to the digest asked for is refused too.
    let other = fake.put_manifest(
        "t/img",
        "2",
        "application/vnd.docker.distribution.manifest.v2+json",
        b"{}",
    );
    let wrong = Digest::of(b"not what is served");
    fake.state.manifests.lock().unwrap().insert(
        format!("t/img|{wrong}"),
        (
            "application/vnd.docker.distribution.manifest.v2+json".into(),
            b"{}".to_vec(),
        ),
    );
    let e = rt
        .block_on(registry::pull(
            st.store.clone(),
            &client,
            &r(&format!("{}/t/img@{wrong}", fake.host())),
            &PullOptions::default(),
            Arc::new(registry::NoProgress),
        ))
        .unwrap_err();
    assert!(e.to_string().contains("digest mismatch"), "{e}");
    assert!(e.to_string().contains(&other.to_string()), "{e}");
    assert!(st.store.list().unwrap().is_empty());
}

fn diff_of(gz: &[u8]) -> Digest {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz), &mut out).unwrap();
    Digest::of(&out)
}

#[test]
fn registry_dying_mid_blob_leaves_a_clean_store_and_the_retry_resumes() {
    require_root();
    let fake = Fake::start();
    let rt = rt();
    let client = registry();
    let st = TestStore::new();
    let gz = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    let (b1, d1) = layer_blob(&[("one", &noise(200 << 10, 2))]);
    let (b2, d2) = layer_blob(&[("two", &noise(900 << 10, 3))]);
    fake.add_image(
        "d/img",
        "1",
        &[(b1.clone(), gz, d1), (b2.clone(), gz, d2)],
        "amd64",
        false,
    );
    let (l1, l2) = (Digest::of(&b1), Digest::of(&b2));
    let cut_at = 300 << 10;
    fake.state
        .cut
        .lock()
        .unwrap()
        .insert(l2.to_string(), cut_at);
    let reference = r(&format!("{}/d/img:1", fake.host()));
    let e = rt
        .block_on(registry::pull(
            st.store.clone(),
            &client,
            &reference,
            &PullOptions::default(),
            Arc::new(registry::NoProgress),
        ))
        .unwrap_err();
    assert!(fake.reached(&l2), "the cut must have happened: {e}");
    assert_clean(&st, &l2);
    let partial = st.store.content().status(&format!("pull-{l2}")).unwrap();
    assert_eq!(
        partial.offset, cut_at as u64,
        "what arrived is kept for the retry"
    );

    fake.state.cut.lock().unwrap().clear();
    let before = fake.requests().len();
    let events = Arc::new(Events::default());
    let pulled = rt
        .block_on(registry::pull(
            st.store.clone(),
            &client,
            &reference,
            &PullOptions::default(),
            events.clone(),
        ))
        .unwrap();
    let retry = &fake.requests()[before..];
    let gets_of = |d: &Digest| {
        retry
            .iter()
            .filter(|q| q.method == "GET" && q.path.ends_with(&d.to_string()))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert!(
        gets_of(&l1).is_empty(),
        "the first layer was stored already"
    );
    let g2 = gets_of(&l2);
    assert_eq!(g2.len(), 1, "{retry:?}");
    assert_eq!(
        g2[0].range.as_deref(),
        Some(format!("bytes={cut_at}-").as_str())
    );
    assert_eq!(
        read_image_file(&st.store, &pulled.id, "two").unwrap(),
        noise(900 << 10, 3)
    );
    assert!(st.store.content().list_statuses().unwrap().is_empty());
    assert!(
        st.store.leases().unwrap().is_empty(),
        "the pull's lease is released"
    );
}

#[test]
fn a_registry_ignoring_range_gets_the_blob_from_the_start() {
    require_root();
    let fake = Fake::start();
    let rt = rt();
    let client = registry();
    let st = TestStore::new();
    let gz = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    let (b, d) = layer_blob(&[("f", &noise(500 << 10, 4))]);
    fake.add_image("n/img", "1", &[(b.clone(), gz, d)], "amd64", false);
    let l = Digest::of(&b);
    fake.state
        .cut
        .lock()
        .unwrap()
        .insert(l.to_string(), 100 << 10);
    let reference = r(&format!("{}/n/img:1", fake.host()));
    let pull = |st: &TestStore| {
        rt.block_on(registry::pull(
            st.store.clone(),
            &client,
            &reference,
            &PullOptions::default(),
            Arc::new(registry::NoProgress),
        ))
    };
    pull(&st).unwrap_err();
    fake.state.cut.lock().unwrap().clear();
    fake.state
        .ignore_range
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let p = pull(&st).unwrap();
    assert_eq!(
        read_image_file(&st.store, &p.id, "f").unwrap(),
        noise(500 << 10, 4)
    );
}

/// Run by `killed_mid_pull_...` in a child process, which it SIGKILLs mid-pull.
#[test]
fn crash_child_pull() {
    let (Ok(root), Ok(reference)) = (
        std::env::var("BERTH_TEST_CRASH_ROOT"),
        std::env::var("BERTH_TEST_CRASH_REF"),
    ) else {
        return;
    };
    let db = Arc::new(redb::Database::create(format!("{root}/metadata.redb")).unwrap());
    let store = Arc::new(berth_image::Store::open(std::path::Path::new(&root), db).unwrap());
    let _ = rt().block_on(registry::pull(
        store,
        &registry(),
        &r(&reference),
        &PullOptions::default(),
        Arc::new(registry::NoProgress),
    ));
    panic!("the pull was to be killed before it ended");
}

#[test]
fn killed_mid_pull_leaves_no_record_and_the_retry_resumes() {
    require_root();
    let fake = Fake::start();
    let gz = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    let (b1, d1) = layer_blob(&[("one", &noise(150 << 10, 5))]);
    let (b2, d2) = layer_blob(&[("two", &noise(700 << 10, 6))]);
    fake.add_image(
        "k/img",
        "1",
        &[(b1.clone(), gz, d1), (b2.clone(), gz, d2)],
        "amd64",
        false,
    );
    let (l1, l2) = (Digest::of(&b1), Digest::of(&b2));
    let stall_at = 256 << 10;
    fake.state
        .stall
        .lock()
        .unwrap()
        .insert(l2.to_string(), stall_at);
    let st = TestStore::new();
    let root = st.root().to_path_buf();
    let TestStore { dir, store } = st;
    drop(store);
    let reference = format!("{}/k/img:1", fake.host());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child_pull",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("BERTH_TEST_CRASH_ROOT", &root)
        .env("BERTH_TEST_CRASH_REF", &reference)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the stalled layer's bytes are on disk and the first layer is committed.
    let ingest = root
        .join("content/ingest")
        .join(Digest::of(format!("pull-{l2}").as_bytes()).hex())
        .join("data");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !(ingest.metadata().is_ok_and(|m| m.len() == stall_at as u64)
        && root.join("content/sha256").join(l1.hex()).exists())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the child never got mid-pull"
        );
        assert!(child.try_wait().unwrap().is_none(), "the child ended early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();

    // Restarted: nothing recorded, the half blob an ingest, the whole one kept by the lease.
    let st = TestStore {
        dir,
        store: Arc::new(
            berth_image::Store::open(
                &root,
                Arc::new(redb::Database::create(root.join("metadata.redb")).unwrap()),
            )
            .unwrap(),
        ),
    };
    assert_clean(&st, &l2);
    assert!(
        st.store.content().exists(&l1),
        "the finished layer stays leased"
    );
    assert_eq!(
        st.store
            .content()
            .status(&format!("pull-{l2}"))
            .unwrap()
            .offset,
        stall_at as u64
    );
    fake.state.stall.lock().unwrap().clear();
    let before = fake.requests().len();
    let pulled = rt()
        .block_on(registry::pull(
            st.store.clone(),
            &registry(),
            &r(&reference),
            &PullOptions::default(),
            Arc::new(registry::NoProgress),
        ))
        .unwrap();
    let retry = &fake.requests()[before..];
    assert!(!retry
        .iter()
        .any(|q| q.path.ends_with(&l1.to_string()) && q.method == "GET"));
    let g2: Vec<_> = retry
        .iter()
        .filter(|q| q.method == "GET" && q.path.ends_with(&l2.to_string()))
        .collect();
    assert_eq!(g2.len(), 1);
    assert_eq!(
        g2[0].range.as_deref(),
        Some(format!("bytes={stall_at}-").as_str())
    );
    assert_eq!(
        read_image_file(&st.store, &pulled.id, "two").unwrap(),
        noise(700 << 10, 6)
    );
}

#[test]
fn manifest_lists_pick_the_platform_and_layers_may_be_zstd_or_plain() {
    require_root();
    let fake = Fake::start();
    let rt = rt();
    let client = registry();
    let st = TestStore::new();
    let host_arch = berth_image::import::host_architecture();
    let other_arch = if host_arch == "arm64" {
        "amd64"
    } else {
        "arm64"
    };

    // The host's image: one gzip layer (Docker media types).
    let (hb, hd) = layer_blob(&[("which", b"host")]);
    let (hm, hm_size, _) = fake.add_image(
        "m/multi",
        "host-only",
        &[(hb, "application/vnd.docker.image.rootfs.diff.tar.gzip", hd)],
        host_arch,
        false,
    );
    // The other platform's: an OCI manifest with a zstd layer and an uncompressed one.
    let t1 = layer_tar(&[("which", b"other")]);
    let t2 = layer_tar(&[("plain.txt", b"uncompressed layer")]);
    let (om, om_size, _) = fake.add_image(
        "m/multi",
        "other-only",
        &[
            (
                zstd::encode_all(&t1[..], 3).unwrap(),
                "application/vnd.oci.image.layer.v1.tar+zstd",
                Digest::of(&t1),
            ),
            (
                t2.clone(),
                "application/vnd.oci.image.layer.v1.tar",
                Digest::of(&t2),
            ),
        ],
        other_arch,
        true,
    );
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": hm.to_string(), "size": hm_size,
             "platform": {"os": "linux", "architecture": host_arch}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": om.to_string(), "size": om_size,
             "platform": {"os": "linux", "architecture": other_arch, "variant": if other_arch == "arm64" { "v8" } else { "" }}},
        ]
    });
    let index_digest = fake.put_manifest(
        "m/multi",
        "latest",
        "application/vnd.oci.image.index.v1+json",
        &serde_json::to_vec(&index).unwrap(),
    );
    let reference = r(&format!("{}/m/multi", fake.host()));
    let pull = |platform: Option<&str>| {
        rt.block_on(registry::pull(
            st.store.clone(),
            &client,
            &reference,
            &PullOptions {
                platform: platform.map(|p| Platform::parse(p).unwrap()),
                credentials: None,
            },
            Arc::new(registry::NoProgress),
        ))
    };
    let other = pull(Some(&format!("linux/{other_arch}"))).unwrap();
    assert_eq!(other.digest, index_digest, "the repo digest is the list's");
    assert_eq!(other.manifest_digest, om);
    assert_eq!(st.store.config(&other.id).unwrap().architecture, other_arch);
    assert_eq!(
        read_image_file(&st.store, &other.id, "which").unwrap(),
        b"other"
    );
    assert_eq!(
        read_image_file(&st.store, &other.id, "plain.txt").unwrap(),
        b"uncompressed layer"
    );

    let host = pull(None).unwrap();
    assert_eq!(host.manifest_digest, hm);
    assert_eq!(
        read_image_file(&st.store, &host.id, "which").unwrap(),
        b"host"
    );
    assert_eq!(
        st.store
            .resolve(&format!("{}/m/multi:latest", fake.host()))
            .unwrap(),
        host.id,
        "the tag moved to the last image pulled"
    );

    let e = pull(Some("linux/s390x")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no matching manifest for linux/s390x in the manifest list entries"
    );
}

#[test]
fn docker_hub_names_are_pulled_through_the_mirror() {
    require_root();
    let fake = Fake::start();
    let (b, d) = layer_blob(&[("m", b"from the mirror")]);
    let gz = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    fake.add_image("library/mirrored", "latest", &[(b, gz, d)], "amd64", false);
    let client = Registry::new(RegistryConfig {
        mirrors: vec![format!("http://{}", fake.host())],
        ..RegistryConfig::default()
    })
    .unwrap();
    let st = TestStore::new();
    let pulled = rt()
        .block_on(registry::pull(
            st.store.clone(),
            &client,
            &r("mirrored"),
            &PullOptions::default(),
            Arc::new(registry::NoProgress),
        ))
        .unwrap();
    assert!(fake
        .requests()
        .iter()
        .any(|q| q.path == "/v2/library/mirrored/manifests/latest"));
    assert_eq!(st.store.resolve("mirrored").unwrap(), pulled.id);
    assert_eq!(
        st.store
            .resolve("docker.io/library/mirrored:latest")
            .unwrap(),
        pulled.id
    );
    assert_eq!(
        read_image_file(&st.store, &pulled.id, "m").unwrap(),
        b"from the mirror"
    );
}
