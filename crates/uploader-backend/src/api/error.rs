//! Every error is JSON `{code, message}`: `code` is stable for programs, `message` is for people.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uploader_api::{ErrorBody, code};
use uploader_core::transport::{ErrorKind, TransportError};

use crate::keys::KeyError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// What went wrong inside (a database or S3 error): logged with the request id, never
    /// sent, since it may name files, queries or endpoints.
    pub detail: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detail: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, message)
    }

    /// The backend itself failed: `detail` goes to the log only.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            "the backend failed",
        )
        .with_detail(detail)
    }

    pub fn with_detail(mut self, detail: impl std::fmt::Display) -> Self {
        self.detail = Some(detail.to_string());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_id = super::request_id();
        let id = request_id.as_deref().unwrap_or("-");
        match &self.detail {
            Some(detail) if self.status.is_server_error() => tracing::error!(
                request_id = id,
                code = self.code,
                status = self.status.as_u16(),
                "{detail}"
            ),
            Some(detail) => tracing::warn!(
                request_id = id,
                code = self.code,
                status = self.status.as_u16(),
                "{detail}"
            ),
            None => {}
        }
        // A failure on the backend's side is for its admin: the id finds it in the log.
        let message = match &request_id {
            Some(id) if self.status.is_server_error() => {
                format!(
                    "{} (request id {id}: its admin can look it up)",
                    self.message
                )
            }
            _ => self.message,
        };
        let body = ErrorBody {
            code: self.code.to_string(),
            message,
            request_id,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::INVALID_PATH, e.to_string())
    }
}

/// S3's answer: the code says what the client should do; S3's own words stay in the log.
impl From<TransportError> for ApiError {
    fn from(e: TransportError) -> Self {
        let (status, code, message) = match e.kind {
            ErrorKind::Gone => (
                StatusCode::GONE,
                code::UPLOAD_GONE,
                "the multipart upload no longer exists",
            ),
            ErrorKind::Network | ErrorKind::Server => (
                StatusCode::BAD_GATEWAY,
                code::UPSTREAM_UNAVAILABLE,
                "storage could not be reached, or failed",
            ),
            ErrorKind::Throttled => (
                StatusCode::SERVICE_UNAVAILABLE,
                code::UPSTREAM_UNAVAILABLE,
                "storage asked the backend to slow down",
            ),
            ErrorKind::Resign | ErrorKind::Permanent => (
                StatusCode::BAD_GATEWAY,
                code::UPSTREAM_REFUSED,
                "storage refused the backend's request",
            ),
        };
        Self::new(status, code, message).with_detail(format!("storage: {}", e.message))
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(format!("database: {e}"))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        Self::bad_request(e.body_text())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                code::BODY_TOO_LARGE,
                "the request body is larger than the backend accepts",
            )
        } else {
            Self::bad_request(e.body_text())
        }
    }
}
