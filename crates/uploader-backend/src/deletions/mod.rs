//! The deletion queue (`s3_deletion_queue`): workstations hand rows in, a worker drains them
//! with the core's drain algorithm, and the guide's monitoring query reads the backlog.

pub mod queue;
pub mod worker;

pub use queue::{DeletionQueue, accept, retry_dead, stats};
pub use worker::{WorkerSettings, run_worker};
