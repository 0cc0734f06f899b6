//! Errors the core reports. Each names the file or setting concerned and the reason.

use std::path::PathBuf;

use crate::queue::JobState;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or wrong; `setting` is its name as the user writes it.
    #[error("setting `{setting}`: {reason}")]
    Config { setting: String, reason: String },

    /// A source file could not be turned into variants.
    #[error("{}: {reason}", path.display())]
    Image { path: PathBuf, reason: String },

    #[error("local database {}: {source}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error(
        "local database {}: it was last used by a newer version of Catalog Uploader (schema {found}, this version knows {known}); install that version or newer",
        path.display()
    )]
    StoreTooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },

    #[error("local database: {0}")]
    Sql(#[from] rusqlite::Error),

    #[error("job {job} is {actual}, not {expected}")]
    StateConflict {
        job: i64,
        expected: JobState,
        actual: JobState,
    },

    #[error("no job {0}")]
    NoSuchJob(i64),

    /// The worker's lease on the job lapsed or was taken away (cancelled, reclaimed after a
    /// crash): it must stop without recording anything.
    #[error("job {0} is no longer held by this worker")]
    LeaseLost(i64),

    #[error("no batch {0}")]
    NoSuchBatch(i64),

    /// An image that cannot be removed (not uploaded, say).
    #[error("job {job} cannot be removed: {why}")]
    NotRemovable { job: i64, why: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn config(setting: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            setting: setting.into(),
            reason: reason.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A stable machine-readable code, for the UI and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config { .. } => "config",
            Error::Image { .. } => "image",
            Error::Store { .. } | Error::Sql(_) => "store",
            Error::StoreTooNew { .. } => "store_too_new",
            Error::StateConflict { .. } => "state_conflict",
            Error::NoSuchJob(_) => "no_such_job",
            Error::LeaseLost(_) => "lease_lost",
            Error::NoSuchBatch(_) => "no_such_batch",
            Error::NotRemovable { .. } => "not_removable",
            Error::Io { .. } => "io",
        }
    }
}
