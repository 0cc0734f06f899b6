//! Deletions: a workstation's outbox rows handed to the backend's queue, and the queue's
//! figures for monitoring.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletionBatch {
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub deletions: Vec<Deletion>,
}

/// One object to delete. Sending the same `id` again changes nothing: the backend applies
/// each id once, even after it has been processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deletion {
    /// A UUID chosen by the workstation when the deletion was recorded.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[0-9a-fA-F-]{36}$", min_length = 36, max_length = 36)
    )]
    pub id: String,
    /// The object's path below the backend's prefix.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub path: String,
    /// Why, for people reading the queue: `removed by staff`, `replaced by job 12`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub reason: String,
    /// When the person asked for it, in the backend's clock (the workstation corrects its
    /// own by the difference it measured).
    #[serde(default)]
    pub requested_at_ms: i64,
    /// The object meant: the `object-id` of the upload to delete. When the key holds
    /// another upload by the time the worker gets to it, the deletion is superseded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub object_id: Option<String>,
    /// The SHA-256 of the object meant, for objects stored before uploads had an id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletionReceipt {
    /// Ids now in the queue or already processed: the workstation may forget them.
    pub accepted: Vec<String>,
    /// Ids that will never be accepted, with why (`invalid_path`, `id_conflict`).
    pub refused: Vec<RefusedDeletion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefusedDeletion {
    pub id: String,
    pub code: String,
    pub message: String,
}

/// The deletion queue's figures. `backlog` and `avg_attempts` are the monitoring query's:
/// rows with attempts left (`attempts < max_attempts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeletionStats {
    pub backlog: u64,
    /// Average attempts of the backlog's rows; absent when the backlog is empty.
    #[serde(default)]
    pub avg_attempts: Option<f64>,
    /// Rows out of attempts, kept with their last error until retried.
    pub dead: u64,
    /// Rows processed (deleted, or already gone) since the queue began.
    pub processed: u64,
    /// When the oldest backlog row was accepted.
    #[serde(default)]
    pub oldest_backlog_at_ms: Option<i64>,
    /// When a deletion worker last reported in; absent if none ever ran.
    #[serde(default)]
    pub worker_seen_at_ms: Option<i64>,
}
