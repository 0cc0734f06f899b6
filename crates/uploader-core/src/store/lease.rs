//! Moves made by workers. A worker claims a job with a lease (its owner id and an expiry it
//! renews); every later change is accepted only from the lease holder while the lease runs,
//! so a worker that stalled, crashed or had its job cancelled cannot record anything.

use rusqlite::{OptionalExtension, Transaction, params};

use super::jobs::{VariantRecord, load, state_of};
use super::{Cached, Store};
use crate::clock::Millis;
use crate::queue::JobState;
use crate::store::JobRecord;
use crate::{Error, Result};

/// No backoff is longer (the longest is 5 min, 20 for SlowDown): a job due later than this was
/// scheduled by a clock set ahead and since put right, and is due now rather than stranded.
const LONGEST_WAIT_MS: Millis = 30 * 60 * 1000;

/// Renders that end with no outcome before the job fails (see `reclaim`).
pub const INTERRUPTIONS_BEFORE_FAILING: u32 = 3;

/// Why a job whose renders keep ending with no outcome failed.
const CRASHED: &str = "the app stopped while reading this file 3 times (the file may crash the image decoder or need more memory than there is); it was not uploaded";

/// One part of a multipart upload the server confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRecord {
    pub part_number: u32,
    pub bytes: u64,
    pub etag: String,
    /// Base64 CRC32C of the part, as sent to the server.
    pub crc32c: String,
}

/// A variant the server confirmed, with the ETag it answered and the upload id the key now
/// holds: the variant's own, or, when the key already held these bytes and nothing was sent,
/// the id of the upload found there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmed<'a> {
    pub variant: &'a str,
    pub etag: Option<&'a str>,
    pub object_id: Option<&'a str>,
}

/// Which jobs a claim may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Among {
    All,
    /// Only jobs never interrupted: one that was is rendered alone, so that if it crashes
    /// the process again, no other file is blamed with it.
    Uninterrupted,
}

/// Jobs with a unit of work left: what `run_pending` waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outstanding {
    /// Queued, not paused: to render now or after their backoff.
    pub queued: usize,
    /// Staged, not paused: to send now or after their backoff.
    pub staged: usize,
    /// Held by a worker.
    pub leased: usize,
    /// The earliest instant a waiting job may be claimed.
    pub next_due: Option<Millis>,
}

impl Store {
    /// Claims the oldest job in `from` (`queued` or `staged`) that is not paused and whose
    /// backoff is over, moving it to the leased state (`processing` or `uploading`).
    pub fn claim(&self, owner: &str, from: JobState, ttl_ms: Millis) -> Result<Option<JobRecord>> {
        self.claim_among(owner, from, ttl_ms, Among::All)
    }

    /// Like `claim`, among the jobs `among` says.
    pub fn claim_among(
        &self,
        owner: &str,
        from: JobState,
        ttl_ms: Millis,
        among: Among,
    ) -> Result<Option<JobRecord>> {
        let to = match from {
            JobState::Queued => JobState::Processing,
            JobState::Staged => JobState::Uploading,
            other => {
                return Err(Error::StateConflict {
                    job: 0,
                    expected: JobState::Queued,
                    actual: other,
                });
            }
        };
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let id: Option<i64> = tx
            .one(
                "SELECT j.id FROM jobs j JOIN batches b ON b.id = j.batch_id
                 WHERE j.state = ?1 AND (j.next_attempt_at <= ?2 OR j.next_attempt_at > ?2 + ?4)
                   AND NOT j.paused AND NOT b.paused
                   AND (?3 OR j.interruptions = 0)
                 ORDER BY j.next_attempt_at, j.id LIMIT 1",
                params![from.as_str(), now, among == Among::All, LONGEST_WAIT_MS],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else { return Ok(None) };
        tx.run(
            "UPDATE jobs SET state = ?2, lease_owner = ?3, lease_expires_at = ?4, updated_at = ?5
             WHERE id = ?1",
            params![id, to.as_str(), owner, now + ttl_ms, now],
        )?;
        // Read before the send is marked started: `attempted` then tells whether an earlier
        // send may have reached the server, which must then be asked before sending again.
        let job = load(&tx, id)?;
        if to == JobState::Uploading {
            tx.run(
                "UPDATE variants SET attempted = 1 WHERE job_id = ?1 AND state <> 'uploaded'",
                [id],
            )?;
        }
        tx.commit()?;
        Ok(Some(job))
    }

    /// Extends the lease, and tells whether the job (or its batch) has been paused since;
    /// fails with `LeaseLost` if the worker no longer holds it.
    pub fn renew(&self, id: i64, owner: &str, ttl_ms: Millis) -> Result<bool> {
        self.hold(id, owner, |tx, now| {
            tx.run(
                "UPDATE jobs SET lease_expires_at = ?2 WHERE id = ?1",
                params![id, now + ttl_ms],
            )?;
            Ok(tx.one(
                "SELECT j.paused OR b.paused FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE j.id = ?1",
                [id],
                |r| r.get(0),
            )?)
        })
    }

    /// Records rendered variants (written to their `staged_path`), what rendering warned of
    /// and the source's SHA-256, and hands the job to the upload workers. A variant already
    /// uploaded with the same content stays uploaded.
    pub fn stage(
        &self,
        id: i64,
        owner: &str,
        variants: &[VariantRecord],
        warnings: &[String],
        source_sha256: Option<&str>,
    ) -> Result<JobRecord> {
        // One per line: a warning is one line of text.
        let warnings: Vec<String> = warnings.iter().map(|w| w.replace('\n', " ")).collect();
        self.hold(id, owner, |tx, now| {
            expect_state(tx, id, JobState::Processing)?;
            tx.run(
                "DELETE FROM variants WHERE job_id = ?1 AND state <> 'uploaded'",
                [id],
            )?;
            let mut total = 0u64;
            for v in variants {
                total += v.bytes;
                let kept: Option<String> = tx
                    .one(
                        "SELECT sha256 FROM variants WHERE job_id = ?1 AND name = ?2",
                        params![id, v.name],
                        |r| r.get(0),
                    )
                    .optional()?;
                if kept.as_deref() == Some(v.sha256.as_str()) {
                    continue;
                }
                tx.run(
                    "DELETE FROM variants WHERE job_id = ?1 AND name = ?2",
                    params![id, v.name],
                )?;
                tx.run(
                    "INSERT INTO variants (job_id, name, object_key, content_type, width, height,
                                           bytes, sha256, staged_path, state, object_id, crc32c)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'staged', ?10, ?11)",
                    params![
                        id,
                        v.name,
                        v.object_key,
                        v.content_type,
                        v.width,
                        v.height,
                        v.bytes as i64,
                        v.sha256,
                        v.staged_path.as_ref().map(|p| p.to_string_lossy()),
                        v.object_id
                            .clone()
                            .unwrap_or_else(crate::transport::new_object_id),
                        v.crc32c
                    ],
                )?;
            }
            tx.run(
                "UPDATE jobs SET state = 'staged', lease_owner = NULL, lease_expires_at = NULL,
                                 bytes_total = ?2, warnings = ?3, updated_at = ?4,
                                 source_sha256 = coalesce(?5, source_sha256)
                 WHERE id = ?1",
                params![id, total as i64, warnings.join("\n"), now, source_sha256],
            )?;
            recount(tx, id)
        })
    }

    /// Records the variant's multipart upload (or, with `None`, forgets it and its parts).
    pub fn set_upload_id(
        &self,
        id: i64,
        owner: &str,
        variant: &str,
        upload_id: Option<&str>,
    ) -> Result<JobRecord> {
        self.hold(id, owner, |tx, _| {
            drop_parts(tx, id, variant)?;
            tx.run(
                "UPDATE variants SET upload_id = ?3 WHERE job_id = ?1 AND name = ?2 AND state = 'staged'",
                params![id, variant, upload_id],
            )?;
            recount(tx, id)
        })
    }

    /// Records a part the server confirmed; its bytes count as done.
    pub fn part_done(
        &self,
        id: i64,
        owner: &str,
        variant: &str,
        upload_id: &str,
        part: &PartRecord,
    ) -> Result<JobRecord> {
        self.hold(id, owner, |tx, _| {
            tx.run(
                "INSERT OR REPLACE INTO parts (job_id, variant, upload_id, part_number, bytes, etag, crc32c)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, variant, upload_id, part.part_number, part.bytes as i64, part.etag, part.crc32c],
            )?;
            recount(tx, id)
        })
    }

    /// Forgets recorded parts the server no longer has (found by ListParts on resume).
    pub fn forget_parts(&self, id: i64, owner: &str, variant: &str, numbers: &[u32]) -> Result<()> {
        self.hold(id, owner, |tx, _| {
            for n in numbers {
                tx.run(
                    "DELETE FROM parts WHERE job_id = ?1 AND variant = ?2 AND part_number = ?3",
                    params![id, variant, n],
                )?;
            }
            recount(tx, id).map(drop)
        })
        .map(drop)
    }

    /// The parts recorded for the variant's current multipart upload, by number.
    pub fn parts(&self, id: i64, variant: &str) -> Result<Vec<PartRecord>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT part_number, bytes, etag, crc32c FROM parts
                 WHERE job_id = ?1 AND variant = ?2 ORDER BY part_number",
            )?
            .query_map(params![id, variant], |r| {
                Ok(PartRecord {
                    part_number: r.get(0)?,
                    bytes: r.get::<_, i64>(1)? as u64,
                    etag: r.get(2)?,
                    crc32c: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// Records that the server confirmed the whole variant.
    pub fn variant_uploaded(
        &self,
        id: i64,
        owner: &str,
        confirmed: Confirmed<'_>,
    ) -> Result<JobRecord> {
        self.hold(id, owner, |tx, now| {
            mark_uploaded(tx, id, confirmed, now)?;
            recount(tx, id)
        })
    }

    /// Ends an upload whose variants are all confirmed; `last`, the variant confirmed last,
    /// is recorded in the same transaction (one fewer per file).
    pub fn finish(&self, id: i64, owner: &str, last: Option<Confirmed<'_>>) -> Result<JobRecord> {
        let attempts = self
            .outbox_attempts
            .load(std::sync::atomic::Ordering::Relaxed);
        self.hold(id, owner, |tx, now| {
            expect_state(tx, id, JobState::Uploading)?;
            if let Some(last) = last {
                mark_uploaded(tx, id, last, now)?;
            }
            tx.run(
                "UPDATE jobs SET state = 'uploaded', lease_owner = NULL, lease_expires_at = NULL,
                                 last_error = NULL, updated_at = ?2
                 WHERE id = ?1",
                params![id, now],
            )?;
            super::outbox::replace_earlier(tx, id, now, attempts)?;
            recount(tx, id)
        })
    }

    /// Ends the job in `failed` with a message the user can read.
    pub fn fail(&self, id: i64, owner: &str, error: &str) -> Result<JobRecord> {
        self.hold(id, owner, |tx, now| {
            tx.run(
                "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL,
                                 last_error = ?2, updated_at = ?3
                 WHERE id = ?1",
                params![id, error, now],
            )?;
            load(tx, id)
        })
    }

    /// Counts a failed attempt: the job waits until `at` and is tried again, or fails once
    /// its attempts are used up.
    pub fn retry_later(&self, id: i64, owner: &str, error: &str, at: Millis) -> Result<JobRecord> {
        self.hold(id, owner, |tx, now| {
            let state = state_of(tx, id)?;
            tx.run(
                "UPDATE jobs SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3,
                                 lease_owner = NULL, lease_expires_at = NULL, updated_at = ?4,
                                 state = CASE WHEN attempts + 1 >= max_attempts THEN 'failed' ELSE ?5 END
                 WHERE id = ?1",
                params![id, error, at, now, state.unclaimed().as_str()],
            )?;
            load(tx, id)
        })
    }

    /// Gives the job back without counting an attempt (paused, offline, shutting down);
    /// `why`, if given, is shown as its last error meanwhile.
    pub fn release(&self, id: i64, owner: &str, why: Option<&str>) -> Result<JobRecord> {
        self.hold(id, owner, |tx, now| {
            let state = state_of(tx, id)?;
            tx.run(
                "UPDATE jobs SET state = ?2, lease_owner = NULL, lease_expires_at = NULL, updated_at = ?3,
                                 last_error = COALESCE(?4, last_error)
                 WHERE id = ?1",
                params![id, state.unclaimed().as_str(), now, why],
            )?;
            load(tx, id)
        })
    }

    /// Puts back every job whose lease has lapsed (its worker stalled or died). Nothing is
    /// counted as an attempt: the worker never reported an outcome.
    pub fn reclaim_expired(&self) -> Result<Vec<i64>> {
        let now = self.clock.now_ms();
        self.reclaim("lease_expires_at <= ?1", params![now])
    }

    /// Puts back every job leased by `owner`, a process that is gone.
    pub fn reclaim_owner(&self, owner: &str) -> Result<Vec<i64>> {
        self.reclaim("lease_owner = ?1", params![owner])
    }

    /// The owners of leases on jobs or deletions, but `me`.
    pub fn lease_owners(&self, me: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT lease_owner FROM jobs WHERE lease_owner IS NOT NULL AND lease_owner <> ?1
             UNION
             SELECT lease_owner FROM deletion_outbox WHERE lease_owner IS NOT NULL AND lease_owner <> ?1",
        )?;
        let owners = stmt
            .query_map([me], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(owners)
    }

    /// A render whose worker died or stalled counts as an interruption; a job interrupted
    /// `INTERRUPTIONS_BEFORE_FAILING` times fails with why, so that a file that crashes the
    /// decoder (or fills memory) does not crash every start. An interrupted upload is put
    /// back as it is: sending runs no decoder.
    fn reclaim(&self, filter: &str, params: impl rusqlite::Params + Copy) -> Result<Vec<i64>> {
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let ids: Vec<i64> = tx
            .prepare(&format!(
                "SELECT id FROM jobs WHERE lease_owner IS NOT NULL AND {filter} ORDER BY id"
            ))?
            .query_map(params, |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for id in &ids {
            tx.run(
                "UPDATE jobs SET interruptions = interruptions + (state = 'processing'),
                                 state = CASE
                                   WHEN state = 'uploading' THEN 'staged'
                                   WHEN interruptions + 1 >= ?3 THEN 'failed'
                                   ELSE 'queued' END,
                                 last_error = CASE
                                   WHEN state = 'processing' AND interruptions + 1 >= ?3 THEN ?4
                                   ELSE last_error END,
                                 lease_owner = NULL, lease_expires_at = NULL, updated_at = ?2
                 WHERE id = ?1",
                params![id, now, INTERRUPTIONS_BEFORE_FAILING, CRASHED],
            )?;
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Staged jobs (not paused), counted through the state index: cheap whatever the queue's size.
    pub fn staged_count(&self) -> Result<usize> {
        let n: i64 = self.conn().one(
            "SELECT COUNT(*) FROM jobs j JOIN batches b ON b.id = j.batch_id
             WHERE j.state = 'staged' AND NOT j.paused AND NOT b.paused",
            [],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// What is left to do, for the scheduler's loop.
    pub fn outstanding(&self) -> Result<Outstanding> {
        let now = self.clock.now_ms();
        let conn = self.conn();
        let (queued, staged, next_due, leased) = conn.one(
            "SELECT
               COUNT(*) FILTER (WHERE j.state = 'queued' AND NOT j.paused AND NOT b.paused),
               COUNT(*) FILTER (WHERE j.state = 'staged' AND NOT j.paused AND NOT b.paused),
               MIN(CASE WHEN j.next_attempt_at > ?1 + ?2 THEN ?1 ELSE j.next_attempt_at END)
                 FILTER (WHERE j.state IN ('queued', 'staged') AND NOT j.paused AND NOT b.paused),
               COUNT(*) FILTER (WHERE j.state IN ('processing', 'uploading'))
             FROM jobs j JOIN batches b ON b.id = j.batch_id",
            params![now, LONGEST_WAIT_MS],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )?;
        Ok(Outstanding {
            queued: queued as usize,
            staged: staged as usize,
            leased: leased as usize,
            next_due,
        })
    }

    /// Runs `change` in one transaction if `owner` holds a running lease on the job.
    fn hold<T>(
        &self,
        id: i64,
        owner: &str,
        change: impl FnOnce(&Transaction<'_>, Millis) -> Result<T>,
    ) -> Result<T> {
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let lease: Option<(Option<String>, Option<Millis>)> = tx
            .one(
                "SELECT lease_owner, lease_expires_at FROM jobs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match lease {
            None => return Err(Error::NoSuchJob(id)),
            Some((Some(holder), Some(expires))) if holder == owner && expires > now => {}
            Some(_) => return Err(Error::LeaseLost(id)),
        }
        let out = change(&tx, now)?;
        tx.commit()?;
        Ok(out)
    }
}

fn drop_parts(tx: &Transaction<'_>, id: i64, variant: &str) -> rusqlite::Result<usize> {
    tx.run(
        "DELETE FROM parts WHERE job_id = ?1 AND variant = ?2",
        params![id, variant],
    )
}

/// The variant is in the bucket: it becomes what its key holds (the key's earlier photo,
/// this job's or another's, is history from now on), and a deletion of the key not sent yet
/// is superseded, since it would delete this upload.
fn mark_uploaded(
    tx: &Transaction<'_>,
    id: i64,
    confirmed: Confirmed<'_>,
    now: Millis,
) -> rusqlite::Result<()> {
    let variant = confirmed.variant;
    drop_parts(tx, id, variant)?;
    tx.run(
        "UPDATE variants SET state = 'uploaded', staged_path = NULL, upload_id = NULL,
                             etag = COALESCE(?3, etag), removed_at = NULL
         WHERE job_id = ?1 AND name = ?2",
        params![id, variant, confirmed.etag],
    )?;
    tx.run(
        "INSERT INTO objects (object_key, job_id, variant, sha256, bytes, etag, object_id,
                              uploaded_at)
         SELECT object_key, job_id, name, sha256, bytes, etag, COALESCE(?3, object_id), ?4
         FROM variants WHERE job_id = ?1 AND name = ?2
         ON CONFLICT (object_key) DO UPDATE SET
             job_id = excluded.job_id, variant = excluded.variant, sha256 = excluded.sha256,
             bytes = excluded.bytes, etag = excluded.etag, object_id = excluded.object_id,
             uploaded_at = excluded.uploaded_at",
        params![id, variant, confirmed.object_id, now],
    )?;
    let key: String = tx.one(
        "SELECT object_key FROM variants WHERE job_id = ?1 AND name = ?2",
        params![id, variant],
        |r| r.get(0),
    )?;
    super::outbox::supersede_deletions(tx, &key, id, now)
}

fn expect_state(tx: &Transaction<'_>, id: i64, expected: JobState) -> Result<()> {
    let actual = state_of(tx, id)?;
    if actual == expected {
        Ok(())
    } else {
        Err(Error::StateConflict {
            job: id,
            expected,
            actual,
        })
    }
}

/// Confirmed bytes: whole uploaded variants plus the recorded parts of the others.
fn recount(tx: &Transaction<'_>, id: i64) -> Result<JobRecord> {
    tx.run(
        "UPDATE jobs SET bytes_done = MIN(bytes_total,
             (SELECT COALESCE(SUM(bytes), 0) FROM variants WHERE job_id = ?1 AND state = 'uploaded')
           + (SELECT COALESCE(SUM(p.bytes), 0) FROM parts p JOIN variants v
                ON v.job_id = p.job_id AND v.name = p.variant AND v.upload_id = p.upload_id
              WHERE p.job_id = ?1))
         WHERE id = ?1",
        [id],
    )?;
    load(tx, id)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::store::Target;
    use crate::store::jobs::tests::{enqueue, store};

    const TTL: Millis = 30_000;

    /// The variant `name` confirmed with no ETag.
    fn confirmed(variant: &str) -> Confirmed<'_> {
        Confirmed {
            variant,
            etag: None,
            object_id: None,
        }
    }

    fn staged(name: &str, bytes: u64) -> VariantRecord {
        VariantRecord {
            name: name.into(),
            object_key: format!("products/SKU/a-{name}.jpg"),
            content_type: "image/jpeg".into(),
            width: 10,
            height: 10,
            bytes,
            sha256: "0".repeat(64),
            staged_path: Some(PathBuf::from(format!("/tmp/{name}"))),
            uploaded: false,
            attempted: false,
            upload_id: None,
            etag: None,
            object_id: None,
            crc32c: None,
        }
    }

    /// Claims the job and stages two variants (300 + 100 bytes); returns it claimed for upload.
    fn uploading(store: &Store, owner: &str) -> JobRecord {
        enqueue(store, &["a.jpg"]);
        let job = store.claim(owner, JobState::Queued, TTL).unwrap().unwrap();
        store
            .stage(
                job.id,
                owner,
                &[staged("large", 300), staged("thumb", 100)],
                &[],
                None,
            )
            .unwrap();
        store.claim(owner, JobState::Staged, TTL).unwrap().unwrap()
    }

    #[test]
    fn a_job_walks_from_queued_to_uploaded_counting_confirmed_bytes() {
        let (_d, store, clock) = store();
        let id = enqueue(&store, &["a.jpg"])[0].id;
        let job = store.claim("w1", JobState::Queued, TTL).unwrap().unwrap();
        assert_eq!((job.id, job.state), (id, JobState::Processing));
        let job = store
            .stage(
                id,
                "w1",
                &[staged("large", 300), staged("thumb", 100)],
                &["small\nphoto".into()],
                None,
            )
            .unwrap();
        assert_eq!(
            (job.state, job.bytes_total, job.bytes_done),
            (JobState::Staged, 400, 0)
        );
        assert_eq!(job.warnings, ["small photo"], "one line per warning");
        store.claim("w2", JobState::Staged, TTL).unwrap().unwrap();
        clock.advance(5);
        let job = store
            .variant_uploaded(
                id,
                "w2",
                Confirmed {
                    variant: "thumb",
                    etag: Some("\"e1\""),
                    object_id: None,
                },
            )
            .unwrap();
        assert_eq!(job.bytes_done, 100);
        // A repeated confirmation does not count twice.
        let job = store
            .variant_uploaded(id, "w2", confirmed("thumb"))
            .unwrap();
        assert_eq!(job.bytes_done, 100);
        store
            .variant_uploaded(id, "w2", confirmed("large"))
            .unwrap();
        let job = store.finish(id, "w2", None).unwrap();
        assert_eq!(
            (job.state, job.bytes_done, job.updated_at),
            (JobState::Uploaded, 400, 1_005)
        );
        assert!(
            job.variants
                .iter()
                .all(|v| v.uploaded && v.staged_path.is_none())
        );
        assert_eq!(job.variants[1].etag.as_deref(), Some("\"e1\""));
    }

    #[test]
    fn a_claimed_upload_reads_as_not_attempted_once_and_as_attempted_after() {
        let (_d, store, _c) = store();
        let first = uploading(&store, "w1");
        assert!(first.variants.iter().all(|v| !v.attempted));
        // The worker dies: whatever it sent may be on the server.
        store.release(first.id, "w1", None).unwrap();
        let again = store.claim("w2", JobState::Staged, TTL).unwrap().unwrap();
        assert!(again.variants.iter().all(|v| v.attempted));
    }

    #[test]
    fn finish_records_the_last_confirmed_variant_with_the_job() {
        let (_d, store, _c) = store();
        let job = uploading(&store, "w1");
        store
            .variant_uploaded(job.id, "w1", confirmed("large"))
            .unwrap();
        let last = Confirmed {
            variant: "thumb",
            etag: Some("\"t\""),
            object_id: None,
        };
        let done = store.finish(job.id, "w1", Some(last)).unwrap();
        assert_eq!((done.state, done.bytes_done), (JobState::Uploaded, 400));
        let thumb = &done.variants[1];
        assert_eq!(
            (
                thumb.uploaded,
                thumb.etag.as_deref(),
                thumb.staged_path.as_ref()
            ),
            (true, Some("\"t\""), None)
        );
    }

    #[test]
    fn finish_of_a_lost_lease_records_no_variant_either() {
        let (_d, store, _c) = store();
        let job = uploading(&store, "w1");
        let last = confirmed("thumb");
        assert!(matches!(
            store.finish(job.id, "w2", Some(last)),
            Err(Error::LeaseLost(_))
        ));
        assert!(
            store
                .job(job.id)
                .unwrap()
                .variants
                .iter()
                .all(|v| !v.uploaded)
        );
    }

    #[test]
    fn only_the_lease_holder_can_record_anything() {
        let (_d, store, _c) = store();
        let job = uploading(&store, "w1");
        let attempts: [(&str, Result<JobRecord>); 5] = [
            ("finish", store.finish(job.id, "w2", None)),
            ("fail", store.fail(job.id, "w2", "x")),
            ("retry", store.retry_later(job.id, "w2", "x", 0)),
            ("release", store.release(job.id, "w2", None)),
            (
                "variant",
                store.variant_uploaded(job.id, "w2", confirmed("large")),
            ),
        ];
        for (what, result) in attempts {
            assert!(
                matches!(result, Err(Error::LeaseLost(_))),
                "{what}: {result:?}"
            );
        }
        assert!(matches!(
            store.renew(job.id, "w2", TTL),
            Err(Error::LeaseLost(_))
        ));
        assert_eq!(store.job(job.id).unwrap().state, JobState::Uploading);
        store.finish(job.id, "w1", None).unwrap();
    }

    #[test]
    fn expired_lease_cannot_complete() {
        let (_d, store, clock) = store();
        let job = uploading(&store, "w1");
        clock.advance(TTL - 1);
        store.renew(job.id, "w1", TTL).unwrap();
        clock.advance(TTL);
        assert!(matches!(
            store.finish(job.id, "w1", None),
            Err(Error::LeaseLost(_))
        ));
        assert_eq!(store.reclaim_expired().unwrap(), [job.id]);
        let back = store.job(job.id).unwrap();
        assert_eq!((back.state, back.attempts), (JobState::Staged, 0));
    }

    #[test]
    fn retrying_job_a_leaves_job_b_untouched() {
        let (_d, store, clock) = store();
        let jobs = enqueue(&store, &["a.jpg", "b.jpg"]);
        let a = store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
        assert_eq!(a.id, jobs[0].id);
        let b_before = store.job(jobs[1].id).unwrap();
        let a = store
            .retry_later(a.id, "w", "a.jpg: connection reset", 2_000)
            .unwrap();
        assert_eq!(
            (
                a.state,
                a.attempts,
                a.next_attempt_at,
                a.last_error.as_deref()
            ),
            (JobState::Queued, 1, 2_000, Some("a.jpg: connection reset"))
        );
        assert_eq!(store.job(jobs[1].id).unwrap(), b_before);
        // A waits for its backoff, so B is claimed first.
        let next = store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
        assert_eq!(next.id, jobs[1].id);
        assert!(store.claim("w", JobState::Queued, TTL).unwrap().is_none());
        clock.advance(1_000);
        assert_eq!(
            store.claim("w", JobState::Queued, TTL).unwrap().unwrap().id,
            a.id
        );
    }

    #[test]
    fn the_last_allowed_attempt_fails_the_job_with_its_error() {
        let (_d, store, _c) = store();
        let id = enqueue(&store, &["a.jpg"])[0].id;
        for n in 1..=3 {
            store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
            let job = store
                .retry_later(id, "w", &format!("reset {n}"), 0)
                .unwrap();
            let expected = if n < 3 {
                JobState::Queued
            } else {
                JobState::Failed
            };
            assert_eq!((job.state, job.attempts), (expected, n));
        }
        assert_eq!(
            store.job(id).unwrap().last_error.as_deref(),
            Some("reset 3")
        );
    }

    #[test]
    fn releasing_costs_no_attempt() {
        let (_d, store, _c) = store();
        let job = uploading(&store, "w");
        let job = store.release(job.id, "w", None).unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Staged, 0));
    }

    #[test]
    fn parts_count_as_done_until_the_upload_id_changes() {
        let (_d, store, _c) = store();
        let job = uploading(&store, "w");
        store
            .set_upload_id(job.id, "w", "large", Some("u1"))
            .unwrap();
        let part = |n| PartRecord {
            part_number: n,
            bytes: 100,
            etag: format!("\"p{n}\""),
            crc32c: "AAAAAA==".into(),
        };
        store
            .part_done(job.id, "w", "large", "u1", &part(1))
            .unwrap();
        let job = store
            .part_done(job.id, "w", "large", "u1", &part(2))
            .unwrap();
        assert_eq!(job.bytes_done, 200);
        assert_eq!(store.parts(job.id, "large").unwrap(), [part(1), part(2)]);
        store.forget_parts(job.id, "w", "large", &[2]).unwrap();
        assert_eq!(store.job(job.id).unwrap().bytes_done, 100);
        // A new multipart upload starts from no parts.
        let job = store
            .set_upload_id(job.id, "w", "large", Some("u2"))
            .unwrap();
        assert_eq!(job.bytes_done, 0);
        assert!(store.parts(job.id, "large").unwrap().is_empty());
        let job = store
            .variant_uploaded(job.id, "w", confirmed("large"))
            .unwrap();
        assert_eq!(
            (job.bytes_done, job.variants[0].upload_id.as_deref()),
            (300, None)
        );
    }

    #[test]
    fn a_gone_owners_leases_are_reclaimed_and_no_other() {
        let (_d, store, _c) = store();
        enqueue(&store, &["a", "b", "c"]);
        let a = store.claim("dead", JobState::Queued, TTL).unwrap().unwrap();
        store
            .stage(a.id, "dead", &[staged("large", 10)], &[], None)
            .unwrap();
        let a = store.claim("dead", JobState::Staged, TTL).unwrap().unwrap();
        let b = store.claim("dead", JobState::Queued, TTL).unwrap().unwrap();
        let c = store.claim("me", JobState::Queued, TTL).unwrap().unwrap();
        assert_eq!(store.lease_owners("me").unwrap(), ["dead"]);
        assert_eq!(store.reclaim_owner("dead").unwrap(), [a.id, b.id]);
        assert_eq!(store.job(a.id).unwrap().state, JobState::Staged);
        assert_eq!(store.job(b.id).unwrap().state, JobState::Queued);
        assert_eq!(store.job(c.id).unwrap().state, JobState::Processing);
        let left = store.outstanding().unwrap();
        assert_eq!(
            (left.queued, left.staged, left.leased, left.next_due),
            (1, 1, 1, Some(0))
        );
    }

    #[test]
    fn a_render_interrupted_three_times_fails_with_why_and_an_upload_is_never_failed_so() {
        let (_d, store, _c) = store();
        let jobs = enqueue(&store, &["poison", "b"]);
        for round in 1..=INTERRUPTIONS_BEFORE_FAILING {
            let job = store.claim("dead", JobState::Queued, TTL).unwrap().unwrap();
            assert_eq!(job.id, jobs[0].id);
            store.reclaim_owner("dead").unwrap();
            let job = store.job(job.id).unwrap();
            assert_eq!(job.interruptions, round);
            let expected = if round < INTERRUPTIONS_BEFORE_FAILING {
                JobState::Queued
            } else {
                JobState::Failed
            };
            assert_eq!(job.state, expected, "round {round}");
        }
        let failed = store.job(jobs[0].id).unwrap();
        assert!(
            failed
                .last_error
                .unwrap()
                .contains("stopped while reading this file"),
        );
        assert_eq!(failed.attempts, 0);
        // Interrupted sends are put back, however often.
        let b = store.claim("dead", JobState::Queued, TTL).unwrap().unwrap();
        store
            .stage(b.id, "dead", &[staged("large", 10)], &[], None)
            .unwrap();
        for _ in 0..5 {
            store.claim("dead", JobState::Staged, TTL).unwrap().unwrap();
            store.reclaim_owner("dead").unwrap();
        }
        let b = store.job(b.id).unwrap();
        assert_eq!((b.state, b.interruptions), (JobState::Staged, 0));
    }

    #[test]
    fn a_backoff_set_by_a_clock_far_ahead_does_not_strand_the_job() {
        let (_d, store, _c) = store();
        let jobs = enqueue(&store, &["a"]);
        store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
        // The clock was a year ahead when the backoff was set, and has since been put right.
        let year = 365 * 24 * 3_600_000;
        store
            .retry_later(jobs[0].id, "w", "boom", store.now_ms() + year + 1_000)
            .unwrap();
        assert_eq!(store.outstanding().unwrap().next_due, Some(store.now_ms()));
        let job = store.claim("w", JobState::Queued, TTL).unwrap();
        assert_eq!(job.map(|j| j.id), Some(jobs[0].id));
    }

    #[test]
    fn an_interrupted_job_is_not_claimed_beside_others() {
        let (_d, store, _c) = store();
        let jobs = enqueue(&store, &["suspect", "b"]);
        store.claim("dead", JobState::Queued, TTL).unwrap().unwrap();
        store.reclaim_owner("dead").unwrap();
        let other = store
            .claim_among("me", JobState::Queued, TTL, Among::Uninterrupted)
            .unwrap()
            .unwrap();
        assert_eq!(other.id, jobs[1].id);
        assert!(
            store
                .claim_among("me", JobState::Queued, TTL, Among::Uninterrupted)
                .unwrap()
                .is_none()
        );
        let suspect = store.claim("me", JobState::Queued, TTL).unwrap().unwrap();
        assert_eq!((suspect.id, suspect.interruptions), (jobs[0].id, 1));
    }

    #[test]
    fn restaging_keeps_variants_already_uploaded_with_the_same_bytes() {
        let (_d, store, _c) = store();
        let job = uploading(&store, "w");
        store
            .variant_uploaded(job.id, "w", confirmed("thumb"))
            .unwrap();
        // Its staged files were lost, say: it fails, and a retry renders it again.
        store.fail(job.id, "w", "the staged copy is gone").unwrap();
        store.retry(Target::Job(job.id)).unwrap();
        store.claim("w", JobState::Queued, TTL).unwrap().unwrap();
        let job = store
            .stage(
                job.id,
                "w",
                &[staged("large", 300), staged("thumb", 100)],
                &[],
                None,
            )
            .unwrap();
        assert_eq!(job.bytes_done, 100);
        assert!(job.variants.iter().any(|v| v.name == "thumb" && v.uploaded));
        let current = store
            .current_object("products/SKU/a-thumb.jpg")
            .unwrap()
            .unwrap();
        assert_eq!((current.job_id, current.sha256), (job.id, "0".repeat(64)));
    }
}
