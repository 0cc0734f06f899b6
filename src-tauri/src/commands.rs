//! Commands the window may invoke. Each parses its input, calls the core, maps the error.

use std::path::PathBuf;

use tauri::State;

use uploader_core::config::Mode;
use uploader_core::store::Target;

use crate::dto::{AppStatus, CommandError, ControlAction, JobView, OutboxView, ReviewView};
use crate::state::AppState;

/// What queuing the dropped or chosen paths would do (folders are walked); records nothing.
#[tauri::command]
pub async fn review_paths(
    paths: Vec<String>,
    sku: Option<String>,
    state: State<'_, AppState>,
) -> Result<ReviewView, CommandError> {
    let uploader = state.require()?.clone();
    let paths = parse_paths(paths)?;
    // Headers and (for possible duplicates) whole files are read: off the async threads.
    let review =
        tauri::async_runtime::spawn_blocking(move || uploader.review(&paths, sku.as_deref()))
            .await
            .map_err(|e| CommandError {
                code: "internal".into(),
                message: format!("the review stopped: {e}"),
            })??;
    Ok(ReviewView::from(&review))
}

/// Records a job for each path (folders are walked), with `sku` for all of them or each
/// file's SKU from its name, and wakes the queue.
#[tauri::command]
pub fn add_paths(
    paths: Vec<String>,
    sku: Option<String>,
    state: State<'_, AppState>,
) -> Result<Vec<JobView>, CommandError> {
    let uploader = state.require()?;
    let paths = parse_paths(paths)?;
    let sku = sku.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let done = uploader.enqueue(&paths, sku)?;
    Ok(uploader
        .store()
        .jobs_in(&done.ids)?
        .iter()
        .map(JobView::from)
        .collect())
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
pub fn list_jobs(state: State<'_, AppState>) -> Result<Vec<JobView>, CommandError> {
    let uploader = state.require()?;
    Ok(uploader.store().jobs()?.iter().map(JobView::from).collect())
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
