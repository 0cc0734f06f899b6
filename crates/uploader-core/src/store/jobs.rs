//! Jobs and their variants. Each method is one transaction; a move between states only
//! happens from the state the caller expects, so two workers can never both advance a job.

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Params, Row, Transaction, params};

use super::Store;
use crate::queue::JobState;
use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct NewJob {
    pub source_path: PathBuf,
    pub sku: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: i64,
    pub source_path: PathBuf,
    pub sku: String,
    pub state: JobState,
    pub bytes_total: u64,
    pub bytes_done: u64,
    pub last_error: Option<String>,
    /// Said of a job that still succeeds, e.g. a photo smaller than a variant asks for.
    pub warnings: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
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
}

const JOB_COLUMNS: &str = "id, source_path, sku, state, bytes_total, bytes_done, last_error, created_at, updated_at, warnings";

impl Store {
    /// Records new jobs, all or none.
    pub fn insert_jobs(&self, jobs: &[NewJob]) -> Result<Vec<JobRecord>> {
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut ids = Vec::with_capacity(jobs.len());
        for job in jobs {
            tx.execute(
                "INSERT INTO jobs (source_path, sku, state, created_at, updated_at) VALUES (?1, ?2, 'queued', ?3, ?3)",
                params![job.source_path.to_string_lossy(), job.sku, now],
            )?;
            ids.push(tx.last_insert_rowid());
        }
        let records = ids
            .into_iter()
            .map(|id| load(&tx, id))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(records)
    }

    pub fn job(&self, id: i64) -> Result<JobRecord> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        load(&tx, id)
    }

    /// All jobs, oldest first.
    pub fn jobs(&self) -> Result<Vec<JobRecord>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        ids(&tx, "SELECT id FROM jobs ORDER BY id", [])?
            .into_iter()
            .map(|id| load(&tx, id))
            .collect()
    }

    /// Ids of queued jobs, oldest first.
    pub fn queued(&self, limit: usize) -> Result<Vec<i64>> {
        let sql = "SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT ?1";
        Ok(ids(&self.conn(), sql, [limit as i64])?)
    }

    /// Moves a job from `from` to `to`; fails if it is not in `from` (another worker has it).
    pub fn transition(&self, id: i64, from: JobState, to: JobState) -> Result<JobRecord> {
        debug_assert!(from.can_become(to), "{from} -> {to}");
        self.write(id, from, |tx, now| {
            tx.execute(
                "UPDATE jobs SET state = ?2, last_error = NULL, updated_at = ?3 WHERE id = ?1",
                params![id, to.as_str(), now],
            )?;
            Ok(())
        })
    }

    /// Records rendered variants, written to their `staged_path`, and what rendering warned
    /// of, and moves the job from processing to uploading.
    pub fn stage(
        &self,
        id: i64,
        variants: &[VariantRecord],
        warnings: &[String],
    ) -> Result<JobRecord> {
        // One per line: a warning is one line of text.
        let warnings: Vec<String> = warnings.iter().map(|w| w.replace('\n', " ")).collect();
        self.write(id, JobState::Processing, |tx, now| {
            tx.execute("DELETE FROM variants WHERE job_id = ?1", [id])?;
            let mut total = 0u64;
            for v in variants {
                tx.execute(
                    "INSERT INTO variants (job_id, name, object_key, content_type, width, height, bytes, sha256, staged_path, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'staged')",
                    params![id, v.name, v.object_key, v.content_type, v.width, v.height, v.bytes as i64, v.sha256, v.staged_path.as_ref().map(|p| p.to_string_lossy())],
                )?;
                total += v.bytes;
            }
            tx.execute(
                "UPDATE jobs SET state = 'uploading', bytes_total = ?2, bytes_done = 0, updated_at = ?3, warnings = ?4 WHERE id = ?1",
                params![id, total as i64, now, warnings.join("\n")],
            )?;
            Ok(())
        })
    }

    /// Records that the server confirmed one variant, and counts its bytes as done.
    pub fn variant_uploaded(&self, id: i64, variant: &str) -> Result<JobRecord> {
        self.write(id, JobState::Uploading, |tx, now| {
            let changed = tx.execute(
                "UPDATE variants SET state = 'uploaded', staged_path = NULL WHERE job_id = ?1 AND name = ?2 AND state = 'staged'",
                params![id, variant],
            )?;
            if changed == 1 {
                tx.execute(
                    "UPDATE jobs SET bytes_done = bytes_done + (SELECT bytes FROM variants WHERE job_id = ?1 AND name = ?2), updated_at = ?3 WHERE id = ?1",
                    params![id, variant, now],
                )?;
            }
            Ok(())
        })
    }

    /// Ends a job in `failed` with a message the user can read.
    pub fn fail(&self, id: i64, from: JobState, error: &str) -> Result<JobRecord> {
        self.write(id, from, |tx, now| {
            tx.execute(
                "UPDATE jobs SET state = 'failed', last_error = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, error, now],
            )?;
            Ok(())
        })
    }

    /// After a crash: work that was in flight goes back to the queue, from the start.
    /// Re-rendering is deterministic and re-putting the same bytes to the same key is harmless.
    pub fn requeue_interrupted(&self) -> Result<Vec<i64>> {
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let sql = "SELECT id FROM jobs WHERE state IN ('processing', 'uploading') ORDER BY id";
        let ids = ids(&tx, sql, [])?;
        for id in &ids {
            tx.execute("DELETE FROM variants WHERE job_id = ?1", [id])?;
            tx.execute(
                "UPDATE jobs SET state = 'queued', bytes_total = 0, bytes_done = 0, warnings = '', updated_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
        }
        tx.commit()?;
        Ok(ids)
    }

    /// Runs `change` in one transaction if the job is in `expected`, and returns the result.
    fn write(
        &self,
        id: i64,
        expected: JobState,
        change: impl FnOnce(&Transaction<'_>, i64) -> rusqlite::Result<()>,
    ) -> Result<JobRecord> {
        let now = self.clock.now_ms();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let actual = state_of(&tx, id)?;
        if actual != expected {
            return Err(Error::StateConflict {
                job: id,
                expected,
                actual,
            });
        }
        change(&tx, now)?;
        let record = load(&tx, id)?;
        tx.commit()?;
        Ok(record)
    }
}

fn ids(conn: &Connection, sql: &str, params: impl Params) -> rusqlite::Result<Vec<i64>> {
    conn.prepare(sql)?
        .query_map(params, |r| r.get(0))?
        .collect()
}

fn state_of(tx: &Transaction<'_>, id: i64) -> Result<JobState> {
    let state: Option<String> = tx
        .query_row("SELECT state FROM jobs WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    let state = state.ok_or(Error::NoSuchJob(id))?;
    state
        .parse()
        .map_err(|e: String| Error::Sql(rusqlite::Error::InvalidColumnName(e)))
}

fn load(tx: &Transaction<'_>, id: i64) -> Result<JobRecord> {
    let mut job = tx
        .query_row(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
            [id],
            job_row,
        )
        .optional()?
        .ok_or(Error::NoSuchJob(id))?;
    job.variants = tx
        .prepare(
            "SELECT name, object_key, content_type, width, height, bytes, sha256, staged_path, state
             FROM variants WHERE job_id = ?1 ORDER BY rowid",
        )?
        .query_map([id], |r| {
            Ok(VariantRecord {
                name: r.get(0)?,
                object_key: r.get(1)?,
                content_type: r.get(2)?,
                width: r.get(3)?,
                height: r.get(4)?,
                bytes: r.get::<_, i64>(5)? as u64,
                sha256: r.get(6)?,
                staged_path: r.get::<_, Option<String>>(7)?.map(PathBuf::from),
                uploaded: r.get::<_, String>(8)? == "uploaded",
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(job)
}

fn job_row(r: &Row<'_>) -> rusqlite::Result<JobRecord> {
    let state: String = r.get(3)?;
    Ok(JobRecord {
        id: r.get(0)?,
        source_path: PathBuf::from(r.get::<_, String>(1)?),
        sku: r.get(2)?,
        state: state.parse().map_err(|_| {
            rusqlite::Error::InvalidColumnType(3, state, rusqlite::types::Type::Text)
        })?,
        bytes_total: r.get::<_, i64>(4)? as u64,
        bytes_done: r.get::<_, i64>(5)? as u64,
        last_error: r.get(6)?,
        created_at: r.get(7)?,
        updated_at: r.get(8)?,
        warnings: r.get::<_, String>(9)?.lines().map(str::to_string).collect(),
        variants: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;

    fn store() -> (tempfile::TempDir, Store, Arc<ManualClock>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_000));
        let store = Store::open(&dir.path().join("db.sqlite3"), clock.clone()).unwrap();
        (dir, store, clock)
    }

    fn new_job(name: &str) -> NewJob {
        NewJob {
            source_path: PathBuf::from(name),
            sku: "SKU".into(),
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
        }
    }

    #[test]
    fn a_job_walks_from_queued_to_uploaded_counting_confirmed_bytes() {
        let (_d, store, clock) = store();
        let job = store.insert_jobs(&[new_job("a.jpg")]).unwrap().remove(0);
        assert_eq!((job.state, job.created_at), (JobState::Queued, 1_000));
        store
            .transition(job.id, JobState::Queued, JobState::Processing)
            .unwrap();
        let job = store
            .stage(
                job.id,
                &[staged("large", 300), staged("thumb", 100)],
                &["small\nphoto".into()],
            )
            .unwrap();
        assert_eq!(
            (job.state, job.bytes_total, job.bytes_done),
            (JobState::Uploading, 400, 0)
        );
        assert_eq!(job.warnings, ["small photo"], "one line per warning");
        clock.advance(5);
        let job = store.variant_uploaded(job.id, "thumb").unwrap();
        assert_eq!(job.bytes_done, 100);
        // A repeated confirmation does not count twice.
        let job = store.variant_uploaded(job.id, "thumb").unwrap();
        assert_eq!(job.bytes_done, 100);
        store.variant_uploaded(job.id, "large").unwrap();
        let job = store
            .transition(job.id, JobState::Uploading, JobState::Uploaded)
            .unwrap();
        assert_eq!(
            (job.state, job.bytes_done, job.updated_at),
            (JobState::Uploaded, 400, 1_005)
        );
        assert!(
            job.variants
                .iter()
                .all(|v| v.uploaded && v.staged_path.is_none())
        );
    }

    #[test]
    fn a_move_from_the_wrong_state_is_refused_and_changes_nothing() {
        let (_d, store, _c) = store();
        let job = store.insert_jobs(&[new_job("a.jpg")]).unwrap().remove(0);
        store
            .transition(job.id, JobState::Queued, JobState::Processing)
            .unwrap();
        let err = store
            .transition(job.id, JobState::Queued, JobState::Processing)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::StateConflict {
                    actual: JobState::Processing,
                    ..
                }
            ),
            "{err}"
        );
        assert!(matches!(
            store.stage(job.id + 1, &[], &[]),
            Err(Error::NoSuchJob(_))
        ));
        assert_eq!(store.job(job.id).unwrap().state, JobState::Processing);
    }

    #[test]
    fn failing_one_job_leaves_the_others_untouched() {
        let (_d, store, _c) = store();
        let jobs = store
            .insert_jobs(&[new_job("a.jpg"), new_job("b.jpg")])
            .unwrap();
        store
            .transition(jobs[0].id, JobState::Queued, JobState::Processing)
            .unwrap();
        let failed = store
            .fail(jobs[0].id, JobState::Processing, "a.jpg: not an image")
            .unwrap();
        assert_eq!(failed.last_error.as_deref(), Some("a.jpg: not an image"));
        assert_eq!(store.job(jobs[1].id).unwrap(), jobs[1]);
        assert_eq!(store.queued(10).unwrap(), [jobs[1].id]);
    }

    #[test]
    fn interrupted_work_is_requeued_and_finished_work_is_not() {
        let (_d, store, _c) = store();
        let jobs = store
            .insert_jobs(&[new_job("a"), new_job("b"), new_job("c")])
            .unwrap();
        store
            .transition(jobs[0].id, JobState::Queued, JobState::Processing)
            .unwrap();
        store
            .stage(jobs[0].id, &[staged("large", 10)], &[])
            .unwrap();
        store
            .transition(jobs[1].id, JobState::Queued, JobState::Processing)
            .unwrap();
        store.fail(jobs[1].id, JobState::Processing, "bad").unwrap();
        assert_eq!(store.requeue_interrupted().unwrap(), [jobs[0].id]);
        let a = store.job(jobs[0].id).unwrap();
        assert_eq!(
            (a.state, a.bytes_total, a.variants.len()),
            (JobState::Queued, 0, 0)
        );
        assert_eq!(store.job(jobs[1].id).unwrap().state, JobState::Failed);
    }
}
