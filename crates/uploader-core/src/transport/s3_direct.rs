//! Direct mode: the app signs requests itself, with the keys an admin stored in the keyring
//! or else the AWS credential chain (environment, shared profile, SSO, instance role).

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Credentials, Region, SharedCredentialsProvider};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart as SdkPart, Delete,
    ObjectIdentifier, ServerSideEncryption, StorageClass,
};
use base64::Engine;

use super::delegate::transport_from_inherent;
use super::error::causes;
use super::{BoxFuture, CredentialStatus};
use super::{
    CompletedPart, ErrorKind, FileRange, OBJECT_ID_METADATA, ObjectInfo, PutObject,
    SHA256_METADATA, ServerPart, Transport, TransportError, TransportResult,
};
use crate::config::{AwsKeys, S3Settings, UploadSettings};
use crate::deletion::{Deletions, KeyError, ObjectDeleter};

pub struct S3Direct {
    /// The client and where its keys come from, replaced whole when an admin stores new keys.
    signer: std::sync::RwLock<Arc<Signer>>,
    /// The AWS chain as loaded at start: what signs when the keyring holds no keys.
    chain: Option<aws_config::SdkConfig>,
    settings: S3Settings,
    upload: UploadSettings,
    pub(super) bucket: String,
    endpoint: Option<String>,
    /// Asked for on every object (SSE, KMS key, storage class, cache control).
    pub(super) stored_as: StoredAs,
    /// The chain's last answer about when its credentials expire, and when it was asked.
    pub(super) expiry_seen:
        std::sync::Mutex<Option<(Option<std::time::SystemTime>, std::time::SystemTime)>>,
}

/// A client and its keys.
pub(super) struct Signer {
    client: Client,
    /// The chain's provider (asked again when its keys expire) or explicit keys (which do not).
    pub(super) credentials: Option<SharedCredentialsProvider>,
    /// Where the keys come from, as the status bar names it.
    source: &'static str,
}

/// An SDK config with explicit keys and the settings' region.
fn keyed(
    settings: &S3Settings,
    access_key_id: &str,
    secret_access_key: &str,
) -> aws_sdk_s3::config::Builder {
    aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(settings.effective_region().to_string()))
        .credentials_provider(explicit(access_key_id, secret_access_key))
}

/// Keys that never expire, as a credential source.
fn explicit(access_key_id: &str, secret_access_key: &str) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        access_key_id,
        secret_access_key,
        None,
        None,
        "explicit",
    ))
}

/// A client with the app's retry, timeouts, addressing and endpoint over `builder`'s keys.
fn client(
    builder: aws_sdk_s3::config::Builder,
    settings: &S3Settings,
    upload: &UploadSettings,
) -> Client {
    let timeout = Duration::from_secs(upload.request_timeout_secs);
    let mut builder = builder
        .force_path_style(settings.uses_path_style())
        // A refused or dropped connection is retried once at once (a stale keep-alive
        // connection, say); beyond that the queue retries with its own backoff, and
        // knows when it is offline.
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(timeout)
                .operation_attempt_timeout(timeout)
                .build(),
        );
    if let Some(endpoint) = &settings.endpoint {
        builder = builder.endpoint_url(endpoint);
    }
    Client::from_conf(builder.build())
}

/// The wall clock, moved by a number of seconds.
#[derive(Debug)]
struct OffsetClock(i64);

impl aws_smithy_async::time::TimeSource for OffsetClock {
    fn now(&self) -> std::time::SystemTime {
        let by = Duration::from_secs(self.0.unsigned_abs());
        let now = std::time::SystemTime::now();
        if self.0 >= 0 { now + by } else { now - by }
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct StoredAs {
    pub(super) sse: Option<ServerSideEncryption>,
    pub(super) kms_key_id: Option<String>,
    pub(super) storage_class: Option<StorageClass>,
    pub(super) cache_control: Option<String>,
}

impl S3Direct {
    /// Credentials and (when the settings name none) the region come from the AWS chain.
    pub async fn from_chain(settings: &S3Settings, upload: &UploadSettings) -> Self {
        Self::open(settings, upload, None).await
    }

    /// As this workstation signs: with the keys an admin stored in the OS keyring, else with
    /// the AWS chain (which may hold someone's own keys, so it comes second). A keyring that
    /// cannot be read leaves the chain to sign, with a warning.
    pub async fn for_workstation(settings: &S3Settings, upload: &UploadSettings) -> Self {
        let stored = AwsKeys::stored(&crate::config::OsKeyring).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "keyring unreadable; the AWS chain signs");
            eprintln!("warning: {e}; signing with the AWS chain instead");
            None
        });
        Self::open(settings, upload, stored.as_ref()).await
    }

    /// Signs with `stored` keys (the keyring's) when there are some, else with the AWS chain;
    /// the region comes from the settings or else the chain.
    pub async fn open(
        settings: &S3Settings,
        upload: &UploadSettings,
        stored: Option<&AwsKeys>,
    ) -> Self {
        let region = RegionProviderChain::first_try(
            (!settings.region.is_empty()).then(|| Region::new(settings.region.clone())),
        )
        .or_default_provider()
        .or_else(Region::new("us-east-1"));
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .load()
            .await;
        let mut settings = settings.clone();
        if settings.region.is_empty()
            && let Some(region) = sdk.region()
        {
            settings.region = region.to_string();
        }
        let signer = match stored {
            Some(keys) => Self::keyring_signer(&settings, upload, keys),
            None => Self::chain_signer(&sdk, &settings, upload),
        };
        Self::assemble(signer, Some(sdk), &settings, upload)
    }

    /// With explicit keys, for tests and tools that already hold them.
    pub fn with_keys(
        settings: &S3Settings,
        upload: &UploadSettings,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Self {
        let builder = keyed(settings, access_key_id, secret_access_key);
        let signer = Signer {
            client: client(builder, settings, upload),
            credentials: Some(explicit(access_key_id, secret_access_key)),
            source: "explicit keys",
        };
        Self::assemble(signer, None, settings, upload)
    }

    fn keyring_signer(settings: &S3Settings, upload: &UploadSettings, keys: &AwsKeys) -> Signer {
        let builder = keyed(settings, &keys.access_key_id, &keys.secret_access_key);
        Signer {
            client: client(builder, settings, upload),
            credentials: Some(explicit(&keys.access_key_id, &keys.secret_access_key)),
            source: "keyring",
        }
    }

    fn chain_signer(
        sdk: &aws_config::SdkConfig,
        settings: &S3Settings,
        upload: &UploadSettings,
    ) -> Signer {
        Signer {
            client: client(aws_sdk_s3::config::Builder::from(sdk), settings, upload),
            credentials: sdk.credentials_provider(),
            source: "AWS chain",
        }
    }

    /// Signs from now on with `stored` keys, or with the AWS chain when `None` (if this
    /// transport was opened with one). Requests under way finish with the keys they began with.
    pub fn use_keys(&self, stored: Option<&AwsKeys>) {
        let signer = match (stored, &self.chain) {
            (Some(keys), _) => Self::keyring_signer(&self.settings, &self.upload, keys),
            (None, Some(sdk)) => Self::chain_signer(sdk, &self.settings, &self.upload),
            (None, None) => return,
        };
        if let Ok(mut current) = self.signer.write() {
            *current = Arc::new(signer);
        }
        if let Ok(mut known) = self.expiry_seen.lock() {
            *known = None;
        }
    }

    pub(super) fn signer(&self) -> Arc<Signer> {
        match self.signer.read() {
            Ok(signer) => signer.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub(super) fn client(&self) -> Client {
        self.signer().client.clone()
    }

    /// The SDK client with this transport's keys, for admin tools that read and set the
    /// bucket's own configuration.
    pub fn sdk_client(&self) -> Client {
        self.client()
    }

    /// With explicit keys on a workstation whose clock is `offset_secs` off, and the SDK's
    /// clock-skew correction on or off: for tests that a wrong clock is survived.
    #[doc(hidden)]
    pub fn with_keys_and_clock_offset(
        settings: &S3Settings,
        upload: &UploadSettings,
        access_key_id: &str,
        secret_access_key: &str,
        offset_secs: i64,
        correct_skew: bool,
    ) -> Self {
        let builder = keyed(settings, access_key_id, secret_access_key)
            .time_source(OffsetClock(offset_secs))
            .disable_clock_skew_correction(!correct_skew);
        let signer = Signer {
            client: client(builder, settings, upload),
            credentials: Some(explicit(access_key_id, secret_access_key)),
            source: "explicit keys",
        };
        Self::assemble(signer, None, settings, upload)
    }

    fn assemble(
        signer: Signer,
        chain: Option<aws_config::SdkConfig>,
        settings: &S3Settings,
        upload: &UploadSettings,
    ) -> Self {
        Self {
            signer: std::sync::RwLock::new(Arc::new(signer)),
            chain,
            settings: settings.clone(),
            upload: upload.clone(),
            bucket: settings.bucket.clone(),
            endpoint: settings.endpoint.clone(),
            stored_as: StoredAs {
                sse: settings.sse.as_deref().map(ServerSideEncryption::from),
                kms_key_id: settings.kms_key_id.clone(),
                storage_class: settings.storage_class.as_deref().map(StorageClass::from),
                cache_control: settings.cache_control.clone(),
            },
            expiry_seen: std::sync::Mutex::new(None),
        }
    }

    /// Asks the credential chain (env, profile, instance role, or the explicit keys) for
    /// keys and tells only the masked key id.
    async fn credential_status(&self) -> CredentialStatus {
        use aws_sdk_s3::config::ProvideCredentials;
        let signer = self.signer();
        let Some(provider) = &signer.credentials else {
            return CredentialStatus::Missing {
                reason: "no AWS credential source is configured".into(),
            };
        };
        match provider.provide_credentials().await {
            Ok(keys) => CredentialStatus::Configured {
                detail: format!(
                    "AWS key {} ({})",
                    super::mask(keys.access_key_id()),
                    signer.source
                ),
            },
            Err(_) => CredentialStatus::Missing {
                reason: "no AWS credentials found: store keys with `uploader credentials \
                         set` (or in Settings), or set AWS_ACCESS_KEY_ID and \
                         AWS_SECRET_ACCESS_KEY, or use a profile"
                    .into(),
            },
        }
    }

    /// A PutObject of `key` with everything asked for on every object: its SHA-256 as the
    /// checksum S3 verifies and as metadata, the upload's id as metadata, SSE, storage class
    /// and cache control.
    pub(super) fn put_request(
        &self,
        key: &str,
        content_type: &str,
        sha256: &str,
        object_id: Option<&str>,
    ) -> TransportResult<PutObjectFluentBuilder> {
        let checksum = hex_to_base64(sha256).ok_or_else(|| {
            TransportError::new(
                ErrorKind::Permanent,
                format!("`{key}` has no valid SHA-256 to send"),
            )
        })?;
        let s = &self.stored_as;
        Ok(self
            .client()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .checksum_sha256(checksum)
            .set_metadata(with_object_id(sha256, object_id))
            .set_server_side_encryption(s.sse.clone())
            .set_ssekms_key_id(s.kms_key_id.clone())
            .set_storage_class(s.storage_class.clone())
            .set_cache_control(s.cache_control.clone()))
    }

    async fn put(&self, object: PutObject) -> TransportResult<Option<String>> {
        let response = self
            .put_request(
                &object.key,
                &object.content_type,
                &object.sha256,
                Some(&object.object_id),
            )?
            .body(ByteStream::from(object.body))
            .customize()
            // The SHA-256 checksum header already covers the bytes: no second hash to sign.
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| self.explain(e))?;
        Ok(response.e_tag().map(str::to_string))
    }

    async fn head(&self, key: &str) -> TransportResult<Option<ObjectInfo>> {
        match self
            .client()
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some(ObjectInfo {
                size: head.content_length().unwrap_or(0).max(0) as u64,
                sha256: head
                    .metadata()
                    .and_then(|m| m.get(SHA256_METADATA))
                    .map(|s| s.to_ascii_lowercase()),
                etag: head.e_tag().map(str::to_string),
                object_id: head
                    .metadata()
                    .and_then(|m| m.get(OBJECT_ID_METADATA))
                    .map(|s| s.to_ascii_lowercase()),
                version_id: head.version_id().map(str::to_string),
                last_modified_ms: head.last_modified().and_then(|t| t.to_millis().ok()),
            })),
            Err(SdkError::ServiceError(e)) if e.err().is_not_found() => Ok(None),
            Err(e) => Err(self.explain(e)),
        }
    }

    async fn create(
        &self,
        key: &str,
        content_type: &str,
        sha256: &str,
        object_id: &str,
    ) -> TransportResult<String> {
        let s = &self.stored_as;
        let response = self
            .client()
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .set_metadata(with_object_id(sha256, Some(object_id)))
            .set_server_side_encryption(s.sse.clone())
            .set_ssekms_key_id(s.kms_key_id.clone())
            .set_storage_class(s.storage_class.clone())
            .set_cache_control(s.cache_control.clone())
            .customize()
            // Not idempotent: a retry after a lost answer would open a second upload and
            // orphan the first. The queue retries instead, and first adopts what is open.
            .config_override(
                aws_sdk_s3::config::Builder::new().retry_config(RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| self.explain(e))?;
        response.upload_id().map(str::to_string).ok_or_else(|| {
            TransportError::new(
                ErrorKind::Server,
                format!(
                    "{} started a multipart upload of `{key}` without an id",
                    self.describe()
                ),
            )
        })
    }

    async fn part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: FileRange,
        crc32c: &str,
    ) -> TransportResult<String> {
        let stream = ByteStream::read_from()
            .path(&body.path)
            .offset(body.offset)
            .length(Length::Exact(body.len))
            .build()
            .await
            .map_err(|e| {
                TransportError::new(
                    ErrorKind::Permanent,
                    format!("cannot read {}: {e}", body.path.display()),
                )
            })?;
        let response = self
            .client()
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number as i32)
            .checksum_crc32_c(crc32c)
            .body(stream)
            .customize()
            // The CRC32C already covers the bytes; a SigV4 payload hash would read them
            // all again through SHA-256.
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| self.explain(e))?;
        response.e_tag().map(str::to_string).ok_or_else(|| {
            TransportError::new(
                ErrorKind::Server,
                format!(
                    "{} accepted part {part_number} of `{key}` without an ETag",
                    self.describe()
                ),
            )
        })
    }

    async fn parts(&self, key: &str, upload_id: &str) -> TransportResult<Vec<ServerPart>> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client()
                .list_parts()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .set_part_number_marker(marker.take())
                .send()
                .await
                .map_err(|e| self.explain(e))?;
            parts.extend(page.parts().iter().filter_map(|p| {
                Some(ServerPart {
                    part_number: u32::try_from(p.part_number()?).ok()?,
                    size: u64::try_from(p.size()?).ok()?,
                    etag: p.e_tag()?.to_string(),
                })
            }));
            match page.next_part_number_marker() {
                Some(next) if page.is_truncated() == Some(true) => marker = Some(next.to_string()),
                _ => return Ok(parts),
            }
        }
    }

    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
    ) -> TransportResult<Option<String>> {
        let parts = parts
            .into_iter()
            .map(|p| {
                SdkPart::builder()
                    .part_number(p.part_number as i32)
                    .e_tag(p.etag)
                    .checksum_crc32_c(p.crc32c)
                    .build()
            })
            .collect();
        let response = self
            .client()
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| self.explain(e))?;
        Ok(response.e_tag().map(str::to_string))
    }

    async fn uploads(&self, key: &str) -> TransportResult<Vec<String>> {
        let mut found: Vec<(Option<aws_sdk_s3::primitives::DateTime>, String)> = Vec::new();
        let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
        loop {
            let page = self
                .client()
                .list_multipart_uploads()
                .bucket(&self.bucket)
                .prefix(key)
                .set_key_marker(key_marker.take())
                .set_upload_id_marker(id_marker.take())
                .send()
                .await
                .map_err(|e| self.explain(e))?;
            found.extend(
                page.uploads()
                    .iter()
                    .filter(|u| u.key() == Some(key))
                    .filter_map(|u| Some((u.initiated().copied(), u.upload_id()?.to_string()))),
            );
            if page.is_truncated() != Some(true) {
                break;
            }
            key_marker = page.next_key_marker().map(str::to_string);
            id_marker = page.next_upload_id_marker().map(str::to_string);
            if key_marker.is_none() && id_marker.is_none() {
                break;
            }
        }
        found.sort_by_key(|(initiated, _)| initiated.map(|t| (t.secs(), t.subsec_nanos())));
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    async fn abort(&self, key: &str, upload_id: &str) -> TransportResult<()> {
        match self
            .client()
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| self.explain(e))
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::Gone => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// DeleteObjects, quiet: S3 answers only the keys it did not delete.
    async fn delete_keys(&self, keys: &[String]) -> TransportResult<Vec<KeyError>> {
        let objects = keys
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TransportError::new(ErrorKind::Permanent, e.to_string()))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| TransportError::new(ErrorKind::Permanent, e.to_string()))?;
        let answer = self
            .client()
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| self.explain(e))?;
        Ok(answer
            .errors()
            .iter()
            .map(|e| KeyError {
                key: e.key().unwrap_or_default().to_string(),
                code: e.code().unwrap_or("Unknown").to_string(),
                message: e.message().unwrap_or("no reason given").to_string(),
            })
            .collect())
    }

    /// Any answer from the server, even a refusal, means it can be reached.
    async fn reach(&self) -> TransportResult<()> {
        match self
            .client()
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Any refusal means the server answers (this key may not list the bucket, say);
            // but one that fails or throttles every request is as good as down.
            Err(e) => match self.explain(e) {
                e if e.kind.is_unavailable() => Err(e),
                _ => Ok(()),
            },
        }
    }

    /// Turns an SDK error into a sentence, and says what the queue should do about it.
    pub(super) fn explain<E, R>(&self, error: SdkError<E, R>) -> TransportError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + HttpStatus + 'static,
    {
        let place = self.describe();
        match &error {
            // A 2xx the SDK could not read (a proxy's page, the wrong XML root), or an
            // answer cut short: the server answered, but not with what S3 answers.
            SdkError::ServiceError(e) if (200..300).contains(&e.raw().status()) => {
                TransportError::new(
                    ErrorKind::Server,
                    format!(
                        "{place} answered HTTP {}, but not with S3's answer to {}: the answer could not be read (a proxy or a server that is not S3 compatible?)",
                        e.raw().status(),
                        operation::<E>()
                    ),
                )
            }
            SdkError::ResponseError(_) => TransportError::new(
                ErrorKind::Server,
                format!(
                    "{place} answered, but not with S3's answer to {}: {}",
                    operation::<E>(),
                    causes(&error)
                ),
            ),
            SdkError::ServiceError(e) => {
                let err = e.err();
                let status = e.raw().status();
                // A HEAD's refusal has no body, so no code: the status says it.
                let reason = reqwest::StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("error");
                let code = err.code().unwrap_or(reason);
                let detail = err.message().unwrap_or("the answer gave no details");
                let hint = match code {
                    "NoSuchBucket" => " (check the bucket name)",
                    "AccessDenied" => " (check the IAM policy and the key prefix)",
                    "InvalidAccessKeyId" | "SignatureDoesNotMatch" => " (check the access keys)",
                    "RequestTimeTooSkewed" => " (check this computer's clock)",
                    "BadDigest" | "XAmzContentChecksumMismatch" => {
                        " (the file changed after it was queued: the server got other bytes than \
                         were checksummed; retry reads it again)"
                    }
                    _ => "",
                };
                let id = err
                    .meta()
                    .request_id()
                    .map(|id| format!(", request {id}"))
                    .unwrap_or_default();
                TransportError::new(
                    ErrorKind::of_service_error(code, status),
                    format!("{place} refused it: {code}: {detail}{hint} (HTTP {status}{id})"),
                )
                .with_code(code)
            }
            SdkError::TimeoutError(_) => TransportError::new(
                ErrorKind::Network,
                format!("{place} did not answer in time"),
            ),
            _ => {
                let causes = causes(&error);
                if causes.contains("no credentials found") || causes.contains("credential provider")
                {
                    TransportError::new(
                        ErrorKind::Permanent,
                        format!(
                            "no AWS credentials found for {place}: set AWS_ACCESS_KEY_ID and \
                             AWS_SECRET_ACCESS_KEY, or configure an AWS profile"
                        ),
                    )
                } else if matches!(error, SdkError::DispatchFailure(_)) {
                    TransportError::new(
                        ErrorKind::Network,
                        format!("cannot reach {place}: {causes}"),
                    )
                } else {
                    TransportError::new(
                        ErrorKind::Permanent,
                        format!("request to {place} failed: {causes}"),
                    )
                }
            }
        }
    }
}

/// The HTTP status of a raw response, for classifying service errors.
pub(super) trait HttpStatus {
    fn status(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

impl ObjectDeleter for S3Direct {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, TransportResult<Option<ObjectInfo>>> {
        Box::pin(S3Direct::head(self, key))
    }

    fn delete_objects<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, TransportResult<Vec<KeyError>>> {
        Box::pin(self.delete_keys(keys))
    }
}

transport_from_inherent!(S3Direct {
    fn credentials(&self) -> BoxFuture<'_, CredentialStatus> {
        Box::pin(self.credential_status())
    }

    fn use_aws_keys(&self, stored: Option<&AwsKeys>) -> bool {
        self.use_keys(stored);
        true
    }

    fn deletions(&self) -> Deletions<'_> {
        Deletions::Direct(self)
    }

    fn view_link<'a>(
        &'a self,
        key: &'a str,
        expires_in: Duration,
    ) -> BoxFuture<'a, TransportResult<super::Presigned>> {
        Box::pin(self.presign_get(key, expires_in))
    }

    fn describe(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("s3://{} at {endpoint}", self.bucket),
            None => format!("s3://{}", self.bucket),
        }
    }
});

/// The metadata every upload carries: its SHA-256 and, when known, its own id.
/// The S3 operation an SDK error type belongs to: `CreateMultipartUpload` for
/// `CreateMultipartUploadError`.
fn operation<E>() -> &'static str {
    let name = std::any::type_name::<E>();
    let last = name.rsplit("::").next().unwrap_or(name);
    last.strip_suffix("Error").unwrap_or(last)
}

fn with_object_id(
    sha256: &str,
    object_id: Option<&str>,
) -> Option<std::collections::HashMap<String, String>> {
    let mut metadata =
        std::collections::HashMap::from([(SHA256_METADATA.to_string(), sha256.to_string())]);
    if let Some(id) = object_id {
        metadata.insert(OBJECT_ID_METADATA.to_string(), id.to_string());
    }
    Some(metadata)
}

pub(crate) fn hex_to_base64(hex: &str) -> Option<String> {
    if hex.len() != 64 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;

    #[tokio::test]
    async fn the_credential_status_shows_a_masked_key_id_and_never_the_secret() {
        let config = crate::config::Config::default();
        let direct = S3Direct::with_keys(
            &config.s3,
            &config.upload,
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        let status = direct.credentials().await;
        assert_eq!(
            status,
            CredentialStatus::Configured {
                detail: "AWS key AKIA…MPLE (explicit keys)".into()
            }
        );
        assert!(!format!("{status:?}").contains("wJalr"));
    }

    #[tokio::test]
    async fn keys_stored_by_an_admin_sign_from_then_on() {
        let config = crate::config::Config::default();
        let direct = S3Direct::with_keys(&config.s3, &config.upload, "AKIAOLDOLDOLDOLD1111", "old");
        let stored = AwsKeys::new("AKIANEWNEWNEWNEW2222", "new-secret").unwrap();
        assert!(direct.use_aws_keys(Some(&stored)));
        assert_eq!(
            direct.credentials().await,
            CredentialStatus::Configured {
                detail: "AWS key AKIA…2222 (keyring)".into()
            }
        );
        // Cleared with no chain to fall back on: the keyring's keys stay until one exists.
        direct.use_keys(None);
        assert!(matches!(
            direct.credentials().await,
            CredentialStatus::Configured { detail } if detail.contains("2222")
        ));
    }

    #[test]
    fn sha256_hex_becomes_the_base64_header_value() {
        // SHA-256 of the empty string.
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            hex_to_base64(hex).as_deref(),
            Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        );
        assert_eq!(hex_to_base64("zz"), None);
        assert_eq!(hex_to_base64(&"g".repeat(64)), None);
    }
}
