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
use crate::transport::{BoxFuture, TransportResult};

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
}

impl DueDeletion {
    /// A row selected as `id, key, attempts, max_attempts`, as every store's claim selects it.
    pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            key: r.get(1)?,
            attempts: r.get(2)?,
            max_attempts: r.get(3)?,
        })
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

/// What deletes objects in S3: DeleteObjects for up to [`MAX_KEYS_PER_REQUEST`] keys.
pub trait ObjectDeleter: Send + Sync {
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
    pub requested_at: Millis,
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
