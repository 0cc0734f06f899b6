//! `GET /v1/objects?path=`: what is stored at a path, so a client can tell that an upload
//! it lost track of already landed. `GET /v1/objects/link?path=`: a short-lived presigned
//! GET for viewing a private object.

use axum::Json;
use axum::extract::State;
use uploader_api::{LinkQuery, ObjectLink, ObjectQuery, ObjectState};

use uploader_core::transport::Transport;

use super::{ApiError, Params, Shared};
use crate::keys::object_key;

#[utoipa::path(get, operation_id = "object_state", path = "/v1/objects", tag = "objects", security(("bearer" = [])),
    params(ObjectQuery),
    responses(
        (status = 200, description = "Whether an object is there, and what", body = ObjectState),
        (status = 400, description = "The path was refused", body = uploader_api::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody)))]
pub async fn object(
    State(backend): State<Shared>,
    Params(query): Params<ObjectQuery>,
) -> Result<Json<ObjectState>, ApiError> {
    let key = object_key(&backend.prefix, &query.path)?;
    let found = backend.s3.head_object(&key).await?;
    Ok(Json(ObjectState {
        exists: found.is_some(),
        size: found.as_ref().map(|o| o.size),
        sha256: found.as_ref().and_then(|o| o.sha256.clone()),
        etag: found.as_ref().and_then(|o| o.etag.clone()),
        object_id: found.as_ref().and_then(|o| o.object_id.clone()),
        version_id: found.as_ref().and_then(|o| o.version_id.clone()),
        last_modified_ms: found.and_then(|o| o.last_modified_ms),
        key,
    }))
}

/// Viewing links live this long unless asked otherwise, and never longer than an hour.
const LINK_DEFAULT_SECS: u64 = 300;
const LINK_MAX_SECS: u64 = 3600;

#[utoipa::path(get, operation_id = "object_link", path = "/v1/objects/link", tag = "objects", security(("bearer" = [])),
    params(LinkQuery),
    responses(
        (status = 200, description = "A presigned GET of the object", body = ObjectLink),
        (status = 400, description = "The path or expiry was refused", body = uploader_api::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody)))]
pub async fn link(
    State(backend): State<Shared>,
    Params(query): Params<LinkQuery>,
) -> Result<Json<ObjectLink>, ApiError> {
    let key = object_key(&backend.prefix, &query.path)?;
    let secs = query.expires_secs.unwrap_or(LINK_DEFAULT_SECS);
    if !(1..=LINK_MAX_SECS).contains(&secs) {
        return Err(ApiError::bad_request(format!(
            "`expires_secs` must be 1 to {LINK_MAX_SECS}"
        )));
    }
    let expiry = backend
        .expiry_now()
        .await?
        .min(std::time::Duration::from_secs(secs));
    let signed = backend.s3.presign_get(&key, expiry).await?;
    Ok(Json(ObjectLink {
        key,
        url: signed.url,
        expires_at_ms: super::epoch_ms(signed.expires_at),
    }))
}
