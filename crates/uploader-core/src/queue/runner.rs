//! The scheduler: render workers (CPU) and upload workers (network) run side by side, so
//! uploads start while later files still render. Each is bounded; every job in flight holds
//! a lease that a heartbeat renews, and loses it when the user cancels or pauses it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;

use super::JobState;
use crate::clock::Millis;
use crate::events::Event;
use crate::store::Among;
use crate::transport::ErrorKind;
use crate::{Error, Result, Uploader};

/// How often leases that lapsed and uploads of cancelled or failed jobs are looked for.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// Timings of the queue; tests shorten them.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// How long a claimed job stays leased without a heartbeat.
    pub lease: Duration,
    /// How often a worker renews its lease and looks for a pause or a cancel.
    pub heartbeat: Duration,
    pub backoff: super::Backoff,
    /// First and longest wait between probes while offline.
    pub probe_first: Duration,
    pub probe_max: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(2),
            backoff: super::Backoff::default(),
            probe_first: Duration::from_secs(1),
            probe_max: Duration::from_secs(30),
        }
    }
}

/// Why `run_until` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// No job is left to do now or later (paused jobs do not count).
    Done,
    /// The server could not be reached for longer than allowed; the jobs wait, queued.
    Offline,
}

impl Uploader {
    /// Works until no job is left to do now or later (paused jobs do not count), waiting
    /// for as long as the server cannot be reached.
    pub async fn run_pending(self: &Arc<Self>) -> Result<()> {
        self.run_until(None).await.map(drop)
    }

    /// Like `run_pending`, but gives up once the server has been unreachable for
    /// `offline_limit` (for scripts, which should not hang for ever).
    pub async fn run_until(self: &Arc<Self>, offline_limit: Option<Duration>) -> Result<Drained> {
        self.reclaim_from_the_gone()?;
        super::liveness::sweep(&self.data_dir);
        self.clean_staging();
        let mut renders = JoinSet::new();
        let mut sends = JoinSet::new();
        let mut online = self.connectivity.subscribe();
        let mut offline_since: Option<tokio::time::Instant> = None;
        let render_workers = self
            .config
            .upload
            .render_workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        // Sweeps that scan the whole table run now and then, not on every turn of the loop:
        // the loop turns once per finished file.
        let mut last_sweep: Option<tokio::time::Instant> = None;
        // The render of a job interrupted before, while it runs.
        let mut suspect: Option<tokio::task::Id> = None;
        let result = loop {
            if last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
                last_sweep = Some(tokio::time::Instant::now());
                for id in self
                    .survive(self.store.reclaim_expired())
                    .unwrap_or_default()
                {
                    self.announce(id, self.store.job(id));
                }
                self.survive(self.reclaim_from_the_gone());
                if self.connectivity.is_online() {
                    self.abort_abandoned().await;
                }
            }
            // Read each turn: the settings screen may change it while uploads run.
            let concurrency = self.slots.size();
            // Render at most this far ahead of the uploads: staged files wait on disk.
            let ahead = concurrency * 4;
            // A store error (a disk full, a database busy for longer than its timeout) ends
            // no upload in flight: this turn claims nothing and the loop tries again.
            let mut staged = self
                .survive(self.store.staged_count())
                .unwrap_or(usize::MAX);
            while renders.len() < render_workers
                && suspect.is_none()
                && staged.saturating_add(renders.len()) < ahead
            {
                // A job whose render was interrupted runs alone (see `Among`).
                let among = if renders.is_empty() {
                    Among::All
                } else {
                    Among::Uninterrupted
                };
                let Some(job) = self.survive(self.claim(JobState::Queued, among)).flatten() else {
                    break;
                };
                staged += 1;
                let interrupted = job.interruptions > 0;
                let this = Arc::clone(self);
                let task = renders.spawn(self.clone().leased(job.id, this.render_job(job)));
                if interrupted {
                    suspect = Some(task.id());
                }
            }
            while self.connectivity.is_online() && sends.len() < concurrency {
                let Some(job) = self
                    .survive(self.claim(JobState::Staged, Among::All))
                    .flatten()
                else {
                    break;
                };
                let this = Arc::clone(self);
                sends.spawn(self.clone().leased(job.id, this.send_job(job)));
            }
            if self.connectivity.is_online() {
                offline_since = None;
            } else {
                let since = *offline_since.get_or_insert_with(tokio::time::Instant::now);
                if offline_limit.is_some_and(|limit| since.elapsed() >= limit) && sends.is_empty() {
                    break Drained::Offline;
                }
            }
            // Busy: a finishing task wakes the loop. Idle: is anything left, and when?
            let wait = if renders.is_empty() && sends.is_empty() {
                match self.survive(self.store.outstanding()) {
                    Some(left) if left.queued + left.staged + left.leased == 0 => {
                        break Drained::Done;
                    }
                    Some(left) => {
                        let now = self.store.now_ms();
                        left.next_due
                            .map_or(1_000, |due| due - now)
                            .clamp(10, 1_000)
                    }
                    None => 1_000,
                }
            } else {
                1_000
            };
            tokio::select! {
                Some(done) = renders.join_next_with_id(), if !renders.is_empty() => {
                    let id = done.map_or_else(|e| e.id(), |(id, ())| id);
                    if suspect == Some(id) {
                        suspect = None;
                    }
                }
                Some(_) = sends.join_next(), if !sends.is_empty() => {}
                _ = self.wake.notified() => {}
                _ = online.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        };
        // Uploads a job failed or was cancelled with in this run's last seconds: not left
        // for the next run (a CLI run ends here).
        if self.connectivity.is_online() {
            self.abort_abandoned().await;
        }
        // The last word on every batch this run touched, held back or not.
        for batch in self.meter.batches() {
            self.batch_progress_now(batch);
        }
        Ok(result)
    }

    /// Runs the queue for as long as the app lives, waking when files are added.
    pub async fn run_forever(self: Arc<Self>) {
        loop {
            if let Err(e) = self.run_pending().await {
                // The store failed; wait and try again rather than stop the app's queue.
                self.problem(format!("the upload queue stopped: {e}"));
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                // Backoffs, other processes' changes and expired leases are looked at again.
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }

    /// Takes back the leases of processes that are gone (killed, crashed, the power cut),
    /// jobs and deletions alike; a live process's leases are its own, whatever it is.
    pub(crate) fn reclaim_from_the_gone(&self) -> Result<()> {
        for owner in self.store.lease_owners(&self.owner)? {
            if !super::liveness::is_gone(&self.data_dir, &owner)? {
                continue;
            }
            for id in self.store.reclaim_owner(&owner)? {
                self.announce(id, self.store.job(id));
            }
            if self.store.outbox_reclaim_owner(&owner)? > 0 {
                self.events.send(Event::OutboxChanged);
            }
        }
        Ok(())
    }

    /// A store error in the loop: said, and `None`, so the loop goes on.
    fn survive<T>(&self, outcome: Result<T>) -> Option<T> {
        outcome
            .inspect_err(|e| {
                self.problem(format!(
                    "the upload queue cannot read the local database: {e}"
                ))
            })
            .ok()
    }

    fn claim(&self, from: JobState, among: Among) -> Result<Option<crate::store::JobRecord>> {
        let job = self.store.claim_among(
            &self.owner,
            from,
            self.tuning.lease.as_millis() as Millis,
            among,
        )?;
        if let Some(job) = &job {
            self.events.send(Event::JobChanged(job.clone()));
        }
        Ok(job)
    }

    /// Runs `work` while renewing the job's lease. If the job is paused the work is dropped
    /// and the job given back; if the lease is lost (cancelled) the work is just dropped.
    async fn leased(self: Arc<Self>, id: i64, work: impl Future<Output = ()>) {
        tokio::pin!(work);
        let mut beat = tokio::time::interval(self.tuning.heartbeat);
        beat.tick().await;
        loop {
            tokio::select! {
                () = &mut work => return,
                _ = beat.tick() => {
                    match self.store.renew(id, &self.owner, self.tuning.lease.as_millis() as Millis) {
                        Ok(false) => {}
                        Ok(true) => {
                            let released = self.store.release(id, &self.owner, None);
                            self.announce(id, released);
                            return;
                        }
                        Err(Error::LeaseLost(_) | Error::NoSuchJob(_)) => {
                            self.announce(id, self.store.job(id));
                            return;
                        }
                        Err(e) => tracing::warn!(job = id, "cannot renew its lease: {e}"),
                    }
                }
            }
        }
    }

    /// Removes staged copies of jobs that finished (cancelled from another process, say).
    fn clean_staging(&self) {
        let Ok(entries) = std::fs::read_dir(&self.staging) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i64>().ok())
            else {
                continue;
            };
            let finished = match self.store.job(id) {
                Ok(job) => job.state.is_terminal(),
                Err(Error::NoSuchJob(_)) => true,
                Err(_) => false,
            };
            if finished {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Aborts on the server the multipart uploads that cancelled or failed jobs left open.
    async fn abort_abandoned(&self) {
        let Ok(open) = self.store.open_uploads_to_abort() else {
            return;
        };
        for upload in open {
            match self
                .transport
                .abort_multipart(&upload.key, &upload.upload_id)
                .await
            {
                Ok(()) => {
                    if let Err(e) = self.store.upload_aborted(&upload) {
                        tracing::warn!(job = upload.job_id, "cannot record the abort: {e}");
                    }
                }
                // Tried again on the next round.
                Err(e) => tracing::warn!(
                    job = upload.job_id,
                    key = %upload.key,
                    "cannot abort the multipart upload: {e}"
                ),
            }
        }
    }

    /// When a job that failed its `attempt`-th time may be tried again.
    pub(crate) fn retry_at(&self, kind: ErrorKind, attempt: u32) -> Millis {
        let delay = self.tuning.backoff.delay(kind, attempt, fastrand::f64());
        self.store.now_ms() + delay.as_millis() as Millis
    }

    /// A slot for one request: at most `upload.concurrency` (or the user's choice) are in flight.
    pub(crate) async fn request_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.acquire().await
    }

    pub(crate) async fn throttle(&self, bytes: u64) {
        self.throttle.take(bytes).await;
    }
}
