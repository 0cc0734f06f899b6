use axum::Json;
use uploader_api::Health;

#[utoipa::path(get, path = "/v1/health", tag = "health",
    responses((status = 200, description = "The backend is up", body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        time_ms: super::epoch_ms(std::time::SystemTime::now()),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}
