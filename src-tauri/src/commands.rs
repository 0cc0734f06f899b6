//! Commands the window may invoke. Each parses its input, calls the core, maps the error.

use std::path::PathBuf;

use tauri::State;

use uploader_core::Uploader;
use uploader_core::config::{Mode, OsKeyring};
use uploader_core::store::{OutboxState, Target};

use crate::dto::{
    AppStatus, CommandError, ConnectionView, ControlAction, CredentialsView, GalleryImageView,
    JobView, OutboxRowView, OutboxView, PreferencesInput, ReviewView, SecretInput, SettingsView,
};
use crate::state::AppState;

/// What queuing the dropped or chosen paths would do (folders are walked); records nothing.
#[tauri::command]
pub async fn review_paths(
    paths: Vec<String>,
    sku: Option<String>,
    state: State<'_, AppState>,
) -> Result<ReviewView, CommandError> {
    let paths = parse_paths(paths)?;
    blocking(&state, move |uploader| {
        Ok(ReviewView::from(&uploader.review(&paths, sku.as_deref())?))
    })
    .await
}

/// Runs core work that blocks (SQLite, walking folders, reading files) on a blocking thread:
/// a synchronous command would run on the main thread, which also drives the window.
async fn blocking<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Uploader) -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    let uploader = state.require()?.clone();
    tauri::async_runtime::spawn_blocking(move || work(&uploader))
        .await
        .map_err(|e| CommandError {
            code: "internal".into(),
            message: format!("the work stopped: {e}"),
        })?
}

/// Records a job for each path (folders are walked), with `sku` for all of them or each
/// file's SKU from its name, and wakes the queue.
#[tauri::command]
pub async fn add_paths(
    paths: Vec<String>,
    sku: Option<String>,
    state: State<'_, AppState>,
) -> Result<Vec<JobView>, CommandError> {
    let paths = parse_paths(paths)?;
    blocking(&state, move |uploader| {
        let sku = sku.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let done = uploader.enqueue(&paths, sku)?;
        job_views(uploader, &done.ids)
    })
    .await
}

/// Pauses, resumes, retries or cancels the given jobs, or all of them when `ids` is empty.
/// Returns how many jobs changed; the window hears of each change as an event.
#[tauri::command]
pub fn control_jobs(
    action: ControlAction,
    ids: Vec<i64>,
    state: State<'_, AppState>,
) -> Result<u32, CommandError> {
    let uploader = state.require()?;
    let targets: Vec<Target> = if ids.is_empty() {
        vec![Target::All]
    } else {
        ids.into_iter().map(Target::Job).collect()
    };
    let changed = uploader.control(action.into(), &targets)?;
    Ok(changed.len() as u32)
}

/// Uploaded photos still in the bucket, by SKU; `search` keeps SKUs containing it.
#[tauri::command]
pub async fn gallery(
    search: String,
    state: State<'_, AppState>,
) -> Result<Vec<GalleryImageView>, CommandError> {
    blocking(&state, move |uploader| {
        Ok(uploader
            .store()
            .gallery(&search, GALLERY_LIMIT)?
            .iter()
            .map(GalleryImageView::from)
            .collect())
    })
    .await
}

/// At most this many photos are listed at once; a search narrows them down.
const GALLERY_LIMIT: usize = 2000;

/// Removes an uploaded photo: its objects go into the deletion outbox. Returns how many.
#[tauri::command]
pub fn remove_image(job_id: i64, state: State<'_, AppState>) -> Result<u32, CommandError> {
    let uploader = state.require()?;
    Ok(uploader.remove_image(job_id)?.len() as u32)
}

/// Queues `path` to replace the uploaded photo of `job_id` (same SKU); the old objects are
/// deleted once the new photo is uploaded.
#[tauri::command]
pub async fn replace_image(
    job_id: i64,
    path: String,
    state: State<'_, AppState>,
) -> Result<Vec<JobView>, CommandError> {
    let path = parse_paths(vec![path])?.remove(0);
    blocking(&state, move |uploader| {
        let done = uploader.replace_image(job_id, &path)?;
        job_views(uploader, &done.ids)
    })
    .await
}

/// A temporary link to view an object (a presigned GET, valid for an hour).
#[tauri::command]
pub async fn object_link(key: String, state: State<'_, AppState>) -> Result<String, CommandError> {
    let uploader = state.require()?;
    let link = uploader
        .view_link(&key, std::time::Duration::from_secs(3600))
        .await
        .map_err(|e| CommandError {
            code: "transport".into(),
            message: format!("no link for {key}: {}", e.message),
        })?;
    Ok(link.url)
}

/// Deletions not yet done: out of attempts first, then waiting, sending, and handed over;
/// then those not sent because the key was uploaded again, with why.
#[tauri::command]
pub async fn outbox_rows(state: State<'_, AppState>) -> Result<Vec<OutboxRowView>, CommandError> {
    blocking(&state, |uploader| {
        let mut rows = Vec::new();
        for wanted in [
            OutboxState::Dead,
            OutboxState::Pending,
            OutboxState::Sending,
            OutboxState::Synced,
            OutboxState::Superseded,
        ] {
            let left = OUTBOX_LIMIT.saturating_sub(rows.len());
            rows.extend(
                uploader
                    .store()
                    .outbox(Some(wanted), None, left)?
                    .iter()
                    .map(OutboxRowView::from),
            );
        }
        Ok(rows)
    })
    .await
}

const OUTBOX_LIMIT: usize = 2000;

/// Gives out-of-attempts deletions (all when `ids` is empty) their attempts back.
#[tauri::command]
pub fn outbox_retry(ids: Vec<String>, state: State<'_, AppState>) -> Result<u32, CommandError> {
    let uploader = state.require()?;
    Ok(uploader.outbox_retry(&ids)? as u32)
}

fn job_views(uploader: &Uploader, ids: &[i64]) -> Result<Vec<JobView>, CommandError> {
    Ok(uploader
        .store()
        .jobs_in(ids)?
        .iter()
        .map(JobView::from)
        .collect())
}

fn parse_paths(paths: Vec<String>) -> Result<Vec<PathBuf>, CommandError> {
    let paths: Vec<PathBuf> = paths
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .map(PathBuf::from)
        .collect();
    if paths.is_empty() {
        return Err(CommandError {
            code: "input".into(),
            message: "no files were given".into(),
        });
    }
    Ok(paths)
}

/// Every recorded job, oldest first, so the list is right after a restart.
#[tauri::command]
pub async fn list_jobs(state: State<'_, AppState>) -> Result<Vec<JobView>, CommandError> {
    blocking(&state, |uploader| {
        Ok(uploader.store().jobs()?.iter().map(JobView::from).collect())
    })
    .await
}

/// The deletion backlog, here and (backend mode) in the backend's queue.
#[tauri::command]
pub async fn outbox_status(state: State<'_, AppState>) -> Result<OutboxView, CommandError> {
    let uploader = state.require()?;
    Ok(OutboxView::from(&uploader.backlog().await?))
}

#[tauri::command]
pub fn app_status(state: State<'_, AppState>) -> AppStatus {
    match state.require() {
        Ok(uploader) => AppStatus {
            ready: true,
            mode: Some(mode_words(uploader.config().mode).into()),
            destination: Some(format!(
                "{} under {}",
                uploader.destination(),
                display_prefix(&uploader.config().s3.prefix)
            )),
            problem: None,
        },
        Err(problem) => AppStatus {
            ready: false,
            mode: None,
            destination: None,
            problem: Some(problem),
        },
    }
}

/// The paths given on the command line, once; the window reviews them like a drop.
#[tauri::command]
pub fn take_launch_paths(state: State<'_, AppState>) -> Vec<String> {
    state
        .take_launch_paths()
        .iter()
        .map(|p| p.display().to_string())
        .collect()
}

/// The settings screen's content.
#[tauri::command]
pub fn settings(state: State<'_, AppState>) -> Result<SettingsView, CommandError> {
    let uploader = state.require()?;
    settings_view(uploader, uploader.preferences()?)
}

/// Saves the user's choices; they apply to the uploads running now.
#[tauri::command]
pub async fn save_settings(
    preferences: PreferencesInput,
    state: State<'_, AppState>,
) -> Result<SettingsView, CommandError> {
    let uploader = state.require()?;
    let saved = uploader.set_preferences(preferences.into()).await?;
    settings_view(uploader, saved)
}

/// Back to the config file's values.
#[tauri::command]
pub async fn reset_settings(state: State<'_, AppState>) -> Result<SettingsView, CommandError> {
    let uploader = state.require()?;
    let reset = uploader.reset_preferences().await?;
    settings_view(uploader, reset)
}

fn settings_view(
    uploader: &Uploader,
    effective: uploader_core::preferences::EffectivePreferences,
) -> Result<SettingsView, CommandError> {
    Ok(SettingsView::new(
        uploader.config(),
        effective,
        mode_words(uploader.config().mode),
        uploader.destination(),
    ))
}

/// The connection test: a probe put, read back and deleted under the prefix.
#[tauri::command]
pub async fn test_connection(state: State<'_, AppState>) -> Result<ConnectionView, CommandError> {
    let uploader = state.require()?;
    Ok(ConnectionView::from(&uploader.test_connection().await))
}

/// Whether this workstation can sign in; may ask the AWS chain, so it is not part of
/// `app_status`.
#[tauri::command]
pub async fn credentials(state: State<'_, AppState>) -> Result<CredentialsView, CommandError> {
    let uploader = state.require()?;
    Ok(CredentialsView::new(
        uploader.credentials().await,
        uploader.config().mode,
    ))
}

/// Stores what this mode signs with (the AWS keys, or the backend token) in the OS keyring and
/// signs with it at once. Only the masked status comes back.
#[tauri::command]
pub async fn store_credentials(
    state: State<'_, AppState>,
    input: SecretInput,
) -> Result<CredentialsView, CommandError> {
    blocking(&state, move |uploader| {
        match uploader.config().mode {
            Mode::Direct => {
                let id = input.access_key_id.as_deref().unwrap_or_default();
                let keys = uploader_core::config::AwsKeys::new(id, &input.secret)?;
                uploader.set_aws_keys(&OsKeyring, &keys)?;
            }
            Mode::Backend | Mode::Companion => {
                uploader.set_backend_token(&OsKeyring, &input.secret)?;
            }
        }
        Ok(())
    })
    .await?;
    credentials(state).await
}

/// Writes the support bundle (what `uploader doctor` writes) into the Downloads folder, or the
/// home folder without one, and says where.
#[tauri::command]
pub async fn support_bundle(state: State<'_, AppState>) -> Result<String, CommandError> {
    let uploader = state.require()?;
    let program = format!("Catalog Uploader {}", env!("CARGO_PKG_VERSION"));
    let text = uploader
        .support_bundle(&program, &uploader_core::config::ConfigOverrides::default())
        .await;
    let folder = uploader_core::diagnostics::bundle_folder().ok_or_else(|| CommandError {
        code: "no_folder".into(),
        message: "no Downloads or home folder to write the support bundle into".into(),
    })?;
    let stamp = uploader_core::diagnostics::utc_stamp(std::time::SystemTime::now());
    let path = folder.join(format!("catalog-uploader-support-{stamp}.txt"));
    uploader_core::private::write(&path, text.as_bytes()).map_err(|e| CommandError {
        code: "io".into(),
        message: format!("cannot write {}: {e}", path.display()),
    })?;
    Ok(path.display().to_string())
}

/// Removes this mode's stored secret from the OS keyring.
#[tauri::command]
pub async fn clear_credentials(
    state: State<'_, AppState>,
) -> Result<CredentialsView, CommandError> {
    blocking(&state, |uploader| {
        match uploader.config().mode {
            Mode::Direct => uploader.clear_aws_keys(&OsKeyring)?,
            Mode::Backend | Mode::Companion => uploader.clear_backend_token(&OsKeyring)?,
        };
        Ok(())
    })
    .await?;
    credentials(state).await
}

fn display_prefix(prefix: &str) -> String {
    if prefix.is_empty() {
        "the bucket root".into()
    } else {
        prefix.to_string()
    }
}

fn mode_words(mode: Mode) -> &'static str {
    match mode {
        Mode::Direct => "Direct to S3",
        Mode::Backend => "Through the company backend",
        Mode::Companion => "Through the companion backend",
    }
}
