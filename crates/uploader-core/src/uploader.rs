//! The service both front ends drive: record dropped files as jobs, then render and upload
//! them (the scheduler is in `queue/runner.rs`), announcing every step on the event bus.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{Notify, broadcast};

use crate::clock::{Clock, SystemClock};
use crate::config::{AppDirs, Config, Mode, OsKeyring, backend_token};
use crate::events::{Event, EventBus};
use crate::naming::Naming;
use crate::pipeline::Recipe;
use crate::preferences::Preferences;
use crate::queue::{Connectivity, Meter, Slots, Throttle, Tuning};
use crate::store::{Enqueued, NewJob, Store};
use crate::transport::{Backend, Companion, S3Direct, Transport};
use crate::{Error, Result};

/// Whether [`Uploader::open_with`] needs what signs uploads to be there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// A command that is about to upload: no token is an error at once.
    Required,
    /// The window: it opens, says what is missing, and lets an admin store it.
    CanWait,
}

pub struct Uploader {
    pub(crate) config: Config,
    pub(crate) store: Store,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) events: EventBus,
    pub(crate) recipe: Arc<Recipe>,
    pub(crate) naming: Naming,
    pub(crate) staging: PathBuf,
    pub(crate) thumbnails: crate::thumbnail::Thumbnails,
    pub(crate) wake: Notify,
    /// Wakes the outbox's sender when a deletion is recorded.
    pub(crate) outbox_wake: Notify,
    /// This process's lease owner id.
    pub(crate) owner: String,
    /// Held while this process is the data dir's runner; `None` if another process runs it.
    pub(crate) runner_lock: Option<File>,
    pub(crate) slots: Slots,
    pub(crate) connectivity: Arc<Connectivity>,
    pub(crate) throttle: Throttle,
    pub(crate) tuning: Tuning,
    pub(crate) meter: Meter,
}

impl Uploader {
    /// Opens the data dir named by `config` and uploads as its mode says: direct with the
    /// keyring's AWS keys or else the AWS chain, or through the backend with the token from
    /// the environment or the keyring.
    pub async fn open(config: Config) -> Result<Arc<Self>> {
        Self::open_with(config, Signing::Required).await
    }

    /// Like [`Uploader::open`]; with [`Signing::CanWait`] a workstation with no backend token
    /// yet opens all the same (the window, where an admin can then store one), and says it has
    /// no credentials.
    pub async fn open_with(config: Config, signing: Signing) -> Result<Arc<Self>> {
        config.validate()?;
        let transport: Arc<dyn Transport> = match config.mode {
            Mode::Direct => Arc::new(S3Direct::for_workstation(&config.s3, &config.upload).await),
            Mode::Backend => {
                let token = match backend_token(&|k| std::env::var(k).ok(), &OsKeyring) {
                    Ok(token) => token,
                    Err(_) if signing == Signing::CanWait => String::new(),
                    Err(e) => return Err(e),
                };
                let url = config.backend.url.as_deref().unwrap_or_default();
                let backend = Backend::new(url, &token, &config.s3.prefix, &config.upload)
                    .map_err(|e| Error::config("backend.url", e.message))?;
                Arc::new(backend)
            }
            Mode::Companion => {
                // Companion itself checks no token; a proxy in front of it may.
                let token = backend_token(&|k| std::env::var(k).ok(), &OsKeyring).ok();
                let url = config.backend.url.as_deref().unwrap_or_default();
                let companion =
                    Companion::new(url, token.as_deref(), &config.s3.prefix, &config.upload)
                        .map_err(|e| Error::config("backend.url", e.message))?;
                Arc::new(companion)
            }
        };
        tracing::info!(
            mode = ?config.mode,
            destination = %transport.describe(),
            "opened"
        );
        Self::with_transport(config, transport)
    }

    /// Like [`Uploader::open`] with a transport of the caller's choosing.
    pub fn with_transport(config: Config, transport: Arc<dyn Transport>) -> Result<Arc<Self>> {
        Self::with_parts(config, transport, Arc::new(SystemClock), Tuning::default())
    }

    /// Everything injected: the transport, the clock and the queue's timings.
    pub fn with_parts(
        config: Config,
        transport: Arc<dyn Transport>,
        clock: Arc<dyn Clock>,
        tuning: Tuning,
    ) -> Result<Arc<Self>> {
        config.validate()?;
        let data_dir = config
            .data_dir
            .clone()
            .ok_or_else(|| Error::config("data_dir", "not set"))?;
        let store = Store::open(&AppDirs::database(&data_dir), clock)?;
        store.set_outbox_max_attempts(config.outbox.max_attempts);
        let runner_lock = runner_lock(&data_dir)?;
        // The settings screen's choices, if any, over the config file's.
        let preferences = store
            .preferences()?
            .unwrap_or_else(|| Preferences::from_config(&config))
            .within_locks(&config);
        Ok(Arc::new(Self {
            naming: Naming::new(&config, &config.s3.prefix),
            staging: AppDirs::staging(&data_dir),
            thumbnails: crate::thumbnail::Thumbnails::new(AppDirs::thumbnails(&data_dir), &config),
            recipe: Arc::new(Recipe::from_config(&config)),
            events: EventBus::new(),
            wake: Notify::new(),
            outbox_wake: Notify::new(),
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4()),
            runner_lock,
            slots: Slots::new(preferences.concurrency),
            connectivity: Arc::new(Connectivity::new(tuning.probe_first, tuning.probe_max)),
            throttle: Throttle::new(preferences.bytes_per_second()),
            tuning,
            meter: Meter::new(std::time::Duration::from_millis(250)),
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

    /// Something wrong with this computer's clock that a person should fix, once known.
    pub fn clock_warning(&self) -> Option<String> {
        self.transport.clock_warning()
    }

    /// Whether this workstation can sign in: a masked key id or why not, never the secret.
    pub async fn credentials(&self) -> crate::transport::CredentialStatus {
        self.transport.credentials().await
    }

    pub fn destination(&self) -> String {
        self.transport.describe()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Whether the server could be reached at the last try.
    pub fn is_online(&self) -> bool {
        self.connectivity.is_online()
    }

    /// Records a batch with a job for every file in `paths` (folders are walked) before any
    /// work starts. `sku` applies to all of them; otherwise each file's SKU is read from its
    /// name. A file already recorded unchanged is not recorded twice.
    pub fn enqueue(&self, paths: &[PathBuf], sku: Option<&str>) -> Result<Enqueued> {
        self.enqueue_with(
            paths,
            &EnqueueOptions {
                sku,
                ..EnqueueOptions::default()
            },
        )
    }

    /// Like [`Uploader::enqueue`], with every option.
    pub fn enqueue_with(
        &self,
        paths: &[PathBuf],
        options: &EnqueueOptions<'_>,
    ) -> Result<Enqueued> {
        let files = if options.as_is {
            crate::intake::expand_all(paths)
        } else {
            crate::intake::expand(paths)
        };
        self.record(files, paths, options)
    }

    /// Like [`Uploader::enqueue`] for files uploaded byte for byte, not through the image
    /// pipeline, to `{prefix}{sku}/{file name}`; folders give all their files.
    pub fn enqueue_as_is(&self, paths: &[PathBuf], sku: Option<&str>) -> Result<Enqueued> {
        self.enqueue_with(
            paths,
            &EnqueueOptions {
                sku,
                as_is: true,
                ..EnqueueOptions::default()
            },
        )
    }

    fn record(
        &self,
        files: Vec<PathBuf>,
        paths: &[PathBuf],
        options: &EnqueueOptions<'_>,
    ) -> Result<Enqueued> {
        let label = match paths {
            [one] => one.display().to_string(),
            _ => format!("{} files", files.len()),
        };
        // One file's record at a time goes into the transaction: no second list of 10,000.
        let job = |source_path: &PathBuf| {
            let meta = std::fs::metadata(source_path).ok();
            NewJob {
                sku: self.naming.sku(source_path, options.sku),
                source_size: meta.as_ref().map_or(0, |m| m.len()),
                source_mtime: meta
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_millis() as i64),
                source_path: source_path.clone(),
                as_is: options.as_is,
                replaces: options.replace,
                replaces_job: options.replace_job,
            }
        };
        let done = self.store.enqueue(
            &label,
            files.iter().map(job),
            self.config.upload.max_attempts,
        )?;
        // Read back a chunk at a time: two queries per chunk, not per file.
        for chunk in done.added.chunks(256) {
            for job in self.store.jobs_in(chunk).unwrap_or_default() {
                self.events.send(Event::JobAdded(job));
            }
        }
        self.wake.notify_one();
        Ok(done)
    }

    /// A small upright JPEG preview of a source photo (cached; see [`crate::thumbnail`]).
    pub fn thumbnail(&self, path: &std::path::Path) -> Result<Vec<u8>> {
        self.thumbnails.of_file(path)
    }

    /// Wakes the scheduler, e.g. after a pause, resume or retry recorded in the store.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// How files are queued.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnqueueOptions<'a> {
    /// The SKU of every file; otherwise each file's SKU is read from its name.
    pub sku: Option<&'a str>,
    /// Uploaded byte for byte, not through the image pipeline.
    pub as_is: bool,
    /// Once a file is uploaded, its SKU's images from earlier batches are deleted.
    pub replace: bool,
    /// Once the file is uploaded, this job's image is deleted (keys it overwrote aside).
    pub replace_job: Option<i64>,
}

/// One runner per data dir: the lock is released by the OS when the process dies, so the
/// next runner knows that every lease it finds was left by a crash.
fn runner_lock(data_dir: &std::path::Path) -> Result<Option<File>> {
    crate::private::create_dir(data_dir).map_err(|e| Error::io(data_dir, e))?;
    let path = data_dir.join("runner.lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::queue::{Backoff, JobState};
    use crate::transport::{
        BoxFuture, CompletedPart, ErrorKind, ObjectInfo, PutObject, ServerPart, TransportError,
        TransportResult,
    };

    /// An in-memory bucket. Refuses keys containing `refuse`; fails the next `fail_next`
    /// requests with a 5xx; while `down`, nothing (probes included) gets an answer.
    #[derive(Default)]
    struct FakeTransport {
        refuse: Option<String>,
        fail_next: AtomicUsize,
        down: AtomicBool,
        puts: Mutex<Vec<PutObject>>,
        objects: Mutex<HashMap<String, PutObject>>,
        requests: AtomicUsize,
        /// Each PUT takes this long, so that requests overlap.
        put_delay: Option<Duration>,
        in_flight: AtomicUsize,
        most_in_flight: AtomicUsize,
    }

    impl FakeTransport {
        fn answer(&self, key: &str) -> TransportResult<()> {
            self.requests.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                return Err(TransportError::new(
                    ErrorKind::Network,
                    "connection refused",
                ));
            }
            if self
                .refuse
                .as_ref()
                .is_some_and(|r| key.contains(r.as_str()))
            {
                return Err(TransportError::new(ErrorKind::Permanent, "AccessDenied"));
            }
            let failing = self
                .fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if failing.is_ok() {
                return Err(TransportError::new(ErrorKind::Server, "InternalError"));
            }
            Ok(())
        }
    }

    impl Transport for FakeTransport {
        fn put_object(&self, object: PutObject) -> BoxFuture<'_, TransportResult<Option<String>>> {
            Box::pin(async move {
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.most_in_flight.fetch_max(now, Ordering::SeqCst);
                if let Some(delay) = self.put_delay {
                    tokio::time::sleep(delay).await;
                }
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                self.answer(&object.key)?;
                self.objects
                    .lock()
                    .unwrap()
                    .insert(object.key.clone(), object.clone());
                self.puts.lock().unwrap().push(object);
                Ok(None)
            })
        }

        fn head_object<'a>(
            &'a self,
            key: &'a str,
        ) -> BoxFuture<'a, TransportResult<Option<ObjectInfo>>> {
            Box::pin(async move {
                self.answer(key)?;
                Ok(self.objects.lock().unwrap().get(key).map(|o| ObjectInfo {
                    size: o.body.len() as u64,
                    sha256: Some(o.sha256.clone()),
                    etag: None,
                    object_id: Some(o.object_id.clone()),
                    version_id: None,
                    last_modified_ms: None,
                }))
            })
        }

        fn create_multipart<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
            _: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, TransportResult<String>> {
            Box::pin(async {
                Err(TransportError::new(
                    ErrorKind::Permanent,
                    "no multipart here",
                ))
            })
        }

        fn upload_part<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
            _: u32,
            _: crate::transport::FileRange,
            _: &'a str,
        ) -> BoxFuture<'a, TransportResult<String>> {
            Box::pin(async {
                Err(TransportError::new(
                    ErrorKind::Permanent,
                    "no multipart here",
                ))
            })
        }

        fn list_parts<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, TransportResult<Vec<ServerPart>>> {
            Box::pin(async { Err(TransportError::new(ErrorKind::Gone, "NoSuchUpload")) })
        }

        fn complete_multipart<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
            _: Vec<CompletedPart>,
        ) -> BoxFuture<'a, TransportResult<Option<String>>> {
            Box::pin(async { Err(TransportError::new(ErrorKind::Gone, "NoSuchUpload")) })
        }

        fn list_multipart_uploads<'a>(
            &'a self,
            _: &'a str,
        ) -> BoxFuture<'a, TransportResult<Vec<String>>> {
            Box::pin(async { Ok(Vec::new()) })
        }

        fn abort_multipart<'a>(
            &'a self,
            _: &'a str,
            _: &'a str,
        ) -> BoxFuture<'a, TransportResult<()>> {
            Box::pin(async { Ok(()) })
        }

        fn probe(&self) -> BoxFuture<'_, TransportResult<()>> {
            Box::pin(async { self.answer("") })
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

    fn enqueued(up: &Uploader, done: Result<Enqueued>) -> Vec<crate::store::JobRecord> {
        up.store().jobs_in(&done.unwrap().ids).unwrap()
    }

    fn quick() -> Tuning {
        Tuning {
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_millis(50),
            backoff: Backoff {
                base: Duration::from_millis(10),
                cap: Duration::from_millis(40),
            },
            probe_first: Duration::from_millis(20),
            probe_max: Duration::from_millis(40),
        }
    }

    fn uploader(dir: &Path, transport: Arc<FakeTransport>) -> Arc<Uploader> {
        let mut config = Config::default();
        config.s3.bucket = "catalog".into();
        config.data_dir = Some(dir.join("data"));
        config.upload.max_attempts = 4;
        Uploader::with_parts(config, transport, Arc::new(SystemClock), quick()).unwrap()
    }

    #[tokio::test]
    async fn a_drop_is_reviewed_with_skus_keys_and_what_to_check_before_anything_is_recorded() {
        use crate::intake::{Note, SourceFormat};
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport::default());
        let up = uploader(dir.path(), transport.clone());
        let shoot = dir.path().join("shoot");
        std::fs::create_dir_all(&shoot).unwrap();
        let front = photo(&shoot, "A1_front.png", 3000, 1000);
        photo(&shoot, "B2_small.png", 300, 200);
        photo(&shoot, "nosku.png", 1200, 1200);
        std::fs::write(shoot.join("C3_notes.jpg"), "not a photo").unwrap();
        std::fs::write(shoot.join("readme.txt"), "shot on Tuesday").unwrap();

        let review = up.review(std::slice::from_ref(&shoot), None).unwrap();
        assert_eq!(review.skipped, 1, "readme.txt");
        let by_name = |name: &str| {
            review
                .items
                .iter()
                .find(|i| i.path.ends_with(name))
                .unwrap_or_else(|| panic!("{name} is not in the review"))
        };
        let a = by_name("A1_front.png");
        assert_eq!(
            (a.sku.as_str(), a.format, a.width, a.height),
            ("A1", Some(SourceFormat::Png), Some(3000), Some(1000))
        );
        assert_eq!(
            a.keys,
            [
                "products/A1/A1_front-large.jpg",
                "products/A1/A1_front-thumb.jpg"
            ]
        );
        assert!(a.notes.is_empty() && a.usable(), "{:?}", a.notes);
        let small = by_name("B2_small.png");
        assert_eq!(
            small.notes,
            [Note::TooSmall {
                longest_edge: 300,
                minimum: 1000
            }]
        );
        assert!(small.usable());
        assert_eq!(by_name("nosku.png").notes[0].code(), "no_sku");
        let notes = by_name("C3_notes.jpg");
        assert!(!notes.usable());
        assert!(
            notes.notes[0].message().contains("not an image"),
            "{}",
            notes.notes[0].message()
        );
        assert!(
            up.store().jobs().unwrap().is_empty(),
            "a review records nothing"
        );

        // Once uploaded, the same file is "already uploaded", and a copy under another name is
        // a duplicate naming the key it is already at.
        enqueued(&up, up.enqueue(std::slice::from_ref(&front), None));
        up.run_pending().await.unwrap();
        let copy = shoot.join("A1_copy.png");
        std::fs::copy(&front, &copy).unwrap();
        let again = up.review(&[front, copy], None).unwrap();
        assert_eq!(
            again.items[0].notes,
            [Note::AlreadyRecorded {
                state: JobState::Uploaded
            }]
        );
        assert_eq!(
            again.items[1].notes,
            [Note::Duplicate {
                key: "products/A1/A1_front-large.jpg".into(),
                source_path: shoot.join("A1_front.png").to_string_lossy().into_owned(),
            }]
        );

        // A SKU typed once for the batch applies to every file, and the pattern is not asked.
        let typed = up.review(&[shoot.join("nosku.png")], Some("Z9")).unwrap();
        assert_eq!(typed.items[0].sku, "Z9");
        assert!(
            typed.items[0].notes.is_empty(),
            "{:?}",
            typed.items[0].notes
        );
    }

    #[tokio::test]
    async fn each_file_is_recorded_rendered_and_put_under_its_sku() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport::default());
        let up = uploader(dir.path(), transport.clone());
        let mut events = up.subscribe();
        let a = photo(dir.path(), "A1_front.png", 3000, 1000);
        let jobs = enqueued(&up, up.enqueue(&[a], None));
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
                Event::Connectivity { online } => format!("online {online}"),
                Event::OutboxChanged => "outbox".into(),
                Event::BatchProgress(p) => {
                    format!("batch {}/{}", p.totals.uploaded, p.totals.files)
                }
            });
        }
        assert_eq!(
            seen,
            [
                "queued",
                "processing",
                "staged",
                "batch 0/1",
                "uploading",
                "progress",
                // The last variant's bytes come with the job's end, recorded together.
                // Batch progress within 250 ms of the last is held back; the end is not.
                "uploaded",
                "batch 1/1"
            ]
        );
    }

    #[test]
    fn within_one_drop_a_copy_is_flagged_and_a_name_clash_is_left_out() {
        use crate::intake::Note;
        let dir = tempfile::tempdir().unwrap();
        let up = uploader(dir.path(), Arc::new(FakeTransport::default()));
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        let front = photo(&a, "A1_front.png", 1200, 1000);
        // Walked in name order: the copy comes after the photo it copies.
        std::fs::copy(&front, a.join("A1_side.png")).unwrap();
        // Same name and SKU from another folder, other pixels: the same keys.
        photo(&b, "A1_front.png", 1300, 1000);

        let review = up.review(&[a, b], None).unwrap();
        let notes = |dir: &str, name: &str| -> Vec<Note> {
            review
                .items
                .iter()
                .find(|i| i.path.ends_with(Path::new(dir).join(name)))
                .unwrap_or_else(|| panic!("{dir}/{name} is not in the review"))
                .notes
                .clone()
        };
        assert_eq!(notes("a", "A1_front.png"), []);
        assert_eq!(
            notes("a", "A1_side.png"),
            [Note::Repeated {
                first: front.display().to_string()
            }]
        );
        let clash = notes("b", "A1_front.png");
        assert_eq!(
            clash,
            [Note::KeyClash {
                first: front.display().to_string()
            }]
        );
        assert!(clash[0].excludes(), "it would overwrite the first");
    }

    #[tokio::test]
    async fn the_users_concurrency_bounds_requests_in_flight_and_outlives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport {
            put_delay: Some(Duration::from_millis(30)),
            ..Default::default()
        });
        let up = uploader(dir.path(), transport.clone());
        let first = up.preferences().unwrap();
        assert!(!first.saved);
        assert_eq!(first.preferences.concurrency, 8, "the config file's value");
        let chosen = Preferences {
            concurrency: 2,
            max_mb_per_second: Some(50.0),
            hidden_variants: vec!["thumb".into()],
        };
        let saved = up.set_preferences(chosen.clone()).await.unwrap();
        assert!(saved.saved);
        assert_eq!(saved.preferences, chosen);

        let photos: Vec<PathBuf> = (0..6)
            .map(|i| photo(dir.path(), &format!("A{i}_front.png"), 64, 48))
            .collect();
        enqueued(&up, up.enqueue(&photos, None));
        up.run_pending().await.unwrap();
        assert_eq!(transport.puts.lock().unwrap().len(), 12);
        assert_eq!(transport.most_in_flight.load(Ordering::SeqCst), 2);
        drop(up);

        // The next start (or the CLI on this workstation) keeps the choice; a reset undoes it.
        let again = uploader(dir.path(), transport.clone());
        assert_eq!(again.preferences().unwrap().preferences, chosen);
        assert_eq!(again.slots.size(), 2);
        let reset = again.reset_preferences().await.unwrap();
        assert!(!reset.saved);
        assert_eq!(again.slots.size(), 8);
        assert_eq!(again.throttle.rate(), None);
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
        let jobs = enqueued(&up, up.enqueue(&[a, b], None));
        up.run_pending().await.unwrap();

        let a = up.store().job(jobs[0].id).unwrap();
        let b = up.store().job(jobs[1].id).unwrap();
        assert_eq!(a.state, JobState::Uploaded);
        assert_eq!(
            (b.state, b.attempts),
            (JobState::Failed, 0),
            "no retry of a refusal"
        );
        let error = b.last_error.unwrap();
        assert!(
            error.contains("B2_x.png")
                && error.contains("products/B2/B2_x-large.jpg")
                && error.contains("AccessDenied"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn server_errors_are_retried_with_backoff_until_the_upload_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport {
            fail_next: AtomicUsize::new(2),
            ..Default::default()
        });
        let up = uploader(dir.path(), transport.clone());
        let jobs = enqueued(
            &up,
            up.enqueue(&[photo(dir.path(), "A1_x.png", 64, 64)], None),
        );
        up.run_pending().await.unwrap();
        let job = up.store().job(jobs[0].id).unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Uploaded, 2));
        assert_eq!(job.last_error, None);
    }

    #[tokio::test]
    async fn while_the_server_is_unreachable_no_attempt_is_counted() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport::default());
        transport.down.store(true, Ordering::SeqCst);
        let up = uploader(dir.path(), transport.clone());
        let jobs = enqueued(
            &up,
            up.enqueue(&[photo(dir.path(), "A1_x.png", 64, 64)], None),
        );
        let mut events = up.subscribe();
        let run = tokio::spawn({
            let up = Arc::clone(&up);
            async move { up.run_pending().await }
        });
        // Offline for longer than max_attempts backoffs would take.
        while !matches!(
            events.recv().await,
            Ok(Event::Connectivity { online: false })
        ) {}
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!up.is_online());
        assert!(
            transport.requests.load(Ordering::SeqCst) > 4,
            "it kept probing"
        );
        transport.down.store(false, Ordering::SeqCst);
        run.await.unwrap().unwrap();
        let job = up.store().job(jobs[0].id).unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Uploaded, 0));
        assert!(up.is_online());
    }

    #[tokio::test]
    async fn work_left_by_a_crashed_process_is_taken_over_on_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport::default());
        let id = {
            let up = uploader(dir.path(), transport.clone());
            let jobs = enqueued(
                &up,
                up.enqueue(&[photo(dir.path(), "C3.png", 32, 32)], None),
            );
            // Claimed, then the process "dies" before finishing: its lease is 30 s long.
            up.store()
                .claim(&up.owner, JobState::Queued, 30_000)
                .unwrap()
                .unwrap();
            jobs[0].id
        };
        // A cancelled job's staged copy, left behind, goes at the next start.
        let stale = dir.path().join("data/staging/999");
        std::fs::create_dir_all(&stale).unwrap();
        let up = uploader(dir.path(), transport.clone());
        up.run_pending().await.unwrap();
        assert_eq!(up.store().job(id).unwrap().state, JobState::Uploaded);
        assert!(!stale.exists());
    }

    #[tokio::test]
    async fn the_same_bytes_for_the_same_key_are_sent_once() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport::default());
        let up = uploader(dir.path(), transport.clone());
        let a = photo(dir.path(), "D4_x.png", 64, 64);
        let first = up.enqueue(std::slice::from_ref(&a), None).unwrap();
        up.run_pending().await.unwrap();
        let sent = transport.puts.lock().unwrap().len();
        // Dropped again unchanged: recognised, nothing new recorded or sent.
        let again = up.enqueue(std::slice::from_ref(&a), None).unwrap();
        assert!(again.added.is_empty());
        assert_eq!(again.ids, first.ids);
        assert_eq!(
            up.store().job(again.ids[0]).unwrap().state,
            JobState::Uploaded
        );
        // Touched (same bytes, new mtime): a new job, whose identical variants are not sent.
        let bytes = std::fs::read(&a).unwrap();
        std::fs::remove_file(&a).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&a, bytes).unwrap();
        let touched = up.enqueue(&[a], None).unwrap();
        assert_eq!(touched.added.len(), 1);
        up.run_pending().await.unwrap();
        assert_eq!(transport.puts.lock().unwrap().len(), sent);
        assert_eq!(
            up.store().job(touched.added[0]).unwrap().state,
            JobState::Uploaded
        );
    }

    #[tokio::test]
    async fn a_staged_file_gone_before_its_upload_fails_that_job_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let transport = Arc::new(FakeTransport::default());
        let up = uploader(dir.path(), transport.clone());
        let file = dir.path().join("E5_spec.pdf");
        std::fs::write(&file, b"%PDF-1.7").unwrap();
        let id = up
            .enqueue_as_is(std::slice::from_ref(&file), None)
            .unwrap()
            .ids[0];
        let job = up
            .store()
            .claim(&up.owner, JobState::Queued, 30_000)
            .unwrap()
            .unwrap();
        Arc::clone(&up).render_job(job).await;
        assert_eq!(up.store().job(id).unwrap().state, JobState::Staged);
        std::fs::remove_file(&file).unwrap();
        up.run_pending().await.unwrap();
        let job = up.store().job(id).unwrap();
        assert_eq!(job.state, JobState::Failed);
        let error = job.last_error.unwrap();
        assert!(
            error.contains("E5_spec.pdf") && error.contains("cannot read"),
            "{error}"
        );
        assert!(transport.puts.lock().unwrap().is_empty());
    }
}
