//! The Engine API over the real socket: ping, version negotiation, errors.

use berth_e2e::{daemon, demux, IMAGE};
use serde_json::json;

#[test]
fn ping_get_and_head() {
    let d = daemon!();
    let r = d.http("GET", "/_ping");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.text(), "OK");
    assert!(r.header("Api-Version").is_some(), "no Api-Version: {r:?}");
    assert_eq!(r.header("Ostype"), Some("linux"), "{r:?}");

    let r = d.http("HEAD", "/_ping");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.is_empty());
    assert!(
        r.header("Api-Version").is_some(),
        "no Api-Version on HEAD: {r:?}"
    );
    assert_eq!(r.header("Ostype"), Some("linux"), "{r:?}");

    let r = d.http("GET", "/v1.47/_ping");
    assert_eq!(r.status, 200, "{r:?}");
}

#[test]
fn version_and_info() {
    let d = daemon!();
    let v = d.http("GET", "/version");
    assert_eq!(v.status, 200, "{v:?}");
    let v = v.json();
    assert_eq!(v["Os"], "linux");
    assert!(
        v["ApiVersion"]
            .as_str()
            .is_some_and(|s| s.starts_with("1.")),
        "{v}"
    );
    assert!(v["MinAPIVersion"].as_str().is_some(), "{v}");
    assert!(v["Version"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert!(
        v["KernelVersion"].as_str().is_some_and(|s| !s.is_empty()),
        "{v}"
    );

    let i = d.http("GET", "/info");
    assert_eq!(i.status, 200, "{i:?}");
    let i = i.json();
    assert!(
        i["Images"].as_u64().unwrap_or(0) >= 1,
        "busybox was imported: {i}"
    );
    assert_eq!(i["Containers"].as_u64(), Some(0), "{i}");
    assert_eq!(i["OSType"], "linux", "{i}");
    assert!(i["NCPU"].as_u64().unwrap_or(0) >= 1, "{i}");
    assert!(i["MemTotal"].as_u64().unwrap_or(0) > 0, "{i}");
    assert!(i["ID"].as_str().is_some(), "{i}");
}

#[test]
fn versioned_paths() {
    let d = daemon!();
    for p in [
        "/v1.47/version",
        "/v1.24/version",
        "/v1.41/containers/json?all=1",
    ] {
        let r = d.http("GET", p);
        assert_eq!(r.status, 200, "{p}: {r:?}");
    }
    let r = d.http("GET", "/v1.99/version");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.message().contains("too new"), "{r:?}");
    let r = d.http("GET", "/v1.12/version");
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.message().contains("too old"), "{r:?}");
}

#[test]
fn error_statuses_and_messages() {
    let d = daemon!();
    let r = d.http("GET", "/containers/x/json");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.message(), "No such container: x");
    assert!(
        r.header("Content-Type").is_some_and(|c| c.contains("json")),
        "{r:?}"
    );

    let r = d.http("GET", "/v1.47/images/nosuch:1/json");
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.message().contains("No such image"), "{r:?}");

    let r = d.http("POST", "/containers/x/start");
    assert_eq!(r.status, 404, "{r:?}");

    // Name conflict.
    let body = json!({"Image": IMAGE, "Cmd": ["true"]});
    let r = d.http_json("POST", "/containers/create?name=twin", &body);
    assert_eq!(r.status, 201, "{r:?}");
    let first = r.json()["Id"].as_str().unwrap().to_string();
    let r = d.http_json("POST", "/containers/create?name=twin", &body);
    assert_eq!(r.status, 409, "{r:?}");
    let m = r.message();
    assert!(
        m.contains("Conflict") && m.contains("/twin") && m.contains(&first),
        "{m}"
    );

    // Bad parameter.
    let bad = json!({"Image": IMAGE, "Cmd": ["true"], "HostConfig": {"RestartPolicy": {"Name": "bogus"}}});
    let r = d.http_json("POST", "/containers/create", &bad);
    assert_eq!(r.status, 400, "{r:?}");
    assert!(r.message().contains("restart policy"), "{r:?}");

    // Malformed JSON.
    let r = d.http_body("POST", "/containers/create", "application/json", b"{nope");
    assert_eq!(r.status, 400, "{r:?}");
    r.message();

    // Unknown image.
    let r = d.http_json("POST", "/containers/create", &json!({"Image": "nosuch:1"}));
    assert_eq!(r.status, 404, "{r:?}");
    assert!(r.message().contains("No such image"), "{r:?}");

    // Unknown endpoint.
    let r = d.http("GET", "/v1.47/nosuch/endpoint");
    assert_eq!(r.status, 404, "{r:?}");
    r.message();

    // Removing a running container without force.
    let r = d.http_json(
        "POST",
        "/containers/create",
        &json!({"Image": IMAGE, "Cmd": ["sleep", "300"]}),
    );
    let id = r.json()["Id"].as_str().unwrap().to_string();
    assert_eq!(
        d.http("POST", &format!("/containers/{id}/start")).status,
        204
    );
    let r = d.http("DELETE", &format!("/containers/{id}"));
    assert_eq!(r.status, 409, "{r:?}");
    r.message();
    // Starting it again: 304.
    let r = d.http("POST", &format!("/containers/{id}/start"));
    assert_eq!(r.status, 304, "{r:?}");
    let r = d.http("DELETE", &format!("/containers/{id}?force=1"));
    assert_eq!(r.status, 204, "{r:?}");
    assert_eq!(d.http("GET", &format!("/containers/{id}/json")).status, 404);
}

#[test]
fn unnamed_containers_get_unique_names() {
    let d = daemon!();
    let mut names = std::collections::BTreeSet::new();
    for i in 0..60 {
        let r = d.http_json(
            "POST",
            "/containers/create",
            &json!({"Image": IMAGE, "Cmd": ["true"]}),
        );
        assert_eq!(r.status, 201, "container #{i}: {r:?}");
        let id = r.json()["Id"].as_str().unwrap().to_string();
        let name = d.inspect(&id)["Name"].as_str().unwrap().to_string();
        assert!(names.insert(name.clone()), "name {name} given twice");
    }
}

#[test]
fn create_start_wait_logs_over_api() {
    let d = daemon!();
    let r = d.http_json(
        "POST",
        "/v1.47/containers/create",
        &json!({"Image": IMAGE, "Cmd": ["sh", "-c", "echo to-out; echo to-err >&2; exit 3"]}),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let id = r.json()["Id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64);
    let r = d.http("POST", &format!("/v1.47/containers/{id}/start"));
    assert_eq!(r.status, 204, "{r:?}");
    let r = d.http("POST", &format!("/v1.47/containers/{id}/wait"));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["StatusCode"], 3, "{r:?}");
    let r = d.http("GET", &format!("/containers/{id}/logs?stdout=1&stderr=1"));
    assert_eq!(r.status, 200, "{r:?}");
    let (o, e) = demux(&r.body);
    assert_eq!(String::from_utf8_lossy(&o), "to-out\n");
    assert_eq!(String::from_utf8_lossy(&e), "to-err\n");
    let r = d.http("GET", &format!("/containers/{id}/logs?stdout=1"));
    let (o, e) = demux(&r.body);
    assert_eq!(String::from_utf8_lossy(&o), "to-out\n");
    assert!(e.is_empty());

    let list = d.http("GET", "/containers/json?all=1").json();
    let arr = list.as_array().unwrap();
    assert_eq!(arr.len(), 1, "{list}");
    assert_eq!(arr[0]["Id"], id.as_str());
    assert_eq!(arr[0]["State"], "exited");
    let running = d.http("GET", "/containers/json").json();
    assert_eq!(running.as_array().unwrap().len(), 0, "{running}");
}
