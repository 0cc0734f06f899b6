//! What a person does to queued work (pause, resume, retry, cancel), told to every listener.

use crate::events::Event;
use crate::store::{JobRecord, Store, Target};
use crate::{Result, Uploader};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Pause,
    Resume,
    /// A failed job is queued again with fresh attempts.
    Retry,
    Cancel,
}

impl Control {
    fn apply(self, store: &Store, target: Target) -> Result<Vec<JobRecord>> {
        match self {
            Control::Pause => store.pause(target),
            Control::Resume => store.resume(target),
            Control::Retry => store.retry(target),
            Control::Cancel => store.cancel(target),
        }
    }
}

impl Uploader {
    /// Applies `control` to `targets` (each in its own transaction), announces every job it
    /// changed and wakes the scheduler. Returns the changed jobs.
    pub fn control(&self, control: Control, targets: &[Target]) -> Result<Vec<JobRecord>> {
        let mut changed = Vec::new();
        for &target in targets {
            changed.extend(control.apply(&self.store, target)?);
        }
        for job in &changed {
            self.events.send(Event::JobChanged(job.clone()));
        }
        self.wake();
        Ok(changed)
    }
}
