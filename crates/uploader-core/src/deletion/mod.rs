//! Deleting objects surely. A deletion is a row in a store before anything is sent: the
//! app's outbox (`store/outbox.rs`) or the backend's `s3_deletion_queue`. One algorithm
//! ([`drain_once`]) takes due rows under a lease, deletes their keys with DeleteObjects and
//! settles each row; both stores implement [`DeletionStore`], so neither has its own copy.

mod drain;
mod outbox;
mod sync;

pub use drain::{DrainReport, DrainSettings, drain_forever, drain_once};
pub use outbox::{Backlog, Flushed};
pub use sync::{SYNC_BATCH, sync_once};
pub use uploader_api::DeletionStats;

use crate::clock::Millis;
use crate::transport::{BoxFuture, ObjectInfo, TransportResult};

/// S3 deletes at most this many keys in one DeleteObjects request.
pub const MAX_KEYS_PER_REQUEST: usize = 1000;

/// A row due for deletion, claimed under a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDeletion {
    /// A UUID: the idempotency key wherever the row travels.
    pub id: String,
    pub key: String,
    /// Failed attempts so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// Which object the person meant to delete.
    pub meant: Meant,
}

impl DueDeletion {
    /// A row selected as `id, key, attempts, max_attempts, object_id, sha256, requested_at`,
    /// as every store's claim selects it.
    pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            key: r.get(1)?,
            attempts: r.get(2)?,
            max_attempts: r.get(3)?,
            meant: Meant {
                object_id: r.get(4)?,
                sha256: r.get(5)?,
                requested_at: r.get(6)?,
            },
        })
    }
}

/// The object a deletion means: the upload the person saw when they asked. Checked against
/// what the key holds immediately before the delete is sent, so a later upload of the key,
/// by any workstation, is never deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meant {
    /// The upload's own id (`object-id` metadata), when it had one.
    pub object_id: Option<String>,
    /// Its SHA-256, for objects stored before uploads had an id.
    pub sha256: Option<String>,
    /// When the person asked, by the clock of whoever deletes (S3's, near enough).
    pub requested_at: Millis,
}

/// What the key holds, against what the deletion means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing: the deletion is done without a request.
    Gone,
    /// The object meant: delete it.
    Meant,
    /// Another, later upload: leave it, and say why.
    Later(String),
}

impl Meant {
    pub fn verdict(&self, found: Option<&ObjectInfo>) -> Verdict {
        let Some(found) = found else {
            return Verdict::Gone;
        };
        let when = |o: &ObjectInfo| match o.last_modified_ms {
            Some(at) => format!(" stored at {}", crate::clock::format_utc(at)),
            None => String::new(),
        };
        if let Some(id) = &self.object_id {
            return if found.object_id.as_deref() == Some(id.as_str()) {
                Verdict::Meant
            } else {
                Verdict::Later(format!(
                    "the key now holds another upload{} ({}), not the one this deletion meant",
                    when(found),
                    found
                        .object_id
                        .as_deref()
                        .map_or("with no upload id".to_string(), |i| format!("id {i}"))
                ))
            };
        }
        if let Some(sha) = &self.sha256
            && (found.sha256.as_deref() != Some(sha.as_str()) || found.object_id.is_some())
        {
            return Verdict::Later(format!(
                "the key now holds another upload{}, not the photo this deletion meant",
                when(found)
            ));
        }
        match found.last_modified_ms {
            Some(at) if at > self.requested_at => Verdict::Later(format!(
                "the key was uploaded again{} after the deletion was asked for",
                when(found)
            )),
            _ => Verdict::Meant,
        }
    }
}

/// How a claimed row ends this round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The object is gone (deleted now, or there was none).
    Deleted,
    /// One more failed attempt; due again at `at`.
    Retry { error: String, at: Millis },
    /// The last allowed attempt failed: the row stays, visible, with its error.
    Dead { error: String },
    /// The key holds a later upload than the one meant: nothing was deleted, and why.
    Superseded { reason: String },
}

/// Where deletions wait. Every method is one transaction; `settle` and `release` change only
/// rows that `owner` still holds.
pub trait DeletionStore: Send + Sync {
    /// Leases up to `limit` due rows (waiting and past `next_attempt_at`, or leased by a
    /// worker whose lease lapsed), oldest first.
    fn claim(
        &self,
        owner: &str,
        now: Millis,
        lease_ms: Millis,
        limit: usize,
    ) -> crate::Result<Vec<DueDeletion>>;

    /// Records each row's outcome; returns how many rows were still held and changed.
    fn settle(
        &self,
        owner: &str,
        now: Millis,
        settled: &[(String, Settlement)],
    ) -> crate::Result<usize>;

    /// Gives rows back without counting an attempt (the server could not be reached).
    fn release(&self, owner: &str, ids: &[String]) -> crate::Result<()>;

    /// The earliest instant a waiting row becomes due, if any row waits.
    fn next_due(&self) -> crate::Result<Option<Millis>>;
}

/// A key S3 did not delete, with its error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub key: String,
    pub code: String,
    pub message: String,
}

impl KeyError {
    /// "No such key" means the object is already gone: the deletion is done.
    pub fn means_gone(&self) -> bool {
        self.code == "NoSuchKey"
    }
}

/// What deletes objects in S3: DeleteObjects for up to [`MAX_KEYS_PER_REQUEST`] keys, and
/// a HEAD to check what a key holds just before.
pub trait ObjectDeleter: Send + Sync {
    /// What `key` holds now, or `None`.
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, TransportResult<Option<ObjectInfo>>>;

    /// Deletes `keys`; returns the keys that were not deleted. A key that does not exist
    /// counts as deleted.
    fn delete_objects<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, TransportResult<Vec<KeyError>>>;
}

/// A row handed to whoever deletes for this workstation (the backend).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handoff {
    pub id: String,
    pub key: String,
    pub reason: String,
    /// The object meant; `requested_at` by this workstation's clock.
    pub meant: Meant,
}

/// A row the backend will never accept, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub id: String,
    pub message: String,
}

/// Whoever deletes objects on this workstation's behalf: the backend's queue.
pub trait DeletionSink: Send + Sync {
    /// Hands rows over; safe to repeat (the backend applies each id once). Returns the rows
    /// refused for good; every other row was accepted.
    fn submit<'a>(&'a self, rows: &'a [Handoff]) -> BoxFuture<'a, TransportResult<Vec<Refusal>>>;

    /// The backend queue's figures.
    fn upstream_stats(&self) -> BoxFuture<'_, TransportResult<uploader_api::DeletionStats>>;
}

/// How a transport deletes.
pub enum Deletions<'a> {
    /// It deletes from S3 itself (direct mode).
    Direct(&'a dyn ObjectDeleter),
    /// It hands deletions to the backend's queue (backend mode).
    Upstream(&'a dyn DeletionSink),
    /// It cannot delete; the rows wait. Says why.
    Unsupported(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(object_id: Option<&str>, sha256: &str, at: Millis) -> ObjectInfo {
        ObjectInfo {
            size: 1,
            sha256: Some(sha256.to_string()),
            etag: None,
            object_id: object_id.map(str::to_string),
            version_id: None,
            last_modified_ms: Some(at),
        }
    }

    #[test]
    fn a_deletion_removes_only_the_upload_it_means() {
        let (a, b) = ("a".repeat(32), "b".repeat(32));
        let (x, y) = ("1".repeat(64), "2".repeat(64));
        let by_id = Meant {
            object_id: Some(a.clone()),
            sha256: None,
            requested_at: 1_000,
        };
        let by_sha = Meant {
            object_id: None,
            sha256: Some(x.clone()),
            requested_at: 1_000,
        };
        let by_time = Meant {
            requested_at: 1_000,
            ..Meant::default()
        };
        // (deletion, what the key holds, deleted?)
        let cases = [
            (&by_id, Some(found(Some(&a), &x, 5_000)), true),
            (&by_id, Some(found(Some(&b), &x, 500)), false),
            (&by_id, Some(found(None, &x, 500)), false),
            (&by_sha, Some(found(None, &x, 500)), true),
            (&by_sha, Some(found(None, &y, 500)), false),
            (&by_sha, Some(found(Some(&b), &x, 500)), false),
            (&by_sha, Some(found(None, &x, 2_000)), false),
            (&by_time, Some(found(Some(&b), &y, 999)), true),
            (&by_time, Some(found(Some(&b), &y, 1_001)), false),
        ];
        for (i, (meant, holds, deleted)) in cases.iter().enumerate() {
            let verdict = meant.verdict(holds.as_ref());
            assert_eq!(verdict == Verdict::Meant, *deleted, "case {i}: {verdict:?}");
        }
        assert_eq!(by_id.verdict(None), Verdict::Gone);
    }
}
