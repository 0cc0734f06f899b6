use axum::extract::State;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, Caller, Shared};

/// What this workstation's token may do: for the app's connection test.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Session {
    pub workstation: String,
    pub bucket: String,
    /// Every key the backend signs starts with it.
    pub prefix: String,
    pub presign_expiry_secs: u64,
    pub max_batch: usize,
}

#[utoipa::path(get, path = "/v1/session", tag = "session", security(("bearer" = [])),
    responses(
        (status = 200, description = "The token is valid", body = Session),
        (status = 401, description = "No, unknown or revoked token", body = super::ErrorBody)))]
pub async fn session(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Session>, ApiError> {
    Ok(Json(Session {
        workstation: caller.name,
        bucket: backend.bucket.clone(),
        prefix: backend.prefix.clone(),
        presign_expiry_secs: backend.expiry.as_secs(),
        max_batch: backend.max_batch,
    }))
}
