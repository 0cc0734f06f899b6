//! Every error is JSON `{code, message}`: `code` is stable for programs, `message` is for people.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uploader_core::transport::{ErrorKind, TransportError};
use utoipa::ToSchema;

use crate::keys::KeyError;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// One of: `unauthorized`, `bad_request`, `invalid_path`, `invalid_content_type`,
    /// `batch_too_large`, `body_too_large`, `not_uploaded`, `upload_gone`,
    /// `upstream_unavailable`, `upstream_refused`, `internal`.
    pub code: String,
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the backend failed: {message}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_string(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_path", e.to_string())
    }
}

/// S3's answer, passed on: what the client should do follows from the code.
impl From<TransportError> for ApiError {
    fn from(e: TransportError) -> Self {
        let (status, code) = match e.kind {
            ErrorKind::Gone => (StatusCode::GONE, "upload_gone"),
            ErrorKind::Network | ErrorKind::Server => {
                (StatusCode::BAD_GATEWAY, "upstream_unavailable")
            }
            ErrorKind::Throttled => (StatusCode::SERVICE_UNAVAILABLE, "upstream_unavailable"),
            ErrorKind::Resign | ErrorKind::Permanent => {
                (StatusCode::BAD_GATEWAY, "upstream_refused")
            }
        };
        Self::new(status, code, format!("storage: {}", e.message))
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(format!("database: {e}"))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is larger than the backend accepts",
            )
        } else {
            Self::bad_request(e.body_text())
        }
    }
}
