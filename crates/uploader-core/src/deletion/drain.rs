//! The drain: claim due rows, delete their keys in one request, settle every row.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;

use futures_util::{StreamExt, stream};

use super::{DeletionStore, DueDeletion, MAX_KEYS_PER_REQUEST, ObjectDeleter, Settlement, Verdict};
use crate::clock::{Clock, Millis};
use crate::queue::Backoff;
use crate::transport::{BoxFuture, ErrorKind, ObjectInfo, TransportError, TransportResult};

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
    /// Not sent: the key held a later upload than the one meant.
    pub superseded: usize,
    /// The server could not be reached: the rows were given back, no attempt counted.
    pub offline: bool,
    /// Why the whole request failed, if it did.
    pub error: Option<String>,
}

/// HEADs at once while checking a round's keys.
const CHECKS_AT_ONCE: usize = 16;

/// Keys that failed, with the kind of failure and what to tell a person.
type Failed = HashMap<String, (ErrorKind, String)>;

/// One round: up to `settings.batch` due rows; each key is checked (HEAD) immediately before
/// it is deleted, so a key that now holds a later upload than the one meant is left alone
/// and its row superseded; the rest go in one DeleteObjects request (split if S3 refuses the
/// request as a whole), and every row is settled in one transaction. A key S3 reports as
/// missing counts as deleted.
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
    let give_back = |report: &mut DrainReport, message: String| -> crate::Result<()> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        store.release(&settings.owner, &ids)?;
        report.offline = true;
        report.error = Some(message);
        Ok(())
    };
    // What each key holds now; two rows may name one key: it is asked once.
    let mut keys: Vec<String> = rows.iter().map(|r| r.key.clone()).collect();
    keys.sort_unstable();
    keys.dedup();
    let held: Vec<(String, TransportResult<Option<ObjectInfo>>)> = stream::iter(keys)
        .map(|key| async move {
            let found = deleter.head(&key).await;
            (key, found)
        })
        .buffer_unordered(CHECKS_AT_ONCE)
        .collect()
        .await;
    let mut holds: HashMap<String, Option<ObjectInfo>> = HashMap::new();
    let mut failed: Failed = HashMap::new();
    for (key, found) in held {
        match found {
            Ok(found) => {
                holds.insert(key, found);
            }
            // No answer, or a server failing or throttling: an outage, not this key's
            // fault, so the rows go back with no attempt counted (as for the uploads).
            Err(e) if e.kind.is_unavailable() => {
                give_back(&mut report, e.message)?;
                return Ok(report);
            }
            Err(e) => {
                let text = format!("could not check what `{key}` holds: {}", e.message);
                failed.insert(key, (e.kind, text));
            }
        }
    }
    let verdicts: Vec<Option<Verdict>> = rows
        .iter()
        .map(|row| {
            holds
                .get(&row.key)
                .map(|found| row.meant.verdict(found.as_ref()))
        })
        .collect();
    let mut to_delete: Vec<String> = rows
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| matches!(v, Some(Verdict::Meant)))
        .map(|(row, _)| row.key.clone())
        .collect();
    to_delete.sort_unstable();
    to_delete.dedup();
    if !to_delete.is_empty() {
        match delete_all(deleter, &to_delete).await {
            Ok(refused) => failed.extend(refused),
            Err(e) => {
                give_back(&mut report, e.message)?;
                return Ok(report);
            }
        }
    }
    let done_at = clock.now_ms();
    let settled: Vec<(String, Settlement)> = rows
        .into_iter()
        .zip(verdicts)
        .map(|(row, verdict)| {
            let outcome = match (failed.get(&row.key), verdict) {
                (_, Some(Verdict::Later(reason))) => {
                    report.superseded += 1;
                    Settlement::Superseded { reason }
                }
                (None, _) => {
                    report.deleted += 1;
                    Settlement::Deleted
                }
                (Some((kind, error)), _) => {
                    settings.failure(&row, *kind, error.clone(), done_at, &mut report)
                }
            };
            (row.id, outcome)
        })
        .collect();
    store.settle(&settings.owner, done_at, &settled)?;
    Ok(report)
}

/// Deletes `keys` and returns those S3 did not delete. A request S3 refuses as a whole (one
/// bad key makes the XML invalid, say) is split in halves until the refusal names one key,
/// so one key never costs the others an attempt. Errors only when S3 cannot be reached, fails
/// or throttles the request as a whole.
fn delete_all<'a>(
    deleter: &'a dyn ObjectDeleter,
    keys: &'a [String],
) -> BoxFuture<'a, TransportResult<Failed>> {
    Box::pin(async move {
        match deleter.delete_objects(keys).await {
            Ok(errors) => Ok(errors
                .into_iter()
                .filter(|e| !e.means_gone())
                .map(|e| {
                    let kind = ErrorKind::of_service_error(&e.code, 0);
                    let text = format!("S3 did not delete `{}`: {} ({})", e.key, e.message, e.code);
                    (e.key, (kind, text))
                })
                .collect()),
            // A request failed as a whole by the server is not any key's fault.
            Err(e) if e.kind.is_unavailable() => Err(e),
            Err(e) if keys.len() > 1 && refuses_the_request(&e) => {
                let (left, right) = keys.split_at(keys.len() / 2);
                let mut failed = delete_all(deleter, left).await?;
                failed.extend(delete_all(deleter, right).await?);
                Ok(failed)
            }
            Err(e) => {
                let text = match keys {
                    [key] => format!("S3 refused to delete `{key}`: {}", e.message),
                    _ => format!("S3 refused the DeleteObjects request: {}", e.message),
                };
                Ok(keys
                    .iter()
                    .map(|k| (k.clone(), (e.kind, text.clone())))
                    .collect())
            }
        }
    })
}

/// A refusal of the request's content (not of who sent it, nor a server in trouble): one of
/// its keys may be the cause, so halves are worth trying.
fn refuses_the_request(e: &TransportError) -> bool {
    const NOT_THE_KEYS: [&str; 6] = [
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "NoSuchBucket",
        "ExpiredToken",
        "InvalidToken",
    ];
    e.kind == ErrorKind::Permanent && !e.code.as_deref().is_some_and(|c| NOT_THE_KEYS.contains(&c))
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
                tracing::error!("deletion drain: {e}");
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
