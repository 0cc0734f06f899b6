//! `POST /v1/uploads/presign`: single-PUT URLs for a batch of files, all checked before any
//! is signed.

use axum::extract::State;
use axum::{Extension, Json};
use uploader_api::{PresignRequest, PresignResponse, SignedRequest, SignedUpload};
use uploader_core::transport::{PresignPut, Presigned};

use super::{ApiError, Body, Caller, Shared, check_object_id, check_sha256, epoch_ms};
use crate::keys::object_key;
use crate::ownership::{self, Act};

/// S3's limit for one PUT; larger files go up in parts.
pub const MAX_SINGLE_PUT: u64 = 5 * 1024 * 1024 * 1024;

/// The signed request as the client receives it.
pub fn signed_request(signed: Presigned) -> SignedRequest {
    SignedRequest {
        method: signed.method,
        url: signed.url,
        headers: signed.headers.into_iter().collect(),
        expires_at_ms: epoch_ms(signed.expires_at),
    }
}

#[utoipa::path(post, operation_id = "presign_uploads", path = "/v1/uploads/presign", tag = "uploads", security(("bearer" = [])),
    request_body = PresignRequest,
    responses(
        (status = 200, description = "Every file signed", body = PresignResponse),
        (status = 400, description = "A path, checksum or type was refused; nothing was signed", body = uploader_api::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody),
        (status = 403, description = "A key holds another workstation's photo and the token's scope is `own`; nothing was signed", body = uploader_api::ErrorBody),
        (status = 413, description = "Too many files, too large a body, or a file over the backend's object size limit; nothing was signed", body = uploader_api::ErrorBody)))]
pub async fn presign(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<PresignRequest>,
) -> Result<Json<PresignResponse>, ApiError> {
    backend.check_batch("files", request.files.len())?;
    let mut keys = Vec::with_capacity(request.files.len());
    for file in &request.files {
        keys.push(object_key(&backend.prefix, &file.path)?);
        backend.check_content_type(&file.content_type)?;
        check_sha256("sha256", &file.sha256)?;
        check_object_id("object_id", file.object_id.as_deref())?;
        backend.check_object_size(&format!("`{}`", file.path), file.size)?;
        if file.size > MAX_SINGLE_PUT {
            return Err(ApiError::bad_request(format!(
                "`{}` is {} bytes: over 5 GiB goes up in parts (/v1/uploads/multipart)",
                file.path, file.size
            )));
        }
    }
    {
        let db = backend.db()?;
        for key in &keys {
            ownership::check(&db, &caller, key, Act::Overwrite)?;
        }
    }
    let expiry = backend.expiry_now().await?;
    let mut uploads = Vec::with_capacity(keys.len());
    let mut signed_ids = Vec::with_capacity(keys.len());
    for (file, key) in request.files.into_iter().zip(keys) {
        let put = PresignPut {
            key: &key,
            content_type: &file.content_type,
            sha256: &file.sha256,
            size: file.size,
            object_id: file.object_id.as_deref(),
        };
        let signed = backend.s3.presign_put(&put, expiry).await?;
        signed_ids.push(file.object_id.clone());
        uploads.push(SignedUpload {
            path: file.path,
            key,
            request: signed_request(signed),
        });
    }
    // The audit trail: who had which keys signed (never the URLs).
    {
        let db = backend.db()?;
        for (upload, object_id) in uploads.iter().zip(&signed_ids) {
            ownership::record_signing(
                &db,
                &caller,
                &upload.key,
                "put",
                object_id.as_deref(),
                None,
            )?;
        }
    }
    eprintln!("signed {} uploads for {}", uploads.len(), caller.name);
    Ok(Json(PresignResponse { uploads }))
}
