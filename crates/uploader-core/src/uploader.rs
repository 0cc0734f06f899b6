//! The service both front ends drive: record dropped files as jobs, then render and upload
//! them with bounded concurrency, announcing every step on the event bus.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{Notify, Semaphore, broadcast};
use tokio::task::JoinSet;

use crate::clock::SystemClock;
use crate::config::{AppDirs, Config};
use crate::events::{Event, EventBus};
use crate::naming::Naming;
use crate::pipeline::{self, Recipe, Rendition};
use crate::queue::JobState;
use crate::store::{JobRecord, NewJob, Store, VariantRecord};
use crate::transport::{PutObject, S3Direct, Transport};
use crate::{Error, Result};

pub struct Uploader {
    config: Config,
    store: Store,
    transport: Arc<dyn Transport>,
    events: EventBus,
    recipe: Arc<Recipe>,
    naming: Naming,
    staging: PathBuf,
    wake: Notify,
}

impl Uploader {
    /// Opens the data dir named by `config` and uploads in direct mode with the AWS chain.
    pub async fn open(config: Config) -> Result<Arc<Self>> {
        config.validate()?;
        let transport = Arc::new(S3Direct::from_chain(&config.s3).await);
        Self::with_transport(config, transport)
    }

    /// Like [`Uploader::open`] with a transport of the caller's choosing.
    pub fn with_transport(config: Config, transport: Arc<dyn Transport>) -> Result<Arc<Self>> {
        config.validate()?;
        let data_dir = config
            .data_dir
            .clone()
            .ok_or_else(|| Error::config("data_dir", "not set"))?;
        let store = Store::open(&AppDirs::database(&data_dir), Arc::new(SystemClock))?;
        // Work interrupted by a crash or a closed window starts again.
        store.requeue_interrupted()?;
        Ok(Arc::new(Self {
            naming: Naming::new(&config, &config.s3.prefix),
            staging: AppDirs::staging(&data_dir),
            recipe: Arc::new(Recipe::from_config(&config)),
            events: EventBus::new(),
            wake: Notify::new(),
            store,
            transport,
            config,
        }))
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn destination(&self) -> String {
        self.transport.describe()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Records a job for every file in `paths` (folders are walked) before any work starts.
    /// `sku` applies to all of them; otherwise each file's SKU is read from its name.
    pub fn enqueue(&self, paths: &[PathBuf], sku: Option<&str>) -> Result<Vec<JobRecord>> {
        let jobs: Vec<NewJob> = crate::intake::expand(paths)
            .into_iter()
            .map(|source_path| NewJob {
                sku: self.naming.sku(&source_path, sku),
                source_path,
            })
            .collect();
        let records = self.store.insert_jobs(&jobs)?;
        for record in &records {
            self.events.send(Event::JobAdded(record.clone()));
        }
        self.wake.notify_one();
        Ok(records)
    }

    /// Works until the queue is empty, `upload.concurrency` files at a time.
    pub async fn run_pending(self: &Arc<Self>) -> Result<()> {
        let slots = Arc::new(Semaphore::new(self.config.upload.concurrency));
        let mut running = JoinSet::new();
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let Some(job) = self.claim_next()? else { break };
            let this = Arc::clone(self);
            running.spawn(async move {
                this.work(job).await;
                drop(slot);
            });
        }
        while running.join_next().await.is_some() {}
        Ok(())
    }

    /// Runs the queue for as long as the app lives, waking when files are added.
    pub async fn run_forever(self: Arc<Self>) {
        loop {
            if let Err(e) = self.run_pending().await {
                // The store failed; wait and try again rather than stop the app's queue.
                eprintln!("queue: {e}");
                tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            }
            self.wake.notified().await;
        }
    }

    /// Takes the oldest queued job; a job another worker claimed first is skipped.
    fn claim_next(&self) -> Result<Option<JobRecord>> {
        loop {
            let Some(&id) = self.store.queued(1)?.first() else {
                return Ok(None);
            };
            match self
                .store
                .transition(id, JobState::Queued, JobState::Processing)
            {
                Ok(job) => {
                    self.events.send(Event::JobChanged(job.clone()));
                    return Ok(Some(job));
                }
                Err(Error::StateConflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    async fn work(&self, job: JobRecord) {
        let id = job.id;
        let outcome = self.process_and_upload(job).await;
        let record = match outcome {
            Ok(record) => Ok(record),
            Err((from, message)) => self.store.fail(id, from, &message),
        };
        match record {
            Ok(record) => self.events.send(Event::JobChanged(record)),
            Err(e) => eprintln!("job {id}: cannot record its outcome: {e}"),
        }
    }

    /// Returns the finished record, or the state the job failed in and why.
    async fn process_and_upload(&self, job: JobRecord) -> Result<JobRecord, (JobState, String)> {
        let processing = |e: Error| (JobState::Processing, e.to_string());
        let uploading = |e: Error| (JobState::Uploading, e.to_string());

        let source = job.source_path.clone();
        let recipe = Arc::clone(&self.recipe);
        let renditions = tokio::task::spawn_blocking(move || pipeline::render(&source, &recipe))
            .await
            .map_err(|e| {
                (
                    JobState::Processing,
                    format!(
                        "{}: the image pipeline crashed: {e}",
                        job.source_path.display()
                    ),
                )
            })?
            .map_err(processing)?;

        let staged = self.stage(&job, &renditions).map_err(processing)?;
        let warnings: Vec<String> = renditions
            .iter()
            .filter_map(|r| r.warning.clone())
            .collect();
        let job = self
            .store
            .stage(job.id, &staged, &warnings)
            .map_err(processing)?;
        self.events.send(Event::JobChanged(job.clone()));

        for (variant, rendition) in job.variants.iter().zip(renditions) {
            let object = PutObject {
                key: variant.object_key.clone(),
                body: rendition.bytes,
                content_type: variant.content_type.clone(),
                sha256: variant.sha256.clone(),
            };
            self.transport.put_object(object).await.map_err(|e| {
                (
                    JobState::Uploading,
                    format!(
                        "{}: upload of `{}` failed: {e}",
                        job.source_path.display(),
                        variant.object_key
                    ),
                )
            })?;
            let progress = self
                .store
                .variant_uploaded(job.id, &variant.name)
                .map_err(uploading)?;
            self.events.send(Event::Progress {
                job_id: job.id,
                bytes_done: progress.bytes_done,
                bytes_total: progress.bytes_total,
            });
        }
        let done = self
            .store
            .transition(job.id, JobState::Uploading, JobState::Uploaded)
            .map_err(uploading)?;
        // Staged copies are only needed until the server has confirmed them.
        let _ = std::fs::remove_dir_all(self.staging.join(job.id.to_string()));
        Ok(done)
    }

    /// Writes the renditions where a restart can find them, and names their keys.
    fn stage(&self, job: &JobRecord, renditions: &[Rendition]) -> Result<Vec<VariantRecord>> {
        let dir = self.staging.join(job.id.to_string());
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        renditions
            .iter()
            .map(|r| {
                let staged_path = dir.join(format!("{}.{}", r.variant, r.extension));
                std::fs::write(&staged_path, &r.bytes).map_err(|e| Error::io(&staged_path, e))?;
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
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::transport::{BoxFuture, PutOutcome, TransportError};

    /// Records puts in memory; refuses keys containing `refuse`.
    #[derive(Default)]
    struct FakeTransport {
        refuse: Option<String>,
        puts: Mutex<Vec<PutObject>>,
    }

    impl Transport for FakeTransport {
        fn put_object(
            &self,
            object: PutObject,
        ) -> BoxFuture<'_, Result<PutOutcome, TransportError>> {
            Box::pin(async move {
                if self
                    .refuse
                    .as_ref()
                    .is_some_and(|r| object.key.contains(r.as_str()))
                {
                    return Err(TransportError {
                        message: "AccessDenied".into(),
                        retryable: false,
                    });
                }
                self.puts.lock().unwrap().push(object);
                Ok(PutOutcome { etag: None })
            })
        }

        fn describe(&self) -> String {
            "fake".into()
        }
    }

    fn photo(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
        let path = dir.join(name);
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]))
            .save(&path)
            .unwrap();
        path
    }

    fn uploader(dir: &Path, transport: Arc<FakeTransport>) -> Arc<Uploader> {
        let mut config = Config::default();
        config.s3.bucket = "catalog".into();
        config.data_dir = Some(dir.join("data"));
        Uploader::with_transport(config, transport).unwrap()
    }

    #[tokio::test]
    async fn each_file_is_recorded_rendered_and_put_under_its_sku() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport::default());
        let up = uploader(dir.path(), transport.clone());
        let mut events = up.subscribe();
        let a = photo(dir.path(), "A1_front.png", 3000, 1000);
        let jobs = up.enqueue(&[a], None).unwrap();
        assert_eq!(
            (jobs[0].sku.as_str(), jobs[0].state),
            ("A1", JobState::Queued)
        );

        up.run_pending().await.unwrap();

        let job = up.store().job(jobs[0].id).unwrap();
        assert_eq!(job.state, JobState::Uploaded);
        assert_eq!(job.bytes_done, job.bytes_total);
        let puts = transport.puts.lock().unwrap();
        let keys: Vec<_> = puts.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "products/A1/A1_front-large.jpg",
                "products/A1/A1_front-thumb.jpg"
            ]
        );
        assert!(puts.iter().all(|p| p.content_type == "image/jpeg"));
        // Staged copies go once the server has confirmed them.
        assert!(
            !dir.path()
                .join("data/staging")
                .join(job.id.to_string())
                .exists()
        );

        let mut seen = Vec::new();
        while let Ok(event) = events.try_recv() {
            seen.push(match event {
                Event::JobAdded(j) | Event::JobChanged(j) => j.state.to_string(),
                Event::Progress { .. } => "progress".into(),
            });
        }
        assert_eq!(
            seen,
            [
                "queued",
                "processing",
                "uploading",
                "progress",
                "progress",
                "uploaded"
            ]
        );
    }

    #[tokio::test]
    async fn a_refused_upload_fails_that_file_only_naming_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport {
            refuse: Some("B2/".into()),
            ..Default::default()
        });
        let up = uploader(dir.path(), transport.clone());
        let a = photo(dir.path(), "A1_x.png", 64, 64);
        let b = photo(dir.path(), "B2_x.png", 64, 64);
        let jobs = up.enqueue(&[a, b], None).unwrap();
        up.run_pending().await.unwrap();

        let a = up.store().job(jobs[0].id).unwrap();
        let b = up.store().job(jobs[1].id).unwrap();
        assert_eq!(a.state, JobState::Uploaded);
        assert_eq!(b.state, JobState::Failed);
        let error = b.last_error.unwrap();
        assert!(
            error.contains("B2_x.png")
                && error.contains("products/B2/B2_x-large.jpg")
                && error.contains("AccessDenied"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn work_interrupted_by_a_crash_is_queued_again_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport::default());
        let id = {
            let up = uploader(dir.path(), transport.clone());
            let jobs = up
                .enqueue(&[photo(dir.path(), "C3.png", 32, 32)], None)
                .unwrap();
            // Claimed, then the process "dies" before finishing.
            up.claim_next().unwrap().unwrap();
            jobs[0].id
        };
        let up = uploader(dir.path(), transport.clone());
        assert_eq!(up.store().job(id).unwrap().state, JobState::Queued);
        up.run_pending().await.unwrap();
        assert_eq!(up.store().job(id).unwrap().state, JobState::Uploaded);
    }
}
