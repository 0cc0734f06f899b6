//! The life of a job: which states exist and which moves between them are allowed.

mod state;

pub use state::JobState;
