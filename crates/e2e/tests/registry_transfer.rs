//! Images between berthd and registries, archives and podman, through berth and the docker
//! CLI: push and pull against Debian's `docker-registry` (plain HTTP; TLS with a CA of the
//! test's and htpasswd Basic auth), login and logout, save and load, podman reading what
//! berth saves and the reverse, and a tampered blob refused.

use berth_e2e::registry::{Cut, CuttingProxy, Podman, Registry, RegistryOptions, TestCa};
use berth_e2e::token::TokenServer;
use berth_e2e::{both_clis, busybox_tar, daemon, wait_until, Cli, TestDaemon, IMAGE, SOON};
use serde_json::Value;

both_clis!(
    push_rmi_pull_run,
    save_and_load,
    tls_basic_auth_login_and_logout,
    bearer_tokens_and_identity_tokens,
);

/// Removes every tag of the image `reference` names, so its layers go too.
fn remove_image(d: &TestDaemon, cli: Cli, reference: &str) {
    let id = d
        .cli(cli, &["image", "inspect", "--format", "{{.Id}}", reference])
        .ok()
        .out();
    d.cli(cli, &["rmi", "-f", &id]).ok();
    let left = d.cli(cli, &["images", "-q"]).ok();
    assert!(!left.stdout.contains(&id[7..19]), "{left:?}");
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn push_rmi_pull_run(cli: Cli) {
    let reg = Registry::start(RegistryOptions::default());
    let d = daemon!();
    let since = (now() - 1).to_string();
    let target = format!("{}/e2e/bb:1", reg.host());
    d.cli(cli, &["tag", IMAGE, &target]).ok();

    let o = d.cli(cli, &["push", &target]).ok();
    assert!(
        o.stdout.contains(&format!(
            "The push refers to repository [{}/e2e/bb]",
            reg.host()
        )),
        "{o:?}"
    );
    assert!(o.stdout.contains(": Pushed"), "{o:?}");
    let digest = o
        .lines()
        .iter()
        .find_map(|l| l.strip_prefix("1: digest: ").map(str::to_string))
        .unwrap_or_else(|| panic!("no digest line: {o:?}"));
    let digest = digest
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(digest.starts_with("sha256:"), "{o:?}");

    remove_image(&d, cli, &target);
    let o = d.cli(cli, &["pull", &target]).ok();
    for want in [
        "1: Pulling from e2e/bb".to_string(),
        ": Pull complete".to_string(),
        format!("Digest: {digest}"),
        format!("Status: Downloaded newer image for {target}"),
    ] {
        assert!(o.stdout.contains(&want), "{want:?} missing:\n{o:?}");
    }
    let o = d.cli(cli, &["run", "--rm", &target, "echo", "pulled"]).ok();
    assert_eq!(o.out(), "pulled");
    let o = d
        .cli(
            cli,
            &[
                "images",
                "--digests",
                "--format",
                "{{.Repository}} {{.Digest}}",
            ],
        )
        .ok();
    assert!(
        o.stdout
            .contains(&format!("{}/e2e/bb {digest}", reg.host())),
        "{o:?}"
    );
    let o = d.cli(cli, &["pull", &target]).ok();
    assert!(
        o.stdout
            .contains(&format!("Status: Image is up to date for {target}")),
        "{o:?}"
    );

    // dockerd's events, named by the reference.
    let until = (now() + 1).to_string();
    let o = d
        .cli(
            cli,
            &[
                "events",
                "--since",
                &since,
                "--until",
                &until,
                "--filter",
                "type=image",
                "--format",
                "{{.Action}} {{.Actor.ID}}",
            ],
        )
        .ok();
    for want in [format!("push {target}"), format!("pull {target}")] {
        assert!(o.lines().contains(&want), "{want:?} missing: {o:?}");
    }

    // Every tag of the repository, both ways (`-a`).
    let repo = format!("{}/e2e/bb", reg.host());
    d.cli(cli, &["tag", &target, &format!("{repo}:2")]).ok();
    let o = d.cli(cli, &["push", "-a", &repo]).ok();
    assert!(o.stdout.contains("1: digest: sha256:"), "{o:?}");
    assert!(o.stdout.contains("2: digest: sha256:"), "{o:?}");
    remove_image(&d, cli, &target);
    let o = d.cli(cli, &["pull", "-a", &repo]).ok();
    assert!(o.stdout.contains("2: Pulling from e2e/bb"), "{o:?}");
    let o = d
        .cli(cli, &["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    let mut mine: Vec<String> = o
        .lines()
        .into_iter()
        .filter(|l| l.starts_with(&repo))
        .collect();
    mine.sort();
    assert_eq!(mine, [format!("{repo}:1"), format!("{repo}:2")], "{o:?}");

    // No such tag: Docker's message, and an exit status.
    let missing = format!("{}/e2e/bb:nope", reg.host());
    let o = d.cli(cli, &["pull", &missing]).fails();
    assert!(
        o.stderr.contains(&format!(
            "manifest for {missing} not found: manifest unknown"
        )),
        "{o:?}"
    );
}

fn save_and_load(cli: Cli) {
    let d = daemon!();
    let file = d.root.join("saved.tar");
    d.cli(cli, &["tag", IMAGE, "saved/bb:2"]).ok();
    d.cli(
        cli,
        &["save", "-o", file.to_str().unwrap(), IMAGE, "saved/bb:2"],
    )
    .ok();
    let archive = std::fs::read(&file).unwrap();
    remove_image(&d, cli, IMAGE);

    let o = d.cli(cli, &["load", "-i", file.to_str().unwrap()]).ok();
    assert!(o.stdout.contains("Loaded image: busybox:latest"), "{o:?}");
    assert!(o.stdout.contains("Loaded image: saved/bb:2"), "{o:?}");
    let o = d
        .cli(cli, &["run", "--rm", "saved/bb:2", "echo", "loaded"])
        .ok();
    assert_eq!(o.out(), "loaded");

    // To stdout and from stdin, quietly.
    let mut save = d.cli_cmd(cli, &["save", "saved/bb:2"]);
    let out = save.output().expect("running save");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.len() > 1 << 20, "{} bytes", out.stdout.len());
    remove_image(&d, cli, "saved/bb:2");
    let o = d.cli_in(cli, &["load", "-q"], &out.stdout).ok();
    assert_eq!(o.out(), "Loaded image: saved/bb:2");
    d.cli(cli, &["run", "--rm", "saved/bb:2", "true"]).ok();

    // Not an archive: refused, nothing loaded.
    let o = d.cli_in(cli, &["load"], b"not a tar at all").fails();
    assert!(o.stderr.contains("Error response from daemon"), "{o:?}");
    let o = d
        .cli(cli, &["save", "-o", file.to_str().unwrap(), "nosuch:1"])
        .fails();
    assert!(o.stderr.contains("No such image: nosuch:1"), "{o:?}");
    assert!(archive.len() > 1 << 20);
}

/// A registry over TLS (a CA of the test's in the daemon's certs dir) with one htpasswd
/// user, and a daemon that verifies loopback registries' certificates.
fn tls_registry() -> (Registry, TestCa, TestDaemon, tempfile::TempDir) {
    let ca = TestCa::new();
    let reg = Registry::start(RegistryOptions {
        tls: Some(&ca),
        user: Some(("alice", "s3cret-pass")),
        token: None,
    });
    let certs = tempfile::Builder::new()
        .prefix("bt-certsd-")
        .tempdir_in("/tmp")
        .unwrap();
    ca.install(certs.path(), &reg.host());
    let d = daemon!(
        "--certs-dir",
        certs.path().to_str().unwrap(),
        "--verify-loopback-registries"
    );
    (reg, ca, d, certs)
}

fn config_json(d: &TestDaemon) -> Value {
    let text = std::fs::read_to_string(d.docker_config().join("config.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn tls_basic_auth_login_and_logout(cli: Cli) {
    let (reg, _ca, d, _certs) = tls_registry();
    let host = reg.host();
    let target = format!("{host}/secure/bb:1");
    d.cli(cli, &["tag", IMAGE, &target]).ok();

    // Not logged in: the registry refuses the push.
    let o = d.cli(cli, &["push", &target]).fails();
    assert!(o.stderr.contains("no basic auth credentials"), "{o:?}");

    // A wrong password: Docker's message, nothing stored.
    let o = d
        .cli_in(
            cli,
            &["login", "-u", "alice", "--password-stdin", &host],
            b"wrong\n",
        )
        .fails();
    assert!(
        o.stderr.contains(&format!(
            "login attempt to https://{host}/v2/ failed with status: 401 Unauthorized"
        )),
        "{o:?}"
    );
    assert!(config_json(&d)["auths"].get(&host).is_none());

    let o = d
        .cli_in(
            cli,
            &["login", "-u", "alice", "--password-stdin", &host],
            b"s3cret-pass\n",
        )
        .ok();
    assert!(o.stdout.contains("Login Succeeded"), "{o:?}");
    let auth = config_json(&d)["auths"][&host]["auth"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        auth, "YWxpY2U6czNjcmV0LXBhc3M=",
        "base64 of alice:s3cret-pass"
    );

    let o = d.cli(cli, &["push", &target]).ok();
    assert!(o.stdout.contains("1: digest: sha256:"), "{o:?}");
    remove_image(&d, cli, &target);
    d.cli(cli, &["pull", &target]).ok();
    let o = d
        .cli(cli, &["run", "--rm", &target, "echo", "over-tls"])
        .ok();
    assert_eq!(o.out(), "over-tls");

    // The same registry named `localhost`: no CA for that name, the certificate is refused.
    let by_name = format!("localhost:{}/secure/bb:1", reg.port);
    let o = d.cli(cli, &["pull", &by_name]).fails();
    assert!(o.stderr.to_lowercase().contains("certificate"), "{o:?}");

    let o = d.cli(cli, &["logout", &host]).ok();
    assert!(
        o.stdout
            .contains(&format!("Removing login credentials for {host}")),
        "{o:?}"
    );
    assert!(config_json(&d)["auths"].get(&host).is_none());
    remove_image(&d, cli, &target);
    d.cli(cli, &["pull", &target]).fails();
}

/// The API as dockerd speaks it: `/auth`'s answers, `X-Registry-Auth`, the JSON progress
/// of a push (with its `aux`) and of a pull.
#[test]
fn api_streams_read_as_dockerd_s() {
    let reg = Registry::start(RegistryOptions {
        tls: None,
        user: Some(("bob", "hunter2")),
        token: None,
    });
    let d = daemon!();
    let host = reg.host();

    let bad = serde_json::json!({"username": "bob", "password": "nope", "serveraddress": host});
    let r = d.http_json("POST", "/auth", &bad);
    assert_eq!(r.status, 401, "{r:?}");
    assert_eq!(
        r.message(),
        format!("login attempt to http://{host}/v2/ failed with status: 401 Unauthorized")
    );
    let good = serde_json::json!({"username": "bob", "password": "hunter2", "serveraddress": host});
    let r = d.http_json("POST", "/auth", &good);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.json(),
        serde_json::json!({"Status": "Login Succeeded", "IdentityToken": ""})
    );

    let target = format!("{host}/api/bb");
    d.berth(&["tag", IMAGE, &format!("{target}:7")]).ok();
    let auth = berth_api::auth::AuthConfig {
        username: "bob".into(),
        password: "hunter2".into(),
        server_address: host.clone(),
        ..Default::default()
    }
    .encode();
    let push = format!("/images/{target}/push?tag=7");
    let r = d.http_with("POST", &push, &[("X-Registry-Auth", &auth)], None);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let lines = json_lines(&r.body);
    assert_eq!(
        lines[0]["status"],
        format!("The push refers to repository [{target}]")
    );
    let aux = lines
        .iter()
        .find_map(|l| l.get("aux"))
        .unwrap_or_else(|| panic!("no aux: {lines:?}"));
    assert_eq!(aux["Tag"], "7");
    let digest = aux["Digest"].as_str().unwrap().to_string();
    let size = aux["Size"].as_u64().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["status"] == format!("7: digest: {digest} size: {size}")),
        "{lines:?}"
    );

    // Without credentials the push fails in the stream, after its first line.
    let r = d.http("POST", &push);
    assert_eq!(r.status, 200, "{r:?}");
    let last = json_lines(&r.body).pop().unwrap();
    assert!(last["errorDetail"]["message"].is_string(), "{last}");
    assert_eq!(last["error"], last["errorDetail"]["message"]);

    // Pull by digest with the credentials: Docker's messages, in Docker's order.
    d.berth(&["rmi", "-f", IMAGE, &format!("{target}:7")]).ok();
    let pull = format!("/images/create?fromImage={target}&tag={digest}");
    let r = d.http_with("POST", &pull, &[("X-Registry-Auth", &auth)], None);
    assert_eq!(r.status, 200, "{r:?}");
    let lines = json_lines(&r.body);
    assert_eq!(
        lines[0],
        serde_json::json!({"status": "Pulling from api/bb", "id": digest})
    );
    let layer = lines
        .iter()
        .find(|l| l["status"] == "Pulling fs layer")
        .unwrap_or_else(|| panic!("no layer: {lines:?}"));
    assert_eq!(layer["progressDetail"], serde_json::json!({}));
    assert!(lines
        .iter()
        .any(|l| l["status"] == "Downloading" && l["progressDetail"]["total"].as_u64() > Some(0)));
    assert!(lines.iter().any(|l| l["status"] == "Pull complete"));
    let n = lines.len();
    assert_eq!(lines[n - 2]["status"], format!("Digest: {digest}"));
    assert_eq!(
        lines[n - 1]["status"],
        format!("Status: Downloaded newer image for {target}@{digest}")
    );

    // A repository that does not exist: an HTTP error, as dockerd answers before any output.
    let r = d.http_with(
        "POST",
        &format!("/images/create?fromImage={host}/api/none&tag=1"),
        &[("X-Registry-Auth", &auth)],
        None,
    );
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.message().contains("not found"), "{r:?}");
}

fn json_lines(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

#[test]
fn podman_loads_what_berth_saves_and_the_reverse() {
    let d = daemon!();
    let podman = Podman::new();
    let saved = d.root.join("for-podman.tar");
    d.berth(&["save", "-o", saved.to_str().unwrap(), IMAGE])
        .ok();
    let o = podman.run(&["load", "-i", saved.to_str().unwrap()]).ok();
    assert!(o.stdout.contains("busybox:latest"), "{o:?}");
    let ulimits = [
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
    ];
    let mut run = vec!["run", "--rm"];
    run.extend_from_slice(&ulimits);
    run.extend_from_slice(&["docker.io/library/busybox:latest", "echo", "in-podman"]);
    assert_eq!(podman.run(&run).ok().out(), "in-podman");

    podman
        .run(&[
            "tag",
            "docker.io/library/busybox:latest",
            "localhost/frompodman:2",
        ])
        .ok();
    for (format, file) in [
        ("docker-archive", "p-docker.tar"),
        ("oci-archive", "p-oci.tar"),
    ] {
        let path = d.root.join(file);
        podman
            .run(&[
                "save",
                "--format",
                format,
                "-o",
                path.to_str().unwrap(),
                "localhost/frompodman:2",
            ])
            .ok();
        d.berth(&["rmi", "-f", "localhost/frompodman:2"]);
        let o = d.berth(&["load", "-i", path.to_str().unwrap()]).ok();
        assert!(
            o.stdout.contains("Loaded image: localhost/frompodman:2"),
            "{format}: {o:?}"
        );
        let o = d
            .berth(&["run", "--rm", "localhost/frompodman:2", "echo", format])
            .ok();
        assert_eq!(o.out(), format);
    }
}

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

/// `--insecure-registry` and `insecure-registries`: a TLS registry whose CA the daemon
/// does not know is reached without verification when named; otherwise refused.
#[test]
fn insecure_registries_skip_verification_only_when_named() {
    let ca = TestCa::new();
    let reg = Registry::start(RegistryOptions {
        tls: Some(&ca),
        ..Default::default()
    });
    let host = reg.host();
    let target = format!("{host}/insecure/bb:1");
    let certs = tempfile::Builder::new()
        .prefix("bt-certsd-")
        .tempdir_in("/tmp")
        .unwrap();
    let certs_dir = certs.path().to_str().unwrap();

    let strict = daemon!("--certs-dir", certs_dir, "--verify-loopback-registries");
    strict.berth(&["tag", IMAGE, &target]).ok();
    let o = strict.berth(&["push", &target]).fails();
    assert!(o.stderr.to_lowercase().contains("certificate"), "{o:?}");
    drop(strict);

    let by_flag = daemon!(
        "--certs-dir",
        certs_dir,
        "--verify-loopback-registries",
        "--insecure-registry",
        &host
    );
    for cli in [Cli::Berth, Cli::Docker] {
        let o = by_flag.cli(cli, &["info"]).ok();
        assert!(
            o.stdout
                .contains(&format!(" Insecure Registries:\n  {host}\n")),
            "{o:?}"
        );
    }
    by_flag.berth(&["tag", IMAGE, &target]).ok();
    let o = by_flag.berth(&["push", &target]).ok();
    assert!(o.stdout.contains("1: digest: sha256:"), "{o:?}");
    drop(by_flag);

    let config = certs.path().join("daemon.json");
    std::fs::write(
        &config,
        serde_json::json!({"insecure-registries": [host], "certs-dir": certs_dir}).to_string(),
    )
    .unwrap();
    let by_file = daemon!(
        "--config-file",
        config.to_str().unwrap(),
        "--verify-loopback-registries"
    );
    let o = by_file.berth(&["pull", &target]).ok();
    assert!(o.stdout.contains("Status: Downloaded newer image"), "{o:?}");
    let o = by_file
        .berth(&["run", "--rm", &target, "echo", "insecure-ok"])
        .ok();
    assert_eq!(o.out(), "insecure-ok");
}

/// `--registry-mirror`: Docker Hub names are pulled from the mirror (no test can reach
/// Docker Hub itself).
#[test]
fn docker_hub_names_are_pulled_through_a_mirror() {
    let mirror = Registry::start(RegistryOptions::default());
    let d = daemon!("--registry-mirror", &format!("http://{}", mirror.host()));
    let upstream = format!("{}/library/busybox:mirrored", mirror.host());
    d.berth(&["tag", IMAGE, &upstream]).ok();
    d.berth(&["push", &upstream]).ok();
    remove_image(&d, Cli::Berth, &upstream);

    let o = d.docker(&["info"]).ok();
    assert!(
        o.stdout.contains(&format!(
            " Registry Mirrors:\n  http://{}/\n",
            mirror.host()
        )),
        "{o:?}"
    );
    let o = d.docker(&["pull", "busybox:mirrored"]).ok();
    assert!(
        o.stdout.contains("mirrored: Pulling from library/busybox"),
        "{o:?}"
    );
    assert!(
        o.stdout.contains("docker.io/library/busybox:mirrored"),
        "{o:?}"
    );
    let o = d
        .berth(&["run", "--rm", "busybox:mirrored", "echo", "from-mirror"])
        .ok();
    assert_eq!(o.out(), "from-mirror");
}

/// On a terminal both CLIs redraw each layer's line in place.
#[test]
fn progress_is_drawn_in_place_on_a_terminal() {
    let reg = Registry::start(RegistryOptions::default());
    let d = daemon!();
    let target = format!("{}/tty/bb:1", reg.host());
    d.berth(&["tag", IMAGE, &target]).ok();
    d.berth(&["push", &target]).ok();
    for cli in ["$BERTH", "$DOCKER"] {
        remove_image(&d, Cli::Berth, &target);
        let o = d.in_pty(&format!("{cli} pull {target}"), None).ok();
        // Cursor up, clear the line, the layer's status, back down.
        assert!(o.stdout.contains("\x1b[2K\r"), "{cli}: {o:?}");
        assert!(o.stdout.contains("\x1b[1A"), "{cli}: {o:?}");
        assert!(o.stdout.contains(": Pull complete"), "{cli}: {o:?}");
        assert!(
            o.stdout
                .contains(&format!("Status: Downloaded newer image for {target}")),
            "{cli}: {o:?}"
        );
    }
}

/// A registry with `auth: token`: login gets a refresh token (stored as `identitytoken`,
/// no password kept), pushes and pulls get bearer tokens with it.
fn bearer_tokens_and_identity_tokens(cli: Cli) {
    let tokens = TokenServer::start("carol", "t0ken-pass");
    let reg = Registry::start(RegistryOptions {
        token: Some(&tokens),
        ..Default::default()
    });
    let d = daemon!();
    let host = reg.host();
    let target = format!("{host}/carol/bb:1");
    d.cli(cli, &["tag", IMAGE, &target]).ok();

    d.cli(cli, &["push", &target]).fails();
    let o = d
        .cli_in(
            cli,
            &["login", "-u", "carol", "--password-stdin", &host],
            b"wrong\n",
        )
        .fails();
    assert!(o.stderr.contains("incorrect username or password"), "{o:?}");

    let o = d
        .cli_in(
            cli,
            &["login", "-u", "carol", "--password-stdin", &host],
            b"t0ken-pass\n",
        )
        .ok();
    assert!(o.stdout.contains("Login Succeeded"), "{o:?}");
    let entry = config_json(&d)["auths"][&host].clone();
    assert_eq!(entry["identitytoken"], "refresh-token-of-carol", "{entry}");
    // docker keeps `carol:` (no password) beside the token.
    let auth = entry["auth"].as_str().unwrap_or_default();
    assert!(
        !auth.is_empty() && auth != "Y2Fyb2w6dDBrZW4tcGFzcw==",
        "{entry}"
    );

    let o = d.cli(cli, &["push", &target]).ok();
    assert!(o.stdout.contains("1: digest: sha256:"), "{o:?}");
    remove_image(&d, cli, &target);
    d.cli(cli, &["pull", &target]).ok();
    let o = d.cli(cli, &["run", "--rm", &target, "echo", "bearer"]).ok();
    assert_eq!(o.out(), "bearer");
}

/// busybox plus `/big.bin`: `len` bytes that do not compress.
fn big_image_tar(len: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut a = tar::Archive::new(busybox_tar());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        b.append(&h, &mut e).unwrap();
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(len as u64);
    h.set_mtime(1_700_000_000);
    b.append_data(&mut h, "big.bin", &noise[..]).unwrap();
    b.into_inner().unwrap()
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

/// Pulls side by side of one image (by both CLIs) and of another sharing its layer all
/// finish, and the image runs.
#[test]
fn concurrent_pulls_of_shared_layers_all_succeed() {
    let reg = Registry::start(RegistryOptions::default());
    let d = daemon!();
    let first = format!("{}/big/conc:1", reg.host());
    let second = format!("{}/big/conc2:1", reg.host());
    d.berth_in(&["import", "-", &first], &big_image_tar(8 << 20))
        .ok();
    d.berth(&["tag", &first, &second]).ok();
    d.berth(&["push", &first]).ok();
    d.berth(&["push", &second]).ok();
    remove_image(&d, Cli::Berth, &first);
    let pulls = [
        d.cli_spawn(Cli::Berth, &["pull", &first]),
        d.cli_spawn(Cli::Docker, &["pull", &first]),
        d.cli_spawn(Cli::Docker, &["pull", &second]),
    ];
    for mut p in pulls {
        let status = p.wait_timeout(std::time::Duration::from_secs(90));
        assert!(
            status.is_some_and(|s| s.success()),
            "{status:?}\n{}\n{}",
            p.stdout(),
            p.stderr()
        );
    }
    for r in [&first, &second] {
        d.berth(&["run", "--rm", r, "true"]).ok();
    }
}
