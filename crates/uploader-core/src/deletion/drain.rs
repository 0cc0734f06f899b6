//! The drain: claim due rows, delete their keys in one request, settle every row.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;

use super::{DeletionStore, DueDeletion, MAX_KEYS_PER_REQUEST, ObjectDeleter, Settlement};
use crate::clock::{Clock, Millis};
use crate::queue::Backoff;
use crate::transport::ErrorKind;

/// How a drain runs; tests shorten the timings.
#[derive(Debug, Clone)]
pub struct DrainSettings {
    /// This worker's lease owner id.
    pub owner: String,
    /// Keys per DeleteObjects request, at most [`MAX_KEYS_PER_REQUEST`].
    pub batch: usize,
    /// How long a claimed row stays leased; a worker that dies mid-batch holds its rows
    /// this long.
    pub lease: Duration,
    pub backoff: Backoff,
    /// How often an idle drain looks for new rows (other processes add them).
    pub poll: Duration,
}

impl DrainSettings {
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            batch: MAX_KEYS_PER_REQUEST,
            lease: Duration::from_secs(120),
            backoff: Backoff {
                base: Duration::from_secs(5),
                cap: Duration::from_secs(3600),
            },
            poll: Duration::from_secs(2),
        }
    }
}

impl DrainSettings {
    /// Leases up to `self.batch` (and at most `cap`) due rows.
    pub(super) fn claim(
        &self,
        store: &dyn DeletionStore,
        now: Millis,
        cap: usize,
    ) -> crate::Result<Vec<DueDeletion>> {
        store.claim(
            &self.owner,
            now,
            self.lease.as_millis() as Millis,
            self.batch.clamp(1, cap),
        )
    }

    /// A failed attempt: due again after a backoff, or dead once out of attempts.
    pub(super) fn failure(
        &self,
        row: &DueDeletion,
        kind: ErrorKind,
        error: String,
        now: Millis,
        report: &mut DrainReport,
    ) -> Settlement {
        if row.attempts + 1 >= row.max_attempts {
            report.dead += 1;
            return Settlement::Dead { error };
        }
        report.retried += 1;
        let wait = self.backoff.delay(kind, row.attempts + 1, fastrand::f64());
        Settlement::Retry {
            error,
            at: now + wait.as_millis() as Millis,
        }
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub claimed: usize,
    pub deleted: usize,
    pub retried: usize,
    pub dead: usize,
    /// The server could not be reached: the rows were given back, no attempt counted.
    pub offline: bool,
    /// Why the whole request failed, if it did.
    pub error: Option<String>,
}

/// One round: up to `settings.batch` due rows, one DeleteObjects request, every row settled
/// in one transaction. A key S3 reports as missing counts as deleted.
pub async fn drain_once(
    store: &dyn DeletionStore,
    deleter: &dyn ObjectDeleter,
    clock: &dyn Clock,
    settings: &DrainSettings,
) -> crate::Result<DrainReport> {
    let rows = settings.claim(store, clock.now_ms(), MAX_KEYS_PER_REQUEST)?;
    let mut report = DrainReport {
        claimed: rows.len(),
        ..DrainReport::default()
    };
    if rows.is_empty() {
        return Ok(report);
    }
    // Two rows may name one key: it is sent once.
    let mut keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
    keys.sort_unstable();
    keys.dedup();
    let failed: HashMap<String, (ErrorKind, String)> = match deleter.delete_objects(&keys).await {
        Ok(errors) => errors
            .into_iter()
            .filter(|e| !e.means_gone())
            .map(|e| {
                let kind = ErrorKind::of_service_error(&e.code, 0);
                let text = format!("S3 did not delete `{}`: {} ({})", e.key, e.message, e.code);
                (e.key, (kind, text))
            })
            .collect(),
        Err(e) if e.kind == ErrorKind::Network => {
            let ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
            store.release(&settings.owner, &ids)?;
            report.offline = true;
            report.error = Some(e.message);
            return Ok(report);
        }
        Err(e) => {
            report.error = Some(e.message.clone());
            let text = format!("S3 refused the DeleteObjects request: {}", e.message);
            keys.iter()
                .map(|k| (k.clone(), (e.kind, text.clone())))
                .collect()
        }
    };
    let done_at = clock.now_ms();
    let settled: Vec<(String, Settlement)> = rows
        .into_iter()
        .map(|row| {
            let outcome = match failed.get(&row.key) {
                None => {
                    report.deleted += 1;
                    Settlement::Deleted
                }
                Some((kind, error)) => {
                    settings.failure(&row, *kind, error.clone(), done_at, &mut report)
                }
            };
            (row.id, outcome)
        })
        .collect();
    store.settle(&settings.owner, done_at, &settled)?;
    Ok(report)
}

/// Drains until `stop` turns true, between rounds: a round in flight always finishes, so
/// a shutdown never leaves a deleted key unrecorded. Idle, it waits for the next due row or
/// `settings.poll`; offline, it waits longer each time, up to a minute.
pub async fn drain_forever(
    store: &dyn DeletionStore,
    deleter: &dyn ObjectDeleter,
    clock: &dyn Clock,
    settings: &DrainSettings,
    mut stop: watch::Receiver<bool>,
    mut on_round: impl FnMut(&DrainReport),
) -> crate::Result<()> {
    let mut offline_wait = Duration::from_millis(500);
    while !*stop.borrow() {
        let report = match drain_once(store, deleter, clock, settings).await {
            Ok(report) => report,
            // A busy or failing database: the rows stay put; try again shortly.
            Err(e) => {
                eprintln!("deletion drain: {e}");
                tokio::time::sleep(settings.poll).await;
                continue;
            }
        };
        if report.claimed > 0 {
            on_round(&report);
        }
        let wait = if report.offline {
            offline_wait = (offline_wait * 2).min(Duration::from_secs(60));
            offline_wait
        } else if report.claimed >= settings.batch.min(MAX_KEYS_PER_REQUEST) {
            offline_wait = Duration::from_millis(500);
            continue;
        } else {
            offline_wait = Duration::from_millis(500);
            let now = clock.now_ms();
            store
                .next_due()?
                .map_or(settings.poll, |due| {
                    Duration::from_millis((due - now).max(0) as u64)
                })
                .clamp(Duration::from_millis(10), settings.poll)
        };
        tokio::select! {
            changed = stop.changed() => if changed.is_err() { break },
            () = tokio::time::sleep(wait) => {}
        }
    }
    Ok(())
}
