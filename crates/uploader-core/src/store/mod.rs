//! The local SQLite database: every job is written here before any work starts, and every
//! state change is one transaction, so a crash never loses or repeats work.

mod control;
mod gallery;
mod jobs;
mod lease;
mod migrate;
mod outbox;
mod preferences;
mod sources;

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, Params, Row};

use crate::clock::Clock;
use crate::{Error, Result};

pub use control::{OpenUpload, Target};
pub use gallery::{GalleryImage, GalleryObject};
pub use jobs::{BatchTotals, CurrentObject, Enqueued, JobRecord, NewJob, VariantRecord};
pub use lease::{Among, Confirmed, INTERRUPTIONS_BEFORE_FAILING, Outstanding, PartRecord};
pub use migrate::MIGRATIONS;
pub use outbox::{DEFAULT_MAX_ATTEMPTS, OutboxCounts, OutboxRow, OutboxState};
pub use sources::UploadedSource;

/// Room for every statement the store runs, so none is parsed twice: parsing SQL cost more
/// CPU than running it when each small file took a few transactions.
const STATEMENT_CACHE: usize = 64;

/// How long a statement waits for another process's write to finish: the app, `uploader`
/// runs and the backend's worker may all open one data folder at once.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A lock held (until the file is dropped) while a process sets up its connection and
/// brings the schema up to date.
fn opening_lock(database: &Path) -> Result<std::fs::File> {
    let mut name = database.as_os_str().to_owned();
    name.push(".opening");
    let path = std::path::PathBuf::from(name);
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    file.lock().map_err(|e| Error::io(&path, e))?;
    Ok(file)
}

/// Statements run through the connection's cache of prepared statements.
pub(super) trait Cached {
    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn one<T, P, F>(&self, sql: &str, params: P, row: F) -> rusqlite::Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn one<T, P, F>(&self, sql: &str, params: P, row: F) -> rusqlite::Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, row)
    }
}

pub struct Store {
    conn: Mutex<Connection>,
    clock: Arc<dyn Clock>,
    /// Attempts each new outbox row gets (`outbox.max_attempts`).
    outbox_attempts: std::sync::atomic::AtomicU32,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        let wrap = |source| Error::Store {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            crate::private::create_dir(dir).map_err(|e| Error::io(dir, e))?;
        }
        // Processes that open the folder at once set it up one after the other: a new
        // database is not in WAL mode yet, and there SQLite answers "busy" at once, without
        // waiting, to a second process that would change the journal mode or the schema.
        let _opening = opening_lock(path)?;
        crate::private::prepare_database(path).map_err(|e| Error::io(path, e))?;
        let mut conn = Connection::open(path).map_err(wrap)?;
        // First: everything after it may meet another process opening the same file.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(wrap)?;
        // WAL lets readers (the window, `uploader status`) run beside a writer.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(wrap)?;
        // FULL syncs the WAL at every commit: a job or a deletion the user was told is
        // recorded survives a power cut, not only a crash (NORMAL may lose the last commits).
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(wrap)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(wrap)?;
        // A page cache of its own size, not the database's: memory stays flat however many
        // files the database holds (the OS caches the file too).
        conn.pragma_update(None, "cache_size", -1024)
            .map_err(wrap)?;
        // Every transaction takes the write lock when it begins: a deferred one that reads
        // first cannot wait for it later (SQLite answers busy at once instead of waiting).
        conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        migrate::apply(&mut conn).map_err(|e| match e {
            migrate::Failure::Sql(source) => wrap(source),
            migrate::Failure::TooNew { found, known } => Error::StoreTooNew {
                path: path.to_path_buf(),
                found,
                known,
            },
        })?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self {
            conn: Mutex::new(conn),
            clock,
            outbox_attempts: std::sync::atomic::AtomicU32::new(outbox::DEFAULT_MAX_ATTEMPTS),
        })
    }

    /// The attempts each deletion recorded from now on gets.
    pub fn set_outbox_max_attempts(&self, n: u32) {
        self.outbox_attempts
            .store(n.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// The store's clock.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
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
