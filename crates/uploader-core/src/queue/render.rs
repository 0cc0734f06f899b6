//! The CPU stage: a claimed job is decoded, resized and encoded on a blocking thread, its
//! variants are written to the staging dir, and the job is handed to the upload stage.

use std::sync::Arc;

use crate::events::Event;
use crate::pipeline::{self, Rendition};
use crate::store::{JobRecord, VariantRecord};
use crate::{Error, Result, Uploader};

impl Uploader {
    /// Renders and stages a job this worker holds, and records the outcome.
    pub(crate) async fn render_job(self: Arc<Self>, job: JobRecord) {
        let id = job.id;
        let outcome = match self.render_and_stage(&job).await {
            Ok(staged) => Ok(staged),
            Err(e @ (Error::LeaseLost(_) | Error::NoSuchJob(_))) => Err(e),
            // A file that cannot be read or decoded will not decode next time either.
            Err(e @ Error::Image { .. }) => self.store.fail(id, &self.owner, &e.to_string()),
            Err(e) => {
                let at = self.retry_at(crate::transport::ErrorKind::Server, job.attempts + 1);
                self.store.retry_later(id, &self.owner, &e.to_string(), at)
            }
        };
        self.announce(id, outcome);
    }

    async fn render_and_stage(&self, job: &JobRecord) -> Result<JobRecord> {
        if job.as_is {
            return self.stage_as_is(job).await;
        }
        let source = job.source_path.clone();
        let recipe = Arc::clone(&self.recipe);
        // The source's hash is taken from the bytes read for rendering: no second read.
        let rendered = tokio::task::spawn_blocking(move || {
            crash_if_asked(&source);
            let bytes = pipeline::read_limited(&source, &recipe.limits)?;
            let source_sha256 = crate::hash::sha256_hex(&bytes);
            pipeline::render_bytes(&source, &bytes, &recipe).map(|r| (r, source_sha256))
        })
        .await
        .map_err(|e| Error::Image {
            path: job.source_path.clone(),
            reason: format!("the image pipeline crashed: {e}"),
        })?;
        let (renditions, source_sha256) = rendered?;
        let staged = self.write_staged(job, &renditions)?;
        let warnings: Vec<String> = renditions
            .iter()
            .filter_map(|r| r.warning.clone())
            .collect();
        self.store.stage(
            job.id,
            &self.owner,
            &staged,
            &warnings,
            Some(&source_sha256),
        )
    }

    /// A file uploaded as it is: the source itself is the staged copy (it is never removed),
    /// checked against its SHA-256 when sent.
    async fn stage_as_is(&self, job: &JobRecord) -> Result<JobRecord> {
        let path = job.source_path.clone();
        let (bytes, sha256, crc32c) =
            tokio::task::spawn_blocking(move || crate::hash::hash_file_with_crc32c(&path))
                .await
                .map_err(|e| Error::Image {
                    path: job.source_path.clone(),
                    reason: format!("hashing crashed: {e}"),
                })??;
        if bytes == 0 {
            return Err(Error::Image {
                path: job.source_path.clone(),
                reason: "the file is empty".into(),
            });
        }
        let variant = VariantRecord {
            name: "file".into(),
            object_key: self.naming.file_key(&job.sku, &job.source_path),
            content_type: content_type_of(&job.source_path).into(),
            width: 0,
            height: 0,
            bytes,
            sha256,
            staged_path: Some(job.source_path.clone()),
            uploaded: false,
            attempted: false,
            upload_id: None,
            etag: None,
            object_id: None,
            crc32c: Some(crc32c),
        };
        let source_sha256 = variant.sha256.clone();
        self.store
            .stage(job.id, &self.owner, &[variant], &[], Some(&source_sha256))
    }

    /// Writes the renditions where a restart can find them, and names their keys.
    fn write_staged(
        &self,
        job: &JobRecord,
        renditions: &[Rendition],
    ) -> Result<Vec<VariantRecord>> {
        let dir = self.staging.join(job.id.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        renditions
            .iter()
            .map(|r| {
                let staged_path = dir.join(format!("{}.{}", r.variant, r.extension));
                write_durably(&staged_path, &r.bytes)?;
                Ok(VariantRecord {
                    object_key: self.naming.key(
                        &job.sku,
                        &job.source_path,
                        &r.variant,
                        r.extension,
                    ),
                    name: r.variant.clone(),
                    content_type: r.content_type.to_string(),
                    width: r.width,
                    height: r.height,
                    bytes: r.bytes.len() as u64,
                    sha256: r.sha256.clone(),
                    staged_path: Some(staged_path),
                    uploaded: false,
                    attempted: false,
                    upload_id: None,
                    etag: None,
                    object_id: None,
                    crc32c: Some(crc32c::crc32c(&r.bytes)),
                })
            })
            .collect()
    }

    /// Sends the job's new state to the event bus; a worker that lost its lease says nothing.
    pub(crate) fn announce(&self, id: i64, outcome: Result<JobRecord>) {
        match outcome {
            Ok(job) => {
                let batch = job.batch_id;
                if job.state.is_terminal() && !job.as_is {
                    // Staged copies are only needed until the job has finished (a file sent
                    // as it is has none: its source is its staged copy).
                    let _ = std::fs::remove_dir_all(self.staging.join(id.to_string()));
                }
                let terminal = job.state.is_terminal();
                self.events.send(Event::JobChanged(job));
                // A batch's last job always gets its totals out, however recent the last ones.
                if terminal && !self.store.batch_open(batch).unwrap_or(true) {
                    self.batch_progress_now(batch);
                } else {
                    self.batch_progress(batch);
                }
            }
            Err(Error::LeaseLost(_)) => {}
            Err(e) => self.problem(format!("job {id}: cannot record its outcome: {e}")),
        }
    }
}

/// Writes a staged file so that, once the job is recorded as staged, a power cut cannot leave
/// it empty or half-written: a new file is written and synced, then renamed over the path (a
/// sender still reading an earlier copy keeps reading that one), and the rename is synced.
fn write_durably(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    let part = std::path::PathBuf::from(name);
    let written = std::fs::File::create(&part).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    written.map_err(|e| Error::io(&part, e))?;
    std::fs::rename(&part, path).map_err(|e| Error::io(path, e))?;
    // Windows cannot open a folder to sync it; NTFS journals the rename itself.
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    Ok(())
}

/// Debug builds only: aborts the process when asked to render the file named by
/// `CATALOG_UPLOADER_TEST_CRASH_ON`, as a decoder that crashes on a hostile file would
/// (tests of the crash-loop guard; release builds never read the variable).
fn crash_if_asked(source: &std::path::Path) {
    #[cfg(debug_assertions)]
    if std::env::var_os("CATALOG_UPLOADER_TEST_CRASH_ON")
        .is_some_and(|name| source.file_name() == Some(name.as_os_str()))
    {
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = source;
}

/// The `Content-Type` of a file uploaded as it is, by its extension.
fn content_type_of(path: &std::path::Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "json" => "application/json",
        "csv" => "text/csv",
        "txt" => "text/plain",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_uploaded_as_they_are_get_a_content_type_by_extension() {
        let cases = [
            ("a.JPG", "image/jpeg"),
            ("b.mp4", "video/mp4"),
            ("spec.pdf", "application/pdf"),
            ("noext", "application/octet-stream"),
            ("x.bin", "application/octet-stream"),
        ];
        for (name, want) in cases {
            assert_eq!(content_type_of(std::path::Path::new(name)), want, "{name}");
        }
    }
}
