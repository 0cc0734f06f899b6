//! `GET /v1/objects?path=`: what is stored at a path, so a client can tell that an upload
//! it lost track of already landed.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use uploader_core::transport::Transport;

use super::{ApiError, Shared};
use crate::keys::object_key;

#[derive(Debug, Clone, Serialize, Deserialize, IntoParams)]
pub struct ObjectQuery {
    /// The path below the backend's prefix.
    pub path: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ObjectState {
    pub key: String,
    pub exists: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The SHA-256 the object was stored with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

#[utoipa::path(get, operation_id = "object_state", path = "/v1/objects", tag = "objects", security(("bearer" = [])),
    params(ObjectQuery),
    responses(
        (status = 200, description = "Whether an object is there, and what", body = ObjectState),
        (status = 400, description = "The path was refused", body = super::ErrorBody),
        (status = 401, description = "No, unknown or revoked token", body = super::ErrorBody)))]
pub async fn object(
    State(backend): State<Shared>,
    Query(query): Query<ObjectQuery>,
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
