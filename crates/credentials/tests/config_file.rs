//! `config.json` as the docker CLI writes it, and the credential-helper protocol against a
//! helper program the test writes (a shell script keeping one file per server).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use berth_credentials::{ConfigFile, Credential, Helper, DOCKER_HUB_KEY};

fn cred(u: &str, p: &str) -> Credential {
    Credential {
        username: u.into(),
        password: p.into(),
        identity_token: String::new(),
    }
}

#[test]
fn auths_round_trip_in_docker_s_format_keeping_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cfg/config.json");
    std::fs::create_dir(dir.path().join("cfg")).unwrap();
    std::fs::write(
        &path,
        r#"{"auths":{"http://old.example:5000/v1/":{"auth":"b2xkOnB3"}},"psFormat":"table {{.ID}}","proxies":{"default":{}}}"#,
    )
    .unwrap();
    let mut c = ConfigFile::load(&path).unwrap();
    // A key written with a scheme and path is found by host.
    assert_eq!(c.get("old.example:5000").unwrap(), Some(cred("old", "pw")));
    c.store("localhost:5000", &cred("bob", "pa:ss")).unwrap();
    c.store("", &cred("hubuser", "hubpw")).unwrap();
    c.store(
        "tok.example",
        &Credential {
            identity_token: "refresh-xyz".into(),
            ..Default::default()
        },
    )
    .unwrap();

    let raw: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        raw["auths"]["localhost:5000"]["auth"], "Ym9iOnBhOnNz",
        "base64 of bob:pa:ss"
    );
    assert!(raw["auths"][DOCKER_HUB_KEY]["auth"].is_string());
    assert_eq!(raw["auths"]["tok.example"]["identitytoken"], "refresh-xyz");
    assert_eq!(raw["psFormat"], "table {{.ID}}", "unknown keys are kept");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let c = ConfigFile::load(&path).unwrap();
    assert_eq!(
        c.get("http://localhost:5000").unwrap(),
        Some(cred("bob", "pa:ss"))
    );
    assert_eq!(c.get("docker.io").unwrap(), Some(cred("hubuser", "hubpw")));
    assert_eq!(
        c.get("tok.example").unwrap().unwrap().identity_token,
        "refresh-xyz"
    );
    assert_eq!(c.get("nobody.example").unwrap(), None);

    let mut c = c;
    assert!(c.erase("localhost:5000").unwrap());
    assert!(!c.erase("localhost:5000").unwrap());
    assert_eq!(
        ConfigFile::load(&path)
            .unwrap()
            .get("localhost:5000")
            .unwrap(),
        None
    );
}

#[test]
fn a_missing_or_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = ConfigFile::load(&dir.path().join("none.json")).unwrap();
    assert_eq!(c.get("x").unwrap(), None);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    let e = ConfigFile::load(&bad).unwrap_err();
    assert!(e.to_string().contains("invalid configuration file"), "{e}");
}

/// A `docker-credential-test` keeping `<store>/<server>` files with the stored JSON.
fn fake_helper(dir: &Path) -> std::path::PathBuf {
    let store = dir.join("store");
    std::fs::create_dir(&store).unwrap();
    let script = format!(
        r#"#!/bin/sh
store={store}
key() {{ printf '%s' "$1" | tr '/:' '__'; }}
case "$1" in
  store)
    json=$(cat)
    server=$(printf '%s' "$json" | sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p')
    printf '%s' "$json" > "$store/$(key "$server")" ;;
  get)
    server=$(cat)
    f="$store/$(key "$server")"
    if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase)
    server=$(cat)
    f="$store/$(key "$server")"
    if [ -f "$f" ]; then rm "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
  list)
    printf '{{'
    sep=''
    for f in "$store"/*; do
      [ -f "$f" ] || continue
      s=$(sed -n 's/.*"ServerURL":"\([^"]*\)".*/\1/p' "$f")
      u=$(sed -n 's/.*"Username":"\([^"]*\)".*/\1/p' "$f")
      printf '%s"%s":"%s"' "$sep" "$s" "$u"; sep=','
    done
    printf '}}' ;;
  *) echo "unknown action $1" >&2; exit 2 ;;
esac
"#,
        store = store.display()
    );
    let p = dir.join("docker-credential-test");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn creds_store_and_cred_helpers_go_through_the_helper_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let program = fake_helper(dir.path());
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        r#"{"credsStore":"test","credHelpers":{"special.example":"missing"}}"#,
    )
    .unwrap();
    let mut c = ConfigFile::load(&path).unwrap().with_helper_dir(dir.path());
    c.store("localhost:5000", &cred("carol", "hunter2"))
        .unwrap();
    c.store(
        "https://index.docker.io/v1/",
        &Credential {
            identity_token: "idtok".into(),
            ..Default::default()
        },
    )
    .unwrap();

    // The secret went to the helper; the file only names the registry.
    let raw = std::fs::read_to_string(&path).unwrap();
    assert!(!raw.contains("hunter2"), "{raw}");
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["auths"]["localhost:5000"], serde_json::json!({}));
    let stored = std::fs::read_to_string(dir.path().join("store/localhost_5000")).unwrap();
    assert!(stored.contains(r#""Secret":"hunter2""#), "{stored}");

    let c = ConfigFile::load(&path).unwrap().with_helper_dir(dir.path());
    assert_eq!(
        c.get("localhost:5000").unwrap(),
        Some(cred("carol", "hunter2"))
    );
    assert_eq!(c.get("docker.io").unwrap().unwrap().identity_token, "idtok");
    assert_eq!(c.get("other.example").unwrap(), None);

    let helper = Helper::at(&program);
    let listed = helper.list().unwrap();
    assert_eq!(
        listed.get("localhost:5000").map(String::as_str),
        Some("carol")
    );
    assert_eq!(
        listed.get(DOCKER_HUB_KEY).map(String::as_str),
        Some("<token>")
    );

    // credHelpers wins over credsStore: that helper does not exist, and says so.
    let e = c.get("special.example").unwrap_err();
    assert!(e.to_string().contains("docker-credential-missing"), "{e}");

    let mut c = c;
    assert!(c.erase("localhost:5000").unwrap());
    assert_eq!(c.get("localhost:5000").unwrap(), None);
    assert!(!dir.path().join("store/localhost_5000").exists());
}
