//! The local SQLite database: every job is written here before any work starts, and every
//! state change is one transaction, so a crash never loses or repeats work.

mod control;
mod jobs;
mod lease;
mod migrate;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::Connection;

use crate::clock::Clock;
use crate::{Error, Result};

pub use control::{OpenUpload, Target};
pub use jobs::{BatchTotals, Enqueued, JobRecord, NewJob, VariantRecord};
pub use lease::{Outstanding, PartRecord};
pub use migrate::MIGRATIONS;

pub struct Store {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        let wrap = |source| Error::Store {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut conn = Connection::open(path).map_err(wrap)?;
        // WAL lets readers (the window, `uploader status`) run beside a writer.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(wrap)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(wrap)?;
        migrate::apply(&mut conn).map_err(wrap)?;
        Ok(Self {
            conn: Mutex::new(conn),
            clock,
        })
    }

    /// Now, by the store's clock.
    pub fn now_ms(&self) -> crate::clock::Millis {
        self.clock.now_ms()
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
