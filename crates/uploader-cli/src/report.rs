//! What `--json` prints and the closing summary: one record per source file.

use serde::Serialize;
use uploader_core::queue::JobState;
use uploader_core::store::JobRecord;

#[derive(Debug, Serialize)]
pub struct Report {
    pub files: Vec<FileReport>,
    pub uploaded: usize,
    pub failed: usize,
    pub cancelled: usize,
    pub pending: usize,
}

#[derive(Debug, Serialize)]
pub struct FileReport {
    pub job_id: i64,
    pub source: String,
    pub sku: String,
    pub state: JobState,
    pub keys: Vec<String>,
    /// Bytes the server confirmed, over all variants.
    pub bytes: u64,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    pub batch: i64,
    pub attempts: u32,
    pub max_attempts: u32,
    pub paused: bool,
}

impl Report {
    pub fn of(jobs: &[JobRecord]) -> Self {
        let files: Vec<FileReport> = jobs
            .iter()
            .map(|j| FileReport {
                job_id: j.id,
                source: j.source_path.display().to_string(),
                sku: j.sku.clone(),
                state: j.state,
                keys: j.variants.iter().map(|v| v.object_key.clone()).collect(),
                bytes: j.bytes_done,
                error: j.last_error.clone(),
                warnings: j.warnings.clone(),
                batch: j.batch_id,
                attempts: j.attempts,
                max_attempts: j.max_attempts,
                paused: j.paused,
            })
            .collect();
        let count = |s: JobState| files.iter().filter(|f| f.state == s).count();
        Self {
            uploaded: count(JobState::Uploaded),
            failed: count(JobState::Failed),
            cancelled: count(JobState::Cancelled),
            pending: files.len()
                - count(JobState::Uploaded)
                - count(JobState::Failed)
                - count(JobState::Cancelled),
            files,
        }
    }

    pub fn all_uploaded(&self) -> bool {
        self.uploaded == self.files.len()
    }

    pub fn print_human(&self) {
        for f in &self.files {
            match (&f.state, &f.error) {
                (JobState::Failed, Some(error)) => eprintln!("failed    {error}"),
                (JobState::Uploaded, _) => {
                    println!("uploaded  {} -> {}", f.source, f.keys.join(", "))
                }
                (state, None) => println!("{state:<9} {}", f.source),
                // Waiting for another attempt: say why the last one failed.
                (state, Some(error)) => println!("{state:<9} {} (last error: {error})", f.source),
            }
            for warning in &f.warnings {
                eprintln!("warning   {}: {warning}", f.source);
            }
        }
        println!(
            "{} uploaded, {} failed, {} cancelled, {} pending",
            self.uploaded, self.failed, self.cancelled, self.pending
        );
    }
}
