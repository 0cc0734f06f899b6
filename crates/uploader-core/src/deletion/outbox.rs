//! The app's side of deletions: recording them, and sending the outbox on its way, to S3
//! (direct mode) or to the backend's queue (backend mode).

use std::sync::Arc;
use std::time::Duration;

use super::{DeletionStore, Deletions, DrainReport, DrainSettings, drain_once, sync_once};
use crate::events::Event;
use crate::store::OutboxCounts;
use crate::transport::TransportError;
use crate::{Error, Result, Uploader};

/// How often an idle app looks for rows another process (the CLI) recorded.
const IDLE_LOOK: Duration = Duration::from_secs(5);

/// What a flush of the outbox did, summed over its rounds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flushed {
    pub rounds: usize,
    /// Deleted (direct mode) or handed to the backend (backend mode).
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
    /// Not sent: their keys hold later uploads than the ones meant.
    pub superseded: usize,
    /// Gave up waiting for the server; the rest waits in the outbox.
    pub offline: bool,
    /// The last whole-request error, if any.
    pub error: Option<String>,
    /// Why nothing can be sent in this mode (Companion); the rows wait.
    pub unsupported: Option<String>,
}

/// How many deletions wait, here and (backend mode) in the backend's queue, and whether that
/// is more than `outbox.alert_threshold`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Backlog {
    pub local: OutboxCounts,
    pub local_backlog: u64,
    /// The backend queue's figures (backend mode, when it answered).
    pub upstream: Option<uploader_api::DeletionStats>,
    /// Why the backend's figures are missing, in backend mode.
    pub upstream_error: Option<String>,
    pub alert_threshold: u64,
    pub alert: bool,
}

impl Backlog {
    /// Local figures, with the upstream answer if there is one.
    pub fn new(
        local: OutboxCounts,
        upstream: std::result::Result<Option<uploader_api::DeletionStats>, String>,
        alert_threshold: u64,
    ) -> Self {
        let (upstream, upstream_error) = match upstream {
            Ok(stats) => (stats, None),
            Err(e) => (None, Some(e)),
        };
        let alert = local.backlog() > alert_threshold
            || upstream
                .as_ref()
                .is_some_and(|u| u.backlog > alert_threshold);
        Self {
            local,
            local_backlog: local.backlog(),
            upstream,
            upstream_error,
            alert_threshold,
            alert,
        }
    }
}

impl Uploader {
    /// The backlog here and, in backend mode, in the backend's queue.
    pub async fn backlog(&self) -> Result<Backlog> {
        let local = self.store.outbox_counts()?;
        let upstream = self.upstream_deletion_stats().await.map_err(|e| e.message);
        Ok(Backlog::new(
            local,
            upstream,
            self.config.outbox.alert_threshold,
        ))
    }

    /// Queues `keys` for deletion (one transaction); each must be under the configured prefix.
    /// Returns each key's outbox row id.
    pub fn delete_keys(&self, keys: &[String], reason: &str) -> Result<Vec<String>> {
        let prefix = &self.config.s3.prefix;
        for key in keys {
            if let Some(problem) = self.key_problem(key) {
                return Err(Error::config(
                    "key",
                    format!(
                        "`{}` {problem} (keys live under the prefix `{prefix}`); nothing was queued",
                        key.escape_debug()
                    ),
                ));
            }
        }
        let ids = self.store.delete_keys(keys, reason)?;
        self.outbox_changed();
        Ok(ids)
    }

    /// Queues the deletion of one upload this process made itself and knows by its id (the
    /// connection test's probe): only that upload is deleted, whatever the clocks say.
    pub fn delete_upload(&self, key: &str, object_id: &str, reason: &str) -> Result<String> {
        let id = self.store.delete_upload(key, object_id, reason)?;
        self.outbox_changed();
        Ok(id)
    }

    /// Removes an uploaded image: its variants' keys are queued for deletion.
    pub fn remove_image(&self, job_id: i64) -> Result<Vec<String>> {
        let ids = self.store.remove_job(job_id, "removed by staff")?;
        self.outbox_changed();
        Ok(ids)
    }

    /// Gives dead deletions (all, or those in `ids`) their attempts back and wakes the sender.
    pub fn outbox_retry(&self, ids: &[String]) -> Result<usize> {
        let n = self.store.outbox_retry(ids)?;
        self.outbox_changed();
        Ok(n)
    }

    /// Queues `path` to replace the uploaded image of job `job_id`: same SKU, and once the new
    /// photo is uploaded the old one's objects are deleted (those it did not overwrite).
    pub fn replace_image(
        &self,
        job_id: i64,
        path: &std::path::Path,
    ) -> Result<crate::store::Enqueued> {
        let old = self.store.job(job_id)?;
        if old.state != crate::queue::JobState::Uploaded {
            return Err(crate::Error::NotRemovable {
                job: job_id,
                why: format!("it is {}, not uploaded", old.state),
            });
        }
        self.enqueue_with(
            &[path.to_path_buf()],
            &crate::EnqueueOptions {
                sku: Some(&old.sku),
                as_is: old.as_is,
                replace: false,
                replace_job: Some(job_id),
            },
        )
    }

    /// What is wrong with `key` as one of this workstation's objects: outside the prefix, a
    /// path S3 or a URL would read otherwise, or too long.
    fn key_problem(&self, key: &str) -> Option<&'static str> {
        match key.strip_prefix(self.config.s3.prefix.as_str()) {
            Some(below) => crate::naming::path_problem(below),
            None => Some("is not under the prefix"),
        }
        .or((key.len() > 1024).then_some("is longer than S3's 1,024 bytes"))
    }

    /// A temporary link for viewing an uploaded (private) object: a presigned GET. Only keys
    /// under the prefix are signed: the page asks by key, and direct mode's keys could read
    /// anything else in the bucket.
    pub async fn view_link(
        &self,
        key: &str,
        expires_in: Duration,
    ) -> std::result::Result<crate::transport::Presigned, TransportError> {
        if let Some(problem) = self.key_problem(key) {
            return Err(TransportError::new(
                crate::transport::ErrorKind::Permanent,
                format!(
                    "`{}` {problem} (keys live under the prefix `{}`); no link was made",
                    key.escape_debug(),
                    self.config.s3.prefix
                ),
            ));
        }
        self.transport.view_link(key, expires_in).await
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        self.store.outbox_counts()
    }

    /// The backend queue's figures, in backend mode.
    pub async fn upstream_deletion_stats(
        &self,
    ) -> std::result::Result<Option<uploader_api::DeletionStats>, TransportError> {
        match self.transport.deletions() {
            Deletions::Upstream(sink) => sink.upstream_stats().await.map(Some),
            _ => Ok(None),
        }
    }

    /// One round: a batch of due rows deleted (direct) or handed over (backend).
    pub async fn outbox_round(&self) -> Result<DrainReport> {
        let settings = self.drain_settings();
        let report = match self.transport.deletions() {
            Deletions::Direct(deleter) => {
                drain_once(&self.store, deleter, self.store.clock(), &settings).await?
            }
            Deletions::Upstream(sink) => sync_once(&self.store, sink, &settings).await?,
            Deletions::Unsupported(why) => {
                return Err(Error::config("mode", why));
            }
        };
        if report.claimed > 0 {
            self.outbox_changed();
        }
        Ok(report)
    }

    /// Rounds until no row is due now; gives up after `offline_limit` without an answer.
    pub async fn outbox_flush(&self, offline_limit: Duration) -> Result<Flushed> {
        self.reclaim_from_the_gone()?;
        let mut flushed = Flushed::default();
        if let Deletions::Unsupported(why) = self.transport.deletions() {
            flushed.unsupported = Some(why.to_string());
            return Ok(flushed);
        }
        let mut offline_since: Option<tokio::time::Instant> = None;
        loop {
            let report = self.outbox_round().await?;
            flushed.rounds += 1;
            flushed.sent += report.deleted;
            flushed.retried += report.retried;
            flushed.dead += report.dead;
            flushed.superseded += report.superseded;
            if report.error.is_some() {
                flushed.error = report.error.clone();
            }
            if report.offline {
                let since = *offline_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= offline_limit {
                    flushed.offline = true;
                    return Ok(flushed);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            offline_since = None;
            if report.claimed == 0 {
                return Ok(flushed);
            }
        }
    }

    /// Sends the outbox for as long as the app lives: at once when a row is added, when a
    /// backoff ends, and every few seconds while the server cannot be reached.
    pub async fn outbox_forever(self: Arc<Self>) {
        if let Err(e) = self.reclaim_from_the_gone() {
            self.problem(format!("the deletion outbox: {e}"));
        }
        let mut offline_wait = Duration::from_secs(1);
        loop {
            let wait = match self.outbox_round().await {
                Ok(report) if report.offline => {
                    offline_wait = (offline_wait * 2).min(Duration::from_secs(60));
                    offline_wait
                }
                Ok(report) if report.claimed > 0 => continue,
                Ok(_) => {
                    offline_wait = Duration::from_secs(1);
                    let now = self.store.now_ms();
                    DeletionStore::next_due(&self.store)
                        .ok()
                        .flatten()
                        .map_or(IDLE_LOOK, |due| {
                            Duration::from_millis((due - now).max(10) as u64)
                        })
                        .min(IDLE_LOOK)
                }
                // Unsupported mode: nothing to do until the settings change.
                Err(Error::Config { .. }) => Duration::from_secs(3600),
                Err(e) => {
                    self.problem(format!("the deletion outbox: {e}"));
                    Duration::from_secs(5)
                }
            };
            tokio::select! {
                _ = self.outbox_wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    fn drain_settings(&self) -> DrainSettings {
        DrainSettings {
            backoff: self.config.outbox.backoff(),
            lease: self.tuning.lease.max(Duration::from_secs(60)),
            ..DrainSettings::new(self.owner.clone())
        }
    }

    fn outbox_changed(&self) {
        self.outbox_wake.notify_one();
        self.events.send(Event::OutboxChanged);
    }
}
