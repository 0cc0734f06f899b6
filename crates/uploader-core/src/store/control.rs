//! Moves made by the user: pause, resume, cancel and retry, for one job, a batch, or all.
//! They take effect in the database at once; a worker holding a cancelled job loses its lease
//! and stops at its next step.

use rusqlite::{Transaction, params};

use super::jobs::load;
use super::{Cached, Store};
use crate::clock::Millis;
use crate::store::JobRecord;
use crate::{Error, Result};

/// What a control applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Job(i64),
    Batch(i64),
    All,
}

/// A multipart upload left open on the server by a cancelled job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenUpload {
    pub job_id: i64,
    pub variant: String,
    pub key: String,
    pub upload_id: String,
}

impl Store {
    /// Stops claiming the target's jobs; work in flight finishes its current step and goes
    /// back without counting an attempt.
    pub fn pause(&self, target: Target) -> Result<Vec<JobRecord>> {
        self.set_paused(target, true)
    }

    pub fn resume(&self, target: Target) -> Result<Vec<JobRecord>> {
        self.set_paused(target, false)
    }

    fn set_paused(&self, target: Target, paused: bool) -> Result<Vec<JobRecord>> {
        self.control(target, |tx, ids, now| {
            if let Target::Batch(batch) = target {
                tx.run(
                    "UPDATE batches SET paused = ?2 WHERE id = ?1",
                    params![batch, paused],
                )?;
            }
            if target == Target::All {
                tx.run("UPDATE batches SET paused = ?1", [paused])?;
            }
            for id in ids {
                tx.run(
                    "UPDATE jobs SET paused = ?2, updated_at = ?3
                     WHERE id = ?1 AND state NOT IN ('uploaded', 'failed', 'cancelled')",
                    params![id, paused, now],
                )?;
            }
            Ok(())
        })
    }

    /// Ends every unfinished job of the target. Multipart uploads they left open are listed
    /// by `open_uploads_to_abort` until the server has aborted them.
    pub fn cancel(&self, target: Target) -> Result<Vec<JobRecord>> {
        self.control(target, |tx, ids, now| {
            for id in ids {
                tx.run(
                    "UPDATE jobs SET state = 'cancelled', lease_owner = NULL,
                                     lease_expires_at = NULL, updated_at = ?2
                     WHERE id = ?1 AND state NOT IN ('uploaded', 'cancelled')",
                    params![id, now],
                )?;
            }
            Ok(())
        })
    }

    /// Queues failed jobs again with a fresh set of attempts.
    pub fn retry(&self, target: Target) -> Result<Vec<JobRecord>> {
        self.control(target, |tx, ids, now| {
            for id in ids {
                requeue_failed(tx, *id, now)?;
            }
            Ok(())
        })
    }

    /// Multipart uploads left open by jobs that ended without them: cancelled, or failed (a
    /// retry starts such an upload afresh), until the server has aborted them.
    pub fn open_uploads_to_abort(&self) -> Result<Vec<OpenUpload>> {
        Ok(self
            .conn()
            .prepare(
                "SELECT v.job_id, v.name, v.object_key, v.upload_id FROM variants v
                 JOIN jobs j ON j.id = v.job_id
                 WHERE j.state IN ('cancelled', 'failed') AND v.upload_id IS NOT NULL ORDER BY v.job_id",
            )?
            .query_map([], |r| {
                Ok(OpenUpload {
                    job_id: r.get(0)?,
                    variant: r.get(1)?,
                    key: r.get(2)?,
                    upload_id: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The server aborted the upload (or never had it): forget it and its parts.
    pub fn upload_aborted(&self, upload: &OpenUpload) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.run(
            "DELETE FROM parts WHERE job_id = ?1 AND variant = ?2",
            params![upload.job_id, upload.variant],
        )?;
        tx.run(
            "UPDATE variants SET upload_id = NULL WHERE job_id = ?1 AND name = ?2 AND upload_id = ?3",
            params![upload.job_id, upload.variant, upload.upload_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Applies `change` to the target's job ids in one transaction; returns the jobs after.
    fn control(
        &self,
        target: Target,
        change: impl FnOnce(&Transaction<'_>, &[i64], Millis) -> rusqlite::Result<()>,
    ) -> Result<Vec<JobRecord>> {
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let ids: Vec<i64> = match target {
            Target::Job(id) => {
                load(&tx, id)?;
                vec![id]
            }
            Target::Batch(batch) => {
                let found: i64 =
                    tx.one("SELECT COUNT(*) FROM batches WHERE id = ?1", [batch], |r| {
                        r.get(0)
                    })?;
                if found == 0 {
                    return Err(Error::NoSuchBatch(batch));
                }
                tx.prepare("SELECT id FROM jobs WHERE batch_id = ?1 ORDER BY id")?
                    .query_map([batch], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            }
            Target::All => tx
                .prepare("SELECT id FROM jobs ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
        };
        change(&tx, &ids, now)?;
        let jobs = ids
            .iter()
            .map(|id| load(&tx, *id))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(jobs)
    }
}

/// A failed job goes back to rendering with its attempts reset; variants already uploaded
/// stay recorded, so they are not sent again.
pub(super) fn requeue_failed(tx: &Transaction<'_>, id: i64, now: Millis) -> rusqlite::Result<()> {
    tx.run(
        "UPDATE jobs SET state = 'queued', attempts = 0, next_attempt_at = 0, last_error = NULL,
                         updated_at = ?2
         WHERE id = ?1 AND state = 'failed'",
        params![id, now],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::JobState;
    use crate::store::jobs::tests::{enqueue, store};

    const TTL: Millis = 30_000;

    #[test]
    fn a_paused_job_is_not_claimed_until_resumed_and_others_go_on() {
        let (_d, store, _c) = store();
        let jobs = enqueue(&store, &["a", "b"]);
        let paused = store.pause(Target::Job(jobs[0].id)).unwrap();
        assert!(paused[0].paused);
        let claimed = store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
        assert_eq!(claimed.id, jobs[1].id);
        assert!(store.claim("w", JobState::Queued, TTL).unwrap().is_none());
        store.resume(Target::Job(jobs[0].id)).unwrap();
        assert_eq!(
            store.claim("w", JobState::Queued, TTL).unwrap().unwrap().id,
            jobs[0].id
        );
    }

    #[test]
    fn pausing_a_batch_holds_all_its_jobs_and_no_others() {
        let (_d, store, _c) = store();
        let first = enqueue(&store, &["a", "b"]);
        let second = enqueue(&store, &["c"]);
        let paused = store.pause(Target::Batch(first[0].batch_id)).unwrap();
        assert!(paused.iter().all(|j| j.paused));
        assert!(!store.job(second[0].id).unwrap().paused);
        assert_eq!(
            store.claim("w", JobState::Queued, TTL).unwrap().unwrap().id,
            second[0].id
        );
        assert!(store.claim("w", JobState::Queued, TTL).unwrap().is_none());
        assert_eq!(store.outstanding().unwrap().queued, 0);
        store.resume(Target::Batch(first[0].batch_id)).unwrap();
        assert_eq!(store.outstanding().unwrap().queued, 2);
        assert!(matches!(
            store.pause(Target::Batch(99)),
            Err(Error::NoSuchBatch(99))
        ));
    }

    #[test]
    fn cancelling_a_job_in_flight_takes_its_lease_away() {
        let (_d, store, _c) = store();
        let jobs = enqueue(&store, &["a", "b"]);
        let a = store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
        let cancelled = store.cancel(Target::Job(a.id)).unwrap();
        assert_eq!(cancelled[0].state, JobState::Cancelled);
        assert!(matches!(
            store.renew(a.id, "w", TTL),
            Err(Error::LeaseLost(_))
        ));
        assert!(matches!(
            store.fail(a.id, "w", "x"),
            Err(Error::LeaseLost(_))
        ));
        assert_eq!(store.job(jobs[1].id).unwrap().state, JobState::Queued);
    }

    #[test]
    fn multipart_uploads_of_cancelled_and_failed_jobs_are_listed_until_aborted() {
        for cancelled in [true, false] {
            let (_d, store, _c) = store();
            let job = enqueue(&store, &["a"]).remove(0);
            store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
            let variant = crate::store::VariantRecord {
                name: "original".into(),
                object_key: "products/SKU/a.jpg".into(),
                content_type: "image/jpeg".into(),
                width: 1,
                height: 1,
                bytes: 10,
                sha256: "0".repeat(64),
                staged_path: None,
                uploaded: false,
                attempted: false,
                upload_id: None,
                etag: None,
                object_id: None,
                crc32c: None,
            };
            store.stage(job.id, "w", &[variant], &[], None).unwrap();
            store.claim("w", JobState::Staged, TTL).unwrap().unwrap();
            store
                .set_upload_id(job.id, "w", "original", Some("u1"))
                .unwrap();
            if cancelled {
                store.cancel(Target::Batch(job.batch_id)).unwrap();
            } else {
                store.fail(job.id, "w", "refused").unwrap();
            }
            let open = store.open_uploads_to_abort().unwrap();
            assert_eq!(open.len(), 1);
            assert_eq!(
                (open[0].key.as_str(), open[0].upload_id.as_str()),
                ("products/SKU/a.jpg", "u1")
            );
            store.upload_aborted(&open[0]).unwrap();
            assert!(store.open_uploads_to_abort().unwrap().is_empty());
        }
    }

    #[test]
    fn retry_requeues_failed_jobs_with_fresh_attempts_and_leaves_the_rest() {
        let (_d, store, _c) = store();
        let jobs = enqueue(&store, &["a", "b"]);
        let a = store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
        store.fail(a.id, "w", "a: not an image").unwrap();
        let b_before = store.job(jobs[1].id).unwrap();
        let after = store.retry(Target::All).unwrap();
        assert_eq!(
            (
                after[0].state,
                after[0].attempts,
                after[0].last_error.as_deref()
            ),
            (JobState::Queued, 0, None)
        );
        assert_eq!(after[1], b_before);
    }
}
