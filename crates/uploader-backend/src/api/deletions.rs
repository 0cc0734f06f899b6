//! `POST /v1/deletions`: a workstation's outbox rows into `s3_deletion_queue`, idempotent by
//! id; `GET /v1/deletions/stats`: the queue's figures for monitoring.

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Extension, Json};
use uploader_api::{DeletionBatch, DeletionReceipt, DeletionStats, code};
use uploader_core::deletion::MAX_KEYS_PER_REQUEST;

use super::{ApiError, Body, Caller, Shared};
use crate::db::now_ms;
use crate::deletions::{accept, stats};

#[utoipa::path(post, operation_id = "queue_deletions", path = "/v1/deletions", tag = "deletions", security(("bearer" = [])),
    request_body = DeletionBatch,
    responses(
        (status = 200, description = "Each id accepted (now or before) or refused for good", body = DeletionReceipt),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody),
        (status = 413, description = "More than 1000 deletions, or too large a body", body = uploader_api::ErrorBody)))]
pub async fn queue(
    State(backend): State<Shared>,
    Extension(caller): Extension<Caller>,
    Body(batch): Body<DeletionBatch>,
) -> Result<Json<DeletionReceipt>, ApiError> {
    let n = batch.deletions.len();
    if n == 0 {
        return Err(ApiError::bad_request("no deletions in the request"));
    }
    if n > MAX_KEYS_PER_REQUEST {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            code::BATCH_TOO_LARGE,
            format!(
                "{n} deletions in one request; at most {MAX_KEYS_PER_REQUEST} are taken at once"
            ),
        ));
    }
    let receipt = accept(
        &mut *backend.db()?,
        &caller,
        &backend.prefix,
        &batch,
        backend.deletion_max_attempts,
        now_ms(),
    )?;
    eprintln!(
        "queued {} deletions for {} ({} refused)",
        receipt.accepted.len(),
        caller.name,
        receipt.refused.len()
    );
    Ok(Json(receipt))
}

#[utoipa::path(get, operation_id = "deletion_stats", path = "/v1/deletions/stats", tag = "deletions", security(("bearer" = [])),
    responses(
        (status = 200, description = "Backlog and average attempts (the monitoring query), rows out of attempts, rows processed", body = DeletionStats),
        (status = 401, description = "No, unknown or revoked token", body = uploader_api::ErrorBody)))]
pub async fn deletion_stats(
    State(backend): State<Shared>,
) -> Result<Json<DeletionStats>, ApiError> {
    Ok(Json(stats(&*backend.db()?)?))
}
