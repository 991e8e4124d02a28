//! Engine API routes. Handlers parse the request, call the engine, and shape the answer; the
//! engine's error kinds become Docker's status codes here and nowhere else.

mod containers;
mod distribution;
mod exec;
mod images;
mod stream;
mod system;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use berth_engine::{Engine, EngineError, ErrorKind};
use http_body_util::BodyExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub type AppState = Arc<Engine>;

pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .route("/_ping", get(system::ping).head(system::ping))
        .route("/version", get(system::version))
        .route("/info", get(system::info))
        .route("/events", get(system::events))
        .route("/containers/json", get(containers::list))
        .route("/containers/create", post(containers::create))
        .route("/containers/prune", post(containers::prune))
        .route("/containers/{id}/json", get(containers::inspect))
        .route("/containers/{id}/start", post(containers::start))
        .route("/containers/{id}/stop", post(containers::stop))
        .route("/containers/{id}/restart", post(containers::restart))
        .route("/containers/{id}/kill", post(containers::kill))
        .route("/containers/{id}/pause", post(containers::pause))
        .route("/containers/{id}/unpause", post(containers::unpause))
        .route("/containers/{id}/rename", post(containers::rename))
        .route("/containers/{id}/update", post(containers::update))
        .route("/containers/{id}/wait", post(containers::wait))
        .route("/containers/{id}/resize", post(containers::resize))
        .route("/containers/{id}/attach", post(containers::attach))
        .route("/containers/{id}/logs", get(containers::logs))
        .route("/containers/{id}/top", get(containers::top))
        .route("/containers/{id}/stats", get(containers::stats))
        .route("/containers/{id}/exec", post(exec::create))
        .route(
            "/containers/{id}",
            axum::routing::delete(containers::remove),
        )
        .route("/exec/{id}/start", post(exec::start))
        .route("/exec/{id}/resize", post(exec::resize))
        .route("/exec/{id}/json", get(exec::inspect))
        .route("/images/json", get(images::list))
        .route("/images/create", post(images::create))
        .route("/images/get", get(distribution::save_many))
        .route("/images/load", post(distribution::load))
        .route("/auth", post(distribution::login))
        .route(
            "/images/{*rest}",
            get(images::get_dispatch)
                .post(images::post_dispatch)
                .delete(images::remove),
        )
        .fallback(not_found)
        .with_state(engine)
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        &format!("page not found: {}", uri.path()),
    )
}

/// Docker's error body.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body + "\n"))
        .unwrap_or_else(|_| status.into_response())
}

/// An engine error, or an HTTP-level one, as an HTTP answer.
pub enum ApiError {
    Engine(EngineError),
    /// A refusal with no engine error kind (a body over the size limit).
    Status(StatusCode, String),
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        Self::Engine(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = match self {
            Self::Engine(e) => e,
            Self::Status(status, message) => return error_response(status, &message),
        };
        let status = match e.kind() {
            ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict | ErrorKind::AlreadyExists => StatusCode::CONFLICT,
            ErrorKind::NotModified => return StatusCode::NOT_MODIFIED.into_response(),
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        error_response(status, &e.message())
    }
}

pub type ApiResult<T = Response> = Result<T, ApiError>;

pub type Query = axum::extract::Query<HashMap<String, String>>;

/// Docker's boolean query values: `1`, `true`, `True`...
pub fn flag(q: &HashMap<String, String>, key: &str) -> bool {
    q.get(key)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
}

/// Docker's `filters` parameter: `{"k":["v"]}` or the old `{"k":{"v":true}}`.
pub fn filters(q: &HashMap<String, String>) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let Some(raw) = q.get("filters").filter(|s| !s.is_empty()) else {
        return Ok(BTreeMap::new());
    };
    let v: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| EngineError::invalid(format!("invalid filter: {e}")))?;
    let mut out = BTreeMap::new();
    for (k, vals) in v.as_object().into_iter().flatten() {
        let list: Vec<String> = match vals {
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect(),
            serde_json::Value::Object(m) => m.keys().cloned().collect(),
            _ => return Err(EngineError::invalid("invalid filter").into()),
        };
        out.insert(k.clone(), list);
    }
    Ok(out)
}

/// A JSON answer.
pub fn json(status: StatusCode, v: &impl serde::Serialize) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|_| status.into_response())
}

/// The largest request body read into memory (a create with an inline seccomp profile is a
/// few tens of KiB). Image imports are streamed and not bound by it.
pub const MAX_BODY: usize = 2 << 20;

/// Reads a request body of at most [`MAX_BODY`] bytes. A larger one is refused with 413 and
/// Docker's error shape, before it is read whole.
pub async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(body_too_large()),
        Err(e) => Err(EngineError::invalid(format!("reading the request body: {e}")).into()),
    }
}

fn body_too_large() -> ApiError {
    ApiError::Status(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "request body too large: the limit is {} MiB",
            MAX_BODY >> 20
        ),
    )
}

/// A handler's request body, read with [`read_body`].
pub struct RequestBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RequestBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY as u64) {
            return Err(body_too_large());
        }
        read_body(req.into_body()).await.map(Self)
    }
}

/// Parses a JSON request body; an empty body is the default value.
pub fn parse_body<T: serde::de::DeserializeOwned + Default>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| EngineError::invalid(format!("invalid JSON: {e}")).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_kind_has_its_status() {
        let cases = [
            (ErrorKind::InvalidArgument, StatusCode::BAD_REQUEST),
            (ErrorKind::NotFound, StatusCode::NOT_FOUND),
            (ErrorKind::Conflict, StatusCode::CONFLICT),
            (ErrorKind::AlreadyExists, StatusCode::CONFLICT),
            (ErrorKind::NotModified, StatusCode::NOT_MODIFIED),
            (ErrorKind::Unavailable, StatusCode::SERVICE_UNAVAILABLE),
            (ErrorKind::Internal, StatusCode::INTERNAL_SERVER_ERROR),
        ];
        for (kind, status) in cases {
            let resp = ApiError::from(EngineError::new(kind, "x")).into_response();
            assert_eq!(resp.status(), status, "{kind:?}");
        }
    }
}
