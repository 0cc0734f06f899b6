use axum::extract::State;
use axum::{Extension, Json};
use uploader_api::Session;

use super::{ApiError, Caller, Shared};

#[utoipa::path(get, path = "/v1/session", tag = "session", security(("bearer" = [])),
    responses(
        (status = 200, description = "The token is valid", body = Session),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody)))]
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
