//! Job states. The database CHECK constraint lists the same names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Recorded, waiting for a worker.
    Queued,
    /// Being decoded and resized.
    Processing,
    /// Variants staged on disk, being sent.
    Uploading,
    /// Every variant confirmed by the server.
    Uploaded,
    /// Stopped with an error the user can read.
    Failed,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Processing,
        JobState::Uploading,
        JobState::Uploaded,
        JobState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Processing => "processing",
            JobState::Uploading => "uploading",
            JobState::Uploaded => "uploaded",
            JobState::Failed => "failed",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Uploaded | JobState::Failed)
    }

    /// The moves a worker may make. Work interrupted by a crash goes back to `Queued`;
    /// a failed job is retried by queueing it again.
    pub fn can_become(self, next: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, next),
            (Queued, Processing)
                | (Processing, Uploading)
                | (Uploading, Uploaded)
                | (Processing | Uploading, Failed)
                | (Processing | Uploading | Failed, Queued)
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
    fn finished_uploads_never_move_again() {
        for next in JobState::ALL {
            assert!(!JobState::Uploaded.can_become(next), "uploaded -> {next}");
        }
    }

    #[test]
    fn a_queued_job_can_only_start_processing() {
        let allowed: Vec<_> = JobState::ALL
            .into_iter()
            .filter(|s| JobState::Queued.can_become(*s))
            .collect();
        assert_eq!(allowed, [JobState::Processing]);
    }
}
