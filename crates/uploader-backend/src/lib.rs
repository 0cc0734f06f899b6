//! The reference backend: presigns uploads for workstations that hold no AWS keys, so a
//! whole Catalog Uploader system runs on one machine, and a company can adopt or copy it.

pub mod api;
pub mod db;
pub mod deletions;
pub mod keys;
pub mod openapi;
pub mod ownership;
pub mod server;
pub mod settings;
pub mod tokens;

use std::path::Path;
use std::sync::{Arc, Mutex};

pub use settings::{ServeLimits, ServeSettings, Settings};

/// The backend's state from checked settings and its database at `database`.
pub async fn backend(settings: &Settings, database: &Path) -> anyhow::Result<api::Shared> {
    settings.check()?;
    let conn = db::open(database)
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", database.display()))?;
    Ok(Arc::new(api::Backend {
        s3: settings.s3().await,
        bucket: settings.bucket.clone(),
        db: Mutex::new(conn),
        prefix: settings.prefix.clone(),
        expiry: settings.presign_expiry(),
        max_batch: settings.max_batch,
        content_types: settings.content_types(),
        deletion_max_attempts: settings.deletion_max_attempts,
        max_object_bytes: settings.max_object_bytes,
    }))
}

/// Serves the API on `listener` within `limits` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    backend: api::Shared,
    limits: ServeLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = api::router(backend, limits.request_timeout);
    server::serve(listener, router, limits, shutdown).await
}
