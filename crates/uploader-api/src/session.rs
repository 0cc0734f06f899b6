//! Health (with the backend's clock) and what a workstation's token may do.

use serde::{Deserialize, Serialize};

/// What this workstation's token may do: for the app's connection test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub workstation: String,
    pub bucket: String,
    /// Every key the backend signs starts with it.
    pub prefix: String,
    pub presign_expiry_secs: u64,
    pub max_batch: usize,
}

/// Whether the backend is up, and its clock, so clients can tell when theirs is off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    /// The backend's time, in milliseconds since the Unix epoch.
    pub time_ms: i64,
    pub version: String,
    /// When a deletion worker last reported in (every round, busy or idle); absent if none
    /// ever ran. A monitor alerts when it is older than a few poll intervals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_worker_seen_at_ms: Option<i64>,
}
