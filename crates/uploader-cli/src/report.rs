//! What `--json` prints and the closing summary: one record per source file.

use std::io::Write;

use serde::Serialize;
use uploader_core::queue::JobState;
use uploader_core::store::{JobRecord, Store};

/// One file in `--json`; the whole report is
/// `{"files": [FileReport...], "uploaded": n, "failed": n, "cancelled": n, "pending": n}`.
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

impl FileReport {
    fn of(j: &JobRecord) -> Self {
        FileReport {
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
        }
    }

    fn print_human(&self) {
        match (&self.state, &self.error) {
            (JobState::Failed, Some(error)) => eprintln!("failed    {error}"),
            (JobState::Uploaded, _) => {
                println!("uploaded  {} -> {}", self.source, self.keys.join(", "))
            }
            (state, None) => println!("{state:<9} {}", self.source),
            // Waiting for another attempt: say why the last one failed.
            (state, Some(error)) => {
                println!("{state:<9} {} (last error: {error})", self.source)
            }
        }
        for warning in &self.warnings {
            eprintln!("warning   {}: {warning}", self.source);
        }
    }
}

/// The counts at the end of a report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub files: usize,
    pub uploaded: usize,
    pub failed: usize,
    pub cancelled: usize,
}

impl Counts {
    pub fn all_uploaded(&self) -> bool {
        self.uploaded == self.files
    }

    fn pending(&self) -> usize {
        self.files - self.uploaded - self.failed - self.cancelled
    }
}

/// Jobs read from the database this many at a time, so a report on 10,000 files takes no
/// more memory than one on 100.
const CHUNK: usize = 256;

/// Prints the report on `ids` (the `Report` shape with `--json`), reading the jobs in chunks
/// and writing each as it comes.
pub fn stream(store: &Store, ids: &[i64], json: bool) -> anyhow::Result<Counts> {
    let stdout = std::io::stdout();
    write_report(
        store,
        ids,
        json,
        &mut std::io::BufWriter::new(stdout.lock()),
    )
}

fn write_report(
    store: &Store,
    ids: &[i64],
    json: bool,
    out: &mut impl Write,
) -> anyhow::Result<Counts> {
    let mut counts = Counts::default();
    if json {
        write!(out, "{{\n  \"files\": [")?;
    }
    for chunk in ids.chunks(CHUNK) {
        for job in store.jobs_in(chunk)? {
            let file = FileReport::of(&job);
            counts.uploaded += usize::from(file.state == JobState::Uploaded);
            counts.failed += usize::from(file.state == JobState::Failed);
            counts.cancelled += usize::from(file.state == JobState::Cancelled);
            if json {
                let record = serde_json::to_string_pretty(&file)?.replace('\n', "\n    ");
                let sep = if counts.files == 0 { "" } else { "," };
                write!(out, "{sep}\n    {record}")?;
            } else {
                out.flush()?;
                file.print_human();
            }
            counts.files += 1;
        }
    }
    if json {
        let close = if counts.files == 0 { "" } else { "\n  " };
        writeln!(
            out,
            "{close}],\n  \"uploaded\": {},\n  \"failed\": {},\n  \"cancelled\": {},\n  \"pending\": {}\n}}",
            counts.uploaded,
            counts.failed,
            counts.cancelled,
            counts.pending()
        )?;
    } else {
        writeln!(
            out,
            "{} uploaded, {} failed, {} cancelled, {} pending",
            counts.uploaded,
            counts.failed,
            counts.cancelled,
            counts.pending()
        )?;
    }
    out.flush()?;
    Ok(counts)
}

/// The connection test, step by step; a failure with its problem, fix and the server's words.
pub fn connection(
    report: &uploader_core::admin::ConnectionReport,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let steps: Vec<serde_json::Value> = report
            .steps
            .iter()
            .map(|s| {
                serde_json::json!({
                    "step": s.name,
                    "ok": s.failure.is_none(),
                    "ms": s.millis,
                    "note": s.note,
                    "diagnosis": s.failure.as_ref().map(|d| serde_json::json!({
                        "cause": d.cause, "problem": d.problem, "fix": d.fix, "detail": d.detail,
                    })),
                })
            })
            .collect();
        let out = serde_json::json!({
            "destination": report.destination,
            "key": report.key,
            "passed": report.passed(),
            "steps": steps,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!(
        "connection test: {} (probe {})",
        report.destination, report.key
    );
    for step in &report.steps {
        let mark = if step.failure.is_none() {
            "ok  "
        } else {
            "FAIL"
        };
        let note = if step.note.is_empty() {
            String::new()
        } else {
            format!(" ({})", step.note)
        };
        println!("  {mark} {:<6} {:>5} ms{note}", step.name, step.millis);
    }
    match report.diagnosis() {
        None => println!("passed: this workstation can upload, read back and delete."),
        Some(d) => {
            println!("problem: {}", d.problem);
            println!("fix:     {}", d.fix);
            println!("server:  {}", d.detail);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use uploader_core::clock::SystemClock;
    use uploader_core::store::NewJob;

    use super::*;

    #[test]
    fn the_json_report_is_written_in_chunks_and_parses_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), Arc::new(SystemClock)).unwrap();
        let jobs: Vec<NewJob> = (0..CHUNK + 3)
            .map(|n| NewJob {
                source_path: format!("/photos/{n}.jpg").into(),
                sku: "S".into(),
                source_size: 1,
                source_mtime: 1,
                as_is: false,
                replaces: false,
                replaces_job: None,
            })
            .collect();
        let ids: Vec<i64> = store.enqueue("t", &jobs, 3).unwrap().added;
        for wanted in [&ids[..0], &ids[..]] {
            let mut out = Vec::new();
            let counts = write_report(&store, wanted, true, &mut out).unwrap();
            let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(report["files"].as_array().unwrap().len(), wanted.len());
            assert_eq!(report["pending"], wanted.len());
            assert_eq!((counts.files, counts.uploaded), (wanted.len(), 0));
            if let Some(first) = wanted.first() {
                assert_eq!(report["files"][0]["job_id"], *first);
                assert_eq!(report["files"][0]["state"], "queued");
            }
        }
    }
}
