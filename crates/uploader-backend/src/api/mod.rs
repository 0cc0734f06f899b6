//! The HTTP API: routes, shared state, and the bearer-token gate in front of all but health.

pub(crate) mod complete;
pub(crate) mod deletions;
mod error;
pub(crate) mod health;
pub(crate) mod multipart;
pub(crate) mod objects;
pub(crate) mod presign;
pub(crate) mod session;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rusqlite::Connection;
use uploader_api::code;
use uploader_core::transport::S3Direct;

pub use error::ApiError;

/// Request bodies larger than this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares.
pub struct Backend {
    pub s3: S3Direct,
    pub bucket: String,
    pub db: Mutex<Connection>,
    /// Every signed key starts with it.
    pub prefix: String,
    /// How long a signed URL lives, at most (less when the credentials expire sooner).
    pub expiry: Duration,
    /// Files, or parts, signed in one request at most.
    pub max_batch: usize,
    /// Content types that may be signed: `image/*` matches every image type.
    pub content_types: Vec<String>,
    /// Attempts each queued deletion gets before it stays for a person to look at.
    pub deletion_max_attempts: u32,
    /// The largest object signed: one PUT, or a multipart upload's parts together.
    pub max_object_bytes: u64,
}

pub type Shared = Arc<Backend>;

impl Backend {
    /// The database, also after a handler panicked holding it: SQLite keeps its data
    /// consistent, and a transaction the panic left open is rolled back here.
    pub fn db(&self) -> Result<MutexGuard<'_, Connection>, ApiError> {
        match self.db.lock() {
            Ok(conn) => Ok(conn),
            Err(poisoned) => {
                self.db.clear_poison();
                let conn = poisoned.into_inner();
                tracing::warn!("a request panicked holding the database; carrying on");
                if !conn.is_autocommit() {
                    conn.execute_batch("ROLLBACK")?;
                }
                Ok(conn)
            }
        }
    }

    /// Refuses an object, or a part reaching, past `max_object_bytes`.
    pub fn check_object_size(&self, what: &str, bytes: u64) -> Result<(), ApiError> {
        if bytes <= self.max_object_bytes {
            return Ok(());
        }
        Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            code::OBJECT_TOO_LARGE,
            format!(
                "{what} comes to {bytes} bytes; this backend signs objects up to {} bytes \
                 (UPLOADER_MAX_OBJECT_BYTES)",
                self.max_object_bytes
            ),
        ))
    }

    /// How long URLs signed now may live: the configured expiry, cut short by the
    /// credentials' own expiry (a URL stops working when they do).
    pub async fn expiry_now(&self) -> Result<Duration, ApiError> {
        match self.s3.credentials_expiry().await? {
            None => Ok(self.expiry),
            Some(at) => match at.duration_since(SystemTime::now()) {
                Ok(left) if left > Duration::from_secs(1) => Ok(self.expiry.min(left)),
                _ => Err(ApiError::new(
                    axum::http::StatusCode::BAD_GATEWAY,
                    code::UPSTREAM_REFUSED,
                    "the backend's AWS credentials have expired",
                )),
            },
        }
    }

    /// A content type of plain characters that the settings allow.
    pub fn check_content_type(&self, value: &str) -> Result<(), ApiError> {
        let plain = !value.is_empty()
            && value.len() <= 100
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/+.-".contains(&b));
        let allowed = self
            .content_types
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(family) => value.starts_with(family) && value.len() > family.len(),
                None => value == pattern,
            });
        if plain && allowed {
            return Ok(());
        }
        Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            code::INVALID_CONTENT_TYPE,
            format!(
                "content type `{}` is not one this backend signs ({})",
                value.escape_debug(),
                self.content_types.join(", ")
            ),
        ))
    }

    /// Refuses a request that signs more than `max_batch` items.
    pub fn check_batch(&self, what: &str, n: usize) -> Result<(), ApiError> {
        if n > self.max_batch {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                code::BATCH_TOO_LARGE,
                format!(
                    "{n} {what} in one request; at most {} are signed at once",
                    self.max_batch
                ),
            ));
        }
        if n == 0 {
            return Err(ApiError::bad_request(format!("no {what} to sign")));
        }
        Ok(())
    }
}

/// The workstation a request came from, once its token checked out.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: i64,
    pub name: String,
    pub scope: crate::tokens::Scope,
}

/// JSON in, with parse errors and oversize bodies answered as `{code, message}`.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Body<T>(pub T);

/// A query string, its errors answered as `{code, message}`.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Params<T>(pub T);

/// The API; a request that takes longer than `request_timeout`, body included, is answered
/// `503 timeout`.
pub fn router(backend: Shared, request_timeout: Duration) -> Router {
    let authed = Router::new()
        .route("/v1/session", get(session::session))
        .route("/v1/uploads/presign", post(presign::presign))
        .route("/v1/uploads/complete", post(complete::complete))
        .route("/v1/objects", get(objects::object))
        .route("/v1/objects/link", get(objects::link))
        .route(
            "/v1/uploads/multipart",
            post(multipart::create).get(multipart::open_uploads),
        )
        .route("/v1/uploads/multipart/sign", post(multipart::sign))
        .route("/v1/uploads/multipart/parts", post(multipart::parts))
        .route("/v1/uploads/multipart/complete", post(multipart::complete))
        .route("/v1/uploads/multipart/abort", post(multipart::abort))
        .route("/v1/deletions", post(deletions::queue))
        .route("/v1/deletions/stats", get(deletions::deletion_stats))
        .route_layer(middleware::from_fn_with_state(
            backend.clone(),
            authenticate,
        ));
    Router::new()
        .route("/v1/health", get(health::health))
        .merge(authed)
        .fallback(not_found)
        .method_not_allowed_fallback(not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(request_timeout, time_limit))
        .layer(middleware::from_fn(access_log))
        .with_state(backend)
}

async fn not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        code::NOT_FOUND,
        "no such route: see docs/openapi.json",
    )
}

async fn not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        code::NOT_FOUND,
        "this route does not take that method: see docs/openapi.json",
    )
}

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being answered, which its errors and log lines carry.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The header that carries each answer's request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Gives each request an id (in the answer's `x-request-id`, and in its errors), and logs one
/// line per request on stderr (the journal, under systemd): method, path without the query,
/// status, time, id. Never a header, so never a token.
async fn access_log(request: Request, next: Next) -> Response {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    let id = crate::tokens::hex(&bytes);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = std::time::Instant::now();
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    eprintln!(
        "{method} {path} {} {} ms request {id}",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}

/// Answers a request still unanswered after `limit`: a slow body, or a slow S3.
async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            code::TIMEOUT,
            format!(
                "the request took longer than {:.1} s (UPLOADER_REQUEST_TIMEOUT_SECS)",
                limit.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

async fn authenticate(
    State(backend): State<Shared>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthorized("no workstation token: send `Authorization: Bearer <token>`")
        })?;
    let found = crate::tokens::verify(&*backend.db()?, token)?;
    let (token_id, name, scope) = found.ok_or_else(|| {
        ApiError::unauthorized("this workstation token is unknown or was revoked")
    })?;
    request.extensions_mut().insert(Caller {
        token_id,
        name,
        scope,
    });
    Ok(next.run(request).await)
}

pub use crate::db::epoch_ms;

/// Whether `value` is `len` lowercase hex digits (a SHA-256 is 64, an upload id 32).
pub fn is_lower_hex(value: &str, len: usize) -> bool {
    value.len() == len
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An upload id (`object-id`), when given: 32 lowercase hex characters, or a 400 naming the
/// field.
pub fn check_object_id(field: &str, value: Option<&str>) -> Result<(), ApiError> {
    match value {
        Some(v) if !is_lower_hex(v, 32) => Err(ApiError::bad_request(format!(
            "`{field}` must be 32 lowercase hex characters"
        ))),
        _ => Ok(()),
    }
}

/// A lowercase hex SHA-256, or a 400 naming the field.
pub fn check_sha256(field: &str, value: &str) -> Result<(), ApiError> {
    if is_lower_hex(value, 64) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "`{field}` must be a lowercase hex SHA-256 (64 characters)"
        )))
    }
}
