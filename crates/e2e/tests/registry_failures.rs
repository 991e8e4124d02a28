//! Pulls that go wrong: a tampered blob is refused with nothing stored; a registry dying
//! mid-layer and berthd killed mid-layer leave nothing recorded, and the next pull resumes
//! the layer (`Range`).

use berth_e2e::registry::{
    big_image_tar, remove_image, Cut, CuttingProxy, Registry, RegistryOptions,
};
use berth_e2e::{daemon, wait_until, Cli, IMAGE, SOON};
#[test]
fn a_tampered_blob_is_refused_and_nothing_is_stored() {
    let reg = Registry::start(RegistryOptions::default());
    let d = daemon!();
    let target = format!("{}/e2e/tampered:1", reg.host());
    d.berth(&["tag", IMAGE, &target]).ok();
    d.berth(&["push", &target]).ok();

    // The layer is the largest blob the registry holds.
    let layer_file = std::fs::read_dir(reg.dir.path().join("data/docker/registry/v2/blobs/sha256"))
        .unwrap()
        .flat_map(|e| std::fs::read_dir(e.unwrap().path()).unwrap())
        .map(|e| e.unwrap().path().join("data"))
        .max_by_key(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .unwrap();
    let layer_hex = layer_file
        .parent()
        .and_then(|p| p.file_name())
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let original = std::fs::read(&layer_file).unwrap();
    let mut tampered = original.clone();
    let mid = tampered.len() / 2;
    for b in &mut tampered[mid..mid + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(&layer_file, &tampered).unwrap();
    assert_eq!(reg.blob_path(&format!("sha256:{layer_hex}")), layer_file);

    remove_image(&d, Cli::Berth, &target);
    let stored = d.data_root.join("content/sha256").join(&layer_hex);
    assert!(!stored.exists(), "the layer blob is still stored");
    let o = d.docker(&["pull", &target]).fails();
    assert!(
        o.stderr.contains(&format!(
            "blob sha256:{layer_hex} verification failed: digest mismatch"
        )),
        "{o:?}"
    );
    assert!(!stored.exists(), "a tampered blob was stored");
    let o = d.berth(&["images", "-q"]).ok();
    assert!(o.out().is_empty(), "an image was recorded: {o:?}");
    d.berth(&["image", "inspect", &target]).fails();

    // The registry repaired, the same pull succeeds.
    std::fs::write(&layer_file, &original).unwrap();
    d.berth(&["pull", &target]).ok();
    assert!(stored.exists());
    let o = d.berth(&["run", "--rm", &target, "echo", "intact"]).ok();
    assert_eq!(o.out(), "intact");
}

/// The registry goes away in the middle of a layer: the pull fails in its stream, nothing
/// is recorded, and the next pull resumes the download where it stopped (`Range`).
#[test]
fn a_registry_dying_mid_pull_leaves_a_clean_store_and_the_retry_resumes() {
    const BIG: usize = 8 << 20;
    let reg = Registry::start(RegistryOptions::default());
    let d = daemon!();
    let before = d.berth(&["images", "-q"]).ok().out();
    let direct = format!("{}/big/img:1", reg.host());
    d.berth_in(&["import", "-", &direct], &big_image_tar(BIG))
        .ok();
    d.berth(&["push", &direct]).ok();
    remove_image(&d, Cli::Berth, &direct);

    // The proxy dies after 3 MiB: inside the 8 MiB layer.
    let proxy = CuttingProxy::start(0, reg.port, Cut::Close(3 << 20));
    let via = format!("127.0.0.1:{}/big/img:1", proxy.port);
    let o = d.docker(&["pull", &via]).fails();
    assert!(proxy.died(), "the proxy never reached its limit: {o:?}");
    assert!(o.stdout.contains("Pulling fs layer"), "{o:?}");
    assert!(!o.stderr.trim().is_empty(), "{o:?}");
    let o = d.berth(&["images", "-q"]).ok();
    assert_eq!(o.out(), before, "a half pull was recorded");
    d.berth(&["image", "inspect", &via]).fails();

    // The registry back on the same port: the pull finishes, resuming the layer.
    let port = proxy.port;
    drop(proxy);
    let proxy = CuttingProxy::start(port, reg.port, Cut::Never);
    let o = d.berth(&["pull", &via]).ok();
    assert!(
        o.stdout
            .contains(&format!("Status: Downloaded newer image for {via}")),
        "{o:?}"
    );
    assert!(
        proxy.requests().to_lowercase().contains("range: bytes="),
        "the download started over:\n{}",
        proxy.requests()
    );
    let o = d.berth(&["run", "--rm", &via, "wc", "-c", "/big.bin"]).ok();
    assert!(o.out().starts_with(&BIG.to_string()), "{o:?}");
}

/// berthd killed (`kill -9`) in the middle of a layer: after its restart nothing names the
/// half-pulled image, and the next pull resumes the layer (`Range`) and runs it.
#[test]
fn a_daemon_killed_mid_pull_resumes_after_restart() {
    const BIG: usize = 8 << 20;
    let reg = Registry::start(RegistryOptions::default());
    let mut d = daemon!();
    let before = d.berth(&["images", "-q"]).ok().out();
    let direct = format!("{}/big/killed:1", reg.host());
    d.berth_in(&["import", "-", &direct], &big_image_tar(BIG))
        .ok();
    d.berth(&["push", &direct]).ok();
    remove_image(&d, Cli::Berth, &direct);

    let proxy = CuttingProxy::start(0, reg.port, Cut::Stall(3 << 20));
    let via = format!("127.0.0.1:{}/big/killed:1", proxy.port);
    let mut pulling = d.cli_spawn(Cli::Berth, &["pull", &via]);
    wait_until("the registry to stall mid-layer", SOON, || proxy.stalled());
    d.kill9();
    pulling.kill();
    let port = proxy.port;
    drop(proxy);

    d.restart();
    let o = d.berth(&["images", "-q"]).ok();
    assert_eq!(o.out(), before, "a half pull was recorded");
    d.berth(&["image", "inspect", &via]).fails();

    let proxy = CuttingProxy::start(port, reg.port, Cut::Never);
    let o = d.docker(&["pull", &via]).ok();
    assert!(
        o.stdout
            .contains(&format!("Status: Downloaded newer image for {via}")),
        "{o:?}"
    );
    assert!(
        proxy.requests().to_lowercase().contains("range: bytes="),
        "the download started over:\n{}",
        proxy.requests()
    );
    let o = d.berth(&["run", "--rm", &via, "wc", "-c", "/big.bin"]).ok();
    assert!(o.out().starts_with(&BIG.to_string()), "{o:?}");
}
