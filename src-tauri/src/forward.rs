//! Core events to window events. State changes go at once; progress is coalesced so a fast
//! queue cannot flood the webview.

use std::collections::HashMap;
use std::time::Duration;

use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::{Receiver, error::RecvError};
use uploader_core::events::Event;

use crate::dto::{JOB_EVENT, JobEvent, JobView};

const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

pub fn spawn(app: AppHandle, mut events: Receiver<Event>) {
    tauri::async_runtime::spawn(async move {
        let mut pending: HashMap<i64, (u64, u64)> = HashMap::new();
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
                    Ok(Event::BatchProgress(p)) => emit(&app, JobEvent::Batch {
                        batch_id: p.totals.batch_id,
                        files: p.totals.files,
                        uploaded: p.totals.uploaded,
                        failed: p.totals.failed,
                        bytes_done: p.totals.bytes_done,
                        bytes_expected: p.bytes_expected,
                        bytes_per_second: p.bytes_per_second,
                        eta_seconds: p.eta_seconds,
                    }),
                    // `outbox_watch` adds the backend's figures and tells the window.
                    Ok(Event::OutboxChanged) => {}
                    // The window reloads the list from the database when it falls behind.
                    Err(RecvError::Lagged(_)) => {}
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

pub(crate) fn emit(app: &AppHandle, event: JobEvent) {
    if let Err(e) = app.emit(JOB_EVENT, event) {
        eprintln!("cannot forward an event to the window: {e}");
    }
}
