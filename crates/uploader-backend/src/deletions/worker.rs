//! The deletion worker: drains `s3_deletion_queue` against S3 until told to stop, finishing
//! the batch in flight first.

use std::path::Path;
use std::time::Duration;

use tokio::sync::watch;
use uploader_core::clock::{Clock, SystemClock};
use uploader_core::deletion::{DrainSettings, drain_forever};
use uploader_core::queue::Backoff;

use super::DeletionQueue;
use crate::{Settings, db};

#[derive(Debug, Clone, clap::Args)]
pub struct WorkerSettings {
    /// Keys per DeleteObjects request (at most 1000).
    #[arg(long, env = "UPLOADER_DELETION_BATCH", default_value_t = 1000)]
    pub deletion_batch: usize,
    /// How long a worker holds the rows of a batch; a worker that dies mid-batch holds them
    /// this long before another takes them.
    #[arg(long, env = "UPLOADER_DELETION_LEASE_SECS", default_value_t = 120.0)]
    pub deletion_lease_secs: f64,
    /// The wait after a key's first failure, doubled with each attempt up to an hour.
    #[arg(
        long,
        env = "UPLOADER_DELETION_RETRY_BASE_SECS",
        default_value_t = 10.0
    )]
    pub deletion_retry_base_secs: f64,
    /// How often an idle worker looks for new rows.
    #[arg(long, env = "UPLOADER_DELETION_POLL_SECS", default_value_t = 2.0)]
    pub deletion_poll_secs: f64,
}

impl WorkerSettings {
    pub fn check(&self) -> anyhow::Result<()> {
        if !(1..=1000).contains(&self.deletion_batch) {
            anyhow::bail!("UPLOADER_DELETION_BATCH (--deletion-batch) must be 1 to 1000");
        }
        let secs = |name: &str, v: f64| {
            if v.is_finite() && (0.01..=86_400.0).contains(&v) {
                Ok(())
            } else {
                Err(anyhow::anyhow!("{name} must be 0.01 to 86400 seconds"))
            }
        };
        secs("UPLOADER_DELETION_LEASE_SECS", self.deletion_lease_secs)?;
        secs(
            "UPLOADER_DELETION_RETRY_BASE_SECS",
            self.deletion_retry_base_secs,
        )?;
        secs("UPLOADER_DELETION_POLL_SECS", self.deletion_poll_secs)
    }

    fn drain(&self) -> DrainSettings {
        let owner = format!("worker-{}-{}", std::process::id(), uuid_suffix());
        DrainSettings {
            batch: self.deletion_batch,
            lease: Duration::from_secs_f64(self.deletion_lease_secs),
            backoff: Backoff {
                base: Duration::from_secs_f64(self.deletion_retry_base_secs),
                cap: Duration::from_secs(3600),
            },
            poll: Duration::from_secs_f64(self.deletion_poll_secs),
            ..DrainSettings::new(owner)
        }
    }
}

fn uuid_suffix() -> String {
    let mut bytes = [0u8; 6];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Drains the queue in `database` until `stop` turns true; one line per busy round.
pub async fn run_worker(
    settings: &Settings,
    worker: &WorkerSettings,
    database: &Path,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    settings.check()?;
    worker.check()?;
    let conn = db::open(database)
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", database.display()))?;
    let queue = DeletionQueue::new(conn, SystemClock.now_ms());
    let s3 = settings.s3().await;
    let drain = worker.drain();
    eprintln!(
        "deletion worker {} draining s3_deletion_queue into bucket {}",
        drain.owner, settings.bucket
    );
    drain_forever(&queue, &s3, &SystemClock, &drain, stop, |r| {
        let mut line = format!(
            "deletions: {} claimed, {} deleted, {} to retry, {} out of attempts",
            r.claimed, r.deleted, r.retried, r.dead
        );
        if r.offline {
            line.push_str(", S3 unreachable (no attempt counted)");
        }
        if let Some(e) = &r.error {
            line.push_str(&format!(": {e}"));
        }
        eprintln!("{line}");
    })
    .await?;
    eprintln!("deletion worker {} stopped", drain.owner);
    Ok(())
}
