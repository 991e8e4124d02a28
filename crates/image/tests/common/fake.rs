//! A small registry on 127.0.0.1 the tests control: it serves what they put in it, logs
//! every request, and on demand serves a blob with a wrong byte, cuts a connection in the
//! middle of a blob, stalls there, or ignores `Range`. It takes pushes (chunked and
//! monolithic uploads, mounts) too.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use futures_util::StreamExt;
use serde_json::json;

use berth_image::Digest;

#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: String,
    pub range: Option<String>,
    pub content_range: Option<String>,
}

#[derive(Default)]
pub struct FakeState {
    pub blobs: Mutex<HashMap<String, Vec<u8>>>,
    /// `repo|reference` → (media type, bytes); a manifest is kept under its tag and digest.
    pub manifests: Mutex<HashMap<String, (String, Vec<u8>)>>,
    pub log: Mutex<Vec<Req>>,
    /// Blobs served with their last byte changed.
    pub tamper: Mutex<HashSet<String>>,
    /// Blob → bytes sent before the connection is cut.
    pub cut: Mutex<HashMap<String, usize>>,
    /// Blob → bytes sent before the answer stalls for good.
    pub stall: Mutex<HashMap<String, usize>>,
    /// Blob requests answered with these first bytes (the stall or cut point reached).
    pub reached: Mutex<HashSet<String>>,
    pub ignore_range: AtomicBool,
    uploads: Mutex<HashMap<String, Vec<u8>>>,
    next: AtomicU64,
}

pub struct Fake {
    pub port: u16,
    pub state: Arc<FakeState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Fake {
    pub fn start() -> Fake {
        let state = Arc::new(FakeState::default());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(move |req: Request<Body>| {
                    let st = st.clone();
                    async move { handle(st, req).await }
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
            // Stalled answers never end: drop them with the runtime.
            rt.shutdown_background();
        });
        Fake {
            port,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn put_blob(&self, bytes: &[u8]) -> Digest {
        let d = Digest::of(bytes);
        self.state
            .blobs
            .lock()
            .unwrap()
            .insert(d.to_string(), bytes.to_vec());
        d
    }

    pub fn put_manifest(&self, repo: &str, tag: &str, media_type: &str, bytes: &[u8]) -> Digest {
        let d = Digest::of(bytes);
        let mut m = self.state.manifests.lock().unwrap();
        for r in [tag.to_string(), d.to_string()] {
            m.insert(
                format!("{repo}|{r}"),
                (media_type.to_string(), bytes.to_vec()),
            );
        }
        d
    }

    /// Serves an image: `layers` are (blob bytes, media type, diff id). Returns the
    /// manifest's digest and size and the config's digest.
    pub fn add_image(
        &self,
        repo: &str,
        tag: &str,
        layers: &[(Vec<u8>, &str, Digest)],
        arch: &str,
        oci: bool,
    ) -> (Digest, usize, Digest) {
        let diff_ids: Vec<Digest> = layers.iter().map(|l| l.2.clone()).collect();
        let config = super::config_for(&diff_ids, arch);
        let config_digest = self.put_blob(&config);
        let (mt, ct) = if oci {
            (
                "application/vnd.oci.image.manifest.v1+json",
                "application/vnd.oci.image.config.v1+json",
            )
        } else {
            (
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.docker.container.image.v1+json",
            )
        };
        let layer_descs: Vec<_> = layers
            .iter()
            .map(|(b, t, _)| {
                let d = self.put_blob(b);
                json!({"mediaType": t, "digest": d.to_string(), "size": b.len()})
            })
            .collect();
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": mt,
            "config": {"mediaType": ct, "digest": config_digest.to_string(), "size": config.len()},
            "layers": layer_descs,
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        let d = self.put_manifest(repo, tag, mt, &bytes);
        (d, bytes.len(), config_digest)
    }

    pub fn requests(&self) -> Vec<Req> {
        self.state.log.lock().unwrap().clone()
    }

    pub fn has_blob(&self, d: &Digest) -> bool {
        self.state
            .blobs
            .lock()
            .unwrap()
            .contains_key(&d.to_string())
    }

    pub fn reached(&self, d: &Digest) -> bool {
        self.state.reached.lock().unwrap().contains(&d.to_string())
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = json!({"errors": [{"code": code, "message": message}]}).to_string();
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Body::from(body))
        .unwrap()
}

fn header(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

async fn handle(st: Arc<FakeState>, req: Request<Body>) -> Response<Body> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let headers = req.headers().clone();
    st.log.lock().unwrap().push(Req {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        range: header(&headers, "range"),
        content_range: header(&headers, "content-range"),
    });
    let body = axum::body::to_bytes(req.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let Some(rest) = path.strip_prefix("/v2/") else {
        return error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found");
    };
    if rest.is_empty() {
        return Response::new(Body::from("{}"));
    }
    if let Some((repo, id)) = rest.split_once("/blobs/uploads/") {
        return upload(&st, &method, repo, id, &query, &headers, body);
    }
    if let Some((repo, reference)) = rest.rsplit_once("/manifests/") {
        return manifest(&st, &method, repo, reference, body);
    }
    if let Some((_, digest)) = rest.rsplit_once("/blobs/") {
        return blob(&st, &method, digest, &headers);
    }
    error(StatusCode::NOT_FOUND, "NOT_FOUND", "not found")
}

fn manifest(
    st: &FakeState,
    method: &Method,
    repo: &str,
    reference: &str,
    body: Bytes,
) -> Response<Body> {
    if method == Method::PUT {
        let d = Digest::of(&body);
        let mut m = st.manifests.lock().unwrap();
        for r in [reference.to_string(), d.to_string()] {
            m.insert(format!("{repo}|{r}"), ("pushed".to_string(), body.to_vec()));
        }
        return Response::builder()
            .status(StatusCode::CREATED)
            .header("Docker-Content-Digest", d.to_string())
            .body(Body::empty())
            .unwrap();
    }
    let found = st
        .manifests
        .lock()
        .unwrap()
        .get(&format!("{repo}|{reference}"))
        .cloned();
    match found {
        Some((mt, bytes)) => Response::builder()
            .header("Content-Type", mt)
            .header("Docker-Content-Digest", Digest::of(&bytes).to_string())
            .header("Content-Length", bytes.len())
            .body(if method == Method::HEAD {
                Body::empty()
            } else {
                Body::from(bytes)
            })
            .unwrap(),
        None => error(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        ),
    }
}

fn blob(st: &FakeState, method: &Method, digest: &str, headers: &HeaderMap) -> Response<Body> {
    let Some(mut bytes) = st.blobs.lock().unwrap().get(digest).cloned() else {
        return error(
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
            "blob unknown to registry",
        );
    };
    if st.tamper.lock().unwrap().contains(digest) {
        if let Some(b) = bytes.last_mut() {
            *b ^= 0xff;
        }
    }
    let total = bytes.len();
    if method == Method::HEAD {
        return Response::builder()
            .header("Content-Length", total)
            .header("Docker-Content-Digest", digest)
            .body(Body::empty())
            .unwrap();
    }
    let start = header(headers, "range")
        .filter(|_| !st.ignore_range.load(Ordering::SeqCst))
        .and_then(|r| r.strip_prefix("bytes=").map(str::to_string))
        .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
        .filter(|s| *s < total);
    let from = start.unwrap_or(0);
    let part = bytes[from..].to_vec();
    let mut resp = Response::builder().header("Content-Length", part.len());
    resp = match start {
        Some(s) => resp.status(StatusCode::PARTIAL_CONTENT).header(
            "Content-Range",
            HeaderValue::from_str(&format!("bytes {s}-{}/{total}", total - 1)).unwrap(),
        ),
        None => resp.status(StatusCode::OK),
    };
    let cut = st.cut.lock().unwrap().get(digest).copied();
    let stall = st.stall.lock().unwrap().get(digest).copied();
    if let Some(n) = cut.or(stall).filter(|n| *n < part.len()) {
        st.reached.lock().unwrap().insert(digest.to_string());
        let first = Bytes::from(part[..n].to_vec());
        let head = futures_util::stream::iter([Ok::<_, std::io::Error>(first)]);
        let body = if cut.is_some() {
            // Let the bytes reach the client before the reset (which would drop them).
            let tail = futures_util::stream::once(async {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                Err(std::io::Error::other("registry died"))
            });
            Body::from_stream(head.chain(tail))
        } else {
            Body::from_stream(head.chain(futures_util::stream::pending()))
        };
        return resp.body(body).unwrap();
    }
    resp.body(Body::from(part)).unwrap()
}

fn upload(
    st: &FakeState,
    method: &Method,
    repo: &str,
    id: &str,
    query: &str,
    headers: &HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let params: HashMap<String, String> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%2F", "/")))
        .collect();
    if method == Method::POST {
        if let (Some(d), Some(_)) = (params.get("mount"), params.get("from")) {
            if st.blobs.lock().unwrap().contains_key(d) {
                return Response::builder()
                    .status(StatusCode::CREATED)
                    .header("Location", format!("/v2/{repo}/blobs/{d}"))
                    .header("Docker-Content-Digest", d.as_str())
                    .body(Body::empty())
                    .unwrap();
            }
        }
        let uuid = format!("u{}", st.next.fetch_add(1, Ordering::SeqCst));
        st.uploads.lock().unwrap().insert(uuid.clone(), Vec::new());
        return Response::builder()
            .status(StatusCode::ACCEPTED)
            .header("Location", format!("/v2/{repo}/blobs/uploads/{uuid}"))
            .header("Range", "0-0")
            .body(Body::empty())
            .unwrap();
    }
    let mut uploads = st.uploads.lock().unwrap();
    let Some(data) = uploads.get_mut(id) else {
        return error(
            StatusCode::NOT_FOUND,
            "BLOB_UPLOAD_UNKNOWN",
            "blob upload unknown",
        );
    };
    if let Some(cr) = header(headers, "content-range") {
        let start = cr.split('-').next().and_then(|s| s.parse::<usize>().ok());
        if start != Some(data.len()) {
            return error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "BLOB_UPLOAD_INVALID",
                "bad range",
            );
        }
    }
    data.extend_from_slice(&body);
    if method == Method::PATCH {
        return Response::builder()
            .status(StatusCode::ACCEPTED)
            .header("Location", format!("/v2/{repo}/blobs/uploads/{id}"))
            .header("Range", format!("0-{}", data.len().saturating_sub(1)))
            .body(Body::empty())
            .unwrap();
    }
    let Some(want) = params.get("digest") else {
        return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "no digest");
    };
    let got = Digest::of(data).to_string();
    if &got != want {
        return error(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "digest mismatch");
    }
    let data = uploads.remove(id).unwrap_or_default();
    st.blobs.lock().unwrap().insert(got.clone(), data);
    Response::builder()
        .status(StatusCode::CREATED)
        .header("Location", format!("/v2/{repo}/blobs/{got}"))
        .header("Docker-Content-Digest", got)
        .body(Body::empty())
        .unwrap()
}
