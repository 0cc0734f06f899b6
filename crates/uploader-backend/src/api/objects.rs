//! `GET /v1/objects?path=`: what is stored at a path, so a client can tell that an upload
//! it lost track of already landed.

use axum::Json;
use axum::extract::State;
use uploader_api::{ObjectQuery, ObjectState};

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
        etag: found.and_then(|o| o.etag),
        key,
    }))
}
