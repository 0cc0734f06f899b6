//! `POST /v1/uploads/presign`: single-PUT URLs for a batch of files, all checked before any
//! is signed.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uploader_core::transport::{PresignPut, Presigned};
use utoipa::ToSchema;

use super::{ApiError, Body, Shared, check_sha256, epoch_ms};
use crate::keys::object_key;

/// S3's limit for one PUT; larger files go up in parts.
pub const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PresignRequest {
    pub files: Vec<FileToSign>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FileToSign {
    /// Where the file goes below the backend's prefix, e.g. `SKU123/front-large.jpg`.
    pub path: String,
    /// An `image/…` type; signed, so the object is stored with it.
    pub content_type: String,
    /// Bytes; signed, so no other length is accepted.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes; signed, so S3 refuses any other bytes.
    pub sha256: String,
    /// The source file's name on the workstation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PresignResponse {
    /// One per file, in the order asked.
    pub uploads: Vec<SignedUpload>,
}

/// A request to send as it is: this method, to this URL, with exactly these headers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedUpload {
    pub path: String,
    /// The object's key: the backend's prefix and `path`.
    pub key: String,
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working, in milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
}

impl SignedUpload {
    pub fn new(path: String, key: String, signed: Presigned) -> Self {
        Self {
            path,
            key,
            method: signed.method,
            url: signed.url,
            headers: signed.headers.into_iter().collect(),
            expires_at_ms: epoch_ms(signed.expires_at),
        }
    }
}

/// An `image/…` media type of plain characters.
pub fn check_content_type(value: &str) -> Result<(), ApiError> {
    let plain = value.len() <= 100
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/+.-".contains(&b));
    if plain && value.starts_with("image/") && value.len() > "image/".len() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_content_type",
            format!(
                "content type `{}` is not an image type",
                value.escape_debug()
            ),
        ))
    }
}

#[utoipa::path(post, operation_id = "presign_uploads", path = "/v1/uploads/presign", tag = "uploads", security(("bearer" = [])),
    request_body = PresignRequest,
    responses(
        (status = 200, description = "Every file signed", body = PresignResponse),
        (status = 400, description = "A path, checksum or type was refused; nothing was signed", body = super::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = super::ErrorBody),
        (status = 413, description = "Too many files or too large a body", body = super::ErrorBody)))]
pub async fn presign(
    State(backend): State<Shared>,
    Body(request): Body<PresignRequest>,
) -> Result<Json<PresignResponse>, ApiError> {
    backend.check_batch("files", request.files.len())?;
    let mut keys = Vec::with_capacity(request.files.len());
    for file in &request.files {
        keys.push(object_key(&backend.prefix, &file.path)?);
        check_content_type(&file.content_type)?;
        check_sha256("sha256", &file.sha256)?;
        if file.size > MAX_SINGLE_PUT {
            return Err(ApiError::bad_request(format!(
                "`{}` is {} bytes: over 5 GiB goes up in parts (/v1/uploads/multipart)",
                file.path, file.size
            )));
        }
    }
    let expiry = backend.expiry_now().await?;
    let mut uploads = Vec::with_capacity(keys.len());
    for (file, key) in request.files.into_iter().zip(keys) {
        let put = PresignPut {
            key: &key,
            content_type: &file.content_type,
            sha256: &file.sha256,
            size: file.size,
        };
        let signed = backend.s3.presign_put(&put, expiry).await?;
        uploads.push(SignedUpload::new(file.path, key, signed));
    }
    Ok(Json(PresignResponse { uploads }))
}
