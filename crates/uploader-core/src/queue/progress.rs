//! Batch progress as the server confirms bytes: totals, throughput over the last seconds, and
//! an ETA. Announced at most every `interval` per batch, so a fast queue cannot flood the
//! window or the terminal.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::Uploader;
use crate::events::Event;
use crate::store::BatchTotals;

/// Throughput is measured over this much recent time.
const WINDOW: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub struct BatchProgress {
    pub totals: BatchTotals,
    /// Bytes the batch will send in all: the known sizes, plus files not rendered yet
    /// estimated at the average size of those that are.
    pub bytes_expected: u64,
    /// Confirmed bytes per second over the last seconds.
    pub bytes_per_second: f64,
    /// Seconds left at that rate; `None` until there is a rate.
    pub eta_seconds: Option<f64>,
}

pub struct Meter {
    interval: Duration,
    batches: Mutex<HashMap<i64, Samples>>,
}

#[derive(Default)]
struct Samples {
    last_sent: Option<Instant>,
    /// (when, bytes done), oldest first, covering about `WINDOW`.
    seen: VecDeque<(Instant, u64)>,
}

impl Meter {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            batches: Mutex::new(HashMap::new()),
        }
    }

    /// Whether an announcement for the batch is due (none in the last `interval`); checked
    /// before the totals are read, which costs a scan of the batch.
    pub fn due(&self, batch_id: i64, now: Instant) -> bool {
        let batches = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        batches
            .get(&batch_id)
            .and_then(|s| s.last_sent)
            .is_none_or(|at| now.duration_since(at) >= self.interval)
    }

    /// Batches announced since they were last finished.
    pub fn batches(&self) -> Vec<i64> {
        let batches = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        batches.keys().copied().collect()
    }

    /// Records the batch's totals now and returns what to announce. A finished batch is
    /// forgotten, so a later run starts its figures afresh.
    pub fn observe(&self, totals: BatchTotals, now: Instant) -> BatchProgress {
        let mut batches = self.batches.lock().unwrap_or_else(|p| p.into_inner());
        let samples = batches.entry(totals.batch_id).or_default();
        samples.seen.push_back((now, totals.bytes_done));
        while samples
            .seen
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > WINDOW)
            && samples.seen.len() > 2
        {
            samples.seen.pop_front();
        }
        let finished = totals.files_left() == 0;
        samples.last_sent = Some(now);
        let rate = match (samples.seen.front(), samples.seen.back()) {
            (Some((t0, b0)), Some((t1, b1))) if t1 > t0 => {
                b1.saturating_sub(*b0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        };
        let expected = totals.bytes_expected();
        let left = expected.saturating_sub(totals.bytes_done) as f64;
        if finished {
            batches.remove(&totals.batch_id);
        }
        BatchProgress {
            totals,
            bytes_expected: expected,
            bytes_per_second: rate,
            eta_seconds: (rate > 0.0).then(|| left / rate),
        }
    }
}

impl Uploader {
    /// Announces the batch's progress, unless it was announced a moment ago.
    pub(crate) fn batch_progress(&self, batch_id: i64) {
        if self.meter.due(batch_id, Instant::now()) {
            self.batch_progress_now(batch_id);
        }
    }

    pub(crate) fn batch_progress_now(&self, batch_id: i64) {
        if let Ok(totals) = self.store.batch_totals(batch_id) {
            let progress = self.meter.observe(totals, Instant::now());
            self.events.send(Event::BatchProgress(progress));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(bytes_done: u64, files_done: u64) -> BatchTotals {
        BatchTotals {
            batch_id: 1,
            files: 10,
            uploaded: files_done,
            failed: 0,
            cancelled: 0,
            files_sized: 10,
            bytes_done,
            bytes_total: 1_000,
        }
    }

    #[test]
    fn throughput_and_eta_follow_the_confirmed_bytes() {
        let meter = Meter::new(Duration::from_millis(250));
        let t0 = Instant::now();
        let first = meter.observe(totals(0, 0), t0);
        assert_eq!(first.eta_seconds, None);
        let later = meter.observe(totals(200, 2), t0 + Duration::from_secs(2));
        assert_eq!(later.bytes_per_second, 100.0);
        assert_eq!(later.eta_seconds, Some(8.0));
    }

    #[test]
    fn an_announcement_is_due_once_per_interval_and_a_finished_batch_is_forgotten() {
        let meter = Meter::new(Duration::from_millis(250));
        let t0 = Instant::now();
        assert!(meter.due(1, t0));
        meter.observe(totals(10, 0), t0);
        assert!(!meter.due(1, t0 + Duration::from_millis(100)));
        assert!(meter.due(1, t0 + Duration::from_millis(300)));
        assert_eq!(meter.batches(), [1]);
        let end = meter.observe(totals(1_000, 10), t0 + Duration::from_millis(310));
        assert_eq!(end.eta_seconds, Some(0.0));
        assert!(meter.batches().is_empty());
    }

    #[test]
    fn files_not_rendered_yet_count_at_the_average_size() {
        let partly = BatchTotals {
            files_sized: 4,
            bytes_total: 400,
            ..totals(0, 0)
        };
        assert_eq!(partly.bytes_expected(), 1_000);
        let none = BatchTotals {
            files_sized: 0,
            bytes_total: 0,
            ..totals(0, 0)
        };
        assert_eq!(none.bytes_expected(), 0);
    }
}
