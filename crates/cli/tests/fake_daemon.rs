//! Runs the real `berth` binary against a tiny fake daemon on a temporary unix socket that
//! answers with responses taken from the docker wire traces, and checks the calls, their order,
//! the output and the exit status.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

const ID: &str = "1a789a01f04a6fe76219d198025dd020792335683db6c1fc9b8175e9e8d78900";

#[derive(Debug, Clone)]
struct Req {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
    /// Bytes the client sent after a hijack (stdin), and whether it half-closed.
    stdin: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Req {
    fn line(&self) -> String {
        format!("{} {}", self.method, self.target)
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

enum Reply {
    Json(u16, Value),
    Empty(u16),
    /// 101 then these bytes after a delay, then close.
    Hijack(Vec<u8>, u64),
    /// 200 with chunked body lines, the first after a delay.
    Chunked(Vec<String>, u64),
    Raw(u16, Vec<u8>),
}

type Router = dyn Fn(&Req) -> Reply + Send + Sync;

struct Fake {
    sock: PathBuf,
    log: Arc<Mutex<Vec<Req>>>,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir() -> TempDir {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let p = std::env::temp_dir().join(format!(
        "berth-cli-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&p).unwrap();
    TempDir(p)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

async fn read_request(s: &mut UnixStream, buf: &mut Vec<u8>) -> Option<Req> {
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    buf.drain(..head_end);
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = Vec::new();
    if let Some(len) = headers
        .get("content-length")
        .and_then(|v| v.parse::<usize>().ok())
    {
        while buf.len() < len {
            let mut chunk = [0u8; 4096];
            let n = s.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        body = buf.drain(..len.min(buf.len())).collect();
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let Some(le) = find(buf, b"\r\n") else {
                let mut chunk = [0u8; 4096];
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
                continue;
            };
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&buf[..le]).trim(), 16).ok()?;
            while buf.len() < le + 2 + size + 2 {
                let mut chunk = [0u8; 4096];
                let n = s.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            body.extend_from_slice(&buf[le + 2..le + 2 + size]);
            buf.drain(..le + 2 + size + 2);
            if size == 0 {
                break;
            }
        }
    }
    Some(Req {
        method,
        target,
        headers,
        body,
        stdin: Arc::new(Mutex::new(None)),
    })
}

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

async fn serve_conn(mut s: UnixStream, router: Arc<Router>, log: Arc<Mutex<Vec<Req>>>) {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut s, &mut buf).await {
        log.lock().unwrap().push(req.clone());
        let common = "Api-Version: 1.41\r\nDocker-Experimental: false\r\nOstype: linux\r\n";
        match router(&req) {
            Reply::Json(code, v) => {
                let body = format!("{v}\n");
                let head = format!(
                    "HTTP/1.1 {code} {}\r\n{common}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    status_text(code),
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body.as_bytes()).await;
            }
            Reply::Empty(code) => {
                let len = if req.method == "HEAD" || code == 204 {
                    String::new()
                } else {
                    "Content-Length: 0\r\n".to_string()
                };
                let head = format!("HTTP/1.1 {code} {}\r\n{common}{len}\r\n", status_text(code));
                let _ = s.write_all(head.as_bytes()).await;
            }
            Reply::Raw(code, bytes) => {
                let head = format!(
                    "HTTP/1.1 {code} {}\r\n{common}Transfer-Encoding: chunked\r\n\r\n",
                    status_text(code)
                );
                let _ = s.write_all(head.as_bytes()).await;
                for piece in bytes.chunks(5) {
                    let _ = s
                        .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                        .await;
                    let _ = s.write_all(piece).await;
                    let _ = s.write_all(b"\r\n").await;
                }
                let _ = s.write_all(b"0\r\n\r\n").await;
            }
            Reply::Chunked(lines, delay) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\n{common}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.flush().await;
                tokio::time::sleep(Duration::from_millis(delay)).await;
                for l in lines {
                    let l = format!("{l}\n");
                    let _ = s
                        .write_all(format!("{:x}\r\n{l}\r\n", l.len()).as_bytes())
                        .await;
                }
                let _ = s.write_all(b"0\r\n\r\n").await;
            }
            Reply::Hijack(out, delay) => {
                let head = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
                let _ = s.write_all(head.as_bytes()).await;
                let (mut rd, mut wr) = s.into_split();
                let stdin = req.stdin.clone();
                let mut pending = std::mem::take(&mut buf);
                let reader = tokio::spawn(async move {
                    let mut chunk = [0u8; 4096];
                    loop {
                        match rd.read(&mut chunk).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => pending.extend_from_slice(&chunk[..n]),
                        }
                    }
                    *stdin.lock().unwrap() = Some(pending);
                });
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let _ = wr.write_all(&out).await;
                // Like the daemon: the stream ends when the process does, after stdin EOF.
                let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
                let _ = wr.shutdown().await;
                return;
            }
        }
        let _ = s.flush().await;
    }
}

impl Fake {
    async fn start(router: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Fake {
        let dir = temp_dir();
        let sock = dir.0.join("berth.sock");
        let listener = UnixListener::bind(&sock).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let router: Arc<Router> = Arc::new(router);
        let l2 = log.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(serve_conn(s, router.clone(), l2.clone()));
            }
        });
        Fake {
            sock,
            log,
            _dir: dir,
        }
    }

    fn calls(&self) -> Vec<String> {
        self.log.lock().unwrap().iter().map(Req::line).collect()
    }

    fn find(&self, prefix: &str) -> Req {
        self.log
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.line().starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| panic!("no call {prefix}: {:?}", self.calls()))
    }

    async fn berth(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        berth_at(&self.sock, args, stdin).await
    }
}

async fn berth_at(sock: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let host = format!("unix://{}", sock.display());
    let mut all = vec!["-H", host.as_str()];
    all.extend_from_slice(args);
    let argv: Vec<String> = all.iter().map(|s| s.to_string()).collect();
    let input = stdin.map(|s| s.to_vec());
    tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(&argv)
            .env_remove("BERTH_HOST")
            .env_remove("DOCKER_HOST")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(data) = input {
            let mut sin = child.stdin.take().unwrap();
            sin.write_all(&data).unwrap();
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![kind, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn path(req: &Req) -> &str {
    req.target.split('?').next().unwrap_or("")
}

/// The daemon of the `run` traces: create → attach → wait → start.
fn run_router(output: Vec<u8>, status: i64) -> impl Fn(&Req) -> Reply + Send + Sync {
    move |r: &Req| {
        let p = path(r);
        match (r.method.as_str(), p) {
            ("HEAD", "/_ping") => Reply::Empty(200),
            ("POST", "/v1.41/containers/create") => {
                Reply::Json(201, json!({"Id": ID, "Warnings": []}))
            }
            ("POST", p) if p.ends_with("/attach") => Reply::Hijack(output.clone(), 150),
            ("POST", p) if p.ends_with("/wait") => Reply::Chunked(
                vec![json!({"Error": null, "StatusCode": status}).to_string()],
                400,
            ),
            ("POST", p) if p.ends_with("/start") => Reply::Empty(204),
            _ => Reply::Json(404, json!({"message": "page not found"})),
        }
    }
}

#[tokio::test]
async fn run_follows_docker_call_order_and_exit_code() {
    let out = [frame(2, b"err\n"), frame(1, b"out\n")].concat();
    let fake = Fake::start(run_router(out, 5)).await;
    let o = fake
        .berth(
            &[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "echo out; echo err >&2; exit 5",
            ],
            None,
        )
        .await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    assert_eq!(o.status.code(), Some(5));
    assert_eq!(
        fake.calls(),
        vec![
            "HEAD /_ping".to_string(),
            "POST /v1.41/containers/create".to_string(),
            format!("POST /v1.41/containers/{ID}/attach?stderr=1&stdout=1&stream=1"),
            format!("POST /v1.41/containers/{ID}/wait?condition=removed"),
            format!("POST /v1.41/containers/{ID}/start"),
        ]
    );
    let create = fake.find("POST /v1.41/containers/create");
    let body = create.json();
    assert_eq!(
        body["Cmd"],
        json!(["sh", "-c", "echo out; echo err >&2; exit 5"])
    );
    assert_eq!(body["HostConfig"]["AutoRemove"], true);
    assert_eq!(create.headers["content-type"], "application/json");
    let attach = fake.find(&format!("POST /v1.41/containers/{ID}/attach"));
    assert_eq!(attach.headers["upgrade"], "tcp");
    assert_eq!(attach.headers["connection"], "Upgrade");
    // No -i: the client half-closed at once without sending anything.
    assert_eq!(attach.stdin.lock().unwrap().as_deref(), Some(&b""[..]));
}

#[tokio::test]
async fn run_interactive_sends_stdin_and_half_closes() {
    let fake = Fake::start(run_router(frame(1, b"hello\nworld\n"), 0)).await;
    let o = fake
        .berth(
            &["run", "-i", "--rm", "busybox", "cat"],
            Some(b"hello\nworld\n"),
        )
        .await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "hello\nworld\n");
    assert_eq!(o.status.code(), Some(0));
    let attach = fake.find(&format!("POST /v1.41/containers/{ID}/attach"));
    assert!(attach
        .target
        .ends_with("?stderr=1&stdin=1&stdout=1&stream=1"));
    assert_eq!(
        attach.stdin.lock().unwrap().as_deref(),
        Some(&b"hello\nworld\n"[..])
    );
    let body = fake.find("POST /v1.41/containers/create").json();
    assert_eq!(body["AttachStdin"], true);
    assert_eq!(body["OpenStdin"], true);
    assert_eq!(body["StdinOnce"], true);
}

#[tokio::test]
async fn run_detached_prints_id() {
    let fake = Fake::start(run_router(Vec::new(), 0)).await;
    let o = fake
        .berth(
            &["run", "-d", "--name", "t1", "busybox", "sleep", "1000"],
            None,
        )
        .await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), format!("{ID}\n"));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        fake.calls(),
        vec![
            "HEAD /_ping".to_string(),
            "POST /v1.41/containers/create?name=t1".to_string(),
            format!("POST /v1.41/containers/{ID}/wait?condition=next-exit"),
            format!("POST /v1.41/containers/{ID}/start"),
        ]
    );
}

#[tokio::test]
async fn run_missing_image_tries_pull_then_fails_125() {
    let fake = Fake::start(|r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("POST", "/v1.41/containers/create") => {
            Reply::Json(404, json!({"message": "No such image: nope:latest"}))
        }
        ("POST", "/v1.41/images/create") => Reply::Json(
            404,
            json!({"message": "pull access denied for nope, repository does not exist"}),
        ),
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let o = fake.berth(&["run", "nope"], None).await;
    assert_eq!(o.status.code(), Some(125));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err,
        "Unable to find image 'nope:latest' locally\n\
         berth: Error response from daemon: pull access denied for nope, repository does not exist\n\n\
         Run 'berth run --help' for more information\n"
    );
    let pull = fake.find("POST /v1.41/images/create");
    assert_eq!(
        pull.target,
        "/v1.41/images/create?fromImage=docker.io%2Flibrary%2Fnope&tag=latest"
    );
    assert_eq!(pull.headers["x-registry-auth"], "e30=");
}

#[tokio::test]
async fn run_start_failure_maps_to_127() {
    let fake = Fake::start(|r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("POST", "/v1.41/containers/create") => Reply::Json(201, json!({"Id": ID, "Warnings": []})),
        ("POST", p) if p.ends_with("/attach") => Reply::Hijack(Vec::new(), 0),
        ("POST", p) if p.ends_with("/wait") => {
            Reply::Chunked(vec![json!({"Error": null, "StatusCode": 127}).to_string()], 50)
        }
        ("POST", p) if p.ends_with("/start") => Reply::Json(
            400,
            json!({"message": "failed to create task: exec: \"nope\": executable file not found in $PATH"}),
        ),
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let o = fake.berth(&["run", "--rm", "busybox", "nope"], None).await;
    assert_eq!(o.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&o.stderr)
        .starts_with("berth: Error response from daemon: failed to create task"));
}

#[tokio::test]
async fn exec_uses_exec_inspect_exit_code() {
    let fake = Fake::start(|r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("GET", "/v1.41/containers/t1/json") => Reply::Json(
            200,
            json!({"Id": ID, "Config": {"Tty": false}, "State": {"Running": true}}),
        ),
        ("POST", "/v1.41/containers/t1/exec") => Reply::Json(201, json!({"Id": "a199b69499ae"})),
        ("POST", "/v1.41/exec/a199b69499ae/start") => {
            Reply::Hijack([frame(1, b"out\n"), frame(2, b"err\n")].concat(), 20)
        }
        ("GET", "/v1.41/exec/a199b69499ae/json") => Reply::Json(
            200,
            json!({"ID": "a199b69499ae", "Running": false, "ExitCode": 3}),
        ),
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let o = fake
        .berth(&["exec", "t1", "sh", "-c", "exit 3"], None)
        .await;
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    assert_eq!(
        fake.calls(),
        vec![
            "HEAD /_ping",
            "GET /v1.41/containers/t1/json",
            "POST /v1.41/containers/t1/exec",
            "POST /v1.41/exec/a199b69499ae/start",
            "GET /v1.41/exec/a199b69499ae/json",
        ]
    );
    let start = fake.find("POST /v1.41/exec/a199b69499ae/start");
    assert_eq!(start.json(), json!({"Detach": false, "Tty": false}));
    assert_eq!(start.headers["upgrade"], "tcp");
    let create = fake.find("POST /v1.41/containers/t1/exec").json();
    assert_eq!(create["Cmd"], json!(["sh", "-c", "exit 3"]));
    assert_eq!(create["AttachStdout"], true);
}

#[tokio::test]
async fn logs_inspects_then_demuxes_with_full_id() {
    let fake = Fake::start(|r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("GET", "/v1.41/containers/t1/json") => {
            Reply::Json(200, json!({"Id": ID, "Config": {"Tty": false}}))
        }
        ("GET", p) if p.ends_with("/logs") => {
            Reply::Raw(200, [frame(1, b"out\n"), frame(2, b"err\n")].concat())
        }
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let o = fake.berth(&["logs", "t1"], None).await;
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
    assert_eq!(
        fake.calls()[2],
        format!("GET /v1.41/containers/{ID}/logs?stderr=1&stdout=1&tail=all")
    );
}

#[tokio::test]
async fn ps_prints_docker_table() {
    let fake = Fake::start(|r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("GET", "/v1.41/containers/json") => Reply::Json(
            200,
            json!([{"Id": ID, "Names": ["/t1"], "Image": "busybox",
                    "Command": "sleep 1000", "Created": 0, "Ports": [], "Labels": {},
                    "State": "running", "Status": "Up 5 seconds"}]),
        ),
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let o = fake
        .berth(
            &["ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Status}}"],
            None,
        )
        .await;
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "1a789a01f04a t1 Up 5 seconds\n"
    );
    assert_eq!(fake.calls()[1], "GET /v1.41/containers/json?all=1");
    let o = fake.berth(&["container", "ls", "-q"], None).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "1a789a01f04a\n");
}

#[tokio::test]
async fn inspect_falls_back_to_images_and_reports_missing() {
    let fake = Fake::start(|r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("GET", "/v1.41/containers/busybox/json") => {
            Reply::Json(404, json!({"message": "No such container: busybox"}))
        }
        ("GET", "/v1.41/images/busybox/json") => Reply::Json(
            200,
            json!({"Id": "sha256:b175", "RepoTags": ["busybox:latest"]}),
        ),
        ("GET", p) if p.starts_with("/v1.41/containers/") => {
            Reply::Json(404, json!({"message": "No such container: x"}))
        }
        ("GET", _) => Reply::Json(404, json!({"message": "No such image: x"})),
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let o = fake
        .berth(&["inspect", "-f", "{{.Id}}", "busybox"], None)
        .await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "sha256:b175\n");
    assert_eq!(o.status.code(), Some(0));
    let o = fake.berth(&["inspect", "x"], None).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "[]\n");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error: No such object: x\n"
    );
    assert_eq!(o.status.code(), Some(1));
    let o = fake.berth(&["container", "inspect", "x"], None).await;
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error response from daemon: No such container: x\n"
    );
    let o = fake.berth(&["image", "inspect", "busybox"], None).await;
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "[\n    {\n        \"Id\": \"sha256:b175\",\n        \"RepoTags\": [\n            \"busybox:latest\"\n        ]\n    }\n]\n"
    );
}

#[tokio::test]
async fn lifecycle_commands_and_errors() {
    let fake = Fake::start(|r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("POST", "/v1.41/containers/t2/stop") => Reply::Empty(204),
        ("POST", "/v1.41/containers/t2/wait") => Reply::Chunked(
            vec![json!({"Error": null, "StatusCode": 137}).to_string()],
            0,
        ),
        ("POST", "/v1.41/containers/t3/kill") => Reply::Empty(204),
        ("DELETE", "/v1.41/containers/t2") => Reply::Empty(204),
        ("DELETE", _) => Reply::Json(404, json!({"message": "No such container: gone"})),
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let o = fake.berth(&["stop", "-t", "1", "t2"], None).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "t2\n");
    assert_eq!(fake.calls()[1], "POST /v1.41/containers/t2/stop?t=1");
    let o = fake.berth(&["wait", "t2"], None).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "137\n");
    assert_eq!(o.status.code(), Some(0));
    let o = fake.berth(&["kill", "-s", "USR1", "t3"], None).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "t3\n");
    assert!(fake
        .calls()
        .contains(&"POST /v1.41/containers/t3/kill?signal=USR1".to_string()));
    let o = fake.berth(&["rm", "t2", "gone"], None).await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "t2\n");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "Error response from daemon: No such container: gone\n"
    );
    assert_eq!(o.status.code(), Some(1));
    let o = fake.berth(&["rm", "-f", "gone"], None).await;
    assert_eq!(o.status.code(), Some(0));
    assert!(fake
        .calls()
        .contains(&"DELETE /v1.41/containers/gone?force=1".to_string()));
}

#[tokio::test]
async fn import_streams_the_file() {
    let fake = Fake::start(|r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("POST", "/v1.41/images/create") => Reply::Chunked(
            vec![json!({"status": "sha256:b17529137f4b"}).to_string()],
            0,
        ),
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let dir = temp_dir();
    let file = dir.0.join("rootfs.tar");
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let o = fake
        .berth(&["import", file.to_str().unwrap(), "busybox:latest"], None)
        .await;
    assert_eq!(String::from_utf8_lossy(&o.stdout), "sha256:b17529137f4b\n");
    let req = fake.find("POST /v1.41/images/create");
    assert_eq!(
        req.target,
        "/v1.41/images/create?fromSrc=-&repo=busybox%3Alatest"
    );
    assert_eq!(req.body, data);
}

#[tokio::test]
async fn cannot_connect_message() {
    let dir = temp_dir();
    let o = berth_at(&dir.0.join("missing.sock"), &["ps"], None).await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "Cannot connect to the berth daemon at unix://{}. Is the daemon running?\n",
            dir.0.join("missing.sock").display()
        )
    );
}

#[tokio::test]
async fn negotiates_down_to_daemon_version_and_caps_at_147() {
    let fake = Fake::start(|r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("GET", "/v1.41/version") => Reply::Json(
            200,
            json!({"Components": [{"Name": "Engine", "Version": "0.1.0",
                   "Details": {"ApiVersion": "1.41", "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64", "Experimental": "false"}}]}),
        ),
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let o = fake.berth(&["version"], None).await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains(" API version:       1.41 (downgraded from 1.47)\n"),
        "{out}"
    );
    assert!(
        out.contains("  API version:      1.41 (minimum version 1.24)\n"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(0));
}

#[tokio::test]
async fn flag_errors_exit_125() {
    let dir = temp_dir();
    let o = berth_at(
        &dir.0.join("x.sock"),
        &["run", "--memory", "1x", "busybox"],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid size: '1x'"));
    let o = berth_at(&dir.0.join("x.sock"), &["run", "--bogus", "busybox"], None).await;
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "berth: unknown flag: --bogus.\nSee 'berth run --help'.\n"
    );
}

/// `run -it` under a pseudo-terminal (util-linux `script`, as in the traces): console size in
/// the create body, resize after start, raw pty output, and ctrl-p ctrl-q detaching with 0.
#[tokio::test]
async fn run_tty_resizes_and_detaches() {
    assert!(
        std::process::Command::new("script")
            .arg("--version")
            .output()
            .is_ok(),
        "this test needs util-linux `script` (scripts/install-deps.sh installs it)"
    );
    let dir = temp_dir();
    let marker = dir.0.join("resized");
    let m2 = marker.clone();
    let fake = Fake::start(move |r: &Req| match (r.method.as_str(), path(r)) {
        ("HEAD", _) => Reply::Empty(200),
        ("POST", "/v1.41/containers/create") => Reply::Json(201, json!({"Id": ID, "Warnings": []})),
        ("POST", p) if p.ends_with("/resize") => {
            // The client is in raw mode by now: let the test type the detach keys.
            let _ = std::fs::write(&m2, b"");
            Reply::Empty(200)
        }
        ("POST", p) if p.ends_with("/attach") => Reply::Hijack(b"/ # ".to_vec(), 100),
        // Far later than the detach: a slow machine must not turn a detach into an exit.
        ("POST", p) if p.ends_with("/wait") => Reply::Chunked(
            vec![json!({"Error": null, "StatusCode": 9}).to_string()],
            20000,
        ),
        ("POST", p) if p.ends_with("/start") || p.ends_with("/resize") => Reply::Empty(200),
        _ => Reply::Json(500, json!({"message": "unexpected"})),
    })
    .await;
    let done = dir.0.join("done");
    let cmd = format!(
        "stty rows 40 cols 120; {} -H unix://{} run -it --rm busybox sh; echo \"exit=$?\"; touch {}",
        env!("CARGO_BIN_EXE_berth"),
        fake.sock.display(),
        done.display()
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                // Keep script's stdin open until the client is done (at most 15 s): its end
                // would reach the client as input.
                "(while [ ! -e {m} ]; do sleep 0.1; done; sleep 0.2; printf '\\020\\021'; \
                  i=0; while [ ! -e {d} ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i+1)); done) \
                 | script -qc '{cmd}' /dev/null",
                m = marker.display(),
                d = done.display()
            ))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/ # "), "{text}");
    assert!(text.contains("exit=0"), "{text}");
    let calls = fake.calls();
    assert!(
        calls.contains(&format!("POST /v1.41/containers/{ID}/resize?h=40&w=120")),
        "{calls:?}"
    );
    let attach = fake.find(&format!("POST /v1.41/containers/{ID}/attach"));
    assert!(attach.target.contains("stdin=1"));
    // The detach keys are not forwarded to the container.
    let sent = attach.stdin.lock().unwrap().clone().unwrap_or_default();
    assert!(!sent.contains(&0x11), "{sent:?}");
    let body = fake.find("POST /v1.41/containers/create").json();
    assert_eq!(body["Tty"], true);
    assert_eq!(body["HostConfig"]["ConsoleSize"], json!([40, 120]));
}
