//! Keeps the window's deletion backlog current and raises a desktop notification when it
//! crosses the alert threshold. The backend's figures are asked for at most once a second
//! after a change, and every 15 s anyway (other workstations fill the same queue).

use std::sync::Arc;
use std::time::Duration;

use tauri::AppHandle;
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use uploader_core::Uploader;
use uploader_core::events::Event;

use crate::dto::{JobEvent, OutboxView};
use crate::forward::emit;

const REFRESH: Duration = Duration::from_secs(15);

pub fn spawn(app: AppHandle, uploader: Arc<Uploader>) {
    tauri::async_runtime::spawn(async move {
        let mut events = uploader.subscribe();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut changed = true;
        let mut last: Option<Instant> = None;
        let mut shown: Option<OutboxView> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                event = events.recv() => {
                    match event {
                        Ok(Event::OutboxChanged) | Err(RecvError::Lagged(_)) => changed = true,
                        Ok(_) => {}
                        Err(RecvError::Closed) => break,
                    }
                    continue;
                }
            }
            if !changed && last.is_some_and(|at| at.elapsed() < REFRESH) {
                continue;
            }
            changed = false;
            last = Some(Instant::now());
            let view = match uploader.backlog().await {
                Ok(backlog) => OutboxView::from(&backlog),
                Err(e) => {
                    tracing::warn!("outbox: {e}");
                    continue;
                }
            };
            if view.alert && !shown.as_ref().is_some_and(|s| s.alert) {
                notify(&app, &view);
            }
            if shown.as_ref() != Some(&view) {
                emit(
                    &app,
                    JobEvent::Outbox {
                        outbox: view.clone(),
                    },
                );
                shown = Some(view);
            }
        }
    });
}

/// Once per crossing: a notification would nag if it came with every change.
fn notify(app: &AppHandle, view: &OutboxView) {
    let waiting = view.waiting.max(view.upstream_backlog.unwrap_or(0));
    let shown = app
        .notification()
        .builder()
        .title("Deletions are piling up")
        .body(format!(
            "{waiting} deletions are waiting (the alert is above {}). Check the connection, or ask an admin to look at the deletion worker.",
            view.alert_threshold
        ))
        .show();
    if let Err(e) = shown {
        tracing::warn!("cannot show a desktop notification: {e}");
    }
}
