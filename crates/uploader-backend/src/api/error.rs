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
        Self::new(StatusCode::BAD_REQUEST, code::BAD_REQUEST, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code::UNAUTHORIZED, message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
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
        Self::new(StatusCode::BAD_REQUEST, code::INVALID_PATH, e.to_string())
    }
}

/// S3's answer, passed on: what the client should do follows from the code.
impl From<TransportError> for ApiError {
    fn from(e: TransportError) -> Self {
        let (status, code) = match e.kind {
            ErrorKind::Gone => (StatusCode::GONE, code::UPLOAD_GONE),
            ErrorKind::Network | ErrorKind::Server => {
                (StatusCode::BAD_GATEWAY, code::UPSTREAM_UNAVAILABLE)
            }
            ErrorKind::Throttled => (StatusCode::SERVICE_UNAVAILABLE, code::UPSTREAM_UNAVAILABLE),
            ErrorKind::Resign | ErrorKind::Permanent => {
                (StatusCode::BAD_GATEWAY, code::UPSTREAM_REFUSED)
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
