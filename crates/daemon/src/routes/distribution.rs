//! Images to and from registries and archives: `POST /images/create?fromImage=` (pull),
//! `POST /images/{name}/push`, `POST /auth`, `GET /images/get`, `GET /images/{name}/get`
//! (save) and `POST /images/load`.
//!
//! Progress goes out as Docker's JSON messages, one per line. As in dockerd, a failure
//! before the first message that counts (a pull's "Pulling from" does not) is an HTTP
//! error with its status; after it, the stream ends with an `errorDetail` message.

use super::{flag, json, ApiError, ApiResult, AppState, Query, RequestBody};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use berth_api::auth::{AuthConfig, AuthResponse};
use berth_api::progress::{ErrorDetail, ProgressDetail, ProgressMessage};
use berth_engine::image_transfer::{
    LoginError, Message, Progress, PullRequest, Transfer, TransferEvent,
};
use berth_engine::{Engine, EngineError};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use tokio::sync::mpsc;

/// `X-Registry-Auth`: base64url JSON of the credentials; absent is none.
fn registry_auth(headers: &HeaderMap) -> Result<AuthConfig, ApiError> {
    let Some(v) = headers.get("X-Registry-Auth") else {
        return Ok(AuthConfig::default());
    };
    let text = v
        .to_str()
        .map_err(|_| EngineError::invalid("invalid X-Registry-Auth header: not text"))?;
    AuthConfig::decode(text).map_err(|e| EngineError::invalid(e.to_string()).into())
}

/// `POST /images/create?fromImage=&tag=&platform=`.
pub async fn pull(engine: &Engine, q: &HashMap<String, String>, headers: &HeaderMap) -> ApiResult {
    let req = PullRequest {
        image: q.get("fromImage").cloned().unwrap_or_default(),
        tag: q.get("tag").cloned().unwrap_or_default(),
        platform: q.get("platform").cloned().unwrap_or_default(),
        auth: registry_auth(headers)?,
    };
    let transfer = engine.pull_image(&req)?;
    progress_response(transfer, Render::Pull).await
}

/// `POST /images/{name}/push?tag=`.
pub async fn push(
    engine: &Engine,
    name: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> ApiResult {
    let tag = q.get("tag").cloned().unwrap_or_default();
    let transfer = engine.push_image(name, &tag, &registry_auth(headers)?)?;
    progress_response(transfer, Render::Push).await
}

/// `POST /auth`: 200 with "Login Succeeded", 401 with the registry's refusal.
pub async fn login(State(engine): State<AppState>, body: RequestBody) -> ApiResult {
    let auth: AuthConfig = super::parse_body(&body.0)?;
    match engine.login(&auth).await {
        Ok(outcome) => Ok(json(
            StatusCode::OK,
            &AuthResponse {
                status: "Login Succeeded".to_string(),
                identity_token: outcome.identity_token.unwrap_or_default(),
            },
        )),
        Err(LoginError::Unauthorized(message)) => {
            Err(ApiError::Status(StatusCode::UNAUTHORIZED, message))
        }
        Err(LoginError::Other(e)) => Err(e.into()),
    }
}

/// `GET /images/get?names=a&names=b`.
pub async fn save_many(
    State(engine): State<AppState>,
    axum::extract::Query(pairs): axum::extract::Query<Vec<(String, String)>>,
) -> ApiResult {
    let names: Vec<String> = pairs
        .into_iter()
        .filter(|(k, _)| k == "names")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .collect();
    if names.is_empty() {
        return Err(EngineError::invalid("no images to save: give names=").into());
    }
    save(&engine, names).await
}

/// `GET /images/{name}/get` and `/images/get`: the archive, streamed as it is written.
pub async fn save(engine: &Engine, names: Vec<String>) -> ApiResult {
    let mut chunks = engine.save_images(names);
    // An error before the first byte (no such image) is an HTTP error.
    let first = match chunks.next().await {
        Some(Ok(b)) => b,
        Some(Err(e)) => return Err(e.into()),
        None => Bytes::new(),
    };
    let rest = futures_util::stream::unfold(chunks, |mut c| async move {
        match c.next().await {
            Some(Ok(b)) => Some((Ok(b), c)),
            // The archive is cut short: the client sees the connection end mid-body.
            Some(Err(e)) => Some((Err(std::io::Error::other(e.message())), c)),
            None => None,
        }
    });
    let stream = futures_util::stream::once(async move { Ok(first) }).chain(rest);
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/x-tar")
        .body(Body::from_stream(stream))
        .unwrap_or_default())
}

/// `POST /images/load?quiet=`: the body is read as the archive is loaded, never whole.
pub async fn load(State(engine): State<AppState>, q: Query, req: Request) -> ApiResult {
    let body = req
        .into_body()
        .into_data_stream()
        .map_err(std::io::Error::other);
    let reader = tokio_util::io::StreamReader::new(body);
    let transfer = engine.load_images(reader);
    let render = if flag(&q, "quiet") {
        Render::LoadQuiet
    } else {
        Render::Load
    };
    progress_response(transfer, render).await
}

/// How events of an operation read as JSON messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Render {
    Pull,
    Push,
    Load,
    LoadQuiet,
}

impl Render {
    /// Events sent before the outcome is known: a failure after them is still an HTTP
    /// error (dockerd writes its "Pulling from" only once it has the manifest).
    fn is_tentative(self, ev: &TransferEvent) -> bool {
        matches!(ev, TransferEvent::Progress(Progress::PullingFrom { .. }))
    }

    fn message(self, ev: &TransferEvent) -> Option<ProgressMessage> {
        match ev {
            TransferEvent::Pushed(p) => Some(ProgressMessage {
                progress_detail: Some(ProgressDetail::default()),
                aux: Some(serde_json::json!({
                    "Tag": p.tag,
                    "Digest": p.digest.to_string(),
                    "Size": p.size,
                })),
                ..ProgressMessage::default()
            }),
            TransferEvent::Progress(p) => {
                let is_load = matches!(self, Render::Load | Render::LoadQuiet);
                let m = p.message();
                match p {
                    // A load says what it loaded as output lines, as `docker load` prints them.
                    Progress::Status(s) if is_load => Some(ProgressMessage {
                        stream: format!("{s}\n"),
                        ..ProgressMessage::default()
                    }),
                    Progress::Layer { .. } if self == Render::LoadQuiet => None,
                    Progress::Layer { .. } => Some(layer_message(m)),
                    _ => Some(plain_message(m)),
                }
            }
        }
    }
}

fn layer_message(m: Message) -> ProgressMessage {
    let detail = match m.progress {
        Some((current, total)) => ProgressDetail {
            current: current as i64,
            total: total as i64,
            ..ProgressDetail::default()
        },
        None => ProgressDetail::default(),
    };
    ProgressMessage {
        status: m.status,
        id: m.id.unwrap_or_default(),
        progress_detail: Some(detail),
        ..ProgressMessage::default()
    }
}

fn plain_message(m: Message) -> ProgressMessage {
    ProgressMessage {
        status: m.status,
        id: m.id.unwrap_or_default(),
        ..ProgressMessage::default()
    }
}

fn error_message(e: &EngineError) -> ProgressMessage {
    ProgressMessage {
        error_detail: Some(ErrorDetail {
            code: 0,
            message: e.message(),
        }),
        error: e.message(),
        ..ProgressMessage::default()
    }
}

fn line(m: &ProgressMessage) -> Bytes {
    let mut v = serde_json::to_vec(m).unwrap_or_default();
    v.extend_from_slice(b"\r\n");
    Bytes::from(v)
}

/// Answers with the operation's progress: waits for its first message that counts (or its
/// end), then streams the rest from a task that stops, dropping (cancelling) the
/// operation, when the client goes away.
async fn progress_response<T: Send + 'static>(
    mut transfer: Transfer<T>,
    render: Render,
) -> ApiResult {
    let mut held = Vec::new();
    loop {
        match transfer.next().await {
            Some(ev) if render.is_tentative(&ev) => held.push(ev),
            Some(ev) => {
                held.push(ev);
                break;
            }
            None => break,
        }
    }
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let started = held.iter().any(|ev| !render.is_tentative(ev));
    if !started {
        // Nothing that counts was said: a failure is the answer's status.
        transfer.outcome().await?;
        let lines: Vec<Bytes> = held
            .iter()
            .filter_map(|ev| render.message(ev))
            .map(|m| line(&m))
            .collect();
        return Ok(stream_response(Body::from(lines.concat())));
    }
    tokio::spawn(async move {
        for ev in held {
            if let Some(m) = render.message(&ev) {
                if tx.send(line(&m)).await.is_err() {
                    return;
                }
            }
        }
        while let Some(ev) = transfer.next().await {
            if let Some(m) = render.message(&ev) {
                if tx.send(line(&m)).await.is_err() {
                    return;
                }
            }
        }
        if let Err(e) = transfer.outcome().await {
            tracing::info!(error = %e.message(), "image transfer failed");
            let _ = tx.send(line(&error_message(&e))).await;
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(b), rx))
    });
    Ok(stream_response(Body::from_stream(body)))
}

fn stream_response(body: Body) -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::image_transfer::LayerStatus;

    fn json_of(render: Render, p: Progress) -> String {
        let m = render.message(&TransferEvent::Progress(p)).unwrap();
        serde_json::to_string(&m).unwrap()
    }

    #[test]
    fn messages_read_as_dockerd_s() {
        let layer = |status| Progress::Layer {
            id: "0123456789ab".into(),
            status,
        };
        assert_eq!(
            json_of(Render::Pull, layer(LayerStatus::PullingFsLayer)),
            r#"{"status":"Pulling fs layer","progressDetail":{},"id":"0123456789ab"}"#
        );
        assert_eq!(
            json_of(
                Render::Pull,
                layer(LayerStatus::Downloading {
                    current: 5,
                    total: 10
                })
            ),
            r#"{"status":"Downloading","progressDetail":{"current":5,"total":10},"id":"0123456789ab"}"#
        );
        assert_eq!(
            json_of(
                Render::Pull,
                Progress::PullingFrom {
                    id: "latest".into(),
                    repository: "library/busybox".into()
                }
            ),
            r#"{"status":"Pulling from library/busybox","id":"latest"}"#
        );
        assert_eq!(
            json_of(
                Render::Load,
                Progress::Status("Loaded image: busybox:latest".into())
            ),
            r#"{"stream":"Loaded image: busybox:latest\n"}"#
        );
        assert!(Render::LoadQuiet
            .message(&TransferEvent::Progress(layer(LayerStatus::Loading {
                current: 1,
                total: 2
            })))
            .is_none());
        let e = serde_json::to_string(&error_message(&EngineError::internal("boom"))).unwrap();
        assert_eq!(e, r#"{"errorDetail":{"message":"boom"},"error":"boom"}"#);
    }
}
