//! Commands the window may invoke. Each parses its input, calls the core, maps the error.

use std::path::PathBuf;

use tauri::State;

use crate::dto::{AppStatus, CommandError, JobView, OutboxView};
use crate::state::AppState;

/// Records a job for each dropped or chosen path (folders are walked) and wakes the queue.
#[tauri::command]
pub fn add_paths(
    paths: Vec<String>,
    state: State<'_, AppState>,
) -> Result<Vec<JobView>, CommandError> {
    let uploader = state.require()?;
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
    let done = uploader.enqueue(&paths, None)?;
    Ok(uploader
        .store()
        .jobs_in(&done.ids)?
        .iter()
        .map(JobView::from)
        .collect())
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
            destination: Some(format!(
                "{} under {}",
                uploader.destination(),
                display_prefix(&uploader.config().s3.prefix)
            )),
            problem: None,
        },
        Err(problem) => AppStatus {
            ready: false,
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
