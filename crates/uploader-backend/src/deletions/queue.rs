//! The queue's table and every move on it, each one transaction.

use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use uploader_api::{DeletionBatch, DeletionReceipt, DeletionStats, RefusedDeletion, code};
use uploader_core::clock::Millis;
use uploader_core::deletion::{DeletionStore, DueDeletion, Settlement};

use crate::keys::object_key;

/// The company guide's monitoring query, run unchanged.
pub const MONITORING_QUERY: &str = "SELECT COUNT(*) as backlog, AVG(attempts) as avg_attempts \
     FROM s3_deletion_queue WHERE attempts < max_attempts;";

/// Takes a workstation's batch in one transaction. An id seen before (queued or already
/// processed) is accepted again without change; one reused for another key is refused.
pub fn accept(
    conn: &mut Connection,
    caller: &crate::api::Caller,
    prefix: &str,
    batch: &DeletionBatch,
    max_attempts: u32,
    now: Millis,
) -> rusqlite::Result<DeletionReceipt> {
    let tx = conn.transaction()?;
    let mut receipt = DeletionReceipt {
        accepted: Vec::new(),
        refused: Vec::new(),
    };
    for d in &batch.deletions {
        let refuse = |code: &str, message: String| RefusedDeletion {
            id: d.id.clone(),
            code: code.to_string(),
            message,
        };
        if !uuid_like(&d.id) {
            receipt.refused.push(refuse(
                code::BAD_REQUEST,
                "`id` must be a UUID (36 characters)".into(),
            ));
            continue;
        }
        let malformed = |v: &Option<String>, len: usize| {
            v.as_deref()
                .is_some_and(|v| !crate::api::is_lower_hex(v, len))
        };
        if malformed(&d.object_id, 32) || malformed(&d.sha256, 64) {
            receipt.refused.push(refuse(
                code::BAD_REQUEST,
                "`object_id` must be 32 and `sha256` 64 lowercase hex characters".into(),
            ));
            continue;
        }
        let key = match object_key(prefix, &d.path) {
            Ok(key) => key,
            Err(e) => {
                receipt
                    .refused
                    .push(refuse(code::INVALID_PATH, e.to_string()));
                continue;
            }
        };
        let known: Option<String> = tx
            .query_row(
                "SELECT s3_key FROM s3_deletion_queue WHERE id = ?1
                 UNION ALL SELECT s3_key FROM s3_deletion_history WHERE id = ?1",
                [&d.id],
                |r| r.get(0),
            )
            .optional()?;
        match known {
            Some(k) if k == key => receipt.accepted.push(d.id.clone()),
            Some(_) => receipt.refused.push(refuse(
                code::ID_CONFLICT,
                format!("id {} was already used for another key", d.id),
            )),
            None => {
                // Checked for new ids only: an id accepted before stays accepted, whoever
                // uploads the key since (the worker then finds the deletion superseded).
                if let Some(why) =
                    crate::ownership::deletion_refusal(&tx, caller, &key, d.object_id.as_deref())?
                {
                    receipt.refused.push(refuse(code::NOT_OWNER, why));
                    continue;
                }
                tx.execute(
                    "INSERT INTO s3_deletion_queue
                         (id, s3_key, reason, workstation, requested_at, max_attempts, created_at,
                          object_id, sha256)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        d.id,
                        key,
                        d.reason.chars().take(200).collect::<String>(),
                        caller.name,
                        d.requested_at_ms,
                        max_attempts,
                        now,
                        d.object_id,
                        d.sha256
                    ],
                )?;
                receipt.accepted.push(d.id.clone());
            }
        }
    }
    tx.commit()?;
    Ok(receipt)
}

fn uuid_like(id: &str) -> bool {
    id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// The queue's figures; backlog and average attempts come from the guide's own query.
pub fn stats(conn: &Connection) -> rusqlite::Result<DeletionStats> {
    let (backlog, avg_attempts): (u64, Option<f64>) =
        conn.query_row(MONITORING_QUERY, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let (dead, oldest): (u64, Option<i64>) = conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE attempts >= max_attempts),
                MIN(created_at) FILTER (WHERE attempts < max_attempts)
         FROM s3_deletion_queue",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let processed: u64 =
        conn.query_row("SELECT COUNT(*) FROM s3_deletion_history", [], |r| r.get(0))?;
    let worker_seen_at_ms: Option<i64> =
        conn.query_row("SELECT MAX(seen_at) FROM deletion_workers", [], |r| {
            r.get(0)
        })?;
    Ok(DeletionStats {
        backlog,
        avg_attempts,
        dead,
        processed,
        oldest_backlog_at_ms: oldest,
        worker_seen_at_ms,
    })
}

/// Gives rows out of attempts (all, or those with these ids) a fresh start.
pub fn retry_dead(conn: &mut Connection, ids: &[String], now: Millis) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let sql = "UPDATE s3_deletion_queue SET attempts = 0, next_attempt_at = ?2
               WHERE attempts >= max_attempts AND (?1 IS NULL OR id = ?1)";
    let n = if ids.is_empty() {
        tx.execute(sql, params![None::<String>, now])?
    } else {
        let mut n = 0;
        for id in ids {
            n += tx.execute(sql, params![id, now])?;
        }
        n
    };
    tx.commit()?;
    Ok(n)
}

/// Moves a processed row that `owner` holds into the history, with how it ended; returns how
/// many rows moved (0 or 1).
fn to_history(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    owner: &str,
    now: Millis,
    outcome: &str,
    why: Option<&str>,
) -> rusqlite::Result<usize> {
    let moved = tx.execute(
        "INSERT INTO s3_deletion_history
             (id, s3_key, reason, workstation, requested_at, attempts, max_attempts,
              last_error, created_at, processed_at, object_id, sha256, outcome)
         SELECT id, s3_key, reason, workstation, requested_at, attempts, max_attempts,
                COALESCE(?5, last_error), created_at, ?3, object_id, sha256, ?4
         FROM s3_deletion_queue WHERE id = ?1 AND lease_owner = ?2",
        params![id, owner, now, outcome, why],
    )?;
    if moved > 0 {
        tx.execute("DELETE FROM s3_deletion_queue WHERE id = ?1", [id])?;
    }
    Ok(moved)
}

/// The queue as the drain sees it, on a connection of its own.
pub struct DeletionQueue {
    conn: Mutex<Connection>,
    started_at: Millis,
}

impl DeletionQueue {
    pub fn new(conn: Connection, now: Millis) -> Self {
        Self {
            conn: Mutex::new(conn),
            started_at: now,
        }
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl DeletionStore for DeletionQueue {
    fn claim(
        &self,
        owner: &str,
        now: Millis,
        lease_ms: Millis,
        limit: usize,
    ) -> uploader_core::Result<Vec<DueDeletion>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // Every round reports in, busy or idle.
        tx.execute(
            "INSERT INTO deletion_workers (owner, started_at, seen_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (owner) DO UPDATE SET seen_at = excluded.seen_at",
            params![owner, self.started_at, now],
        )?;
        let due: Vec<DueDeletion> = tx
            .prepare_cached(
                "SELECT id, s3_key, attempts, max_attempts, object_id, sha256,
                        COALESCE(requested_at, created_at)
                 FROM s3_deletion_queue
                 WHERE attempts < max_attempts
                   AND ((lease_owner IS NULL AND next_attempt_at <= ?1) OR lease_expires_at <= ?1)
                 ORDER BY created_at, id LIMIT ?2",
            )?
            .query_map(params![now, limit as i64], DueDeletion::from_row)?
            .collect::<rusqlite::Result<_>>()?;
        {
            let mut lease = tx.prepare_cached(
                "UPDATE s3_deletion_queue SET lease_owner = ?2, lease_expires_at = ?3 WHERE id = ?1",
            )?;
            for row in &due {
                lease.execute(params![row.id, owner, now + lease_ms])?;
            }
        }
        tx.commit()?;
        Ok(due)
    }

    fn settle(
        &self,
        owner: &str,
        now: Millis,
        settled: &[(String, Settlement)],
    ) -> uploader_core::Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut changed = 0;
        for (id, outcome) in settled {
            changed += match outcome {
                Settlement::Deleted => {
                    // The catalog forgets the object with it, if its record is of that very
                    // object: a registration that landed meanwhile stays.
                    let meant: Option<(String, Option<String>, Millis)> = tx
                        .query_row(
                            "SELECT s3_key, object_id, COALESCE(requested_at, created_at)
                             FROM s3_deletion_queue WHERE id = ?1 AND lease_owner = ?2",
                            params![id, owner],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                        )
                        .optional()?;
                    if let Some((key, object_id, asked)) = meant {
                        tx.execute(
                            "DELETE FROM uploads WHERE key = ?1
                               AND (object_id IS ?2 OR (?2 IS NULL AND registered_at_ms <= ?3))",
                            params![key, object_id, asked],
                        )?;
                    }
                    to_history(&tx, id, owner, now, "deleted", None)?
                }
                Settlement::Superseded { reason } => {
                    let why = format!("not deleted: {reason}");
                    to_history(&tx, id, owner, now, "superseded", Some(&why))?
                }
                Settlement::Retry { error, at } => tx.execute(
                    "UPDATE s3_deletion_queue SET attempts = attempts + 1, last_error = ?3,
                            next_attempt_at = ?4, lease_owner = NULL, lease_expires_at = NULL
                     WHERE id = ?1 AND lease_owner = ?2",
                    params![id, owner, error, at],
                )?,
                Settlement::Dead { error } => tx.execute(
                    "UPDATE s3_deletion_queue SET attempts = max_attempts, last_error = ?3,
                            lease_owner = NULL, lease_expires_at = NULL
                     WHERE id = ?1 AND lease_owner = ?2",
                    params![id, owner, error],
                )?,
            };
        }
        tx.commit()?;
        Ok(changed)
    }

    fn release(&self, owner: &str, ids: &[String]) -> uploader_core::Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for id in ids {
            tx.execute(
                "UPDATE s3_deletion_queue SET lease_owner = NULL, lease_expires_at = NULL
                 WHERE id = ?1 AND lease_owner = ?2",
                params![id, owner],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn next_due(&self) -> uploader_core::Result<Option<Millis>> {
        Ok(self.conn().query_row(
            "SELECT MIN(COALESCE(lease_expires_at, next_attempt_at)) FROM s3_deletion_queue
             WHERE attempts < max_attempts",
            [],
            |r| r.get(0),
        )?)
    }
}
