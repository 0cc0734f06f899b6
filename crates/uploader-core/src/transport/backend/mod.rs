//! Backend mode: the workstation holds no AWS keys. The company backend (see
//! `docs/backend-api.md`) signs each request just before it is sent, and starts, lists,
//! completes and aborts multipart uploads with its own keys; only bytes go straight to S3.

use std::sync::atomic::{AtomicI64, Ordering};

use reqwest::Method;
use uploader_api::{
    AbortRequest, CompleteMultipartRequest, CompleteMultipartResponse, CompleteRequest,
    CompleteResponse, CreateMultipartResponse, Deletion, DeletionBatch, DeletionReceipt,
    DeletionStats, FileToSign, Health, ListPartsRequest, ListPartsResponse, ObjectLink,
    ObjectState, OpenUploadsResponse, PartDone, PartToSign, SignPartsRequest, SignPartsResponse,
    route,
};

mod api;
mod presigner;

use std::sync::{Arc, OnceLock};

use api::Api;
use presigner::Presigner;

use super::Presigned;
use super::delegate::transport_from_inherent;
use super::http::{self, file_body, path_below, send_signed};
use super::{
    BoxFuture, CompletedPart, ErrorKind, FileRange, ObjectInfo, PutObject, Registration,
    ServerPart, TransportError, TransportResult,
};
use crate::clock::{Clock, SystemClock};
use crate::config::UploadSettings;
use crate::deletion::{DeletionSink, Deletions, Handoff, Refusal};

/// A clock difference below this is not worth a word.
const SKEW_WORTH_SAYING_MS: i64 = 60_000;

pub struct Backend {
    api: Arc<Api>,
    /// The configured key prefix, which must be the backend's: keys are sent as paths below it.
    prefix: String,
    /// Signs whole objects in batches; started with the first upload, on its runtime.
    presigner: OnceLock<Presigner>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Backend")
            .field("base", &self.api.base)
            .finish()
    }
}

impl From<uploader_api::ListedPart> for ServerPart {
    fn from(p: uploader_api::ListedPart) -> Self {
        ServerPart {
            part_number: p.part_number,
            size: p.size,
            etag: p.etag,
        }
    }
}

impl Backend {
    pub fn new(
        url: &str,
        token: &str,
        prefix: &str,
        upload: &UploadSettings,
    ) -> TransportResult<Self> {
        Ok(Self {
            api: Arc::new(Api {
                http: http::client(upload)?,
                base: url.trim_end_matches('/').to_string(),
                token: std::sync::RwLock::new(token.to_string()),
                skew_ms: AtomicI64::new(0),
            }),
            prefix: prefix.to_string(),
            presigner: OnceLock::new(),
        })
    }

    /// The clock difference in words, when it is large enough to matter to a person.
    pub fn clock_skew_warning(&self) -> Option<String> {
        skew_warning(self.api.skew_ms.load(Ordering::Relaxed))
    }

    /// Signs a whole object in the next batch (or alone, outside a runtime's task).
    async fn presign(&self, file: FileToSign) -> TransportResult<uploader_api::SignedUpload> {
        let presigner = match tokio::runtime::Handle::try_current() {
            Ok(_) => Some(
                self.presigner
                    .get_or_init(|| Presigner::start(Arc::clone(&self.api))),
            ),
            Err(_) => None,
        };
        if let Some(presigner) = presigner
            && let Some(signed) = presigner.sign(file.clone()).await
        {
            return signed;
        }
        presigner::sign_alone(&self.api, file).await
    }

    async fn put(&self, object: PutObject) -> TransportResult<Option<String>> {
        let path = path_below(&self.prefix, &object.key)?;
        let file = FileToSign {
            path: path.to_string(),
            content_type: object.content_type.clone(),
            size: object.body.len() as u64,
            sha256: object.sha256.clone(),
            name: None,
            sku: None,
            variant: None,
            object_id: Some(object.object_id.clone()),
        };
        let mut resigned = false;
        loop {
            let signed = self.presign(file.clone()).await?;
            match send_signed(&self.api.http, &signed.request, object.body.clone().into()).await {
                // A URL that expired on the way (a stall, a slow link) is signed afresh once.
                Err(e) if e.kind == ErrorKind::Resign && !resigned => resigned = true,
                other => return other,
            }
        }
    }

    async fn head(&self, key: &str) -> TransportResult<Option<ObjectInfo>> {
        let path = path_below(&self.prefix, key)?;
        let state: ObjectState = self
            .api
            .call(Method::GET, route::OBJECTS, None::<&()>, &[("path", path)])
            .await?;
        Ok(state.exists.then(|| ObjectInfo {
            size: state.size.unwrap_or(0),
            sha256: state.sha256.map(|s| s.to_ascii_lowercase()),
            etag: state.etag,
            object_id: state.object_id.map(|s| s.to_ascii_lowercase()),
            version_id: state.version_id,
            last_modified_ms: state.last_modified_ms,
        }))
    }

    async fn create(
        &self,
        key: &str,
        content_type: &str,
        sha256: &str,
        object_id: &str,
    ) -> TransportResult<String> {
        let request = FileToSign {
            path: path_below(&self.prefix, key)?.to_string(),
            content_type: content_type.to_string(),
            size: 0,
            sha256: sha256.to_string(),
            name: None,
            sku: None,
            variant: None,
            object_id: Some(object_id.to_string()),
        };
        let answer: CreateMultipartResponse = self
            .api
            .call(Method::POST, route::MULTIPART, Some(&request), &[])
            .await?;
        Ok(answer.upload_id)
    }

    async fn part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        range: FileRange,
        crc32c: &str,
    ) -> TransportResult<String> {
        let request = SignPartsRequest {
            path: path_below(&self.prefix, key)?.to_string(),
            upload_id: upload_id.to_string(),
            parts: vec![PartToSign {
                part_number,
                size: range.len,
                crc32c: crc32c.to_string(),
            }],
        };
        let mut resigned = false;
        loop {
            let answer: SignPartsResponse = self
                .api
                .call(Method::POST, route::MULTIPART_SIGN, Some(&request), &[])
                .await?;
            let signed = answer.parts.into_iter().next().ok_or_else(|| {
                TransportError::new(ErrorKind::Server, "the backend signed no part")
            })?;
            let body = file_body(&range).await?;
            let sent = match send_signed(&self.api.http, &signed.request, body).await {
                Err(e) if e.kind == ErrorKind::Resign && !resigned => {
                    resigned = true;
                    continue;
                }
                other => other?,
            };
            return sent.ok_or_else(|| {
                TransportError::new(
                    ErrorKind::Server,
                    format!("S3 accepted part {part_number} of `{key}` without an ETag"),
                )
            });
        }
    }

    async fn parts(&self, key: &str, upload_id: &str) -> TransportResult<Vec<ServerPart>> {
        let request = ListPartsRequest {
            path: path_below(&self.prefix, key)?.to_string(),
            upload_id: upload_id.to_string(),
        };
        let answer: ListPartsResponse = self
            .api
            .call(Method::POST, route::MULTIPART_PARTS, Some(&request), &[])
            .await?;
        Ok(answer.parts.into_iter().map(ServerPart::from).collect())
    }

    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
    ) -> TransportResult<Option<String>> {
        let request = CompleteMultipartRequest {
            path: path_below(&self.prefix, key)?.to_string(),
            upload_id: upload_id.to_string(),
            parts: parts
                .into_iter()
                .map(|p| PartDone {
                    part_number: p.part_number,
                    etag: p.etag,
                    crc32c: p.crc32c,
                })
                .collect(),
        };
        let answer: CompleteMultipartResponse = self
            .api
            .call(Method::POST, route::MULTIPART_COMPLETE, Some(&request), &[])
            .await?;
        Ok(answer.etag)
    }

    async fn uploads(&self, key: &str) -> TransportResult<Vec<String>> {
        let path = path_below(&self.prefix, key)?;
        let answer: OpenUploadsResponse = self
            .api
            .call(
                Method::GET,
                route::MULTIPART,
                None::<&()>,
                &[("path", path)],
            )
            .await?;
        Ok(answer.upload_ids)
    }

    async fn abort(&self, key: &str, upload_id: &str) -> TransportResult<()> {
        let request = AbortRequest {
            path: path_below(&self.prefix, key)?.to_string(),
            upload_id: upload_id.to_string(),
        };
        match self
            .api
            .call::<()>(Method::POST, route::MULTIPART_ABORT, Some(&request), &[])
            .await
        {
            Err(e) if e.kind == ErrorKind::Gone => Ok(()),
            other => other,
        }
    }

    async fn register(&self, object: &Registration) -> TransportResult<()> {
        let request = CompleteRequest {
            path: path_below(&self.prefix, &object.key)?.to_string(),
            size: object.size,
            sha256: object.sha256.clone(),
            etag: object.etag.clone(),
            sku: Some(object.sku.clone()),
            variant: Some(object.variant.clone()),
            name: object.original_name.clone(),
            width: Some(object.width),
            height: Some(object.height),
            object_id: object.object_id.clone(),
        };
        let _: CompleteResponse = self
            .api
            .call(Method::POST, route::REGISTER, Some(&request), &[])
            .await?;
        Ok(())
    }

    async fn hand_over(&self, rows: &[Handoff]) -> TransportResult<Vec<Refusal>> {
        let deletions = rows
            .iter()
            .map(|row| {
                Ok(Deletion {
                    id: row.id.clone(),
                    path: path_below(&self.prefix, &row.key)?.to_string(),
                    reason: row.reason.chars().take(200).collect(),
                    // In the backend's clock, which its worker compares with S3's.
                    requested_at_ms: row.meant.requested_at
                        + self.api.skew_ms.load(Ordering::Relaxed),
                    object_id: row.meant.object_id.clone(),
                    sha256: row.meant.sha256.clone(),
                })
            })
            .collect::<TransportResult<Vec<_>>>()?;
        let receipt: DeletionReceipt = self
            .api
            .call(
                Method::POST,
                route::DELETIONS,
                Some(&DeletionBatch { deletions }),
                &[],
            )
            .await?;
        Ok(receipt
            .refused
            .into_iter()
            .map(|r| Refusal {
                id: r.id,
                message: format!("the backend refused it: {} ({})", r.message, r.code),
            })
            .collect())
    }

    async fn link(&self, key: &str, expires_in: std::time::Duration) -> TransportResult<Presigned> {
        let path = path_below(&self.prefix, key)?;
        let secs = expires_in.as_secs().max(1).to_string();
        let link: ObjectLink = self
            .api
            .call(
                Method::GET,
                route::OBJECT_LINK,
                None::<&()>,
                &[("path", path), ("expires_secs", &secs)],
            )
            .await?;
        Ok(Presigned {
            method: "GET".into(),
            url: link.url,
            headers: Vec::new(),
            expires_at: std::time::UNIX_EPOCH
                + std::time::Duration::from_millis(u64::try_from(link.expires_at_ms).unwrap_or(0)),
        })
    }

    async fn queue_stats(&self) -> TransportResult<DeletionStats> {
        self.api
            .call::<DeletionStats>(Method::GET, route::DELETION_STATS, None::<&()>, &[])
            .await
    }

    /// Health needs no token: an answer means the backend is reachable. Its clock is noted.
    async fn reach(&self) -> TransportResult<()> {
        let sent = SystemClock.now_ms();
        let response = self
            .api
            .http
            .get(format!("{}{}", self.api.base, route::HEALTH))
            .send()
            .await
            .map_err(|e| self.api.unreachable(e))?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let text = response.text().await.unwrap_or_default();
            return Err(self.api.refused(route::HEALTH, status, &text));
        }
        if let Ok(health) = response.json::<Health>().await {
            // The backend's time was read about halfway through the round trip.
            let now = SystemClock.now_ms();
            let skew = health.time_ms - (sent + now) / 2;
            let rounding = (now - sent) / 2 + 500;
            self.api.skew_ms.store(
                if skew.abs() > rounding { skew } else { 0 },
                Ordering::Relaxed,
            );
        }
        // The bucket too, through the backend: an S3 incident fails uploads while the
        // backend itself is well. A refusal still means both answer.
        match self.head(&format!("{}{PROBE_KEY}", self.prefix)).await {
            Err(e) if e.kind.is_unavailable() => Err(e),
            _ => Ok(()),
        }
    }
}

/// What the probe looks up below the prefix: never written, its answer only says the bucket
/// answers.
const PROBE_KEY: &str = ".connection-test/reachable";

fn skew_warning(skew_ms: i64) -> Option<String> {
    if skew_ms.abs() < SKEW_WORTH_SAYING_MS {
        return None;
    }
    let minutes = skew_ms.unsigned_abs() / 60_000;
    let (h, m) = (minutes / 60, minutes % 60);
    let amount = match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    };
    let side = if skew_ms > 0 { "behind" } else { "ahead of" };
    Some(format!(
        "this computer's clock is {amount} {side} the backend's: uploads still work (the \
         backend signs them), but set the clock right"
    ))
}

impl DeletionSink for Backend {
    fn submit<'a>(&'a self, rows: &'a [Handoff]) -> BoxFuture<'a, TransportResult<Vec<Refusal>>> {
        Box::pin(self.hand_over(rows))
    }

    fn upstream_stats(&self) -> BoxFuture<'_, TransportResult<DeletionStats>> {
        Box::pin(self.queue_stats())
    }
}

transport_from_inherent!(Backend {
    fn deletions(&self) -> Deletions<'_> {
        Deletions::Upstream(self)
    }

    fn view_link<'a>(
        &'a self,
        key: &'a str,
        expires_in: std::time::Duration,
    ) -> BoxFuture<'a, TransportResult<Presigned>> {
        Box::pin(self.link(key, expires_in))
    }

    fn register<'a>(&'a self, object: &'a Registration) -> BoxFuture<'a, TransportResult<()>> {
        Box::pin(self.register(object))
    }

    fn describe(&self) -> String {
        format!("the backend at {}", self.api.base)
    }

    fn clock_warning(&self) -> Option<String> {
        self.clock_skew_warning()
    }

    fn use_token(&self, token: &str) -> bool {
        if let Ok(mut current) = self.api.token.write() {
            *current = token.to_string();
        }
        true
    }

    fn credentials(&self) -> BoxFuture<'_, super::CredentialStatus> {
        let has_token = self
            .api
            .token
            .read()
            .map_or(true, |token| !token.is_empty());
        Box::pin(async move {
            if has_token {
                super::CredentialStatus::Configured {
                    detail: "workstation token".into(),
                }
            } else {
                super::CredentialStatus::Missing {
                    reason: "no workstation token: an admin stores one in Settings or with \
                             `uploader credentials set --token`"
                        .into(),
                }
            }
        })
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let backend = Backend::new(
            "http://x",
            "cu_secret",
            "products/",
            &UploadSettings::default(),
        )
        .unwrap();
        assert!(!format!("{backend:?}").contains("cu_secret"));
    }

    #[test]
    fn a_clock_difference_is_said_in_words_only_when_it_matters() {
        assert_eq!(skew_warning(20_000), None);
        assert_eq!(skew_warning(-59_000), None);
        let behind = skew_warning(2 * 3_600_000 + 3 * 60_000).unwrap();
        assert!(behind.contains("2 h 3 min behind"), "{behind}");
        let ahead = skew_warning(-5 * 60_000).unwrap();
        assert!(ahead.contains("5 min ahead of"), "{ahead}");
    }
}
