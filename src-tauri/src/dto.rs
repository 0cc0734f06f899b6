//! The shapes the UI sees. TypeScript types are generated from these (see `bindings.rs`).

use serde::Serialize;
use ts_rs::TS;
use uploader_core::queue::JobState;
use uploader_core::store::JobRecord;

/// One source file in the job list.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    #[ts(type = "number")]
    pub id: i64,
    pub file_name: String,
    pub source_path: String,
    pub sku: String,
    pub state: JobStateView,
    #[ts(type = "number")]
    pub bytes_done: u64,
    #[ts(type = "number")]
    pub bytes_total: u64,
    pub keys: Vec<String>,
    pub error: Option<String>,
    /// Shown with the job, which still succeeds (e.g. a photo smaller than a variant asks).
    pub warnings: Vec<String>,
    /// Paused by the user (the job or its batch).
    pub paused: bool,
    /// Failed attempts so far, and how many are allowed.
    pub attempts: u32,
    pub max_attempts: u32,
    /// When the job last changed (ms since the epoch): the later record wins.
    #[ts(type = "number")]
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum JobStateView {
    Queued,
    Processing,
    Staged,
    Uploading,
    Uploaded,
    Failed,
    Cancelled,
}

/// What the window is told as the queue moves, on the event named [`JOB_EVENT`].
#[derive(Debug, Clone, Serialize, TS)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum JobEvent {
    Added {
        job: JobView,
    },
    Changed {
        job: JobView,
    },
    Progress {
        #[ts(type = "number")]
        job_id: i64,
        #[ts(type = "number")]
        bytes_done: u64,
        #[ts(type = "number")]
        bytes_total: u64,
    },
    /// A batch's totals, throughput and ETA (a few times a second at most).
    Batch {
        #[ts(type = "number")]
        batch_id: i64,
        #[ts(type = "number")]
        files: u64,
        #[ts(type = "number")]
        uploaded: u64,
        #[ts(type = "number")]
        failed: u64,
        #[ts(type = "number")]
        bytes_done: u64,
        #[ts(type = "number")]
        bytes_expected: u64,
        bytes_per_second: f64,
        eta_seconds: Option<f64>,
    },
    /// The server stopped or started answering; uploads wait while it is unreachable.
    Connectivity {
        online: bool,
    },
    /// The deletion backlog changed (or was looked at again, every 15 s).
    Outbox {
        outbox: OutboxView,
    },
}

/// Deletions waiting here and, in backend mode, in the backend's queue.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OutboxView {
    /// Still to be sent from this computer.
    #[ts(type = "number")]
    pub waiting: u64,
    /// Handed to the backend, whose worker deletes them.
    #[ts(type = "number")]
    pub handed_over: u64,
    #[ts(type = "number")]
    pub done: u64,
    /// Out of attempts: they need a person (retry, or fix the cause).
    #[ts(type = "number")]
    pub dead: u64,
    /// The backend queue's backlog and average attempts (the monitoring query).
    #[ts(type = "number | null")]
    pub upstream_backlog: Option<u64>,
    pub upstream_avg_attempts: Option<f64>,
    #[ts(type = "number | null")]
    pub upstream_dead: Option<u64>,
    /// Why the backend's figures are missing, in backend mode.
    pub upstream_error: Option<String>,
    #[ts(type = "number")]
    pub alert_threshold: u64,
    pub alert: bool,
}

impl From<&uploader_core::deletion::Backlog> for OutboxView {
    fn from(b: &uploader_core::deletion::Backlog) -> Self {
        Self {
            waiting: b.local_backlog,
            handed_over: b.local.synced,
            done: b.local.done,
            dead: b.local.dead,
            upstream_backlog: b.upstream.as_ref().map(|u| u.backlog),
            upstream_avg_attempts: b.upstream.as_ref().and_then(|u| u.avg_attempts),
            upstream_dead: b.upstream.as_ref().map(|u| u.dead),
            upstream_error: b.upstream_error.clone(),
            alert_threshold: b.alert_threshold,
            alert: b.alert,
        }
    }
}

pub const JOB_EVENT: &str = "job-event";

/// Every command error: a stable code for the UI's logic, a sentence for people.
#[derive(Debug, Clone, Serialize, TS)]
pub struct CommandError {
    pub code: String,
    pub message: String,
}

/// Where uploads go, or what keeps the app from uploading.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub ready: bool,
    pub destination: Option<String>,
    pub problem: Option<CommandError>,
}

impl From<uploader_core::Error> for CommandError {
    fn from(e: uploader_core::Error) -> Self {
        Self {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

impl From<JobState> for JobStateView {
    fn from(s: JobState) -> Self {
        match s {
            JobState::Queued => Self::Queued,
            JobState::Processing => Self::Processing,
            JobState::Staged => Self::Staged,
            JobState::Uploading => Self::Uploading,
            JobState::Uploaded => Self::Uploaded,
            JobState::Failed => Self::Failed,
            JobState::Cancelled => Self::Cancelled,
        }
    }
}

impl From<&JobRecord> for JobView {
    fn from(j: &JobRecord) -> Self {
        Self {
            id: j.id,
            file_name: j
                .source_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| j.source_path.display().to_string()),
            source_path: j.source_path.display().to_string(),
            sku: j.sku.clone(),
            state: j.state.into(),
            bytes_done: j.bytes_done,
            bytes_total: j.bytes_total,
            keys: j.variants.iter().map(|v| v.object_key.clone()).collect(),
            error: j.last_error.clone(),
            warnings: j.warnings.clone(),
            paused: j.paused,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            updated_at: j.updated_at,
        }
    }
}
