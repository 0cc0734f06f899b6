//! The upload stage: a claimed job's variants are put into the bucket. Small ones go in one
//! request with their SHA-256; large ones in parts, several at once, each recorded when the
//! server confirms it, so a restart continues from the parts already there.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use tokio::task::JoinSet;

use super::part_plan;
use crate::events::Event;
use crate::store::{Confirmed, JobRecord, PartRecord, VariantRecord};
use crate::transport::{
    CompletedPart, ErrorKind, FileRange, PutObject, Registration, TransportError,
};
use crate::{Error, Uploader};

/// Why a send stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The server or the network; what to do depends on the kind.
    Transport(TransportError),
    /// The local database, or the lease was lost.
    Store(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Store(e)
    }
}

type Sent<T> = Result<T, Failure>;

/// The ETag the server answered for an object, if it said one.
type Etag = Option<String>;

/// What a variant's key holds once it is sent (or found already there).
#[derive(Debug, Clone, Default)]
struct Landed {
    etag: Etag,
    /// The upload id the key holds: the variant's own, or the one found there when the key
    /// already held these bytes and nothing was sent.
    object_id: Option<String>,
}

impl Uploader {
    /// Sends a job this worker holds and records the outcome.
    pub(crate) async fn send_job(self: Arc<Self>, job: JobRecord) {
        let id = job.id;
        let outcome = match self.send_variants(&job).await {
            Ok(last) => {
                let last = last.as_ref().map(|(variant, landed)| Confirmed {
                    variant,
                    etag: landed.etag.as_deref(),
                    object_id: landed.object_id.as_deref(),
                });
                self.store.finish(id, &self.owner, last)
            }
            Err(Failure::Store(e)) => Err(e),
            Err(Failure::Transport(error)) => {
                let message = format!("{}: {error}", job.source_path.display());
                match error.kind {
                    ErrorKind::Permanent => self.store.fail(id, &self.owner, &message),
                    // No answer, or a server that fails or throttles even the probe (an S3
                    // incident, a backend being deployed, a proxy answering 502): offline,
                    // and not the file's fault, so no attempt is counted however long it lasts.
                    kind if kind.is_unavailable()
                        && !self.connectivity.check(&self.transport, &self.events).await =>
                    {
                        self.store.release(id, &self.owner, Some(&message))
                    }
                    kind => {
                        let at = self.retry_at(kind, job.attempts + 1);
                        self.store.retry_later(id, &self.owner, &message, at)
                    }
                }
            }
        };
        self.announce(id, outcome);
    }

    /// Sends the variants not uploaded yet. Each is recorded as the server confirms it, but
    /// the last: its name and what landed are returned, for `finish` to record with the job.
    async fn send_variants(self: &Arc<Self>, job: &JobRecord) -> Sent<Option<(String, Landed)>> {
        let mut last = None;
        for variant in job.variants.iter().filter(|v| !v.uploaded) {
            if let Some((name, landed)) = last.take() {
                self.record_uploaded(job, name, landed)?;
            }
            let landed = self.send_variant(job, variant).await.map_err(|f| match f {
                Failure::Transport(e) => Failure::Transport(TransportError::new(
                    e.kind,
                    format!("upload of `{}` failed: {}", variant.object_key, e.message),
                )),
                other => other,
            })?;
            last = Some((variant.name.clone(), landed));
        }
        Ok(last)
    }

    /// Puts the variant into the bucket (or finds it there), tells the catalog, and returns
    /// what the key holds. Claiming the job marked the send as started.
    async fn send_variant(self: &Arc<Self>, job: &JobRecord, v: &VariantRecord) -> Sent<Landed> {
        // The same bytes are not sent again to a key that holds them now: the workstation's
        // record says so, and the server confirms it is still that very upload (another
        // workstation may have deleted or replaced it meanwhile).
        if let Some(current) = self.store.current_object(&v.object_key)?
            && current.sha256 == v.sha256
            && self.holds(&current).await?
        {
            return Ok(Landed {
                etag: current.etag,
                object_id: current.object_id,
            });
        }
        let object_id = v.object_id.clone().ok_or_else(|| {
            Failure::Transport(TransportError::new(
                ErrorKind::Permanent,
                format!(
                    "`{}` was staged without an upload id; retry stages it again",
                    v.object_key
                ),
            ))
        })?;
        let etag = if v.bytes < self.config.upload.multipart_threshold_mb * 1024 * 1024 {
            if v.attempted && self.already_there(v).await? {
                None
            } else {
                self.send_whole(v, &object_id).await?
            }
        } else {
            self.send_multipart(job, v, &object_id).await?
        };
        // Until the catalog acknowledges it, the variant is not done: a retry finds the
        // object there and registers it again, which is safe.
        self.register(job, v, etag.as_deref(), &object_id).await?;
        Ok(Landed {
            etag,
            object_id: Some(object_id),
        })
    }

    /// Whether the key still holds `current`, the upload this workstation recorded there.
    async fn holds(&self, current: &crate::store::CurrentObject) -> Sent<bool> {
        Ok(self
            .head(&current.key)
            .await?
            .is_some_and(|o| current.is(&o)))
    }

    /// What `key` holds now (a HEAD, in a request slot); `None` also when the HEAD is refused:
    /// AWS answers 403, not 404, for a missing key to a caller that may not list the bucket.
    /// The bytes and the key are the same either way, so the photo is sent again.
    async fn head(&self, key: &str) -> Sent<Option<crate::transport::ObjectInfo>> {
        let _permit = self.request_slot().await;
        match self.transport.head_object(key).await {
            Ok(info) => Ok(info),
            Err(e) if e.kind == ErrorKind::Permanent => {
                tracing::info!(key, "a HEAD was refused ({e}); sending the photo again");
                Ok(None)
            }
            Err(e) => Err(Failure::Transport(e)),
        }
    }

    async fn send_whole(&self, v: &VariantRecord, object_id: &str) -> Sent<Etag> {
        let path = staged_path(v)?;
        // Not hashed again here: S3 checks the bytes against the SHA-256 header.
        let body = tokio::fs::read(path)
            .await
            .map(Bytes::from)
            .map_err(|e| unreadable(path, e))?;
        let _permit = self.request_slot().await;
        self.throttle(v.bytes).await;
        self.transport
            .put_object(PutObject {
                key: v.object_key.clone(),
                body,
                content_type: v.content_type.clone(),
                sha256: v.sha256.clone(),
                object_id: object_id.to_string(),
            })
            .await
            .map_err(Failure::Transport)
    }

    async fn register(
        &self,
        job: &JobRecord,
        v: &VariantRecord,
        etag: Option<&str>,
        object_id: &str,
    ) -> Sent<()> {
        let registration = Registration {
            key: v.object_key.clone(),
            size: v.bytes,
            sha256: v.sha256.clone(),
            etag: etag.map(str::to_string),
            sku: job.sku.clone(),
            variant: v.name.clone(),
            original_name: job
                .source_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            width: v.width,
            height: v.height,
            object_id: Some(object_id.to_string()),
        };
        // No request slot: a control call, and a no-op in direct mode.
        self.transport
            .register(&registration)
            .await
            .map_err(Failure::Transport)
    }

    /// Whether this very upload is already in the bucket (its outcome was unknown): our bytes
    /// under our upload id. The same bytes put there by someone else do not count: this
    /// workstation's record must name what the key holds.
    async fn already_there(&self, v: &VariantRecord) -> Sent<bool> {
        let Some(id) = v.object_id.as_deref() else {
            return Ok(false);
        };
        Ok(self
            .head(&v.object_key)
            .await?
            .is_some_and(|o| o.is_upload(v.bytes, &v.sha256, Some(id))))
    }

    fn record_uploaded(&self, job: &JobRecord, variant: String, landed: Landed) -> Sent<()> {
        let confirmed = Confirmed {
            variant: &variant,
            etag: landed.etag.as_deref(),
            object_id: landed.object_id.as_deref(),
        };
        let record = self
            .store
            .variant_uploaded(job.id, &self.owner, confirmed)?;
        self.progress(&record);
        Ok(())
    }

    fn progress(&self, job: &JobRecord) {
        self.events.send(Event::Progress {
            job_id: job.id,
            bytes_done: job.bytes_done,
            bytes_total: job.bytes_total,
        });
        self.batch_progress(job.batch_id);
    }

    async fn send_multipart(
        self: &Arc<Self>,
        job: &JobRecord,
        v: &VariantRecord,
        object_id: &str,
    ) -> Sent<Etag> {
        let path = staged_path(v)?.to_path_buf();
        let size = part_plan::part_size(v.bytes, self.config.upload.part_size_mb * 1024 * 1024);
        let plan: Vec<part_plan::Part> = part_plan::parts(v.bytes, size).collect();
        let (upload_id, mut done) = match self.resume_multipart(job, v, &plan, object_id).await? {
            Resume::AlreadyThere => return Ok(None),
            Resume::From(upload_id, done) => (upload_id, done),
        };

        let mut sending = JoinSet::new();
        for part in plan
            .iter()
            .filter(|p| !done.contains_key(&p.number))
            .copied()
        {
            let this = Arc::clone(self);
            let (path, key, upload_id, name) = (
                path.clone(),
                v.object_key.clone(),
                upload_id.clone(),
                v.name.clone(),
            );
            let job_id = job.id;
            sending.spawn(async move {
                let _permit = this.request_slot().await;
                let range = FileRange {
                    path: path.clone(),
                    offset: part.offset,
                    len: part.len,
                };
                let crc32c = part_crc32c(range.clone()).await?;
                this.throttle(part.len).await;
                let etag = this
                    .transport
                    .upload_part(&key, &upload_id, part.number, range, &crc32c)
                    .await
                    .map_err(Failure::Transport)?;
                let record = PartRecord {
                    part_number: part.number,
                    bytes: part.len,
                    etag,
                    crc32c,
                };
                let job = this
                    .store
                    .part_done(job_id, &this.owner, &name, &upload_id, &record)?;
                this.progress(&job);
                Ok::<_, Failure>(record)
            });
        }
        while let Some(joined) = sending.join_next().await {
            let record = joined.map_err(|e| {
                Failure::Transport(TransportError::new(
                    ErrorKind::Server,
                    format!("a part upload crashed: {e}"),
                ))
            })??;
            done.insert(record.part_number, record);
        }
        self.check_whole(job, v, &path, &upload_id, &done).await?;

        let parts = done
            .into_values()
            .map(|p| CompletedPart {
                part_number: p.part_number,
                etag: p.etag,
                crc32c: p.crc32c,
            })
            .collect();
        let _permit = self.request_slot().await;
        match self
            .transport
            .complete_multipart(&v.object_key, &upload_id, parts)
            .await
        {
            Ok(etag) => Ok(etag),
            // Completed before a crash or a lost answer.
            Err(e) if e.kind == ErrorKind::Gone && self.already_there(v).await? => Ok(None),
            Err(e) => {
                if e.kind == ErrorKind::Gone {
                    self.store
                        .set_upload_id(job.id, &self.owner, &v.name, None)?;
                }
                Err(Failure::Transport(e))
            }
        }
    }

    /// Before completing: the parts must add up to the file as staged (`whole.rs`). If not,
    /// the upload is aborted and forgotten: a file that changed fails (retry reads it again),
    /// and one sent from mixed bytes is sent again from the start.
    async fn check_whole(
        &self,
        job: &JobRecord,
        v: &VariantRecord,
        path: &Path,
        upload_id: &str,
        parts: &BTreeMap<u32, PartRecord>,
    ) -> Sent<()> {
        let mismatch = match super::whole::check(path, &v.sha256, v.crc32c, parts).await {
            Ok(()) => return Ok(()),
            Err(super::whole::Mismatch::Unreadable(e)) => {
                return Err(Failure::Transport(TransportError::new(
                    ErrorKind::Permanent,
                    format!("cannot read {} again to check it: {e}", path.display()),
                )));
            }
            Err(mismatch) => mismatch,
        };
        {
            let _permit = self.request_slot().await;
            self.transport
                .abort_multipart(&v.object_key, upload_id)
                .await
                .map_err(Failure::Transport)?;
        }
        self.store
            .set_upload_id(job.id, &self.owner, &v.name, None)?;
        let (kind, why) = if mismatch == super::whole::Mismatch::FileChanged {
            (
                ErrorKind::Permanent,
                "the file changed while it was being uploaded, so the parts sent were abandoned; retry reads it again",
            )
        } else {
            (
                ErrorKind::Server,
                "the parts sent are not the file's bytes (it changed between parts), so they were abandoned and it is sent again",
            )
        };
        tracing::warn!(key = %v.object_key, file = %path.display(), "{why}");
        Err(Failure::Transport(TransportError::new(
            kind,
            format!("{}: {why}", path.display()),
        )))
    }

    /// The multipart upload to continue and the parts the server still has, or a new upload.
    async fn resume_multipart(
        &self,
        job: &JobRecord,
        v: &VariantRecord,
        plan: &[part_plan::Part],
        object_id: &str,
    ) -> Sent<Resume> {
        if let Some(upload_id) = &v.upload_id {
            let listed = {
                let _permit = self.request_slot().await;
                self.transport.list_parts(&v.object_key, upload_id).await
            };
            match listed {
                Ok(server) => {
                    let on_server: BTreeMap<u32, (u64, String)> = server
                        .into_iter()
                        .map(|p| (p.part_number, (p.size, unquote(&p.etag))))
                        .collect();
                    let mut kept = BTreeMap::new();
                    let mut stale = Vec::new();
                    for part in self.store.parts(job.id, &v.name)? {
                        let expected_len = plan.get(part.part_number as usize - 1).map(|p| p.len);
                        let matches =
                            on_server
                                .get(&part.part_number)
                                .is_some_and(|(size, etag)| {
                                    Some(*size) == expected_len && *etag == unquote(&part.etag)
                                });
                        if matches {
                            kept.insert(part.part_number, part);
                        } else {
                            stale.push(part.part_number);
                        }
                    }
                    if !stale.is_empty() {
                        self.store
                            .forget_parts(job.id, &self.owner, &v.name, &stale)?;
                    }
                    return Ok(Resume::From(upload_id.clone(), kept));
                }
                Err(e) if e.kind == ErrorKind::Gone => {
                    if self.already_there(v).await? {
                        return Ok(Resume::AlreadyThere);
                    }
                    self.store
                        .set_upload_id(job.id, &self.owner, &v.name, None)?;
                }
                Err(e) => return Err(Failure::Transport(e)),
            }
        } else if v.attempted {
            if self.already_there(v).await? {
                return Ok(Resume::AlreadyThere);
            }
            // A crash between the server starting an upload and its id being recorded
            // leaves it open: adopt the newest, abort the others.
            let _permit = self.request_slot().await;
            let mut open = self
                .transport
                .list_multipart_uploads(&v.object_key)
                .await
                .map_err(Failure::Transport)?;
            if let Some(newest) = open.pop() {
                for old in &open {
                    self.transport
                        .abort_multipart(&v.object_key, old)
                        .await
                        .map_err(Failure::Transport)?;
                }
                self.store
                    .set_upload_id(job.id, &self.owner, &v.name, Some(&newest))?;
                return Ok(Resume::From(newest, BTreeMap::new()));
            }
        }
        let upload_id = {
            let _permit = self.request_slot().await;
            self.transport
                .create_multipart(&v.object_key, &v.content_type, &v.sha256, object_id)
                .await
                .map_err(Failure::Transport)?
        };
        if let Err(e) = self
            .store
            .set_upload_id(job.id, &self.owner, &v.name, Some(&upload_id))
        {
            // Not recorded, so nothing would ever finish or abort it.
            let _ = self
                .transport
                .abort_multipart(&v.object_key, &upload_id)
                .await;
            return Err(e.into());
        }
        Ok(Resume::From(upload_id, BTreeMap::new()))
    }
}

enum Resume {
    AlreadyThere,
    From(String, BTreeMap<u32, PartRecord>),
}

fn staged_path(v: &VariantRecord) -> Sent<&Path> {
    v.staged_path.as_deref().ok_or_else(|| {
        Failure::Transport(TransportError::new(
            ErrorKind::Permanent,
            format!(
                "the staged copy of `{}` is gone; retry renders it again",
                v.object_key
            ),
        ))
    })
}

/// The part's CRC32C (base64), read in blocks on a blocking thread: memory stays flat.
async fn part_crc32c(range: FileRange) -> Sent<String> {
    let path = range.path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = std::fs::File::open(&range.path)?;
        file.seek(SeekFrom::Start(range.offset))?;
        let mut left = range.len;
        let mut crc = 0u32;
        let mut buf = vec![0u8; 256 * 1024];
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = file.read(&mut buf[..want])?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            crc = crc32c::crc32c_append(crc, &buf[..n]);
            left -= n as u64;
        }
        Ok(base64_crc32c(crc))
    })
    .await
    .map_err(|e| {
        Failure::Transport(TransportError::new(
            ErrorKind::Server,
            format!("reading a part crashed: {e}"),
        ))
    })?
    .map_err(|e| unreadable(&path, e))
}

/// A staged copy that cannot be read is the file's failure, not the database's: the job
/// fails with the reason instead of holding its lease until it lapses, again and again.
fn unreadable(path: &Path, e: std::io::Error) -> Failure {
    Failure::Transport(TransportError::new(
        ErrorKind::Permanent,
        format!("cannot read {}: {e}; retry reads it again", path.display()),
    ))
}

fn base64_crc32c(crc: u32) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

fn unquote(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_sent_big_endian_in_base64() {
        // CRC32C("123456789") = 0xE3069283, the standard check value.
        assert_eq!(base64_crc32c(crc32c::crc32c(b"123456789")), "4waSgw==");
    }
}
