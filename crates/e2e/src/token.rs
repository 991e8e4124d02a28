//! A token server for a registry configured with `auth: token` (distribution's token.md):
//! it checks one user's password with Basic auth, or the refresh token a login was given
//! (the OAuth2 `refresh_token` grant), and answers with a JWT signed ES256 (the signing
//! certificate in its `x5c` header) granting the scopes asked for. Stopped when dropped.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode};
use base64::Engine as _;
use serde_json::json;

pub const SERVICE: &str = "berth-e2e-registry";
pub const ISSUER: &str = "berth-e2e-issuer";

struct State {
    user: String,
    password: String,
    refresh_token: String,
    key_pem: String,
    cert_der: Vec<u8>,
}

pub struct TokenServer {
    pub port: u16,
    /// The certificate the registry trusts (`rootcertbundle`).
    pub bundle: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TokenServer {
    /// Serves tokens to `user` with `password`, on a free port of 127.0.0.1.
    pub fn start(user: &str, password: &str) -> TokenServer {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "berth e2e token signer");
        let key = rcgen::KeyPair::generate().expect("signing key");
        let cert = params.self_signed(&key).expect("signing certificate");
        let bundle = tempfile::Builder::new()
            .prefix("bt-token-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        std::fs::write(bundle.path().join("bundle.pem"), cert.pem()).expect("bundle");
        let state = Arc::new(State {
            user: user.to_string(),
            password: password.to_string(),
            refresh_token: format!("refresh-token-of-{user}"),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("token server port");
        listener.set_nonblocking(true).expect("non-blocking");
        let port = listener.local_addr().expect("address").port();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(move |req: Request<Body>| {
                    let st = state.clone();
                    async move { handle(&st, req).await }
                });
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        TokenServer {
            port,
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

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("20");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b' '));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn values(encoded: &str, key: &str) -> Vec<String> {
    encoded
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .filter(|(k, _)| percent_decode(k) == key)
        .map(|(_, v)| percent_decode(v))
        .collect()
}

fn refuse(message: &str) -> Response<Body> {
    let body = json!({"errors": [{"code": "UNAUTHORIZED", "message": message}]});
    Response::builder()
        .status(StatusCode::UNAUTHORIZED)
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

async fn handle(st: &State, req: Request<Body>) -> Response<Body> {
    let query = req.uri().query().unwrap_or_default().to_string();
    let basic = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        .and_then(|v| String::from_utf8(v).ok());
    let is_post = req.method() == Method::POST;
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let form = String::from_utf8_lossy(&body).into_owned();
    let (user, scopes, offline) = if is_post {
        if values(&form, "refresh_token").first() != Some(&st.refresh_token) {
            return refuse("invalid refresh token");
        }
        let scopes = values(&form, "scope")
            .iter()
            .flat_map(|s| s.split(' ').map(str::to_string).collect::<Vec<_>>())
            .collect();
        (Some(st.user.clone()), scopes, false)
    } else {
        let user = match basic {
            Some(a) if a == format!("{}:{}", st.user, st.password) => Some(st.user.clone()),
            Some(_) => return refuse("incorrect username or password"),
            None => None,
        };
        let offline = values(&query, "offline_token").first().map(String::as_str) == Some("true");
        (user, values(&query, "scope"), offline)
    };
    // Only the user gets access; anonymous tokens grant nothing.
    let access: Vec<_> = scopes
        .iter()
        .filter(|_| user.is_some())
        .filter_map(|s| {
            let mut parts = s.splitn(3, ':');
            let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
            Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let claims = json!({
        "iss": ISSUER, "sub": user.clone().unwrap_or_default(), "aud": SERVICE,
        "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", scopes.join(",")),
        "access": access,
    });
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.x5c = Some(vec![
        base64::engine::general_purpose::STANDARD.encode(&st.cert_der)
    ]);
    let token = jsonwebtoken::EncodingKey::from_ec_pem(st.key_pem.as_bytes())
        .and_then(|key| jsonwebtoken::encode(&header, &claims, &key));
    let token = match token {
        Ok(t) => t,
        Err(e) => return refuse(&format!("signing: {e}")),
    };
    let mut answer = json!({"token": token, "expires_in": 300});
    if offline && user.is_some() {
        answer["refresh_token"] = json!(st.refresh_token);
    }
    Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from(answer.to_string()))
        .unwrap_or_default()
}
