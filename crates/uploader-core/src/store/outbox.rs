//! The deletion outbox: one row per key to delete, written in the same transaction as the
//! change that causes it (a removed image, a replaced one). Direct mode drains it against
//! S3; backend mode syncs it to the backend's queue. Rows keep their state afterwards, so
//! the user can see what happened to each deletion.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::Ordering;

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::{Cached, Store};
use crate::clock::Millis;
use crate::deletion::{DeletionStore, DueDeletion, Settlement};
use crate::{Error, Result};

/// Attempts a deletion gets before it stays `dead` for a person to look at.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting to be sent (also between attempts).
    Pending,
    /// Leased by a worker that is sending it.
    Sending,
    /// Accepted by the backend, whose worker deletes it.
    Synced,
    /// Deleted from S3 (direct mode), or the object was already gone.
    Done,
    /// Not sent: the key was uploaded again after the deletion was asked for, so deleting
    /// it would have removed the later photo. `last_error` says what the key holds.
    Superseded,
    /// Out of attempts: kept with its last error until retried.
    Dead,
}

impl OutboxState {
    pub const ALL: [OutboxState; 6] = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Synced,
        OutboxState::Done,
        OutboxState::Superseded,
        OutboxState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Synced => "synced",
            OutboxState::Done => "done",
            OutboxState::Superseded => "superseded",
            OutboxState::Dead => "dead",
        }
    }
}

impl fmt::Display for OutboxState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutboxState {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not an outbox state (pending, sending, synced, done, superseded, \
                     dead)"
                )
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    pub id: String,
    pub key: String,
    pub reason: String,
    pub state: OutboxState,
    pub attempts: u32,
    pub max_attempts: u32,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub synced_at: Option<Millis>,
}

/// How many rows are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sending: u64,
    pub synced: u64,
    pub done: u64,
    pub superseded: u64,
    pub dead: u64,
    /// When the oldest row still to send was recorded.
    pub oldest_pending_at: Option<Millis>,
}

impl OutboxCounts {
    /// Rows this workstation still has to send.
    pub fn backlog(&self) -> u64 {
        self.pending + self.sending
    }
}

const COLUMNS: &str = "id, object_key, reason, state, attempts, max_attempts, next_attempt_at, \
                       last_error, created_at, synced_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxRow> {
    let state: String = r.get(3)?;
    Ok(OutboxRow {
        id: r.get(0)?,
        key: r.get(1)?,
        reason: r.get(2)?,
        state: state.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
        })?,
        attempts: r.get(4)?,
        max_attempts: r.get(5)?,
        next_attempt_at: r.get(6)?,
        last_error: r.get(7)?,
        created_at: r.get(8)?,
        synced_at: r.get(9)?,
    })
}

/// Records that `key` is to be deleted: the upload the key holds now by this workstation's
/// record (`objects`), which the deletion names and which stops being current; for a key
/// never recorded, whatever was stored before now. A row that already waits to delete the
/// same upload is reused. Returns the row's id. Part of the caller's transaction.
pub(super) fn queue_deletion(
    tx: &Transaction<'_>,
    key: &str,
    reason: &str,
    now: Millis,
    max_attempts: u32,
) -> rusqlite::Result<String> {
    queue_deletion_of(tx, key, None, reason, now, max_attempts)
}

/// `queue_deletion`, or of the upload `known` when the caller knows which it means.
fn queue_deletion_of(
    tx: &Transaction<'_>,
    key: &str,
    known: Option<&str>,
    reason: &str,
    now: Millis,
    max_attempts: u32,
) -> rusqlite::Result<String> {
    let current: Option<(Option<String>, String)> = tx
        .one(
            "SELECT object_id, sha256 FROM objects WHERE object_key = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    // An object with an id is named by it; an older one by its bytes; an unknown one by time.
    let (object_id, sha256) = match (known, current) {
        (Some(id), _) => (Some(id.to_string()), None),
        (None, Some((Some(id), _))) => (Some(id), None),
        (None, Some((None, sha))) => (None, Some(sha)),
        (None, None) => (None, None),
    };
    tx.run("DELETE FROM objects WHERE object_key = ?1", [key])?;
    tx.run(
        "UPDATE variants SET removed_at = ?2 WHERE object_key = ?1 AND removed_at IS NULL",
        params![key, now],
    )?;
    let waiting: Option<String> = tx
        .one(
            "SELECT id FROM deletion_outbox
             WHERE object_key = ?1 AND state IN ('pending', 'sending')
               AND object_id IS ?2 AND sha256 IS ?3 LIMIT 1",
            params![key, object_id, sha256],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = waiting {
        return Ok(id);
    }
    let id = uuid::Uuid::new_v4().to_string();
    tx.run(
        "INSERT INTO deletion_outbox (id, object_key, reason, max_attempts, created_at, updated_at,
                                      object_id, sha256)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7)",
        params![id, key, reason, max_attempts, now, object_id, sha256],
    )?;
    Ok(id)
}

/// Job `job` has just put a new upload at `key`: a deletion of the key not sent yet is
/// superseded, since it was asked for before this upload. (One already on its way is checked
/// against what the key holds just before it is sent.) Part of the caller's transaction.
pub(super) fn supersede_deletions(
    tx: &Transaction<'_>,
    key: &str,
    job: i64,
    now: Millis,
) -> rusqlite::Result<()> {
    tx.run(
        "UPDATE deletion_outbox SET state = 'superseded', updated_at = ?2,
                last_error = 'not sent: the key was uploaded again (job ' || ?3 || ') after the deletion was asked for'
         WHERE object_key = ?1 AND state = 'pending'",
        params![key, now, job],
    )?;
    Ok(())
}

impl Store {
    /// Queues `keys` for deletion in one transaction; the uploaded variants with those keys
    /// are marked removed. Returns each key's row id.
    pub fn delete_keys(&self, keys: &[String], reason: &str) -> Result<Vec<String>> {
        let now = self.clock.now_ms();
        let attempts = self.outbox_attempts.load(Ordering::Relaxed);
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let ids = keys
            .iter()
            .map(|key| queue_deletion(&tx, key, reason, now, attempts))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(ids)
    }

    /// Queues the deletion of the upload `object_id` at `key`; returns the row's id.
    pub fn delete_upload(&self, key: &str, object_id: &str, reason: &str) -> Result<String> {
        let now = self.clock.now_ms();
        let attempts = self.outbox_attempts.load(Ordering::Relaxed);
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id = queue_deletion_of(&tx, key, Some(object_id), reason, now, attempts)?;
        tx.commit()?;
        Ok(id)
    }

    /// Removes an uploaded image: every key that still holds one of job `id`'s variants is
    /// queued for deletion, in one transaction; its variants whose keys were uploaded again
    /// since are history and only marked removed. Returns the rows' ids.
    pub fn remove_job(&self, id: i64, reason: &str) -> Result<Vec<String>> {
        let now = self.clock.now_ms();
        let attempts = self.outbox_attempts.load(Ordering::Relaxed);
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let state: Option<String> = tx
            .one("SELECT state FROM jobs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        let Some(state) = state else {
            return Err(Error::NoSuchJob(id));
        };
        if state != "uploaded" {
            return Err(Error::NotRemovable {
                job: id,
                why: format!("it is {state}; only an uploaded image can be removed"),
            });
        }
        // Only the keys that still hold this photo: a key uploaded again since holds a later
        // one, which removing this photo must not delete.
        let keys: Vec<String> = tx
            .prepare_cached("SELECT object_key FROM objects WHERE job_id = ?1 ORDER BY variant")?
            .query_map([id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let ids = keys
            .iter()
            .map(|key| queue_deletion(&tx, key, reason, now, attempts))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.run(
            "UPDATE variants SET removed_at = ?2 WHERE job_id = ?1 AND removed_at IS NULL",
            params![id, now],
        )?;
        tx.commit()?;
        Ok(ids)
    }

    /// Up to `limit` rows, oldest first, in `state` if given, after row `after` (its id).
    pub fn outbox(
        &self,
        state: Option<OutboxState>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        let conn = self.conn();
        let sql = format!(
            "SELECT {COLUMNS} FROM deletion_outbox
             WHERE (?1 IS NULL OR state = ?1)
               AND (?2 IS NULL OR (created_at, id) > (SELECT created_at, id FROM deletion_outbox WHERE id = ?2))
             ORDER BY created_at, id LIMIT ?3"
        );
        let rows = conn
            .prepare_cached(&sql)?
            .query_map(
                params![state.map(OutboxState::as_str), after, limit as i64],
                row,
            )?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The rows with these ids, in that order (unknown ids are left out).
    pub fn outbox_rows(&self, ids: &[String]) -> Result<Vec<OutboxRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM deletion_outbox WHERE id = ?1"
        ))?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(found) = stmt.query_row([id], row).optional()? {
                rows.push(found);
            }
        }
        Ok(rows)
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        let conn = self.conn();
        let mut counts = OutboxCounts::default();
        let mut stmt =
            conn.prepare_cached("SELECT state, COUNT(*) FROM deletion_outbox GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?;
        for found in rows {
            let (state, n) = found?;
            match state.parse::<OutboxState>() {
                Ok(OutboxState::Pending) => counts.pending = n,
                Ok(OutboxState::Sending) => counts.sending = n,
                Ok(OutboxState::Synced) => counts.synced = n,
                Ok(OutboxState::Done) => counts.done = n,
                Ok(OutboxState::Superseded) => counts.superseded = n,
                Ok(OutboxState::Dead) => counts.dead = n,
                Err(_) => {}
            }
        }
        counts.oldest_pending_at = conn.one(
            "SELECT MIN(created_at) FROM deletion_outbox WHERE state IN ('pending', 'sending')",
            [],
            |r| r.get(0),
        )?;
        Ok(counts)
    }

    /// Gives dead rows (all, or those in `ids`) their attempts back; returns how many.
    pub fn outbox_retry(&self, ids: &[String]) -> Result<usize> {
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let sql =
            "UPDATE deletion_outbox SET state = 'pending', attempts = 0, next_attempt_at = ?2,
                                              updated_at = ?2
                   WHERE state = 'dead' AND (?1 IS NULL OR id = ?1)";
        let n = if ids.is_empty() {
            tx.run(sql, params![None::<String>, now])?
        } else {
            let mut n = 0;
            for id in ids {
                n += tx.run(sql, params![id, now])?;
            }
            n
        };
        tx.commit()?;
        Ok(n)
    }

    /// Gives back rows leased by `owner`, a process that died while sending. Returns how many.
    pub fn outbox_reclaim_owner(&self, owner: &str) -> Result<usize> {
        let now = self.clock.now_ms();
        Ok(self.conn().run(
            "UPDATE deletion_outbox SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
                                        updated_at = ?2
             WHERE state = 'sending' AND lease_owner = ?1",
            params![owner, now],
        )?)
    }

    /// Settles rows `owner` holds; a deleted (or accepted) row becomes `done_state`.
    pub(crate) fn outbox_settle(
        &self,
        owner: &str,
        now: Millis,
        settled: &[(String, Settlement)],
        done_state: OutboxState,
    ) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut changed = 0;
        for (id, outcome) in settled {
            let held = "id = ?1 AND state = 'sending' AND lease_owner = ?2";
            changed += match outcome {
                Settlement::Deleted => tx.run(
                    &format!(
                        "UPDATE deletion_outbox SET state = ?3, lease_owner = NULL, lease_expires_at = NULL,
                                last_error = NULL, updated_at = ?4,
                                synced_at = CASE WHEN ?3 = 'synced' THEN ?4 ELSE synced_at END
                         WHERE {held}"
                    ),
                    params![id, owner, done_state.as_str(), now],
                )?,
                Settlement::Retry { error, at } => tx.run(
                    &format!(
                        "UPDATE deletion_outbox SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
                                attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4, updated_at = ?5
                         WHERE {held}"
                    ),
                    params![id, owner, error, at, now],
                )?,
                Settlement::Dead { error } => tx.run(
                    &format!(
                        "UPDATE deletion_outbox SET state = 'dead', lease_owner = NULL, lease_expires_at = NULL,
                                attempts = max_attempts, last_error = ?3, updated_at = ?4
                         WHERE {held}"
                    ),
                    params![id, owner, error, now],
                )?,
                Settlement::Superseded { reason } => tx.run(
                    &format!(
                        "UPDATE deletion_outbox SET state = 'superseded', lease_owner = NULL,
                                lease_expires_at = NULL, last_error = ?3, updated_at = ?4
                         WHERE {held}"
                    ),
                    params![id, owner, format!("not deleted: {reason}"), now],
                )?,
            };
        }
        tx.commit()?;
        Ok(changed)
    }
}

impl DeletionStore for Store {
    fn claim(
        &self,
        owner: &str,
        now: Millis,
        lease_ms: Millis,
        limit: usize,
    ) -> Result<Vec<DueDeletion>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let due: Vec<DueDeletion> = tx
            .prepare_cached(
                "SELECT id, object_key, attempts, max_attempts, object_id, sha256, created_at
                 FROM deletion_outbox
                 WHERE (state = 'pending' AND next_attempt_at <= ?1)
                    OR (state = 'sending' AND lease_expires_at <= ?1)
                 ORDER BY created_at, id LIMIT ?2",
            )?
            .query_map(params![now, limit as i64], DueDeletion::from_row)?
            .collect::<rusqlite::Result<_>>()?;
        for row in &due {
            tx.run(
                "UPDATE deletion_outbox SET state = 'sending', lease_owner = ?2, lease_expires_at = ?3,
                                            updated_at = ?4
                 WHERE id = ?1",
                params![row.id, owner, now + lease_ms, now],
            )?;
        }
        tx.commit()?;
        Ok(due)
    }

    fn settle(&self, owner: &str, now: Millis, settled: &[(String, Settlement)]) -> Result<usize> {
        self.outbox_settle(owner, now, settled, OutboxState::Done)
    }

    fn release(&self, owner: &str, ids: &[String]) -> Result<()> {
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for id in ids {
            tx.run(
                "UPDATE deletion_outbox SET state = 'pending', lease_owner = NULL, lease_expires_at = NULL,
                                            updated_at = ?3
                 WHERE id = ?1 AND state = 'sending' AND lease_owner = ?2",
                params![id, owner, now],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn next_due(&self) -> Result<Option<Millis>> {
        Ok(self.conn().one(
            "SELECT MIN(CASE state WHEN 'pending' THEN next_attempt_at ELSE lease_expires_at END)
             FROM deletion_outbox WHERE state IN ('pending', 'sending')",
            [],
            |r| r.get(0),
        )?)
    }
}

/// A job that replaces its SKU's photos (or one photo) has just been uploaded: the SKU's
/// images from earlier batches (or that photo) are removed, and the keys that still hold them
/// are queued for deletion (a key this batch uploaded again holds the new photo already).
/// While another job of the same batch and SKU is still on its way, nothing is queued: the
/// last of them to end does it for all, so one sibling never deletes a key another is about
/// to upload again. Part of the caller's transaction (the job's `finish`).
pub(super) fn replace_earlier(
    tx: &Transaction<'_>,
    job: i64,
    now: Millis,
    max_attempts: u32,
) -> rusqlite::Result<()> {
    let (replaces, replaces_job): (bool, Option<i64>) = tx.one(
        "SELECT replaces, replaces_job FROM jobs WHERE id = ?1",
        [job],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if !replaces && replaces_job.is_none() {
        return Ok(());
    }
    if replaces {
        let siblings_on_their_way: bool = tx.one(
            "SELECT EXISTS (SELECT 1 FROM jobs s JOIN jobs n ON n.id = ?1
                            WHERE s.batch_id = n.batch_id AND s.sku = n.sku AND s.replaces = 1
                              AND s.id <> n.id
                              AND s.state IN ('queued', 'processing', 'staged', 'uploading'))",
            [job],
            |r| r.get(0),
        )?;
        if siblings_on_their_way {
            return Ok(());
        }
    }
    let earlier: Vec<(i64, Option<String>)> = tx
        .prepare_cached(
            "SELECT j.id, o.object_key FROM jobs j
             JOIN jobs n ON n.id = ?1
             LEFT JOIN objects o ON o.job_id = j.id
             WHERE ((n.replaces = 1 AND j.sku = n.sku AND j.batch_id < n.batch_id)
                    OR j.id = n.replaces_job)
               AND j.id <> n.id AND j.state = 'uploaded'
               AND EXISTS (SELECT 1 FROM variants v WHERE v.job_id = j.id
                             AND v.state = 'uploaded' AND v.removed_at IS NULL)",
        )?
        .query_map([job], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let reason = format!("replaced by job {job}");
    for (old_job, key) in earlier {
        // No key: every key of that photo holds a later upload already.
        if let Some(key) = key {
            queue_deletion(tx, &key, &reason, now, max_attempts)?;
        }
        tx.run(
            "UPDATE variants SET removed_at = ?2 WHERE job_id = ?1 AND removed_at IS NULL",
            params![old_job, now],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Mutex;

    use super::*;
    use crate::clock::Clock;
    use crate::deletion::{DrainSettings, KeyError, ObjectDeleter, drain_once};
    use crate::queue::JobState;
    use crate::store::jobs::tests::{new_job, store};
    use crate::store::{Confirmed, NewJob, VariantRecord};
    use crate::transport::{BoxFuture, ErrorKind, TransportError, TransportResult};

    const TTL: Millis = 30_000;

    /// Answers DeleteObjects from a script: keys that fail (with their code), or a whole
    /// request error; records every request.
    #[derive(Default)]
    struct Deleter {
        failing: Mutex<Vec<(String, String)>>,
        request_error: Mutex<Option<TransportError>>,
        /// A request holding this key is refused whole, as S3 refuses XML it cannot parse.
        poison: Mutex<Option<String>>,
        /// What a HEAD finds, by key; keys not listed hold an object stored long ago.
        holds: Mutex<std::collections::HashMap<String, Option<crate::transport::ObjectInfo>>>,
        requests: Mutex<Vec<Vec<String>>>,
    }

    fn stored(object_id: Option<&str>, at: Millis) -> crate::transport::ObjectInfo {
        crate::transport::ObjectInfo {
            size: 1,
            sha256: None,
            etag: None,
            object_id: object_id.map(str::to_string),
            version_id: None,
            last_modified_ms: Some(at),
        }
    }

    impl ObjectDeleter for Deleter {
        fn head<'a>(
            &'a self,
            key: &'a str,
        ) -> BoxFuture<'a, TransportResult<Option<crate::transport::ObjectInfo>>> {
            let found = self
                .holds
                .lock()
                .unwrap()
                .get(key)
                .cloned()
                .unwrap_or_else(|| Some(stored(None, 0)));
            Box::pin(async move { Ok(found) })
        }

        fn delete_objects<'a>(
            &'a self,
            keys: &'a [String],
        ) -> BoxFuture<'a, TransportResult<Vec<KeyError>>> {
            self.requests.lock().unwrap().push(keys.to_vec());
            let poisoned = self
                .poison
                .lock()
                .unwrap()
                .as_ref()
                .is_some_and(|p| keys.contains(p));
            let whole = match self.request_error.lock().unwrap().clone() {
                None if poisoned => Some(
                    TransportError::new(
                        ErrorKind::Permanent,
                        "The XML you provided was not well-formed",
                    )
                    .with_code("MalformedXML"),
                ),
                other => other,
            };
            let answer = match whole {
                Some(e) => Err(e),
                None => Ok(self
                    .failing
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| keys.contains(k))
                    .map(|(k, code)| KeyError {
                        key: k.clone(),
                        code: code.clone(),
                        message: "scripted".into(),
                    })
                    .collect()),
            };
            Box::pin(async move { answer })
        }
    }

    fn settings(owner: &str) -> DrainSettings {
        DrainSettings {
            lease: std::time::Duration::from_millis(TTL as u64),
            ..DrainSettings::new(owner)
        }
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("products/S/{i}.jpg")).collect()
    }

    fn states(store: &Store) -> Vec<(String, OutboxState, u32)> {
        store
            .outbox(None, None, 10_000)
            .unwrap()
            .into_iter()
            .map(|r| (r.key, r.state, r.attempts))
            .collect()
    }

    #[tokio::test]
    async fn deleted_keys_are_done_and_a_missing_key_counts_as_deleted() {
        let (_d, store, clock) = store();
        store.delete_keys(&keys(3), "test").unwrap();
        let deleter = Deleter::default();
        deleter
            .failing
            .lock()
            .unwrap()
            .push(("products/S/1.jpg".into(), "NoSuchKey".into()));
        let report = drain_once(&store, &deleter, &*clock, &settings("w"))
            .await
            .unwrap();
        assert_eq!((report.claimed, report.deleted), (3, 3));
        assert!(
            states(&store)
                .iter()
                .all(|(_, s, a)| *s == OutboxState::Done && *a == 0)
        );
        // Nothing is due any more: the next round sends nothing.
        let again = drain_once(&store, &deleter, &*clock, &settings("w"))
            .await
            .unwrap();
        assert_eq!(again.claimed, 0);
        assert_eq!(deleter.requests.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_key_that_keeps_failing_backs_off_then_dies_at_max_attempts_with_its_error() {
        let (_d, store, clock) = store();
        store.set_outbox_max_attempts(3);
        store.delete_keys(&keys(2), "test").unwrap();
        let deleter = Deleter::default();
        deleter
            .failing
            .lock()
            .unwrap()
            .push(("products/S/0.jpg".into(), "AccessDenied".into()));
        for round in 1..=3 {
            let report = drain_once(&store, &deleter, &*clock, &settings("w"))
                .await
                .unwrap();
            assert_eq!(report.claimed, if round == 1 { 2 } else { 1 }, "{round}");
            // Not due again before its backoff ends.
            let early = drain_once(&store, &deleter, &*clock, &settings("w"))
                .await
                .unwrap();
            assert_eq!(early.claimed, 0, "{round}");
            clock.advance(3_600_000);
        }
        let rows = store.outbox(None, None, 10).unwrap();
        let dead = rows.iter().find(|r| r.key == "products/S/0.jpg").unwrap();
        assert_eq!((dead.state, dead.attempts), (OutboxState::Dead, 3));
        assert!(dead.last_error.as_deref().unwrap().contains("AccessDenied"));
        assert_eq!(store.outbox_counts().unwrap().dead, 1);
        // A retry gives it its attempts back.
        assert_eq!(store.outbox_retry(&[]).unwrap(), 1);
        deleter.failing.lock().unwrap().clear();
        drain_once(&store, &deleter, &*clock, &settings("w"))
            .await
            .unwrap();
        assert_eq!(store.outbox_counts().unwrap().done, 2);
    }

    #[tokio::test]
    async fn table_of_whole_request_failures() {
        // (error kind, attempts counted, state after): a request failed as a whole by a
        // server that cannot be reached, fails or throttles is an outage, and costs nothing.
        let cases = [
            (ErrorKind::Network, 0, OutboxState::Pending),
            (ErrorKind::Server, 0, OutboxState::Pending),
            (ErrorKind::Throttled, 0, OutboxState::Pending),
            (ErrorKind::Permanent, 1, OutboxState::Pending),
        ];
        for (kind, attempts, state) in cases {
            let (_d, store, clock) = store();
            store.delete_keys(&keys(2), "test").unwrap();
            let deleter = Deleter::default();
            *deleter.request_error.lock().unwrap() = Some(TransportError::new(kind, "boom"));
            let report = drain_once(&store, &deleter, &*clock, &settings("w"))
                .await
                .unwrap();
            assert_eq!(report.offline, kind.is_unavailable(), "{kind:?}");
            for (_, s, a) in states(&store) {
                assert_eq!((s, a), (state, attempts), "{kind:?}");
            }
        }
    }

    #[tokio::test]
    async fn expired_lease_cannot_settle_and_its_rows_are_claimed_again() {
        let (_d, store, clock) = store();
        store.delete_keys(&keys(2), "test").unwrap();
        let first = DeletionStore::claim(&store, "dead-worker", clock.now_ms(), TTL, 10).unwrap();
        assert_eq!(first.len(), 2);
        // Held: nobody else gets them.
        let none = DeletionStore::claim(&store, "w2", clock.now_ms(), TTL, 10).unwrap();
        assert!(none.is_empty());
        clock.advance(TTL + 1);
        let again = DeletionStore::claim(&store, "w2", clock.now_ms(), TTL, 10).unwrap();
        assert_eq!(again.len(), 2);
        let late = vec![(first[0].id.clone(), Settlement::Deleted)];
        assert_eq!(
            store.settle("dead-worker", clock.now_ms(), &late).unwrap(),
            0
        );
        let mine = vec![(again[0].id.clone(), Settlement::Deleted)];
        assert_eq!(store.settle("w2", clock.now_ms(), &mine).unwrap(), 1);
    }

    fn variant(name: &str, key: &str) -> VariantRecord {
        VariantRecord {
            name: name.into(),
            object_key: key.into(),
            content_type: "image/jpeg".into(),
            width: 10,
            height: 10,
            bytes: 100,
            sha256: "0".repeat(64),
            staged_path: Some(PathBuf::from("/tmp/x")),
            uploaded: false,
            attempted: false,
            upload_id: None,
            etag: None,
            object_id: None,
            crc32c: None,
        }
    }

    /// Records a job with `keys` as its variants and takes it to `uploaded`.
    fn queued_keys(store: &Store) -> Vec<String> {
        let rows = store.outbox(None, None, 10).unwrap();
        rows.into_iter().map(|r| r.key).collect()
    }

    fn uploaded(store: &Store, job: NewJob, keys: &[&str]) -> i64 {
        let id = store.enqueue("batch", &[job], 3).unwrap().ids[0];
        let claimed = store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
        assert_eq!(claimed.id, id);
        let variants: Vec<_> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| variant(&format!("v{i}"), k))
            .collect();
        store.stage(id, "w", &variants, &[], None).unwrap();
        store.claim("w", JobState::Staged, TTL).unwrap().unwrap();
        for v in &variants[..variants.len() - 1] {
            store
                .variant_uploaded(
                    id,
                    "w",
                    Confirmed {
                        variant: &v.name,
                        etag: None,
                        object_id: None,
                    },
                )
                .unwrap();
        }
        let last = Confirmed {
            variant: &variants[variants.len() - 1].name,
            etag: None,
            object_id: None,
        };
        store.finish(id, "w", Some(last)).unwrap();
        id
    }

    #[test]
    fn removing_an_image_queues_each_of_its_variants_once() {
        let (_d, store, _c) = store();
        let id = uploaded(
            &store,
            new_job("a.jpg"),
            &["products/S/a-l.jpg", "products/S/a-t.jpg"],
        );
        let ids = store.remove_job(id, "removed by staff").unwrap();
        assert_eq!(ids.len(), 2);
        let rows = store.outbox(Some(OutboxState::Pending), None, 10).unwrap();
        let mut keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["products/S/a-l.jpg", "products/S/a-t.jpg"]);
        // Removed already: a second removal queues nothing new.
        assert!(store.remove_job(id, "again").unwrap().is_empty());
        assert_eq!(store.outbox_counts().unwrap().pending, 2);
    }

    #[test]
    fn only_an_uploaded_image_can_be_removed() {
        let (_d, store, _c) = store();
        let id = store.enqueue("b", &[new_job("a.jpg")], 3).unwrap().ids[0];
        assert!(matches!(
            store.remove_job(id, "x"),
            Err(Error::NotRemovable { .. })
        ));
        assert!(matches!(
            store.remove_job(999, "x"),
            Err(Error::NoSuchJob(999))
        ));
    }

    #[test]
    fn a_new_upload_of_a_key_makes_its_unsent_deletion_moot() {
        let (_d, store, _c) = store();
        store
            .delete_keys(&["products/S/a-v0.jpg".to_string()], "test")
            .unwrap();
        uploaded(&store, new_job("a.jpg"), &["products/S/a-v0.jpg"]);
        let rows = store.outbox(None, None, 10).unwrap();
        assert_eq!(rows[0].state, OutboxState::Superseded);
        assert!(
            rows[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("uploaded again")
        );
    }

    #[test]
    fn a_key_uploaded_again_shows_one_photo_and_removing_the_old_one_deletes_nothing() {
        let (_d, store, _c) = store();
        let key = "products/S/a-v0.jpg";
        let old = uploaded(&store, new_job("v1/a.jpg"), &[key]);
        let new = uploaded(&store, new_job("v2/a.jpg"), &[key]);
        let gallery = store.gallery("", 100).unwrap();
        assert_eq!(
            gallery.iter().map(|i| i.job_id).collect::<Vec<_>>(),
            [new],
            "one current photo per key"
        );
        assert!(store.remove_job(old, "test").unwrap().is_empty());
        assert_eq!(store.current_object(key).unwrap().unwrap().job_id, new);
        // Removing the new one deletes the key, naming the upload it holds.
        assert_eq!(store.remove_job(new, "test").unwrap().len(), 1);
        assert!(store.current_object(key).unwrap().is_none());
        assert!(store.gallery("", 100).unwrap().is_empty());
    }

    #[test]
    fn a_file_recorded_before_is_a_new_upload_once_its_key_holds_another() {
        let (_d, store, _c) = store();
        let key = "products/S/a-v0.jpg";
        let v1 = uploaded(&store, new_job("v1/a.jpg"), &[key]);
        uploaded(&store, new_job("v2/a.jpg"), &[key]);
        let again = store.enqueue("batch", &[new_job("v1/a.jpg")], 3).unwrap();
        assert_ne!(again.ids[0], v1, "v1 again is a new job");
        assert_eq!(again.added, again.ids);
    }

    #[tokio::test]
    async fn a_request_refused_as_a_whole_is_split_so_only_the_bad_key_is_charged() {
        let (_d, store, clock) = store();
        let mut all = keys(9);
        all.push("products/S/bad.jpg".into());
        store.delete_keys(&all, "test").unwrap();
        let deleter = Deleter::default();
        *deleter.poison.lock().unwrap() = Some("products/S/bad.jpg".into());
        let report = drain_once(&store, &deleter, &*clock, &settings("w"))
            .await
            .unwrap();
        assert_eq!((report.deleted, report.retried), (9, 1));
        for (key, state, attempts) in states(&store) {
            if key.ends_with("bad.jpg") {
                assert_eq!((state, attempts), (OutboxState::Pending, 1));
            } else {
                assert_eq!((state, attempts), (OutboxState::Done, 0), "{key}");
            }
        }
        // Halving: 10 keys, then 5 + 5, and so on down to the bad key alone.
        let requests = deleter.requests.lock().unwrap();
        assert!(requests.len() <= 2 * 4 + 1, "{} requests", requests.len());
        assert!(
            requests
                .iter()
                .any(|r| r == &["products/S/bad.jpg".to_string()])
        );
    }

    #[tokio::test]
    async fn a_deletion_whose_key_holds_a_later_upload_is_superseded_and_not_sent() {
        let (_d, store, clock) = store();
        // Deletions of keys this workstation never recorded mean what was stored before.
        clock.advance(10_000);
        let asked = clock.now_ms();
        store.delete_keys(&keys(3), "test").unwrap();
        let deleter = Deleter::default();
        deleter.holds.lock().unwrap().extend([
            (
                "products/S/0.jpg".to_string(),
                Some(stored(None, asked - 5_000)),
            ),
            (
                "products/S/1.jpg".to_string(),
                Some(stored(Some(&"a".repeat(32)), asked + 1)),
            ),
            ("products/S/2.jpg".to_string(), None),
        ]);
        let report = drain_once(&store, &deleter, &*clock, &settings("w"))
            .await
            .unwrap();
        assert_eq!((report.deleted, report.superseded), (2, 1));
        assert_eq!(
            *deleter.requests.lock().unwrap(),
            vec![vec!["products/S/0.jpg".to_string()]],
            "only the key still holding what was meant is sent"
        );
        let superseded: Vec<String> = states(&store)
            .into_iter()
            .filter(|(_, s, _)| *s == OutboxState::Superseded)
            .map(|(k, _, _)| k)
            .collect();
        assert_eq!(superseded, ["products/S/1.jpg"]);
        let why = store
            .outbox(Some(OutboxState::Superseded), None, 10)
            .unwrap();
        assert!(
            why[0]
                .last_error
                .as_deref()
                .unwrap()
                .starts_with("not deleted: ")
        );
    }

    #[test]
    fn a_replacing_upload_queues_the_skus_earlier_keys_it_did_not_overwrite() {
        let (_d, store, _c) = store();
        let old = uploaded(
            &store,
            new_job("old.jpg"),
            &["products/SKU/old-l.jpg", "products/SKU/same.jpg"],
        );
        let other_sku = uploaded(
            &store,
            NewJob {
                sku: "OTHER".into(),
                ..new_job("o.jpg")
            },
            &["products/OTHER/o.jpg"],
        );
        let replacing = NewJob {
            replaces: true,
            ..new_job("new.jpg")
        };
        uploaded(
            &store,
            replacing,
            &["products/SKU/new-l.jpg", "products/SKU/same.jpg"],
        );
        let queued = queued_keys(&store);
        assert_eq!(queued, ["products/SKU/old-l.jpg"]);
        // The old image is gone from the gallery; the other SKU is untouched.
        assert!(store.remove_job(old, "x").unwrap().is_empty());
        assert_eq!(store.remove_job(other_sku, "x").unwrap().len(), 1);
    }

    #[test]
    fn a_replacing_batch_deletes_nothing_while_a_sibling_is_still_on_its_way() {
        let (_d, store, _c) = store();
        uploaded(&store, new_job("front.jpg"), &["products/SKU/front.jpg"]);
        uploaded(&store, new_job("side.jpg"), &["products/SKU/side.jpg"]);
        // A re-shoot replacing the SKU: the back (a new key) and the front again.
        let shoot = ["new/back.jpg", "new/front.jpg"].map(|name| NewJob {
            replaces: true,
            ..new_job(name)
        });
        let ids = store.enqueue("re-shoot", &shoot, 3).unwrap().ids;
        for (id, key) in ids
            .iter()
            .zip(["products/SKU/back.jpg", "products/SKU/front.jpg"])
        {
            assert_eq!(
                store.claim("w", JobState::Queued, TTL).unwrap().unwrap().id,
                *id
            );
            store
                .stage(*id, "w", &[variant("v0", key)], &[], None)
                .unwrap();
        }
        let finish = |id: i64| {
            assert_eq!(
                store.claim("w", JobState::Staged, TTL).unwrap().unwrap().id,
                id
            );
            let last = Confirmed {
                variant: "v0",
                etag: None,
                object_id: None,
            };
            store.finish(id, "w", Some(last)).unwrap();
        };
        // The back lands first: the old front must not be queued while the new front is sent.
        finish(ids[0]);
        assert!(queued_keys(&store).is_empty());
        finish(ids[1]);
        assert_eq!(queued_keys(&store), ["products/SKU/side.jpg"]);
    }

    #[test]
    fn replacing_one_photo_removes_that_photo_only_once_the_new_one_is_uploaded() {
        let (_d, store, _c) = store();
        let front = uploaded(
            &store,
            new_job("front.jpg"),
            &["products/SKU/front-l.jpg", "products/SKU/front-t.jpg"],
        );
        let back = uploaded(&store, new_job("back.jpg"), &["products/SKU/back-l.jpg"]);
        let replacing = NewJob {
            replaces_job: Some(front),
            ..new_job("front-v2.jpg")
        };
        // Recorded, not yet uploaded: nothing is deleted while the new photo may still fail.
        let id = store
            .enqueue("fix", std::slice::from_ref(&replacing), 3)
            .unwrap()
            .ids[0];
        assert!(store.outbox(None, None, 10).unwrap().is_empty());
        store.cancel(crate::store::Target::Job(id)).unwrap();

        uploaded(
            &store,
            replacing,
            &["products/SKU/front-v2-l.jpg", "products/SKU/front-t.jpg"],
        );
        let queued = queued_keys(&store);
        assert_eq!(
            queued,
            ["products/SKU/front-l.jpg"],
            "the thumb was overwritten"
        );
        assert!(store.remove_job(front, "x").unwrap().is_empty());
        assert_eq!(store.remove_job(back, "x").unwrap().len(), 1, "untouched");
    }
}
