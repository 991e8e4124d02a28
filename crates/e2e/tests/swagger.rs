//! Every endpoint berthd implements, in the states that matter, answers what Docker's Engine
//! API spec (`crates/api/spec/engine-api.swagger.yaml`) says: status, content type and every
//! JSON body, errors included (`ErrorResponse`). Each JSON answer is checked as it came and
//! again decoded and re-encoded through berth-api's types (what berthd sends once the engine
//! builds its answers from them). One daemon; all mismatches are listed at once.

use berth_api::{container, error, event, exec, image, progress, stats, system};
use berth_e2e::registry::{Registry, RegistryOptions};
use berth_e2e::swagger::Recorder;
use berth_e2e::{busybox_tar, daemon, HttpResponse, TestDaemon, IMAGE};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

/// Every route of `crates/daemon/src/routes/mod.rs`, as the spec names it.
const ROUTES: &[&str] = &[
    "GET /_ping",
    "HEAD /_ping",
    "GET /version",
    "GET /info",
    "GET /events",
    "GET /containers/json",
    "POST /containers/create",
    "POST /containers/prune",
    "GET /containers/{id}/json",
    "POST /containers/{id}/start",
    "POST /containers/{id}/stop",
    "POST /containers/{id}/restart",
    "POST /containers/{id}/kill",
    "POST /containers/{id}/pause",
    "POST /containers/{id}/unpause",
    "POST /containers/{id}/rename",
    "POST /containers/{id}/update",
    "POST /containers/{id}/wait",
    "POST /containers/{id}/resize",
    "POST /containers/{id}/attach",
    "GET /containers/{id}/logs",
    "GET /containers/{id}/top",
    "GET /containers/{id}/stats",
    "POST /containers/{id}/exec",
    "DELETE /containers/{id}",
    "POST /exec/{id}/start",
    "POST /exec/{id}/resize",
    "GET /exec/{id}/json",
    "GET /images/json",
    "POST /images/create",
    "GET /images/{name}/json",
    "GET /images/{name}/history",
    "POST /images/{name}/tag",
    "DELETE /images/{name}",
    "POST /images/{name}/push",
    "GET /images/{name}/get",
    "GET /images/get",
    "POST /images/load",
    "POST /auth",
];

/// The paths `crates/daemon/src/routes/mod.rs` routes, so a new route cannot be missed here.
fn daemon_routes() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../daemon/src/routes/mod.rs");
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let start = src
        .find("Router::new()")
        .expect("no Router::new() in routes/mod.rs");
    let end = src[start..]
        .find(".fallback(")
        .expect("no .fallback( in routes/mod.rs")
        + start;
    src[start..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|lit| lit.starts_with('/'))
        .map(String::from)
        .collect()
}

/// One JSON value decoded as berth-api's type and encoded again: what berthd sends once its
/// answers are built from these types.
fn through<T: DeserializeOwned + Serialize>(v: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(v.clone()).map_err(|e| format!("decoding: {e}"))?;
    serde_json::to_value(typed).map_err(|e| format!("encoding: {e}"))
}

/// The berth-api type of each JSON answer (`None`: no type for it).
fn via_api(method: &str, template: &str, status: u16, v: &Value) -> Option<Result<Value, String>> {
    if status >= 400 {
        return Some(through::<error::ErrorResponse>(v));
    }
    Some(match (method, template) {
        ("GET", "/version") => through::<system::Version>(v),
        ("GET", "/info") => through::<system::Info>(v),
        ("GET", "/events") => through::<event::EventMessage>(v),
        ("GET", "/containers/json") => through::<Vec<container::ContainerSummary>>(v),
        ("POST", "/containers/create") => through::<container::ContainerCreateResponse>(v),
        ("POST", "/containers/prune") => through::<container::ContainerPruneResponse>(v),
        ("POST", "/containers/{id}/update") => through::<container::ContainerUpdateResponse>(v),
        ("GET", "/containers/{id}/json") => through::<container::ContainerInspect>(v),
        ("POST", "/containers/{id}/wait") => through::<container::WaitResponse>(v),
        ("GET", "/containers/{id}/top") => through::<container::TopResponse>(v),
        ("GET", "/containers/{id}/stats") => through::<stats::StatsResponse>(v),
        ("POST", "/containers/{id}/exec") => through::<exec::IdResponse>(v),
        ("GET", "/exec/{id}/json") => through::<exec::ExecInspect>(v),
        ("GET", "/images/json") => through::<Vec<image::ImageSummary>>(v),
        ("GET", "/images/{name}/json") => through::<image::ImageInspect>(v),
        ("GET", "/images/{name}/history") => through::<Vec<image::HistoryItem>>(v),
        ("DELETE", "/images/{name}") => through::<Vec<image::ImageDeleteItem>>(v),
        ("POST", "/images/create") => through::<progress::ProgressMessage>(v),
        _ => return None,
    })
}

/// The daemon and the spec's checks of its answers.
struct Api {
    d: TestDaemon,
    rec: Recorder,
}

impl Api {
    /// `method path` (`template` as the spec names it), expecting `status`.
    fn call(
        &mut self,
        what: &str,
        method: &str,
        template: &str,
        path: &str,
        status: u16,
    ) -> HttpResponse {
        let r = self.d.http(method, path);
        self.check(what, method, template, status, &r);
        r
    }

    /// Checks the answer as it came, and again re-encoded through berth-api's types.
    fn check(&mut self, what: &str, method: &str, template: &str, status: u16, r: &HttpResponse) {
        self.rec.check(what, method, template, status, r);
        let json = r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"));
        if r.status != status || !json {
            return;
        }
        let stream = serde_json::Deserializer::from_slice(&r.body).into_iter::<Value>();
        let mut values = Vec::new();
        for v in stream.map_while(Result::ok) {
            match via_api(method, template, r.status, &v) {
                Some(Ok(v)) => values.push(v),
                Some(Err(e)) => {
                    let endpoint = format!("{method} {template} -> {} ({what})", r.status);
                    return self
                        .rec
                        .add(&endpoint, "", format!("berth-api cannot read it: {e}"));
                }
                None => return,
            }
        }
        let what = format!("{what} via berth-api");
        if template == "/images/create" {
            return; // documented without a schema: decoding it was the check
        }
        self.rec
            .check_values(&what, method, template, r.status, &values);
    }

    fn call_json(
        &mut self,
        what: &str,
        method: &str,
        template: &str,
        path: &str,
        body: &Value,
        status: u16,
    ) -> HttpResponse {
        let r = self.d.http_json(method, path, body);
        self.check(what, method, template, status, &r);
        r
    }

    /// Creates a container; its id.
    #[track_caller]
    fn create(&mut self, what: &str, name: &str, body: Value) -> String {
        let path = format!("/containers/create?name={name}");
        let r = self.call_json(what, "POST", "/containers/create", &path, &body, 201);
        let id = r.json()["Id"].as_str().map(String::from);
        id.unwrap_or_else(|| panic!("creating {name}: {r:?}"))
    }

    #[track_caller]
    fn start(&mut self, what: &str, id: &str) {
        let r = self.call(
            what,
            "POST",
            "/containers/{id}/start",
            &format!("/containers/{id}/start"),
            204,
        );
        assert_eq!(r.status, 204, "starting {id}: {r:?}");
    }
}

fn sleeper() -> Value {
    json!({"Image": IMAGE, "Cmd": ["sleep", "300"]})
}

#[test]
fn every_endpoint_answers_as_the_spec_says() {
    let mut api = Api {
        d: daemon!(),
        rec: Recorder::new(),
    };
    system(&mut api);
    images(&mut api);
    distribution(&mut api);
    containers(&mut api);
    exec(&mut api);
    teardown(&mut api);
    let routed = daemon_routes();
    assert!(routed.len() >= 20, "routes of mod.rs: {routed:?}");
    for path in &routed {
        // `/images/{*rest}` dispatches to the spec's `/images/{name}/...` operations.
        let path = path.replace("{*rest}", "{name}");
        let listed = ROUTES
            .iter()
            .any(|r| r.split_once(' ').is_some_and(|(_, p)| p.starts_with(&path)));
        assert!(listed, "{path} is routed by berthd but not in ROUTES");
    }
    let missing: Vec<&&str> = ROUTES
        .iter()
        .filter(|r| !api.rec.operations.contains(**r))
        .collect();
    assert!(missing.is_empty(), "routes never exercised: {missing:?}");
    api.rec.assert_clean(150);
}

fn system(api: &mut Api) {
    api.call("ping", "GET", "/_ping", "/_ping", 200);
    api.call("ping", "HEAD", "/_ping", "/_ping", 200);
    api.call("version", "GET", "/version", "/version", 200);
    api.call("versioned path", "GET", "/version", "/v1.47/version", 200);
    api.call("info", "GET", "/info", "/info", 200);
    let bad = "/events?filters=%7Bnope";
    api.call("bad filters", "GET", "/events", bad, 400);
}

fn images(api: &mut Api) {
    api.call("list", "GET", "/images/json", "/images/json", 200);
    api.call("list all", "GET", "/images/json", "/images/json?all=1", 200);
    let inspect = "/images/{name}/json";
    api.call(
        "busybox",
        "GET",
        inspect,
        &format!("/images/{IMAGE}/json"),
        200,
    );
    api.call(
        "no such image",
        "GET",
        inspect,
        "/images/nosuch:1/json",
        404,
    );
    let history = "/images/{name}/history";
    api.call(
        "busybox",
        "GET",
        history,
        &format!("/images/{IMAGE}/history"),
        200,
    );
    api.call(
        "no such image",
        "GET",
        history,
        "/images/nosuch:1/history",
        404,
    );

    let tag = "/images/{name}/tag";
    let path = format!("/images/{IMAGE}/tag?repo=swagger&tag=1");
    api.call("tag", "POST", tag, &path, 201);
    api.call(
        "no such image",
        "POST",
        tag,
        "/images/nosuch:1/tag?repo=x&tag=1",
        404,
    );
    let path = format!("/images/{IMAGE}/tag?repo=Bad%20Name&tag=1");
    api.call("invalid name", "POST", tag, &path, 400);

    let r = api.d.http_body(
        "POST",
        "/images/create?fromSrc=-&repo=imported&tag=1",
        "application/x-tar",
        busybox_tar(),
    );
    api.check("import", "POST", "/images/create", 200, &r);
    // A registry nobody serves: the pull fails before any output, with dockerd's 500.
    let pull = "/images/create?fromImage=127.0.0.1:9/nosuch&tag=1";
    api.call("pull without registry", "POST", "/images/create", pull, 500);
    api.call(
        "neither source",
        "POST",
        "/images/create",
        "/images/create",
        400,
    );
    api.call("after import", "GET", "/images/json", "/images/json", 200);

    let remove = "/images/{name}";
    api.call("untag", "DELETE", remove, "/images/swagger:1", 200);
    api.call(
        "untag and delete",
        "DELETE",
        remove,
        "/images/imported:1",
        200,
    );
    api.call("no such image", "DELETE", remove, "/images/nosuch:1", 404);
}

/// Registries and archives: login, push, pull, save, load.
fn distribution(api: &mut Api) {
    let reg = Registry::start(RegistryOptions {
        user: Some(("sw", "sw-pass")),
        ..Default::default()
    });
    let host = reg.host();
    let auth = berth_api::auth::AuthConfig {
        username: "sw".into(),
        password: "sw-pass".into(),
        server_address: host.clone(),
        ..Default::default()
    };
    let login = |api: &mut Api, what: &str, a: &berth_api::auth::AuthConfig, status| {
        let body = serde_json::to_value(a).unwrap();
        api.call_json(what, "POST", "/auth", "/auth", &body, status);
    };
    login(api, "login", &auth, 200);
    let wrong = berth_api::auth::AuthConfig {
        password: "nope".into(),
        ..auth.clone()
    };
    login(api, "wrong password", &wrong, 401);

    let header = auth.encode();
    let headers = [("X-Registry-Auth", header.as_str())];
    let repo = format!("{host}/sw/bb");
    let tag = format!("/images/{IMAGE}/tag?repo={repo}&tag=1");
    api.call("for push", "POST", "/images/{name}/tag", &tag, 201);
    let push = "/images/{name}/push";
    let r = api.d.http_with(
        "POST",
        &format!("/images/{repo}/push?tag=1"),
        &headers,
        None,
    );
    api.check("push", "POST", push, 200, &r);
    let r = api
        .d
        .http_with("POST", "/images/nosuch:1/push?tag=1", &headers, None);
    api.check("no such image", "POST", push, 404, &r);
    let create = "/images/create";
    let pull = format!("/images/create?fromImage={repo}&tag=1");
    let r = api.d.http_with("POST", &pull, &headers, None);
    api.check("pull", "POST", create, 200, &r);

    let save = "/images/{name}/get";
    let r = api.call(
        "save one",
        "GET",
        save,
        &format!("/images/{IMAGE}/get"),
        200,
    );
    let saved = r.body.clone();
    api.call("no such image", "GET", save, "/images/nosuch:1/get", 404);
    let many = format!("/images/get?names={IMAGE}&names={repo}:1");
    api.call("save many", "GET", "/images/get", &many, 200);
    let load = "/images/load";
    let r = api
        .d
        .http_body("POST", "/images/load?quiet=1", "application/x-tar", &saved);
    api.check("load", "POST", load, 200, &r);
    let r = api
        .d
        .http_body("POST", "/images/load", "application/x-tar", &saved);
    api.check("load with progress", "POST", load, 200, &r);

    // busybox is named busybox:latest alone again (its repo digest goes with the last tag
    // of that repository), as the container cases expect.
    let untag = format!("/images/{repo}:1");
    api.call("untag", "DELETE", "/images/{name}", &untag, 200);
}

fn containers(api: &mut Api) {
    let created = api.create("created", "sw-created", sleeper());
    let running = api.create("for running", "sw-running", sleeper());
    api.start("running", &running);
    let paused = api.create("for paused", "sw-paused", sleeper());
    api.start("for paused", &paused);
    let path = format!("/containers/{paused}/pause");
    api.call("running", "POST", "/containers/{id}/pause", &path, 204);
    let exited = api.create(
        "for exited",
        "sw-exited",
        json!({"Image": IMAGE, "Cmd": ["sh", "-c", "echo out; echo err >&2; exit 3"]}),
    );
    api.start("for exited", &exited);
    let wait = "/containers/{id}/wait";
    let r = api.call(
        "exits 3",
        "POST",
        wait,
        &format!("/containers/{exited}/wait"),
        200,
    );
    assert_eq!(r.json()["StatusCode"], 3, "{r:?}");
    let tty = api.create(
        "tty",
        "sw-tty",
        json!({"Image": IMAGE, "Cmd": ["sh", "-c", "echo tty; sleep 300"], "Tty": true}),
    );
    api.start("tty", &tty);
    let rich = rich(api);
    let states = [
        ("rich", &rich),
        ("created", &created),
        ("running", &running),
        ("paused", &paused),
        ("exited", &exited),
        ("tty", &tty),
    ];

    create_errors(api);
    lists(api);
    for (state, id) in states {
        let inspect = "/containers/{id}/json";
        api.call(
            state,
            "GET",
            inspect,
            &format!("/containers/{id}/json"),
            200,
        );
        api.call(
            state,
            "GET",
            inspect,
            &format!("/containers/{id}/json?size=1"),
            200,
        );
    }
    api.call(
        "no such container",
        "GET",
        "/containers/{id}/json",
        "/containers/nosuch/json",
        404,
    );
    verbs(api, &created, &running, &paused, &exited, &tty);
}

/// A running container created by the docker CLI with many options, so that inspect and list
/// carry most of their fields (mounts, limits, health check, log options...).
fn rich(api: &mut Api) -> String {
    let bind = api.d.root.join("bind");
    std::fs::create_dir_all(&bind).expect("bind mount source");
    let volume = format!("{}:/data:ro", bind.display());
    let flags = [
        "--name",
        "sw-rich",
        "--memory",
        "64m",
        "--memory-reservation",
        "32m",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "--pids-limit",
        "50",
        "--ulimit",
        "nofile=1024:2048",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "MKNOD",
        "--env",
        "A=1",
        "--label",
        "l=v",
        "--workdir",
        "/tmp",
        "--user",
        "0:0",
        "--hostname",
        "rich",
        "--restart",
        "on-failure:2",
        "--health-cmd",
        "true",
        "--health-interval",
        "5s",
        "--health-retries",
        "2",
        "--tmpfs",
        "/run/x:size=1m",
        "--device",
        "/dev/null:/dev/xnull",
        "--security-opt",
        "no-new-privileges",
        "--dns",
        "127.0.0.1",
        "--dns-search",
        "example.test",
        "--add-host",
        "a:127.0.0.1",
        "--stop-signal",
        "SIGUSR1",
        "--stop-timeout",
        "5",
        "--expose",
        "80",
        "--log-opt",
        "max-size=1m",
        "--shm-size",
        "32m",
        "--group-add",
        "10",
        "--oom-score-adj",
        "100",
        "-v",
        &volume,
    ];
    let mut args = vec!["create"];
    args.extend(flags);
    args.extend([IMAGE, "sleep", "300"]);
    let id = api.d.docker(&args).ok().out();
    api.start("rich", &id);
    id
}

fn create_errors(api: &mut Api) {
    let create = "/containers/create";
    let conflict = "/containers/create?name=sw-created";
    api.call_json("name in use", "POST", create, conflict, &sleeper(), 409);
    let bad = json!({"Image": IMAGE, "HostConfig": {"RestartPolicy": {"Name": "bogus"}}});
    api.call_json("bad restart policy", "POST", create, create, &bad, 400);
    let r = api
        .d
        .http_body("POST", create, "application/json", b"{nope");
    api.check("malformed JSON", "POST", create, 400, &r);
    let nosuch = json!({"Image": "nosuch:1"});
    api.call_json("no such image", "POST", create, create, &nosuch, 404);
}

fn lists(api: &mut Api) {
    let list = "/containers/json";
    api.call("running", "GET", list, list, 200);
    api.call("all states", "GET", list, "/containers/json?all=1", 200);
    api.call(
        "with sizes",
        "GET",
        list,
        "/containers/json?all=1&size=1",
        200,
    );
    api.call(
        "bad filters",
        "GET",
        list,
        "/containers/json?filters=%7Bnope",
        400,
    );
    api.call("bad limit", "GET", list, "/containers/json?limit=x", 400);
}

fn verbs(api: &mut Api, created: &str, running: &str, paused: &str, exited: &str, tty: &str) {
    let update = "/containers/{id}/update";
    let limits = serde_json::json!({"Memory": 67108864, "MemorySwap": 134217728, "PidsLimit": 50});
    api.call_json(
        "running",
        "POST",
        update,
        &format!("/containers/{running}/update"),
        &limits,
        200,
    );
    api.call_json(
        "created",
        "POST",
        update,
        &format!("/containers/{created}/update"),
        &limits,
        200,
    );
    let bad = serde_json::json!({"Memory": 1024});
    api.call_json(
        "too little memory",
        "POST",
        update,
        &format!("/containers/{running}/update"),
        &bad,
        400,
    );
    api.call_json(
        "no such container",
        "POST",
        update,
        "/containers/nosuch/update",
        &limits,
        404,
    );
    // The log endpoints: raw streams, checked for their content type.
    let logs = "/containers/{id}/logs";
    let path = format!("/containers/{exited}/logs?stdout=1&stderr=1");
    api.call("multiplexed", "GET", logs, &path, 200);
    let path = format!("/containers/{tty}/logs?stdout=1");
    api.call("tty", "GET", logs, &path, 200);
    api.call(
        "no stream chosen",
        "GET",
        logs,
        &format!("/containers/{exited}/logs"),
        400,
    );
    api.call(
        "no such container",
        "GET",
        logs,
        "/containers/nosuch/logs?stdout=1",
        404,
    );
    let attach = "/containers/{id}/attach";
    let path = format!("/containers/{exited}/attach?logs=1&stdout=1&stderr=1");
    api.call("logs only", "POST", attach, &path, 200);
    api.call(
        "no such container",
        "POST",
        attach,
        "/containers/nosuch/attach?stream=1",
        404,
    );

    let top = "/containers/{id}/top";
    api.call(
        "running",
        "GET",
        top,
        &format!("/containers/{running}/top"),
        200,
    );
    api.call(
        "ps args",
        "GET",
        top,
        &format!("/containers/{running}/top?ps_args=-ef"),
        200,
    );
    api.call(
        "not running",
        "GET",
        top,
        &format!("/containers/{created}/top"),
        409,
    );
    api.call(
        "no such container",
        "GET",
        top,
        "/containers/nosuch/top",
        404,
    );

    let stats = "/containers/{id}/stats";
    for (state, id) in [("running", running), ("paused", paused), ("exited", exited)] {
        let path = format!("/containers/{id}/stats?stream=false");
        api.call(state, "GET", stats, &path, 200);
    }
    let path = format!("/containers/{running}/stats?stream=false&one-shot=true");
    api.call("one-shot", "GET", stats, &path, 200);
    api.call(
        "no such container",
        "GET",
        stats,
        "/containers/nosuch/stats?stream=false",
        404,
    );

    let wait = "/containers/{id}/wait";
    let path = format!("/containers/{exited}/wait?condition=not-running");
    api.call("not-running", "POST", wait, &path, 200);
    let path = format!("/containers/{exited}/wait?condition=bogus");
    api.call("bad condition", "POST", wait, &path, 400);
    api.call(
        "no such container",
        "POST",
        wait,
        "/containers/nosuch/wait",
        404,
    );

    let resize = "/containers/{id}/resize";
    api.call(
        "tty",
        "POST",
        resize,
        &format!("/containers/{tty}/resize?h=20&w=80"),
        200,
    );
    let path = format!("/containers/{created}/resize?h=20&w=80");
    api.call("not running", "POST", resize, &path, 409);
    api.call(
        "no such container",
        "POST",
        resize,
        "/containers/nosuch/resize?h=1&w=1",
        404,
    );

    state_changes(api, created, running, paused, exited);
}

fn state_changes(api: &mut Api, created: &str, running: &str, paused: &str, exited: &str) {
    let start = "/containers/{id}/start";
    api.call(
        "already running",
        "POST",
        start,
        &format!("/containers/{running}/start"),
        304,
    );
    api.call(
        "no such container",
        "POST",
        start,
        "/containers/nosuch/start",
        404,
    );

    let pause = "/containers/{id}/pause";
    api.call(
        "already paused",
        "POST",
        pause,
        &format!("/containers/{paused}/pause"),
        409,
    );
    api.call(
        "not running",
        "POST",
        pause,
        &format!("/containers/{created}/pause"),
        409,
    );
    api.call(
        "no such container",
        "POST",
        pause,
        "/containers/nosuch/pause",
        404,
    );
    let unpause = "/containers/{id}/unpause";
    api.call(
        "not paused",
        "POST",
        unpause,
        &format!("/containers/{running}/unpause"),
        409,
    );
    api.call(
        "paused",
        "POST",
        unpause,
        &format!("/containers/{paused}/unpause"),
        204,
    );
    api.call(
        "no such container",
        "POST",
        unpause,
        "/containers/nosuch/unpause",
        404,
    );

    let rename = "/containers/{id}/rename";
    let path = format!("/containers/{created}/rename?name=sw-renamed");
    api.call("free name", "POST", rename, &path, 204);
    let path = format!("/containers/{created}/rename?name=sw-running");
    api.call("name in use", "POST", rename, &path, 409);
    api.call(
        "no such container",
        "POST",
        rename,
        "/containers/nosuch/rename?name=sw-x",
        404,
    );
    // dockerd looks the container up before it checks the new name.
    api.call(
        "no such container, bad new name",
        "POST",
        rename,
        "/containers/nosuch/rename?name=bad%2Fname",
        404,
    );
    let path = format!("/containers/{created}/rename?name=bad%2Fname");
    api.call("bad new name", "POST", rename, &path, 400);

    let kill = "/containers/{id}/kill";
    let path = format!("/containers/{paused}/kill?signal=BOGUS");
    api.call("bad signal", "POST", kill, &path, 400);
    api.call(
        "running",
        "POST",
        kill,
        &format!("/containers/{paused}/kill"),
        204,
    );
    api.call(
        "not running",
        "POST",
        kill,
        &format!("/containers/{created}/kill"),
        409,
    );
    api.call(
        "no such container",
        "POST",
        kill,
        "/containers/nosuch/kill",
        404,
    );

    let restart = "/containers/{id}/restart";
    api.call(
        "exited",
        "POST",
        restart,
        &format!("/containers/{exited}/restart?t=1"),
        204,
    );
    api.call(
        "no such container",
        "POST",
        restart,
        "/containers/nosuch/restart",
        404,
    );

    let stop = "/containers/{id}/stop";
    api.call(
        "running",
        "POST",
        stop,
        &format!("/containers/{running}/stop?t=1"),
        204,
    );
    api.call(
        "already stopped",
        "POST",
        stop,
        &format!("/containers/{running}/stop"),
        304,
    );
    api.call(
        "no such container",
        "POST",
        stop,
        "/containers/nosuch/stop",
        404,
    );
    // Exited by signal, stopped: inspect and list again.
    api.call(
        "stopped",
        "GET",
        "/containers/{id}/json",
        &format!("/containers/{running}/json"),
        200,
    );
    api.call(
        "after changes",
        "GET",
        "/containers/json",
        "/containers/json?all=1",
        200,
    );
}

fn exec(api: &mut Api) {
    let box_ = api.create("for exec", "sw-exec", sleeper());
    let create = "/containers/{id}/exec";
    let path = format!("/containers/{box_}/exec");
    let body =
        json!({"Cmd": ["sh", "-c", "echo hi; exit 2"], "AttachStdout": true, "AttachStderr": true});
    api.call_json("not running", "POST", create, &path, &body, 409);
    api.start("for exec", &box_);
    let r = api.call_json("running", "POST", create, &path, &body, 201);
    let exec_id = r.json()["Id"].as_str().unwrap_or_default().to_string();
    assert!(!exec_id.is_empty(), "{r:?}");
    let nosuch = "/containers/nosuch/exec";
    api.call_json("no such container", "POST", create, nosuch, &body, 404);

    let inspect = "/exec/{id}/json";
    api.call(
        "before start",
        "GET",
        inspect,
        &format!("/exec/{exec_id}/json"),
        200,
    );
    let start = "/exec/{id}/start";
    let path = format!("/exec/{exec_id}/start");
    api.call_json(
        "attached, no upgrade",
        "POST",
        start,
        &path,
        &json!({}),
        200,
    );
    api.call(
        "after exit",
        "GET",
        inspect,
        &format!("/exec/{exec_id}/json"),
        200,
    );
    api.call_json("already ran", "POST", start, &path, &json!({}), 409);
    api.call_json(
        "no such exec",
        "POST",
        start,
        "/exec/nosuch/start",
        &json!({}),
        404,
    );
    api.call("no such exec", "GET", inspect, "/exec/nosuch/json", 404);

    // A detached TTY exec, resized while it runs.
    let body = json!({"Cmd": ["sleep", "300"], "Tty": true});
    let r = api.call_json(
        "tty",
        "POST",
        create,
        &format!("/containers/{box_}/exec"),
        &body,
        201,
    );
    let tty_exec = r.json()["Id"].as_str().unwrap_or_default().to_string();
    let path = format!("/exec/{tty_exec}/start");
    api.call_json(
        "detached",
        "POST",
        start,
        &path,
        &json!({"Detach": true, "Tty": true}),
        200,
    );
    api.call(
        "running",
        "GET",
        inspect,
        &format!("/exec/{tty_exec}/json"),
        200,
    );
    let resize = "/exec/{id}/resize";
    api.call(
        "running tty",
        "POST",
        resize,
        &format!("/exec/{tty_exec}/resize?h=20&w=80"),
        200,
    );
    api.call(
        "no such exec",
        "POST",
        resize,
        "/exec/nosuch/resize?h=20&w=80",
        404,
    );
}

fn teardown(api: &mut Api) {
    let remove = "/containers/{id}";
    api.call(
        "running, no force",
        "DELETE",
        remove,
        "/containers/sw-exec",
        409,
    );
    api.call("links", "DELETE", remove, "/containers/sw-exec?link=1", 400);
    api.call(
        "force",
        "DELETE",
        remove,
        "/containers/sw-exec?force=1",
        204,
    );
    let prune = "/containers/prune";
    api.call(
        "bad filter",
        "POST",
        prune,
        "/containers/prune?filters=%7B%22x%22%3A%5B%221%22%5D%7D",
        400,
    );
    api.call("stopped ones", "POST", prune, prune, 200);
    api.call("nothing left", "POST", prune, prune, 200);
    api.call(
        "no such container",
        "DELETE",
        remove,
        "/containers/nosuch",
        404,
    );
    let image = format!("/images/{IMAGE}");
    api.call(
        "in use by a container",
        "DELETE",
        "/images/{name}",
        &image,
        409,
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = format!("/events?since=0&until={now}");
    let r = api.call("everything so far", "GET", "/events", &path, 200);
    let lines = r
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert!(lines >= 10, "expected the run's events: {r:?}");
    api.call("with containers", "GET", "/info", "/info", 200);
}
