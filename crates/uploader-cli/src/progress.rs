//! The progress bar, fed by the core's events; hidden when not on a terminal or with --json.

use std::collections::HashSet;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use uploader_core::Uploader;
use uploader_core::events::Event;

pub struct Follower {
    bar: ProgressBar,
    task: JoinHandle<()>,
}

/// Follows `ids`, of which `done` are already finished (recorded by an earlier run).
pub fn follow(uploader: &Arc<Uploader>, ids: &[i64], done: u64, visible: bool) -> Follower {
    let bar = if visible {
        ProgressBar::new(ids.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} files  {prefix}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_position(done);
    let mut events = uploader.subscribe();
    let ours: HashSet<i64> = ids.iter().copied().collect();
    let shown = bar.clone();
    let task = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(Event::JobChanged(job)) if ours.contains(&job.id) => {
                    if job.state.is_terminal() {
                        shown.inc(1);
                    }
                    let name = job
                        .source_path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    shown.set_message(format!("{name}: {}", job.state));
                }
                Ok(Event::BatchProgress(p)) if p.bytes_per_second > 0.0 => {
                    let eta = p
                        .eta_seconds
                        .map(|s| format!(", {s:.0} s left"))
                        .unwrap_or_default();
                    shown.set_prefix(format!("{:.1} MB/s{eta}", p.bytes_per_second / 1_000_000.0));
                }
                Ok(Event::Connectivity { online }) => shown.set_message(if online {
                    "back online".to_string()
                } else {
                    "offline: waiting for the server to answer".to_string()
                }),
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => break,
            }
        }
    });
    Follower { bar, task }
}

impl Follower {
    pub async fn finish(self) {
        self.task.abort();
        let _ = self.task.await;
        self.bar.finish_and_clear();
    }
}
