//! `POST /v1/uploads/complete`: registers an uploaded object so the catalog knows it. Safe
//! to repeat: the same object registered again changes nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use rusqlite::{OptionalExtension, params};
use uploader_api::code;
use uploader_api::{CompleteRequest, CompleteResponse};
use uploader_core::transport::Transport;

use super::{ApiError, Body, Caller, Shared, check_sha256};
use crate::db::now_ms;
use crate::keys::object_key;

#[utoipa::path(post, operation_id = "register_upload", path = "/v1/uploads/complete", tag = "uploads", security(("bearer" = [])),
    request_body = CompleteRequest,
    responses(
        (status = 200, description = "Registered, now or before", body = CompleteResponse),
        (status = 409, description = "No object with that size and SHA-256 is stored at the path", body = uploader_api::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody)))]
pub async fn complete(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<CompleteRequest>,
) -> Result<Json<CompleteResponse>, ApiError> {
    let key = object_key(&backend.prefix, &request.path)?;
    check_sha256("sha256", &request.sha256)?;
    // Only what is really stored is registered: the catalog never points at nothing.
    let stored = backend.s3.head_object(&key).await?;
    let matches = stored.as_ref().is_some_and(|o| {
        o.size == request.size && o.sha256.as_deref() == Some(request.sha256.as_str())
    });
    if !matches {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            code::NOT_UPLOADED,
            format!(
                "`{key}` is not stored with {} bytes and SHA-256 {}",
                request.size, request.sha256
            ),
        ));
    }
    let db = backend.db()?;
    let known: Option<String> = db
        .prepare_cached("SELECT sha256 FROM uploads WHERE key = ?1")?
        .query_row([&key], |r| r.get(0))
        .optional()?;
    if known.as_deref() == Some(request.sha256.as_str()) {
        return Ok(Json(CompleteResponse {
            key,
            registered: false,
        }));
    }
    // A new photo at a known key replaces the old one's record.
    db.prepare_cached(
        "INSERT INTO uploads (key, sha256, size, etag, sku, variant, original_name, width, \
         height, token_id, registered_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
         ON CONFLICT (key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, \
         etag = excluded.etag, sku = excluded.sku, variant = excluded.variant, \
         original_name = excluded.original_name, width = excluded.width, \
         height = excluded.height, token_id = excluded.token_id, \
         registered_at_ms = excluded.registered_at_ms",
    )?
    .execute(params![
        key,
        request.sha256,
        request.size as i64,
        request.etag,
        request.sku,
        request.variant,
        request.name,
        request.width,
        request.height,
        caller.token_id,
        now_ms(),
    ])?;
    Ok(Json(CompleteResponse {
        key,
        registered: true,
    }))
}
