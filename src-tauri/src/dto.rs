//! The shapes the UI sees. TypeScript types are generated from these (see `bindings.rs`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use uploader_core::config::Mode;
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
    /// Something went wrong that no row shows (the local database, say).
    Problem {
        message: String,
    },
    /// Events were lost: the list is to be read again with `list_jobs`.
    Reload,
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
    /// Not sent: the key was uploaded again after the deletion was asked for.
    #[ts(type = "number")]
    pub superseded: u64,
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
            superseded: b.local.superseded,
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

/// What confirming a drop would queue, shown in the review sheet.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    pub items: Vec<ReviewItemView>,
    /// Files in the dropped folders that are not images, passed over.
    #[ts(type = "number")]
    pub skipped: u64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ReviewItemView {
    pub path: String,
    pub file_name: String,
    #[ts(type = "number")]
    pub bytes: u64,
    /// "JPEG", "HEIC"…, when the content is an image.
    pub format: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub sku: String,
    pub keys: Vec<String>,
    pub notes: Vec<NoteView>,
    /// Queued on confirm (false when a note says the file cannot be used).
    pub usable: bool,
}

/// One thing worth a second look: a stable code and a sentence.
#[derive(Debug, Clone, Serialize, TS)]
pub struct NoteView {
    pub code: String,
    pub message: String,
}

impl From<&uploader_core::intake::Review> for ReviewView {
    fn from(r: &uploader_core::intake::Review) -> Self {
        Self {
            items: r
                .items
                .iter()
                .map(|i| ReviewItemView {
                    path: i.path.display().to_string(),
                    file_name: file_name(&i.path),
                    bytes: i.bytes,
                    format: i.format.map(|f| f.name().to_string()),
                    width: i.width,
                    height: i.height,
                    sku: i.sku.clone(),
                    keys: i.keys.clone(),
                    notes: i
                        .notes
                        .iter()
                        .map(|n| NoteView {
                            code: n.code().to_string(),
                            message: n.message(),
                        })
                        .collect(),
                    usable: i.usable(),
                })
                .collect(),
            skipped: r.skipped as u64,
        }
    }
}

/// A person's action on queued work.
#[derive(Debug, Clone, Copy, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    Pause,
    Resume,
    Retry,
    Cancel,
}

impl From<ControlAction> for uploader_core::queue::Control {
    fn from(a: ControlAction) -> Self {
        match a {
            ControlAction::Pause => Self::Pause,
            ControlAction::Resume => Self::Resume,
            ControlAction::Retry => Self::Retry,
            ControlAction::Cancel => Self::Cancel,
        }
    }
}

/// One uploaded photo in the gallery.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GalleryImageView {
    #[ts(type = "number")]
    pub job_id: i64,
    pub sku: String,
    pub file_name: String,
    pub source_path: String,
    #[ts(type = "number")]
    pub uploaded_at: i64,
    /// Its objects in the bucket, smallest first (the first is the preview).
    pub objects: Vec<GalleryObjectView>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct GalleryObjectView {
    pub variant: String,
    pub key: String,
    pub width: u32,
    pub height: u32,
    #[ts(type = "number")]
    pub bytes: u64,
}

impl From<&uploader_core::store::GalleryImage> for GalleryImageView {
    fn from(g: &uploader_core::store::GalleryImage) -> Self {
        Self {
            job_id: g.job_id,
            sku: g.sku.clone(),
            file_name: file_name(&g.source_path),
            source_path: g.source_path.display().to_string(),
            uploaded_at: g.uploaded_at,
            objects: g
                .objects
                .iter()
                .map(|o| GalleryObjectView {
                    variant: o.variant.clone(),
                    key: o.key.clone(),
                    width: o.width,
                    height: o.height,
                    bytes: o.bytes,
                })
                .collect(),
        }
    }
}

/// One deletion in the outbox panel.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OutboxRowView {
    pub id: String,
    pub key: String,
    pub reason: String,
    /// pending, sending, synced (handed to the backend), done or dead (out of attempts).
    pub state: String,
    pub attempts: u32,
    pub max_attempts: u32,
    #[ts(type = "number")]
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    #[ts(type = "number")]
    pub created_at: i64,
}

impl From<&uploader_core::store::OutboxRow> for OutboxRowView {
    fn from(r: &uploader_core::store::OutboxRow) -> Self {
        Self {
            id: r.id.clone(),
            key: r.key.clone(),
            reason: r.reason.clone(),
            state: r.state.as_str().to_string(),
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            next_attempt_at: r.next_attempt_at,
            last_error: r.last_error.clone(),
            created_at: r.created_at,
        }
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

pub const JOB_EVENT: &str = "job-event";
/// Paths a later launch handed over: the window reviews them like a drop.
pub const OPEN_PATHS_EVENT: &str = "open-paths";

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
    /// "Direct to S3", "Through the company backend"…
    pub mode: Option<String>,
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
            file_name: file_name(&j.source_path),
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

/// The settings screen: the user's choices, the variants, and what the admin set.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub concurrency: u32,
    pub concurrency_min: u32,
    pub concurrency_max: u32,
    /// `null`: no cap.
    pub max_mb_per_second: Option<f64>,
    pub hidden_variants: Vec<String>,
    /// Whether these are the user's choices (or the config file's values).
    pub saved: bool,
    /// Settings here the admin's policy locks (`upload.concurrency`, `upload.max_mb_per_second`).
    pub locked: Vec<String>,
    pub variants: Vec<VariantView>,
    /// Read-only here: set in the config file by an admin.
    pub workstation: Vec<SettingRow>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct VariantView {
    pub name: String,
    /// e.g. "2000 px longest edge · JPEG, quality 85".
    pub description: String,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SettingRow {
    pub label: String,
    pub value: String,
}

/// What the settings screen saves.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PreferencesInput {
    pub concurrency: u32,
    pub max_mb_per_second: Option<f64>,
    pub hidden_variants: Vec<String>,
}

impl From<PreferencesInput> for uploader_core::preferences::Preferences {
    fn from(p: PreferencesInput) -> Self {
        Self {
            concurrency: p.concurrency as usize,
            max_mb_per_second: p.max_mb_per_second,
            hidden_variants: p.hidden_variants,
        }
    }
}

/// Whether the workstation can sign in: "configured" and a masked key id, never a secret.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsView {
    pub configured: bool,
    /// The masked key id and where it comes from, or the token kind, or why there are none.
    pub detail: String,
    /// Where secrets stored here are kept, in plain words.
    pub store: String,
    /// What this mode signs with, so the form asks for it.
    pub kind: CredentialKindView,
}

#[derive(Debug, Clone, Copy, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum CredentialKindView {
    AwsKeys,
    Token,
}

impl CredentialsView {
    pub fn new(status: uploader_core::transport::CredentialStatus, mode: Mode) -> Self {
        use uploader_core::transport::CredentialStatus;
        let (configured, detail) = match status {
            CredentialStatus::Configured { detail } => (true, detail),
            CredentialStatus::Missing { reason } => (false, reason),
        };
        Self {
            configured,
            detail,
            store: uploader_core::config::OsKeyring::describe(),
            kind: match mode {
                Mode::Direct => CredentialKindView::AwsKeys,
                Mode::Backend | Mode::Companion => CredentialKindView::Token,
            },
        }
    }
}

/// What an admin types to store this workstation's secret: the AWS key id and secret in direct
/// mode, the token alone otherwise. Debug output hides the secret.
#[derive(Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SecretInput {
    pub access_key_id: Option<String>,
    pub secret: String,
}

impl std::fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretInput")
            .field("access_key_id", &self.access_key_id)
            .field("secret", &"…")
            .finish()
    }
}

impl SettingsView {
    pub fn new(
        config: &uploader_core::config::Config,
        effective: uploader_core::preferences::EffectivePreferences,
        mode: &str,
        destination: String,
    ) -> Self {
        let p = effective.preferences;
        let range = uploader_core::preferences::CONCURRENCY;
        let mut workstation = vec![
            row("Mode", mode.to_string()),
            row("Uploads go to", destination),
            row("Bucket", config.s3.bucket.clone()),
            row("Region", config.s3.effective_region().to_string()),
            row("Key prefix", config.s3.prefix.clone()),
        ];
        if let Some(endpoint) = &config.s3.endpoint {
            workstation.push(row("Endpoint", endpoint.clone()));
        }
        if let Some(url) = &config.backend.url {
            workstation.push(row("Backend", url.clone()));
        }
        if let Some(dir) = &config.data_dir {
            workstation.push(row("Data folder", dir.display().to_string()));
        }
        if let Some(policy) = &config.policy {
            workstation.push(row("Admin's policy", policy.display().to_string()));
        }
        Self {
            concurrency: p.concurrency as u32,
            concurrency_min: *range.start() as u32,
            concurrency_max: *range.end() as u32,
            max_mb_per_second: p.max_mb_per_second,
            hidden_variants: p.hidden_variants,
            saved: effective.saved,
            locked: effective.locked,
            variants: config
                .variants
                .iter()
                .map(|v| VariantView {
                    name: v.name.clone(),
                    description: describe_variant(v),
                })
                .collect(),
            workstation,
        }
    }
}

fn row(label: &str, value: String) -> SettingRow {
    SettingRow {
        label: label.into(),
        value,
    }
}

fn describe_variant(v: &uploader_core::config::VariantSpec) -> String {
    use uploader_core::config::{Fit, Format};
    let format = match v.format {
        Format::Jpeg => format!("JPEG, quality {}", v.quality),
        Format::Webp => format!("WebP, quality {}", v.quality),
        Format::Png => "PNG".to_string(),
    };
    if v.original {
        return format!("the original, metadata removed (else {format})");
    }
    let size = match (v.longest_edge, v.width, v.height) {
        (Some(edge), _, _) => format!("{edge} px longest edge"),
        (None, Some(w), Some(h)) => {
            let fit = match v.fit {
                Fit::Contain => "within",
                Fit::Cover => "cropped to",
                Fit::Pad => "padded to",
            };
            format!("{fit} {w}×{h}")
        }
        (None, Some(w), None) => format!("{w} px wide"),
        (None, None, Some(h)) => format!("{h} px high"),
        (None, None, None) => "full size".to_string(),
    };
    format!("{size} · {format}")
}

/// The connection test's outcome, for the Settings screen.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub passed: bool,
    pub steps: Vec<ConnectionStepView>,
    /// The first failure explained; `null` when every step passed.
    pub diagnosis: Option<DiagnosisView>,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStepView {
    pub name: String,
    pub ok: bool,
    #[ts(type = "number")]
    pub millis: u64,
}

#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosisView {
    pub cause: String,
    pub problem: String,
    pub fix: String,
    pub detail: String,
}

impl From<&uploader_core::admin::ConnectionReport> for ConnectionView {
    fn from(r: &uploader_core::admin::ConnectionReport) -> Self {
        Self {
            passed: r.passed(),
            steps: r
                .steps
                .iter()
                .map(|s| ConnectionStepView {
                    name: s.name.to_string(),
                    ok: s.failure.is_none(),
                    millis: s.millis,
                })
                .collect(),
            diagnosis: r.diagnosis().map(|d| DiagnosisView {
                cause: d.cause.to_string(),
                problem: d.problem.clone(),
                fix: d.fix.clone(),
                detail: d.detail.clone(),
            }),
        }
    }
}
