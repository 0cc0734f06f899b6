use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Whether the backend is up, and its clock, so clients can tell when theirs is off.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    /// The backend's time, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub version: String,
}

#[utoipa::path(get, path = "/v1/health", tag = "health",
    responses((status = 200, description = "The backend is up", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        time_ms: super::epoch_ms(std::time::SystemTime::now()),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
