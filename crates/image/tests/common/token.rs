//! A token server for the registry's `auth: token` (distribution's token.md): checks a
//! user's password (or the refresh token a login got), and answers with a JWT (ES256, the
//! signing certificate in its `x5c` header) granting the scopes asked for. It counts the
//! requests per scope, and can hand out one token signed by a key the registry does not
//! trust (as a revoked or expired token would be refused).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use base64::Engine as _;
use serde_json::json;

pub const USER: &str = "alice";
pub const PASSWORD: &str = "s3cret-pw";
pub const SERVICE: &str = "berth-test-registry";
pub const ISSUER: &str = "berth-test-issuer";
const REFRESH: &str = "refresh-token-for-alice";

struct Signer {
    key_pem: String,
    cert_der: Vec<u8>,
}

fn signer(name: &str) -> (Signer, String) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (
        Signer {
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        },
        cert.pem(),
    )
}

pub struct TokenState {
    good: Signer,
    bad: Signer,
    /// Scope (space-joined) → requests.
    pub requests: Mutex<HashMap<String, usize>>,
    pub poison_next: AtomicBool,
}

pub struct TokenServer {
    pub port: u16,
    pub state: Arc<TokenState>,
    /// The certificate the registry trusts (its `rootcertbundle`).
    pub bundle: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenServer {
    pub fn start() -> TokenServer {
        let (good, good_pem) = signer("berth test token signer");
        let (bad, _) = signer("untrusted signer");
        let bundle = tempfile::Builder::new()
            .prefix("bt-token-")
            .tempdir()
            .unwrap();
        std::fs::write(bundle.path().join("bundle.pem"), good_pem).unwrap();
        let state = Arc::new(TokenState {
            good,
            bad,
            requests: Mutex::new(HashMap::new()),
            poison_next: AtomicBool::new(false),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(move |req: Request<Body>| {
                    let st = st.clone();
                    async move { handle(&st, req).await }
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        TokenServer {
            port,
            state,
            bundle,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    pub fn bundle_path(&self) -> std::path::PathBuf {
        self.bundle.path().join("bundle.pem")
    }

    pub fn count(&self, scope: &str) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .get(scope)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("20");
                out.push(u8::from_str_radix(h, 16).unwrap_or(b' '));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

async fn handle(st: &TokenState, req: Request<Body>) -> Response<Body> {
    let query = pairs(req.uri().query().unwrap_or_default());
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    let is_post = req.method() == axum::http::Method::POST;
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let form = pairs(&String::from_utf8_lossy(&body));
    let get = |k: &str, from: &[(String, String)]| {
        from.iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let (user, scopes, offline) = if is_post {
        // The refresh-token grant.
        if get("refresh_token", &form).first().map(String::as_str) != Some(REFRESH) {
            return Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .body(Body::from(
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"bad refresh token"}]}"#,
                ))
                .unwrap();
        }
        let scopes: Vec<String> = get("scope", &form)
            .iter()
            .flat_map(|s| s.split(' ').map(str::to_string).collect::<Vec<_>>())
            .collect();
        (Some(USER.to_string()), scopes, false)
    } else {
        let user = match auth {
            Some(a) if a == format!("{USER}:{PASSWORD}") => Some(USER.to_string()),
            Some(_) => {
                return Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .body(Body::from(
                        r#"{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}"#,
                    ))
                    .unwrap()
            }
            None => None,
        };
        let offline = get("offline_token", &query).first().map(String::as_str) == Some("true");
        (user, get("scope", &query), offline)
    };
    *st.requests
        .lock()
        .unwrap()
        .entry(scopes.join(" "))
        .or_default() += 1;
    // Only alice gets anything.
    let access: Vec<_> = scopes
        .iter()
        .filter(|_| user.is_some())
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let signer = if st.poison_next.swap(false, Ordering::SeqCst) {
        &st.bad
    } else {
        &st.good
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({
        "iss": ISSUER, "sub": user.clone().unwrap_or_default(), "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", scopes.join(",")),
        "access": access,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.x5c = Some(vec![
        base64::engine::general_purpose::STANDARD.encode(&signer.cert_der)
    ]);
    let key = jsonwebtoken::EncodingKey::from_ec_pem(signer.key_pem.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let mut answer = json!({"token": token, "expires_in": 300});
    if offline && user.is_some() {
        answer["refresh_token"] = json!(REFRESH);
    }
    Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from(answer.to_string()))
        .unwrap()
}
