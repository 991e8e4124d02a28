//! Authentication and TLS against Debian's `docker-registry`: a CA and client
//! certificates from `certs.d`, insecure registries (no verification, then plain HTTP),
//! htpasswd Basic auth, and Bearer tokens from a token server the test runs.

mod common;

use std::path::Path;
use std::sync::Arc;

use berth_image::registry::{
    self, Credentials, PullOptions, PushOptions, Registry, RegistryConfig, RegistryError,
};
use berth_image::Reference;
use common::token::{self, TokenServer};
use common::*;

fn r(s: &str) -> Reference {
    Reference::parse(s).unwrap()
}

fn client(certs: &Path, insecure_loopback: bool, insecure: &[String]) -> Registry {
    Registry::new(RegistryConfig {
        certs_dirs: vec![certs.to_path_buf()],
        insecure_loopback,
        insecure_registries: insecure.to_vec(),
        ..RegistryConfig::default()
    })
    .unwrap()
}

/// A store holding a small image tagged `<host>/<repo>:1`.
fn image_store(host: &str, repo: &str) -> TestStore {
    let st = TestStore::new();
    make_image(
        &st.store,
        &[layer_tar(&[("hello.txt", b"hello from the registry\n")])],
        &format!("{host}/{repo}:1"),
    );
    st
}

fn push(
    st: &TestStore,
    c: &Registry,
    reference: &str,
    creds: Option<Credentials>,
) -> Result<registry::Pushed, RegistryError> {
    rt().block_on(registry::push(
        st.store.clone(),
        c,
        &r(reference),
        &PushOptions { credentials: creds },
        Arc::new(registry::NoProgress),
    ))
}

fn pull(
    c: &Registry,
    reference: &str,
    creds: Option<Credentials>,
) -> Result<(TestStore, registry::Pulled), RegistryError> {
    let st = TestStore::new();
    let p = rt().block_on(registry::pull(
        st.store.clone(),
        c,
        &r(reference),
        &PullOptions {
            credentials: creds,
            platform: None,
        },
        Arc::new(registry::NoProgress),
    ))?;
    Ok((st, p))
}

fn assert_hello(st: &TestStore, p: &registry::Pulled) {
    assert_eq!(
        read_image_file(&st.store, &p.id, "hello.txt").unwrap(),
        b"hello from the registry\n"
    );
}

#[test]
fn tls_verified_with_the_certs_d_ca_and_a_client_certificate() {
    require_root();
    let certs = Certs::new();
    let (cert, key) = certs.issue("registry", false);
    let reg = DockerRegistry::start(RegistryOpts {
        tls: Some((cert, key, Some(certs.dir.path().join("ca.pem")))),
        ..Default::default()
    });
    let st = image_store(&reg.host(), "tls/app");
    let reference = format!("{}/tls/app:1", reg.host());
    let certs_d = tempfile::Builder::new()
        .prefix("bt-certsd-")
        .tempdir()
        .unwrap();

    // The registry's CA is unknown: the certificate is refused.
    let e = push(&st, &client(certs_d.path(), false, &[]), &reference, None).unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");

    // The CA in certs.d: the server is trusted, but it wants a client certificate.
    let dir = certs_d.path().join(reg.host());
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("ca.crt"), &certs.ca_pem).unwrap();
    push(&st, &client(certs_d.path(), false, &[]), &reference, None)
        .expect_err("the registry demands a client certificate");

    // And a client certificate beside it: push and pull work.
    let (ccert, ckey) = certs.issue("client", true);
    std::fs::copy(ccert, dir.join("client.cert")).unwrap();
    std::fs::copy(ckey, dir.join("client.key")).unwrap();
    let c = client(certs_d.path(), false, &[]);
    push(&st, &c, &reference, None).unwrap_or_else(|e| panic!("{e}\n{}", reg.log()));
    let (dst, p) = pull(&c, &reference, None).unwrap();
    assert_hello(&dst, &p);
}

#[test]
fn insecure_registries_skip_verification_then_fall_back_to_http() {
    require_root();
    let certs = Certs::new();
    let (cert, key) = certs.issue("registry", false);
    let tls_reg = DockerRegistry::start(RegistryOpts {
        tls: Some((cert, key, None)),
        ..Default::default()
    });
    let nowhere = tempfile::tempdir().unwrap();
    // 127.0.0.0/8 is insecure by default: an unknown CA is accepted.
    let st = image_store(&tls_reg.host(), "ins/app");
    push(
        &st,
        &client(nowhere.path(), true, &[]),
        &format!("{}/ins/app:1", tls_reg.host()),
        None,
    )
    .unwrap();

    // Plain HTTP: refused when the registry is not insecure...
    let http_reg = DockerRegistry::start(RegistryOpts::default());
    let reference = format!("{}/plain/app:1", http_reg.host());
    let st = image_store(&http_reg.host(), "plain/app");
    let e = push(&st, &client(nowhere.path(), false, &[]), &reference, None).unwrap_err();
    assert!(
        e.to_string()
            .contains("server gave HTTP response to HTTPS client")
            || e.to_string().to_lowercase().contains("tls"),
        "{e}"
    );
    // ...and used once it is listed (host:port), as with --insecure-registry.
    let c = client(nowhere.path(), false, &[http_reg.host()]);
    push(&st, &c, &reference, None).unwrap();
    let (dst, p) = pull(&c, &reference, None).unwrap();
    assert_hello(&dst, &p);
    // A CIDR entry works as well.
    let c = client(nowhere.path(), false, &["127.0.0.0/8".to_string()]);
    pull(&c, &reference, None).unwrap();
}

#[test]
fn basic_auth_with_htpasswd() {
    require_root();
    let dir = tempfile::Builder::new()
        .prefix("bt-htpasswd-")
        .tempdir()
        .unwrap();
    let hash = bcrypt::hash_with_result("hunter2", 4)
        .unwrap()
        .format_for_version(bcrypt::Version::TwoY);
    let htpasswd = dir.path().join("htpasswd");
    std::fs::write(&htpasswd, format!("bob:{hash}\n")).unwrap();
    let reg = DockerRegistry::start(RegistryOpts {
        htpasswd: Some(htpasswd),
        ..Default::default()
    });
    let c = client(dir.path(), true, &[]);
    let reference = format!("{}/basic/app:1", reg.host());
    let st = image_store(&reg.host(), "basic/app");
    let good = Credentials::basic("bob", "hunter2");

    let rt = rt();
    let e = rt
        .block_on(c.login(&reg.host(), &Credentials::basic("bob", "wrong")))
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    assert!(e.to_string().contains("401 Unauthorized"), "{e}");
    let ok = rt
        .block_on(c.login(&format!("http://{}/", reg.host()), &good))
        .unwrap();
    assert_eq!(ok.identity_token, None);

    let e = push(&st, &c, &reference, None).unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    push(&st, &c, &reference, Some(good.clone())).unwrap();
    let e = pull(&c, &reference, None).unwrap_err();
    assert!(e.to_string().starts_with("pull access denied for"), "{e}");
    let (dst, p) = pull(&c, &reference, Some(good)).unwrap();
    assert_hello(&dst, &p);
}

#[test]
fn bearer_tokens_from_the_token_server() {
    require_root();
    let ts = TokenServer::start();
    let reg = DockerRegistry::start(RegistryOpts {
        token: Some((
            ts.realm(),
            token::SERVICE.to_string(),
            token::ISSUER.to_string(),
            ts.bundle_path(),
        )),
        ..Default::default()
    });
    let nowhere = tempfile::tempdir().unwrap();
    let c = client(nowhere.path(), true, &[]);
    let reference = format!("{}/tok/app:1", reg.host());
    let st = image_store(&reg.host(), "tok/app");
    let alice = Credentials::basic(token::USER, token::PASSWORD);
    let rt = rt();

    // Login: a wrong password is refused by the token server; the right one yields a
    // refresh token (the API's IdentityToken).
    let e = rt
        .block_on(c.login(&reg.host(), &Credentials::basic(token::USER, "nope")))
        .unwrap_err();
    assert!(e.is_unauthorized(), "{e}");
    let login = rt.block_on(c.login(&reg.host(), &alice)).unwrap();
    let identity = login.identity_token.expect("a refresh token");

    push(&st, &c, &reference, Some(alice.clone())).unwrap_or_else(|e| panic!("{e}\n{}", reg.log()));
    assert!(ts.count("repository:tok/app:pull,push") >= 1);

    // Anonymous: the token grants nothing, the registry refuses.
    let e = pull(&c, &reference, None).unwrap_err();
    assert!(e.to_string().starts_with("pull access denied for"), "{e}");

    // With the identity token alone (the refresh-token grant): one token for the pull's
    // scope, reused by every request of the pull and by the next pull.
    let scope = "repository:tok/app:pull";
    let by_refresh = Credentials {
        identity_token: identity,
        ..Default::default()
    };
    let before = ts.count(scope);
    let (dst, p) = pull(&c, &reference, Some(by_refresh.clone())).unwrap();
    assert_hello(&dst, &p);
    assert_eq!(ts.count(scope), before + 1, "one token for the whole pull");
    pull(&c, &reference, Some(by_refresh)).unwrap();
    assert_eq!(ts.count(scope), before + 1, "the cached token is reused");

    // A token the registry refuses (as an expired one): the 401 makes the client ask for a
    // fresh one and go on.
    let fresh = client(nowhere.path(), true, &[]);
    ts.state
        .poison_next
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let before = ts.count(scope);
    let (dst, p) = pull(&fresh, &reference, Some(alice)).unwrap();
    assert_hello(&dst, &p);
    assert_eq!(
        ts.count(scope),
        before + 2,
        "the refused token was replaced once"
    );
}
