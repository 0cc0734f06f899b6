//! What the core announces: the window and the CLI follow the queue through these.

use tokio::sync::broadcast;

use crate::store::JobRecord;

#[derive(Debug, Clone)]
pub enum Event {
    /// A job was recorded.
    JobAdded(JobRecord),
    /// A job changed state (queued, processing, uploading, uploaded, failed).
    JobChanged(JobRecord),
    /// The server confirmed more bytes of a job.
    Progress {
        job_id: i64,
        bytes_done: u64,
        bytes_total: u64,
    },
    /// A batch's totals, throughput and ETA; at most a few times a second per batch.
    BatchProgress(crate::queue::BatchProgress),
    /// The server became unreachable (uploads wait, no attempt is counted) or reachable again.
    Connectivity { online: bool },
    /// The deletion outbox changed; `Uploader::backlog` has the figures.
    OutboxChanged,
    /// Something went wrong that no job's row shows (the local database, say): logged, and
    /// for the window to show.
    Problem { message: String },
}

/// A broadcast bus; a subscriber that falls behind loses old events, never blocks the core.
#[derive(Debug, Clone)]
pub struct EventBus(broadcast::Sender<Event>);

impl EventBus {
    pub fn new() -> Self {
        Self(broadcast::channel(4096).0)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.0.subscribe()
    }

    pub fn send(&self, event: Event) {
        log(&event);
        // No subscriber is fine: the database holds the truth.
        let _ = self.0.send(event);
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

/// Every state change goes through the bus, so the log follows the queue from here.
fn log(event: &Event) {
    use crate::queue::JobState;
    match event {
        Event::JobAdded(job) => {
            tracing::debug!(job = job.id, sku = %job.sku, file = %job.source_path.display(), "recorded");
        }
        Event::JobChanged(job) => match job.state {
            JobState::Uploaded => tracing::info!(
                job = job.id,
                sku = %job.sku,
                file = %job.source_path.display(),
                bytes = job.bytes_total,
                attempts = job.attempts,
                "uploaded"
            ),
            JobState::Failed => tracing::warn!(
                job = job.id,
                file = %job.source_path.display(),
                attempts = job.attempts,
                error = job.last_error.as_deref().unwrap_or(""),
                "failed"
            ),
            state => match &job.last_error {
                Some(error) => tracing::info!(
                    job = job.id,
                    ?state,
                    attempts = job.attempts,
                    error = error.as_str(),
                    "pending after an error"
                ),
                None => tracing::debug!(job = job.id, ?state, "state"),
            },
        },
        Event::Connectivity { online: true } => tracing::info!("the server is reachable again"),
        Event::Connectivity { online: false } => {
            tracing::warn!("the server cannot be reached: uploads wait")
        }
        Event::OutboxChanged => tracing::debug!("deletion outbox changed"),
        Event::Problem { message } => tracing::error!("{message}"),
        Event::Progress { .. } | Event::BatchProgress(_) => {}
    }
}
