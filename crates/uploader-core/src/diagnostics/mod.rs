//! What support needs when something goes wrong: structured logs in a rotating file, and a
//! support bundle that gathers versions, settings, credentials (masked), queue and outbox
//! counts, the connection test and recent log lines into one file, with secrets removed.

mod bundle;
mod log;
mod scrub;

pub use bundle::{bundle_folder, redact, support_bundle_unopened, utc_stamp};
pub use log::{ENV_LOG, ENV_LOG_DIR, LogGuard, init, log_dir, recent_lines};
pub use scrub::without_signatures;
