//! What the store knows of source files, for the review before a drop is queued.

use rusqlite::{OptionalExtension, params};

use super::{Cached, Store};
use crate::Result;
use crate::queue::JobState;

/// A photo already uploaded from a source with some given content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedSource {
    pub job_id: i64,
    pub source_path: String,
    /// Its first key still in the bucket.
    pub key: String,
    pub source_sha256: String,
}

impl Store {
    /// Uploaded photos (not removed since) whose source was `size` bytes long: the cheap test
    /// before a file is hashed.
    pub fn uploaded_sources_of_size(&self, size: u64) -> Result<Vec<UploadedSource>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT j.id, j.source_path, min(v.object_key), j.source_sha256
             FROM jobs j JOIN variants v ON v.job_id = j.id
             WHERE j.source_size = ?1 AND j.source_sha256 IS NOT NULL AND j.state = 'uploaded'
               AND v.removed_at IS NULL
             GROUP BY j.id ORDER BY j.id",
        )?;
        let rows = statement.query_map([size as i64], |r| {
            Ok(UploadedSource {
                job_id: r.get(0)?,
                source_path: r.get(1)?,
                key: r.get(2)?,
                source_sha256: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The state of the job that already holds this file unchanged (queuing it again adds
    /// nothing), if any.
    pub fn recorded_unchanged(
        &self,
        path: &str,
        sku: &str,
        size: u64,
        mtime: i64,
    ) -> Result<Option<JobState>> {
        let state: Option<String> = self
            .conn()
            .one(
                "SELECT state FROM jobs WHERE source_path = ?1 AND sku = ?2 AND source_size = ?3
                   AND source_mtime = ?4 AND as_is = 0 AND replaces = 0
                   AND state NOT IN ('cancelled', 'failed')
                   AND NOT EXISTS (SELECT 1 FROM variants v
                                   WHERE v.job_id = jobs.id AND v.removed_at IS NOT NULL)
                 ORDER BY id DESC LIMIT 1",
                params![path, sku, size as i64, mtime],
                |r| r.get(0),
            )
            .optional()?;
        Ok(state.and_then(|s| s.parse::<JobState>().ok()))
    }
}
