//! Batches, jobs and their variants: recording and reading them. Moves made by workers are in
//! `lease.rs`, moves made by the user in `control.rs`.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::{Cached, Store};
use crate::clock::Millis;
use crate::queue::JobState;
use crate::{Error, Result};

/// A file to record, with what identifies its content cheaply (size and modification time).
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    pub source_path: PathBuf,
    pub sku: String,
    pub source_size: u64,
    pub source_mtime: Millis,
    /// Uploaded byte for byte instead of through the image pipeline.
    pub as_is: bool,
    /// Once uploaded, the SKU's images from earlier batches are removed.
    pub replaces: bool,
    /// Once uploaded, this one image (a job) is removed: "replace this photo" in the gallery.
    pub replaces_job: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: i64,
    pub batch_id: i64,
    pub source_path: PathBuf,
    pub sku: String,
    pub as_is: bool,
    pub state: JobState,
    /// Paused by the user (the job or its batch): not claimed until resumed.
    pub paused: bool,
    pub attempts: u32,
    pub max_attempts: u32,
    /// Not claimed before this instant (backoff after a failed attempt).
    pub next_attempt_at: Millis,
    pub bytes_total: u64,
    /// Bytes the server confirmed: whole variants and the parts of unfinished ones.
    pub bytes_done: u64,
    /// Why the job failed, or why its last attempt did while it waits for the next.
    pub last_error: Option<String>,
    /// Said of a job that still succeeds, e.g. a photo smaller than a variant asks for.
    pub warnings: Vec<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Renders that ended with no outcome (the process died or stalled): rendered alone
    /// from then on, and failed after `INTERRUPTIONS_BEFORE_FAILING`.
    pub interruptions: u32,
    pub variants: Vec<VariantRecord>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariantRecord {
    pub name: String,
    pub object_key: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub sha256: String,
    pub staged_path: Option<PathBuf>,
    pub uploaded: bool,
    /// A send was started: after a crash the server is asked before sending again.
    pub attempted: bool,
    /// The multipart upload in progress, if any.
    pub upload_id: Option<String>,
    pub etag: Option<String>,
    /// This upload's own id, stored with the object (`object-id`); drawn when staged.
    /// `None` only for variants uploaded before uploads had one.
    pub object_id: Option<String>,
    /// The CRC32C of the whole staged file, when it was staged (`None` if staged before
    /// this was recorded).
    pub crc32c: Option<u32>,
}

/// A batch's files and confirmed bytes, for its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchTotals {
    pub batch_id: i64,
    pub files: u64,
    pub uploaded: u64,
    pub failed: u64,
    pub cancelled: u64,
    /// Files whose variants are rendered, so their sizes are known.
    pub files_sized: u64,
    pub bytes_done: u64,
    /// Sizes known so far (rendered files only).
    pub bytes_total: u64,
}

impl BatchTotals {
    pub fn files_left(&self) -> u64 {
        self.files - self.uploaded - self.failed - self.cancelled
    }

    /// Known sizes plus the files not rendered yet at the average known size.
    pub fn bytes_expected(&self) -> u64 {
        if self.files_sized == 0 {
            return self.bytes_total;
        }
        let unsized_files = self.files.saturating_sub(self.files_sized);
        self.bytes_total + self.bytes_total / self.files_sized * unsized_files
    }
}

/// What `enqueue` did with each file.
#[derive(Debug, Clone)]
pub struct Enqueued {
    pub batch_id: i64,
    /// One per file, in order: the new job, or the job already recorded for the same file.
    /// Ids only, so a batch of 10,000 files is not all held in memory at once.
    pub ids: Vec<i64>,
    /// Ids of the jobs created by this call (the others were already there).
    pub added: Vec<i64>,
}

pub(super) const JOB_COLUMNS: &str = "j.id, j.batch_id, j.source_path, j.sku, j.state, \
    j.paused OR b.paused, j.attempts, j.max_attempts, j.next_attempt_at, j.bytes_total, \
    j.bytes_done, j.last_error, j.warnings, j.created_at, j.updated_at, j.as_is, j.interruptions";

const VARIANT_COLUMNS: &str = "job_id, name, object_key, content_type, width, height, bytes, \
    sha256, staged_path, state, attempted, upload_id, etag, object_id, crc32c";

impl Store {
    /// Records a batch and a job per file, all or none. A file already recorded with the same
    /// size and modification time (queued, in progress, or uploaded and still what its keys
    /// hold) is not recorded twice: its job is returned; a failed one is queued again.
    pub fn enqueue(
        &self,
        label: &str,
        jobs: impl IntoIterator<Item = impl Borrow<NewJob>>,
        max_attempts: u32,
    ) -> Result<Enqueued> {
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.run(
            "INSERT INTO batches (label, created_at) VALUES (?1, ?2)",
            params![label, now],
        )?;
        let batch_id = tx.last_insert_rowid();
        let mut ids = Vec::new();
        let mut added = Vec::new();
        for job in jobs {
            let job = job.borrow();
            let path = job.source_path.to_string_lossy();
            let existing: Option<(i64, String)> = tx
                .one(
                    "SELECT id, state FROM jobs WHERE source_path = ?1 AND sku = ?2
                       AND source_size = ?3 AND source_mtime = ?4 AND as_is = ?5
                       AND state <> 'cancelled' AND replaces = ?6 AND replaces_job IS ?7
                       AND NOT EXISTS (SELECT 1 FROM variants v
                                       WHERE v.job_id = jobs.id AND v.removed_at IS NOT NULL)
                       -- An uploaded photo counts only while its keys still hold it: going
                       -- back to it after a later version is a new upload.
                       AND NOT EXISTS (SELECT 1 FROM variants v
                                       WHERE v.job_id = jobs.id AND v.state = 'uploaded'
                                         AND NOT EXISTS (SELECT 1 FROM objects o
                                                         WHERE o.object_key = v.object_key
                                                           AND o.job_id = v.job_id))
                     ORDER BY id DESC LIMIT 1",
                    params![
                        path,
                        job.sku,
                        job.source_size as i64,
                        job.source_mtime,
                        job.as_is,
                        job.replaces,
                        job.replaces_job
                    ],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match existing {
                Some((id, state)) => {
                    if state == JobState::Failed.as_str() {
                        super::control::requeue_failed(&tx, id, now)?;
                    }
                    ids.push(id);
                }
                None => {
                    tx.run(
                        "INSERT INTO jobs (batch_id, source_path, source_size, source_mtime, sku,
                                           state, max_attempts, created_at, updated_at, as_is,
                                           replaces, replaces_job)
                         VALUES (?1, ?2, ?3, ?4, ?5, 'queued', ?6, ?7, ?7, ?8, ?9, ?10)",
                        params![
                            batch_id,
                            path,
                            job.source_size as i64,
                            job.source_mtime,
                            job.sku,
                            max_attempts.max(1),
                            now,
                            job.as_is,
                            job.replaces,
                            job.replaces_job
                        ],
                    )?;
                    let id = tx.last_insert_rowid();
                    ids.push(id);
                    added.push(id);
                }
            }
        }
        tx.commit()?;
        Ok(Enqueued {
            batch_id,
            ids,
            added,
        })
    }

    pub fn job(&self, id: i64) -> Result<JobRecord> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        load(&tx, id)
    }

    /// All jobs, oldest first.
    pub fn jobs(&self) -> Result<Vec<JobRecord>> {
        self.select_jobs("1", [])
    }

    /// Ids of all jobs, oldest first.
    pub fn job_ids(&self) -> Result<Vec<i64>> {
        Ok(self
            .conn()
            .prepare("SELECT id FROM jobs ORDER BY id")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// How many jobs are in each state (states with none are left out), for the support bundle.
    pub fn job_counts(&self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .conn()
            .prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")?
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// These jobs (those that exist), by id, with two queries whatever their number.
    pub fn jobs_in(&self, ids: &[i64]) -> Result<Vec<JobRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Integers only, so formatting them into the SQL is safe.
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let mut jobs = self.select_jobs(&format!("j.id IN ({})", list.join(",")), [])?;
        let order: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        jobs.sort_by_key(|j| order.get(&j.id).copied().unwrap_or(usize::MAX));
        Ok(jobs)
    }

    /// The jobs of one batch, oldest first.
    pub fn batch_jobs(&self, batch_id: i64) -> Result<Vec<JobRecord>> {
        self.select_jobs("j.batch_id = ?1", [batch_id])
    }

    /// Reads jobs and their variants in two queries, whatever their number.
    fn select_jobs(
        &self,
        filter: &str,
        params: impl rusqlite::Params + Copy,
    ) -> Result<Vec<JobRecord>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut jobs: Vec<JobRecord> = tx
            .prepare(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs j JOIN batches b ON b.id = j.batch_id
                 WHERE {filter} ORDER BY j.id"
            ))?
            .query_map(params, job_row)?
            .collect::<rusqlite::Result<_>>()?;
        let mut variants: HashMap<i64, Vec<VariantRecord>> = HashMap::new();
        let sql = format!(
            "SELECT {VARIANT_COLUMNS} FROM variants WHERE job_id IN
               (SELECT j.id FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE {filter})
             ORDER BY rowid"
        );
        let mut stmt = tx.prepare(&sql)?;
        let mut rows = stmt.query(params)?;
        while let Some(row) = rows.next()? {
            variants
                .entry(row.get(0)?)
                .or_default()
                .push(variant_row(row)?);
        }
        for job in &mut jobs {
            job.variants = variants.remove(&job.id).unwrap_or_default();
        }
        Ok(jobs)
    }

    /// Whether the batch still has work to do (a job neither uploaded, failed nor cancelled).
    pub fn batch_open(&self, batch_id: i64) -> Result<bool> {
        Ok(self.conn().one(
            "SELECT EXISTS (SELECT 1 FROM jobs
                            WHERE state IN ('queued', 'processing', 'staged', 'uploading')
                              AND batch_id = ?1)",
            [batch_id],
            |r| r.get(0),
        )?)
    }

    pub fn batch_totals(&self, batch_id: i64) -> Result<BatchTotals> {
        Ok(self.conn().one(
            "SELECT COUNT(*),
                    COUNT(*) FILTER (WHERE state = 'uploaded'),
                    COUNT(*) FILTER (WHERE state = 'failed'),
                    COUNT(*) FILTER (WHERE state = 'cancelled'),
                    COUNT(*) FILTER (WHERE bytes_total > 0),
                    COALESCE(SUM(bytes_done), 0), COALESCE(SUM(bytes_total), 0)
             FROM jobs WHERE batch_id = ?1",
            [batch_id],
            |r| {
                Ok(BatchTotals {
                    batch_id,
                    files: r.get(0)?,
                    uploaded: r.get(1)?,
                    failed: r.get(2)?,
                    cancelled: r.get(3)?,
                    files_sized: r.get(4)?,
                    bytes_done: r.get(5)?,
                    bytes_total: r.get(6)?,
                })
            },
        )?)
    }

    /// What `key` holds now as far as this workstation knows: the upload it made or found
    /// there last, unless the person deleted it since.
    pub fn current_object(&self, key: &str) -> Result<Option<CurrentObject>> {
        Ok(self
            .conn()
            .one(
                "SELECT object_key, job_id, variant, sha256, bytes, etag, object_id, uploaded_at
                 FROM objects WHERE object_key = ?1",
                [key],
                CurrentObject::from_row,
            )
            .optional()?)
    }
}

/// The upload a key holds now (one row of `objects`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentObject {
    pub key: String,
    /// The job and variant whose photo it is.
    pub job_id: i64,
    pub variant: String,
    pub sha256: String,
    pub bytes: u64,
    pub etag: Option<String>,
    /// `None` for an object uploaded before uploads had an id.
    pub object_id: Option<String>,
    pub uploaded_at: Millis,
}

impl CurrentObject {
    pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            key: r.get(0)?,
            job_id: r.get(1)?,
            variant: r.get(2)?,
            sha256: r.get(3)?,
            bytes: r.get::<_, i64>(4)? as u64,
            etag: r.get(5)?,
            object_id: r.get(6)?,
            uploaded_at: r.get(7)?,
        })
    }

    /// Whether `found` (a HEAD's answer) is this very upload, still there.
    pub fn is(&self, found: &crate::transport::ObjectInfo) -> bool {
        found.is_upload(self.bytes, &self.sha256, self.object_id.as_deref())
    }
}

pub(super) fn state_of(tx: &Transaction<'_>, id: i64) -> Result<JobState> {
    let state: Option<String> = tx
        .one("SELECT state FROM jobs WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    let state = state.ok_or(Error::NoSuchJob(id))?;
    state
        .parse()
        .map_err(|e: String| Error::Sql(rusqlite::Error::InvalidColumnName(e)))
}

pub(super) fn load(conn: &Connection, id: i64) -> Result<JobRecord> {
    let mut job = conn
        .one(
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs j JOIN batches b ON b.id = j.batch_id WHERE j.id = ?1"
            ),
            [id],
            job_row,
        )
        .optional()?
        .ok_or(Error::NoSuchJob(id))?;
    job.variants = conn
        .prepare_cached(&format!(
            "SELECT {VARIANT_COLUMNS} FROM variants WHERE job_id = ?1 ORDER BY rowid"
        ))?
        .query_map([id], variant_row)?
        .collect::<rusqlite::Result<_>>()?;
    Ok(job)
}

fn variant_row(r: &Row<'_>) -> rusqlite::Result<VariantRecord> {
    Ok(VariantRecord {
        name: r.get(1)?,
        object_key: r.get(2)?,
        content_type: r.get(3)?,
        width: r.get(4)?,
        height: r.get(5)?,
        bytes: r.get::<_, i64>(6)? as u64,
        sha256: r.get(7)?,
        staged_path: r.get::<_, Option<String>>(8)?.map(PathBuf::from),
        uploaded: r.get::<_, String>(9)? == "uploaded",
        attempted: r.get(10)?,
        upload_id: r.get(11)?,
        etag: r.get(12)?,
        object_id: r.get(13)?,
        crc32c: r.get(14)?,
    })
}

fn job_row(r: &Row<'_>) -> rusqlite::Result<JobRecord> {
    let state: String = r.get(4)?;
    Ok(JobRecord {
        id: r.get(0)?,
        batch_id: r.get(1)?,
        source_path: PathBuf::from(r.get::<_, String>(2)?),
        sku: r.get(3)?,
        state: state.parse().map_err(|_| {
            rusqlite::Error::InvalidColumnType(4, state, rusqlite::types::Type::Text)
        })?,
        paused: r.get(5)?,
        attempts: r.get(6)?,
        max_attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        bytes_total: r.get::<_, i64>(9)? as u64,
        bytes_done: r.get::<_, i64>(10)? as u64,
        last_error: r.get(11)?,
        warnings: r
            .get::<_, String>(12)?
            .lines()
            .map(str::to_string)
            .collect(),
        created_at: r.get(13)?,
        updated_at: r.get(14)?,
        as_is: r.get(15)?,
        interruptions: r.get(16)?,
        variants: Vec::new(),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    pub fn store() -> (tempfile::TempDir, Store, Arc<ManualClock>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_000));
        let store = Store::open(&dir.path().join("db.sqlite3"), clock.clone()).unwrap();
        (dir, store, clock)
    }

    pub fn new_job(name: &str) -> NewJob {
        NewJob {
            source_path: PathBuf::from(name),
            sku: "SKU".into(),
            source_size: 100,
            source_mtime: 7,
            as_is: false,
            replaces: false,
            replaces_job: None,
        }
    }

    pub fn enqueue(store: &Store, names: &[&str]) -> Vec<JobRecord> {
        let jobs: Vec<NewJob> = names.iter().map(|n| new_job(n)).collect();
        let ids = store.enqueue("test", &jobs, 3).unwrap().ids;
        store.jobs_in(&ids).unwrap()
    }

    #[test]
    fn a_batch_records_one_queued_job_per_file() {
        let (_d, store, _c) = store();
        let done = store
            .enqueue("drop", &[new_job("a.jpg"), new_job("b.jpg")], 5)
            .unwrap();
        assert_eq!(done.added.len(), 2);
        let jobs = store.jobs_in(&done.ids).unwrap();
        assert!(jobs.iter().all(|j| j.state == JobState::Queued
            && j.batch_id == done.batch_id
            && j.max_attempts == 5
            && j.created_at == 1_000));
        assert_eq!(store.batch_jobs(done.batch_id).unwrap(), jobs);
    }

    #[test]
    fn the_same_file_dropped_again_is_not_recorded_twice() {
        let (_d, store, _c) = store();
        let first = store.enqueue("one", &[new_job("a.jpg")], 3).unwrap();
        let again = store.enqueue("two", &[new_job("a.jpg")], 3).unwrap();
        assert!(again.added.is_empty());
        assert_eq!(again.ids, first.ids);
        // A changed file (another size) is new work.
        let changed = NewJob {
            source_size: 101,
            ..new_job("a.jpg")
        };
        let third = store.enqueue("three", &[changed], 3).unwrap();
        assert_eq!(third.added.len(), 1);
        assert_eq!(store.jobs().unwrap().len(), 2);
    }
}
