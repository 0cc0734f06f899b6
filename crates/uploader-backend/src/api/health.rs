use axum::Json;
use axum::extract::State;
use uploader_api::Health;

use super::Shared;

#[utoipa::path(get, path = "/v1/health", tag = "health",
    responses((status = 200, description = "The backend is up; when a deletion worker last reported", body = Health)))]
pub async fn health(State(backend): State<Shared>) -> Json<Health> {
    // Health answers even when the database cannot: the worker's time is then left out.
    let seen = backend.db().ok().and_then(|conn| {
        conn.query_row("SELECT MAX(seen_at) FROM deletion_workers", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .ok()
        .flatten()
    });
    Json(Health {
        status: "ok".into(),
        time_ms: super::epoch_ms(std::time::SystemTime::now()),
        version: env!("CARGO_PKG_VERSION").into(),
        deletion_worker_seen_at_ms: seen,
    })
}
