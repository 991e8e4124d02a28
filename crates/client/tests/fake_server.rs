//! The client against a small fake daemon on a unix socket (and on TCP): what goes on the
//! wire, and what comes back typed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_api::container::ContainerCreateRequest;
use berth_api::exec::ExecStartConfig;
use berth_client::stdcopy::{frame, Demux, StdStream};
use berth_client::{
    reader_body, AttachOptions, Client, ContainerListOptions, Error, EventsOptions,
    ImageImportOptions,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Notify;

/// A request as the fake daemon saw it.
#[derive(Debug, Clone, Default)]
struct Req {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum Reply {
    Json(u16, String),
    /// 200, chunked: each line, the first after `gate` is notified (when given).
    Lines(Vec<String>, Option<Arc<Notify>>),
    /// 101, then these bytes; what the client sends until it half-closes is recorded.
    Hijack(Vec<u8>),
}

type Handler = dyn Fn(&Req) -> Reply + Send + Sync;

struct Fake {
    log: Arc<Mutex<Vec<Req>>>,
    /// Bytes received after hijacks.
    stdin: Arc<Mutex<Vec<u8>>>,
}

impl Fake {
    fn calls(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.method, r.target))
            .collect()
    }

    fn last(&self) -> Req {
        self.log.lock().unwrap().last().cloned().unwrap()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn fill<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 4096];
    match s.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

async fn read_req<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> Option<Req> {
    let end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p + 4;
        }
        if !fill(s, buf).await {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    buf.drain(..end);
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let mut req = Req {
        method: first.next()?.to_string(),
        target: first.next()?.to_string(),
        ..Req::default()
    };
    req.headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    if let Some(len) = req.header("content-length").and_then(|v| v.parse().ok()) {
        while buf.len() < len {
            if !fill(s, buf).await {
                return None;
            }
        }
        req.body = buf.drain(..len).collect();
    } else if req.header("transfer-encoding") == Some("chunked") {
        loop {
            let Some(le) = find(buf, b"\r\n") else {
                if !fill(s, buf).await {
                    return None;
                }
                continue;
            };
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&buf[..le]).trim(), 16).ok()?;
            while buf.len() < le + 2 + size + 2 {
                if !fill(s, buf).await {
                    return None;
                }
            }
            req.body.extend_from_slice(&buf[le + 2..le + 2 + size]);
            buf.drain(..le + 2 + size + 2);
            if size == 0 {
                break;
            }
        }
    }
    Some(req)
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    mut s: S,
    handler: Arc<Handler>,
    log: Arc<Mutex<Vec<Req>>>,
    stdin: Arc<Mutex<Vec<u8>>>,
) {
    let mut buf = Vec::new();
    while let Some(req) = read_req(&mut s, &mut buf).await {
        log.lock().unwrap().push(req.clone());
        let common = "Api-Version: 1.41\r\nOstype: linux\r\n";
        match handler(&req) {
            Reply::Json(code, body) => {
                let head = format!(
                    "HTTP/1.1 {code} X\r\n{common}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                let body = if req.method == "HEAD" {
                    String::new()
                } else {
                    body
                };
                let _ = s.write_all(format!("{head}{body}").as_bytes()).await;
            }
            Reply::Lines(lines, gate) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\n{common}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.flush().await;
                if let Some(g) = gate {
                    g.notified().await;
                }
                for l in lines {
                    let _ = s
                        .write_all(format!("{:x}\r\n{l}\r\n", l.len()).as_bytes())
                        .await;
                }
                let _ = s.write_all(b"0\r\n\r\n").await;
            }
            Reply::Hijack(out) => {
                let head = "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
                let _ = s.write_all(head.as_bytes()).await;
                let mut got = std::mem::take(&mut buf);
                while fill(&mut s, &mut got).await {}
                stdin.lock().unwrap().extend_from_slice(&got);
                let _ = s.write_all(&out).await;
                let _ = s.shutdown().await;
                return;
            }
        }
    }
}

fn socket_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("berth-client-test")
        .tempdir()
        .unwrap()
}

async fn fake_unix(
    dir: &tempfile::TempDir,
    handler: impl Fn(&Req) -> Reply + Send + Sync + 'static,
) -> (Fake, String) {
    let sock: PathBuf = dir.path().join("d.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let fake = Fake {
        log: Arc::default(),
        stdin: Arc::default(),
    };
    let (h, log, stdin): (Arc<Handler>, _, _) =
        (Arc::new(handler), fake.log.clone(), fake.stdin.clone());
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(s, h.clone(), log.clone(), stdin.clone()));
        }
    });
    (fake, format!("unix://{}", sock.display()))
}

fn ping_or(r: &Req, f: impl FnOnce() -> Reply) -> Reply {
    if r.target == "/_ping" {
        Reply::Json(200, "OK".into())
    } else {
        f()
    }
}

/// Fails the test instead of hanging it when the client waits on the wrong thing.
async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("the client hung")
}

#[tokio::test]
async fn negotiates_and_decodes_partial_answers() {
    let dir = socket_dir();
    let (fake, host) = fake_unix(&dir, |r| {
        ping_or(r, || {
            Reply::Json(
                200,
                r#"{"Id":"abc","Config":{"Tty":true,"Cmd":"sh"},"State":{"Running":true,"Pid":null}}"#
                    .into(),
            )
        })
    })
    .await;
    let c = bounded(Client::connect(&host)).await.unwrap();
    assert_eq!(c.api_version(), "1.41");
    let i = bounded(c.container_inspect("t 1", true)).await.unwrap();
    assert_eq!(i.id, "abc");
    assert!(i.tty() && i.state().running && !i.auto_remove());
    assert_eq!(i.config.unwrap().cmd, Some(vec!["sh".to_string()]));
    assert_eq!(
        fake.calls(),
        vec!["HEAD /_ping", "GET /v1.41/containers/t%201/json?size=1"]
    );
    assert_eq!(fake.last().header("host"), Some("api.moby.localhost"));
}

#[tokio::test]
async fn errors_carry_status_and_docker_wording() {
    let dir = socket_dir();
    let (_fake, host) = fake_unix(&dir, |r| {
        ping_or(r, || {
            Reply::Json(404, r#"{"message":"No such container: x"}"#.into())
        })
    })
    .await;
    let c = bounded(Client::connect(&host)).await.unwrap();
    let err = bounded(c.container_start("x")).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Error response from daemon: No such container: x"
    );
    let missing = format!("unix://{}", dir.path().join("none.sock").display());
    let err = bounded(Client::connect(&missing)).await.unwrap_err();
    assert!(matches!(err, Error::Connect(_)));
    assert_eq!(
        err.to_string(),
        format!("Cannot connect to the berth daemon at {missing}. Is the daemon running?")
    );
}

#[tokio::test]
async fn create_sends_docker_s_body_and_list_its_query() {
    let dir = socket_dir();
    let (fake, host) = fake_unix(&dir, |r| {
        ping_or(r, || match r.method.as_str() {
            "POST" => Reply::Json(201, r#"{"Id":"abc","Warnings":null}"#.into()),
            _ => Reply::Json(200, r#"[{"Id":"abc","Names":["/n"],"Ports":null}]"#.into()),
        })
    })
    .await;
    let c = bounded(Client::connect(&host)).await.unwrap();
    let mut req = ContainerCreateRequest::default();
    req.config.image = "busybox".into();
    let created = bounded(c.container_create(Some("n"), &req)).await.unwrap();
    assert_eq!(created.id, "abc");
    assert!(created.warnings.is_empty());
    let sent = fake.last();
    assert_eq!(sent.target, "/v1.41/containers/create?name=n");
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["Image"], "busybox");
    assert_eq!(body["Env"], serde_json::Value::Null);
    let mut opts = ContainerListOptions {
        all: true,
        limit: 3,
        ..Default::default()
    };
    opts.filters.add("status", "exited");
    let list = bounded(c.container_list(&opts)).await.unwrap();
    assert_eq!(list[0].names.as_deref(), Some(&["/n".to_string()][..]));
    assert_eq!(
        fake.last().target,
        "/v1.41/containers/json?all=1&filters=%7B%22status%22%3A%7B%22exited%22%3Atrue%7D%7D&limit=3"
    );
}

#[tokio::test]
async fn attach_is_hijacked_and_demultiplexed() {
    let dir = socket_dir();
    let out = [
        frame(StdStream::Stdout, b"out\n"),
        frame(StdStream::Stderr, b"err\n"),
    ]
    .concat();
    let (fake, host) = fake_unix(&dir, move |r| ping_or(r, || Reply::Hijack(out.clone()))).await;
    let c = bounded(Client::connect(&host)).await.unwrap();
    let opts = AttachOptions {
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        ..Default::default()
    };
    let conn = bounded(c.container_attach("abc", &opts)).await.unwrap();
    let req = fake.last();
    assert_eq!(
        req.target,
        "/v1.41/containers/abc/attach?stderr=1&stdin=1&stdout=1&stream=1"
    );
    assert_eq!(req.header("upgrade"), Some("tcp"));
    assert_eq!(req.header("connection"), Some("Upgrade"));
    let mut stream = conn.stream;
    stream.write_all(b"input").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut got = conn.buffered;
    bounded(stream.read_to_end(&mut got)).await.unwrap();
    let frames = Demux::new().feed(&got).unwrap();
    assert_eq!(
        frames,
        vec![
            (StdStream::Stdout, b"out\n".to_vec()),
            (StdStream::Stderr, b"err\n".to_vec())
        ]
    );
    assert_eq!(&fake.stdin.lock().unwrap()[..], b"input");
    // exec start sends its config as JSON on the hijacked request.
    let conn = bounded(c.exec_start_attached("e1", &ExecStartConfig::default()))
        .await
        .unwrap();
    drop(conn);
    assert_eq!(fake.last().body, b"{\"Detach\":false,\"Tty\":false}\n");
}

#[tokio::test]
async fn json_lines_are_typed_across_chunks() {
    let dir = socket_dir();
    let (fake, host) = fake_unix(&dir, |r| {
        ping_or(r, || {
            Reply::Lines(
                vec![
                    r#"{"Type":"container","Action":"start","Actor":{"ID":"a","Attributes":{"name":"x"}},"time":1,"timeNano":1000000000}"#.into(),
                    // Two values in one chunk, and one split over two.
                    r#"{"Type":"image","Action":"tag"} {"Type":"con"#.into(),
                    r#"tainer","Action":"die"}"#.into(),
                ],
                None,
            )
        })
    })
    .await;
    let c = bounded(Client::connect(&host)).await.unwrap();
    let mut opts = EventsOptions {
        since: Some("0".into()),
        ..Default::default()
    };
    opts.filters.add("type", "container");
    let mut events = bounded(c.events(&opts)).await.unwrap();
    let mut got = Vec::new();
    while let Some(e) = bounded(events.next()).await.unwrap() {
        got.push(format!("{} {}", e.kind, e.action));
    }
    assert_eq!(got, vec!["container start", "image tag", "container die"]);
    assert_eq!(
        fake.last().target,
        "/v1.41/events?filters=%7B%22type%22%3A%7B%22container%22%3Atrue%7D%7D&since=0"
    );
}

#[tokio::test]
async fn import_streams_its_body_and_reads_progress() {
    let dir = socket_dir();
    let (fake, host) = fake_unix(&dir, |r| {
        ping_or(r, || {
            Reply::Lines(vec![r#"{"status":"sha256:abc"}"#.into()], None)
        })
    })
    .await;
    let c = bounded(Client::connect(&host)).await.unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let opts = ImageImportOptions {
        source: "-".into(),
        repo: Some("busybox:latest".into()),
        changes: vec!["CMD [\"sh\"]".into()],
        ..Default::default()
    };
    let body = reader_body(std::io::Cursor::new(data.clone()));
    let mut progress = bounded(c.image_import(&opts, body)).await.unwrap();
    let msg = bounded(progress.next()).await.unwrap().unwrap();
    assert_eq!(msg.status, "sha256:abc");
    assert!(bounded(progress.next()).await.unwrap().is_none());
    let req = fake.last();
    assert_eq!(req.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        req.target,
        "/v1.41/images/create?changes=CMD+%5B%22sh%22%5D&fromSrc=-&repo=busybox%3Alatest"
    );
    assert_eq!(req.body, data);
}

#[tokio::test]
async fn wait_returns_once_registered_and_the_status_later() {
    let dir = socket_dir();
    let gate = Arc::new(Notify::new());
    let g = gate.clone();
    let (_fake, host) = fake_unix(&dir, move |r| {
        ping_or(r, || {
            Reply::Lines(
                vec![r#"{"Error":null,"StatusCode":7}"#.into()],
                Some(g.clone()),
            )
        })
    })
    .await;
    let c = bounded(Client::connect(&host)).await.unwrap();
    // The body is held until the gate opens, which happens only after begin returned.
    let pending = bounded(c.container_wait_begin("abc", Some("next-exit")))
        .await
        .unwrap();
    gate.notify_one();
    let w = bounded(pending.result()).await.unwrap();
    assert_eq!(w.status_code, 7);
}

#[tokio::test]
async fn tcp_hosts_work_too() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Arc<Mutex<Vec<Req>>> = Arc::default();
    let handler: Arc<Handler> = Arc::new(|r: &Req| {
        ping_or(r, || {
            Reply::Json(
                200,
                r#"{"Version":"0.1.0","ApiVersion":"1.41","Components":[{"Name":"Engine","Version":"0.1.0","Details":{"Os":"linux"}}]}"#.into(),
            )
        })
    });
    let l2 = log.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(serve(s, handler.clone(), l2.clone(), Arc::default()));
        }
    });
    let c = bounded(Client::connect(&format!("tcp://{addr}")))
        .await
        .unwrap();
    let v = bounded(c.version()).await.unwrap();
    assert_eq!(v.api_version, "1.41");
    let details = v.components.unwrap()[0].details.clone().unwrap();
    assert_eq!(details["Os"], "linux");
    let reqs = log.lock().unwrap().clone();
    assert_eq!(reqs[1].target, "/v1.41/version");
    assert_eq!(reqs[1].header("host"), Some(addr.to_string().as_str()));
}

#[tokio::test]
async fn pull_push_login_send_credentials_as_docker_does() {
    let dir = socket_dir();
    let (fake, host) = fake_unix(&dir, |r| {
        ping_or(r, || {
            if r.target.contains("/auth") {
                Reply::Json(200, r#"{"Status":"Login Succeeded","IdentityToken":"tok"}"#.into())
            } else {
                Reply::Lines(
                    vec![
                        r#"{"status":"Pushing","progressDetail":{"current":1,"total":2},"id":"abc"}"#.into(),
                        r#"{"progressDetail":{},"aux":{"Tag":"1","Digest":"sha256:x","Size":5}}"#.into(),
                    ],
                    None,
                )
            }
        })
    })
    .await;
    let c = bounded(Client::connect(&host)).await.unwrap();
    let auth = berth_api::auth::AuthConfig {
        username: "bob".into(),
        password: "hunter2".into(),
        server_address: "127.0.0.1:5000".into(),
        ..Default::default()
    };

    let mut s = bounded(c.image_push("127.0.0.1:5000/x", Some("1"), Some(&auth)))
        .await
        .unwrap();
    let first = bounded(s.next()).await.unwrap().unwrap();
    assert_eq!(first.progress_detail.unwrap().total, 2);
    let aux = bounded(s.next()).await.unwrap().unwrap().aux.unwrap();
    assert_eq!(aux["Digest"], "sha256:x");
    let req = fake.last();
    assert_eq!(req.target, "/v1.41/images/127.0.0.1:5000/x/push?tag=1");
    let header = req.header("x-registry-auth").unwrap();
    assert_eq!(berth_api::auth::AuthConfig::decode(header).unwrap(), auth);

    let opts = berth_client::ImagePullOptions {
        image: "docker.io/library/busybox".into(),
        tag: "latest".into(),
        ..Default::default()
    };
    let _ = bounded(c.image_pull_with(&opts)).await.unwrap();
    let req = fake.last();
    assert_eq!(
        req.target,
        "/v1.41/images/create?fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest"
    );
    assert_eq!(req.header("x-registry-auth"), Some("e30="));

    let r = bounded(c.registry_login(&auth)).await.unwrap();
    assert_eq!(
        (r.status.as_str(), r.identity_token.as_str()),
        ("Login Succeeded", "tok")
    );
    let req = fake.last();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("POST", "/v1.41/auth")
    );
    let sent: berth_api::auth::AuthConfig = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(sent, auth);
}
