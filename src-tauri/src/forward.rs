//! Core events to window events. State changes go at once; progress is coalesced so a fast
//! queue cannot flood the webview.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use uploader_core::events::Event;

use crate::dto::{JOB_EVENT, JobEvent, JobView};

const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

pub fn spawn(app: AppHandle, mut events: Receiver<Event>) {
    tauri::async_runtime::spawn(async move {
        let mut pending: HashMap<i64, (u64, u64)> = HashMap::new();
        let mut finished: HashSet<i64> = HashSet::new();
        let mut tick = tokio::time::interval(PROGRESS_INTERVAL);
        // After an idle spell, one tick and then the interval again, not a burst of missed ones.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(Event::Progress { job_id, bytes_done, bytes_total }) => {
                        pending.insert(job_id, (bytes_done, bytes_total));
                    }
                    Ok(Event::JobAdded(job)) => emit(&app, JobEvent::Added { job: JobView::from(&job) }),
                    Ok(Event::JobChanged(job)) => {
                        pending.remove(&job.id);
                        emit(&app, JobEvent::Changed { job: JobView::from(&job) });
                    }
                    Ok(Event::Connectivity { online }) => emit(&app, JobEvent::Connectivity { online }),
                    Ok(Event::BatchProgress(p)) => {
                        if p.totals.files_left() == 0 && finished.insert(p.totals.batch_id) {
                            notify_finished(&app, &p.totals);
                        }
                        emit(&app, JobEvent::Batch {
                        batch_id: p.totals.batch_id,
                        files: p.totals.files,
                        uploaded: p.totals.uploaded,
                        failed: p.totals.failed,
                        bytes_done: p.totals.bytes_done,
                        bytes_expected: p.bytes_expected,
                        bytes_per_second: p.bytes_per_second,
                        eta_seconds: p.eta_seconds,
                    })
                    }
                    // `outbox_watch` adds the backend's figures and tells the window.
                    Ok(Event::OutboxChanged) => {}
                    Ok(Event::Problem { message }) => emit(&app, JobEvent::Problem { message }),
                    // Events were lost (a 10,000-file drop, "pause all"): the window's rows
                    // may be stale, so it reads the list again from the database.
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "the window fell behind the queue's events");
                        pending.clear();
                        emit(&app, JobEvent::Reload);
                    }
                    Err(RecvError::Closed) => break,
                },
                // Only ticks while there is progress to send, so an idle app stays asleep.
                _ = tick.tick(), if !pending.is_empty() => {
                    for (job_id, (bytes_done, bytes_total)) in pending.drain() {
                        emit(&app, JobEvent::Progress { job_id, bytes_done, bytes_total });
                    }
                }
            }
        }
    });
}

/// A batch is done: a desktop notification, so nobody has to watch the window.
fn notify_finished(app: &AppHandle, t: &uploader_core::store::BatchTotals) {
    use tauri_plugin_notification::NotificationExt;
    let done = t.files - t.cancelled;
    let (title, body) = if t.failed == 0 {
        (
            "Upload finished",
            format!("All {done} photos were uploaded."),
        )
    } else {
        (
            "Upload finished with failures",
            format!(
                "{} of {done} photos were uploaded; {} failed. The queue shows why, with Retry.",
                t.uploaded, t.failed
            ),
        )
    };
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!("cannot show a desktop notification: {e}");
    }
}

pub(crate) fn emit(app: &AppHandle, event: JobEvent) {
    if let Err(e) = app.emit(JOB_EVENT, event) {
        tracing::warn!("cannot forward an event to the window: {e}");
    }
}
