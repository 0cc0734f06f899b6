//! Job states. The database CHECK constraint lists the same names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Recorded, waiting for a worker.
    Queued,
    /// Being decoded and resized, under a worker's lease.
    Processing,
    /// Variants staged on disk, waiting to be sent (also between attempts).
    Staged,
    /// Being sent, under a worker's lease.
    Uploading,
    /// Every variant confirmed by the server.
    Uploaded,
    /// Stopped with an error the user can read; `retry` queues it again.
    Failed,
    /// Stopped by the user; its multipart uploads are aborted on the server.
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 7] = [
        JobState::Queued,
        JobState::Processing,
        JobState::Staged,
        JobState::Uploading,
        JobState::Uploaded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Processing => "processing",
            JobState::Staged => "staged",
            JobState::Uploading => "uploading",
            JobState::Uploaded => "uploaded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Uploaded | JobState::Failed | JobState::Cancelled
        )
    }

    /// Whether a worker holds a lease on the job in this state.
    pub fn is_leased(self) -> bool {
        matches!(self, JobState::Processing | JobState::Uploading)
    }

    /// Where a job goes when its lease ends without finishing (a retry, a pause, going
    /// offline, a crash): back to the state it was claimed from.
    pub fn unclaimed(self) -> JobState {
        match self {
            JobState::Processing => JobState::Queued,
            JobState::Uploading => JobState::Staged,
            other => other,
        }
    }

    /// The moves the queue may make. Leased work that stops goes back to where it was
    /// claimed from; a failed job is retried by queueing it again; cancelling ends any job
    /// that has not finished.
    pub fn can_become(self, next: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, next),
            (Queued, Processing)
                | (Processing, Staged | Queued)
                | (Staged, Uploading)
                | (Uploading, Uploaded | Staged)
                | (Processing | Uploading, Failed)
                | (Failed, Queued)
                | (Queued | Processing | Staged | Uploading | Failed, Cancelled)
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown job state `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for state in JobState::ALL {
            assert_eq!(state.as_str().parse::<JobState>(), Ok(state));
        }
    }

    #[test]
    fn finished_uploads_and_cancelled_jobs_never_move_again() {
        for next in JobState::ALL {
            assert!(!JobState::Uploaded.can_become(next), "uploaded -> {next}");
            assert!(!JobState::Cancelled.can_become(next), "cancelled -> {next}");
        }
    }

    #[test]
    fn exactly_the_leased_states_go_back_when_their_lease_ends() {
        for state in JobState::ALL {
            let back = state.unclaimed();
            assert_eq!(back != state, state.is_leased(), "{state}");
            if state.is_leased() {
                assert!(state.can_become(back) && back.can_become(state), "{state}");
            }
        }
    }

    #[test]
    fn a_queued_job_can_only_start_processing() {
        let allowed: Vec<_> = JobState::ALL
            .into_iter()
            .filter(|s| JobState::Queued.can_become(*s))
            .collect();
        assert_eq!(allowed, [JobState::Processing, JobState::Cancelled]);
    }
}
