//! `POST /v1/uploads/complete`: registers an uploaded object so the catalog knows it. Safe
//! to repeat: the same object registered again changes nothing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use rusqlite::{OptionalExtension, params};
use uploader_api::code;
use uploader_api::{CompleteRequest, CompleteResponse};
use uploader_core::transport::Transport;

use super::{ApiError, Body, Caller, Shared, check_object_id, check_sha256};
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
    check_object_id("object_id", request.object_id.as_deref())?;
    // Only what is really stored is registered: the catalog never points at nothing, nor at
    // another upload of the same key.
    let stored = backend.s3.head_object(&key).await?;
    let matches = stored.as_ref().is_some_and(|o| {
        o.size == request.size
            && o.sha256.as_deref() == Some(request.sha256.as_str())
            && (request.object_id.is_none() || o.object_id == request.object_id)
    });
    if !matches {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            code::NOT_UPLOADED,
            format!(
                "`{key}` is not stored with {} bytes, SHA-256 {}{}",
                request.size,
                request.sha256,
                request
                    .object_id
                    .as_deref()
                    .map_or(String::new(), |id| format!(" and upload id {id}"))
            ),
        ));
    }
    let db = backend.db()?;
    crate::ownership::check(&db, &caller, &key, crate::ownership::Act::Overwrite)?;
    let known: Option<(String, Option<String>)> = db
        .prepare_cached("SELECT sha256, object_id FROM uploads WHERE key = ?1")?
        .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if known.as_ref().is_some_and(|(sha, id)| {
        *sha == request.sha256 && (request.object_id.is_none() || *id == request.object_id)
    }) {
        return Ok(Json(CompleteResponse {
            key,
            registered: false,
        }));
    }
    // A new upload at a known key (other bytes, or the same bytes uploaded again) replaces
    // the old one's record: who made it, and when.
    db.prepare_cached(
        "INSERT INTO uploads (key, sha256, size, etag, sku, variant, original_name, width, \
         height, token_id, registered_at_ms, object_id, workstation) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
         ON CONFLICT (key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size, \
         etag = excluded.etag, sku = excluded.sku, variant = excluded.variant, \
         original_name = excluded.original_name, width = excluded.width, \
         height = excluded.height, token_id = excluded.token_id, \
         registered_at_ms = excluded.registered_at_ms, object_id = excluded.object_id, \
         workstation = excluded.workstation",
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
        request.object_id,
        caller.name,
    ])?;
    eprintln!(
        "registered {key} ({} bytes) for {}",
        request.size, caller.name
    );
    Ok(Json(CompleteResponse {
        key,
        registered: true,
    }))
}
