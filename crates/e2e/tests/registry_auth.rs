//! Registry authentication and transport through berth and the docker CLI: TLS with a CA
//! of the test's in the daemon's certs dir, htpasswd Basic auth with login and logout,
//! Bearer tokens from a token server of the test's (identity tokens), insecure registries,
//! Docker Hub names through a mirror.

use berth_e2e::registry::{config_json, remove_image, Registry, RegistryOptions, TestCa};
use berth_e2e::token::TokenServer;
use berth_e2e::{both_clis, daemon, Cli, TestDaemon, IMAGE};
both_clis!(
    tls_basic_auth_login_and_logout,
    bearer_tokens_and_identity_tokens,
);

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

/// Without `-u`/`-p`, both CLIs prompt on a terminal; without one they refuse.
#[test]
fn login_prompts_on_a_terminal() {
    let reg = Registry::start(RegistryOptions {
        user: Some(("dave", "pr0mpt-pass")),
        ..Default::default()
    });
    let d = daemon!();
    let host = reg.host();
    for cli in ["$BERTH", "$DOCKER"] {
        let o = d
            .in_pty(&format!("{cli} login {host}"), Some(b"dave\npr0mpt-pass\n"))
            .ok();
        assert!(o.stdout.contains("Username: "), "{cli}: {o:?}");
        assert!(o.stdout.contains("Password: "), "{cli}: {o:?}");
        assert!(o.stdout.contains("Login Succeeded"), "{cli}: {o:?}");
        assert!(config_json(&d)["auths"].get(&host).is_some(), "{cli}");
        d.in_pty(&format!("{cli} logout {host}"), None).ok();
    }
    for cli in [Cli::Berth, Cli::Docker] {
        let o = d.cli_in(cli, &["login", &host], b"").fails();
        assert!(
            o.stderr
                .contains("Cannot perform an interactive login from a non TTY device"),
            "{o:?}"
        );
    }
}
