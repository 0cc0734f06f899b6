//! The backend's settings: flags, or the environment (and a `.env` file) under the names the
//! company's S3 guide uses. Secrets are never printed: not in `--help`, not in `Debug`.

use std::path::PathBuf;
use std::time::Duration;

use uploader_core::config::{S3Settings, UploadSettings};
use uploader_core::transport::S3Direct;

use crate::keys::check_prefix;

/// Raster types only: an SVG may carry a script, and would be served as `image/svg+xml`.
pub const DEFAULT_CONTENT_TYPES: &str =
    "image/jpeg,image/png,image/webp,image/avif,image/heic,image/heif,image/gif,image/tiff";

/// Product photos and their originals fit in 2 GiB with room to spare.
pub const DEFAULT_MAX_OBJECT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// S3's own limit for one object.
pub const MAX_S3_OBJECT_BYTES: u64 = 5 * 1024 * 1024 * 1024 * 1024;

/// Signed URLs outlive a token's revocation by at most this.
pub const MAX_PRESIGN_EXPIRY_SECS: u64 = 3600;

#[derive(Clone, clap::Args)]
pub struct Settings {
    /// The bucket every upload goes to.
    #[arg(long, env = "AWS_S3_BUCKET_NAME")]
    pub bucket: String,
    /// The bucket's region; the AWS chain's (profile, instance) when unset.
    #[arg(long, env = "AWS_REGION", default_value = "")]
    pub region: String,
    /// An S3-compatible endpoint, e.g. `http://127.0.0.1:8333`; AWS when unset.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint: Option<String>,
    /// Path-style addressing; on by default when an endpoint is set.
    #[arg(long, env = "AWS_S3_FORCE_PATH_STYLE")]
    pub path_style: Option<bool>,
    /// Every signed key starts with this.
    #[arg(long, env = "UPLOADER_KEY_PREFIX", default_value = "products/")]
    pub prefix: String,
    /// Server-side encryption signed into every upload: `AES256`, `aws:kms`, or `none`.
    #[arg(long, env = "UPLOADER_SSE", default_value = "AES256")]
    pub sse: String,
    /// The KMS key for `--sse aws:kms`; the bucket's default key when unset.
    #[arg(long, env = "UPLOADER_KMS_KEY_ID")]
    pub kms_key_id: Option<String>,
    /// How long a signed URL lives, in seconds (at most an hour, and never beyond the
    /// credentials' own expiry): a revoked token's URLs stop working within that time.
    #[arg(long, env = "UPLOADER_PRESIGN_EXPIRY_SECS", default_value_t = 900)]
    pub presign_expiry_secs: u64,
    /// Files, or parts, signed in one request at most; more get 413.
    #[arg(long, env = "UPLOADER_MAX_BATCH", default_value_t = 100)]
    pub max_batch: usize,
    /// Content types that may be signed, comma-separated; `image/*` matches every image type,
    /// SVG (which may carry scripts) too, so the default names raster types only.
    #[arg(long, env = "UPLOADER_CONTENT_TYPES", default_value = DEFAULT_CONTENT_TYPES)]
    pub content_types: String,
    /// The largest object signed, in bytes: one PUT, or a multipart upload's parts together.
    #[arg(long, env = "UPLOADER_MAX_OBJECT_BYTES", default_value_t = DEFAULT_MAX_OBJECT_BYTES)]
    pub max_object_bytes: u64,
    /// Attempts each queued deletion gets; a row out of attempts stays in the queue, with its
    /// last error, until retried.
    #[arg(long, env = "UPLOADER_DELETION_MAX_ATTEMPTS", default_value_t = 10)]
    pub deletion_max_attempts: u32,
    /// Explicit keys, from the environment only (a flag would show in `ps`); the AWS chain
    /// (profile, SSO, instance role) when unset.
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide = true)]
    pub access_key_id: Option<String>,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide = true)]
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("prefix", &self.prefix)
            .field("sse", &self.sse)
            .field("presign_expiry_secs", &self.presign_expiry_secs)
            .field("max_batch", &self.max_batch)
            .field("content_types", &self.content_types)
            .field("max_object_bytes", &self.max_object_bytes)
            .field(
                "access_key_id",
                &self.access_key_id.as_ref().map(|_| "<set>"),
            )
            .finish_non_exhaustive()
    }
}

/// Where the database lives unless `--database` says otherwise.
pub fn default_database() -> PathBuf {
    PathBuf::from("uploader-backend.sqlite3")
}

impl Settings {
    /// The settings checked, each refusal naming the setting.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.bucket.trim().is_empty() {
            anyhow::bail!("AWS_S3_BUCKET_NAME (--bucket) is empty");
        }
        check_prefix(&self.prefix)
            .map_err(|e| anyhow::anyhow!("UPLOADER_KEY_PREFIX (--prefix): {e}"))?;
        if !["AES256", "aws:kms", "none"].contains(&self.sse.as_str()) {
            anyhow::bail!(
                "UPLOADER_SSE (--sse) is `{}`: use AES256, aws:kms or none",
                self.sse
            );
        }
        if !(1..=MAX_PRESIGN_EXPIRY_SECS).contains(&self.presign_expiry_secs) {
            anyhow::bail!(
                "UPLOADER_PRESIGN_EXPIRY_SECS (--presign-expiry-secs) is {}: it must be 1 to \
                 {MAX_PRESIGN_EXPIRY_SECS} (an hour), so a revoked token's URLs stop working \
                 within the hour",
                self.presign_expiry_secs
            );
        }
        if !(1..=MAX_S3_OBJECT_BYTES).contains(&self.max_object_bytes) {
            anyhow::bail!(
                "UPLOADER_MAX_OBJECT_BYTES (--max-object-bytes) is {}: it must be 1 to \
                 {MAX_S3_OBJECT_BYTES} (S3's 5 TiB)",
                self.max_object_bytes
            );
        }
        if self.max_batch == 0 || self.max_batch > 1000 {
            anyhow::bail!("UPLOADER_MAX_BATCH must be 1 to 1000");
        }
        if !(1..=100).contains(&self.deletion_max_attempts) {
            anyhow::bail!("UPLOADER_DELETION_MAX_ATTEMPTS must be 1 to 100");
        }
        if self.content_types().is_empty() {
            anyhow::bail!(
                "UPLOADER_CONTENT_TYPES is empty: name at least one type, e.g. image/jpeg"
            );
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            anyhow::bail!("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither");
        }
        Ok(())
    }

    pub fn content_types(&self) -> Vec<String> {
        self.content_types
            .split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect()
    }

    pub fn presign_expiry(&self) -> Duration {
        Duration::from_secs(self.presign_expiry_secs)
    }

    pub fn s3_settings(&self) -> S3Settings {
        S3Settings {
            bucket: self.bucket.clone(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            path_style: self.path_style,
            prefix: self.prefix.clone(),
            sse: (self.sse != "none").then(|| self.sse.clone()),
            kms_key_id: self.kms_key_id.clone(),
            ..S3Settings::default()
        }
    }

    /// The S3 client, with explicit keys or the AWS chain.
    pub async fn s3(&self) -> S3Direct {
        let s3 = self.s3_settings();
        let upload = UploadSettings::default();
        match (&self.access_key_id, &self.secret_access_key) {
            (Some(id), Some(secret)) => S3Direct::with_keys(&s3, &upload, id, secret),
            _ => S3Direct::from_chain(&s3, &upload).await,
        }
    }
}

/// File descriptors kept free of client connections: the database and its journal, S3's
/// connections, the log, the runtime's own.
pub const FD_RESERVE: u64 = 64;

/// At most this many connections unless `UPLOADER_MAX_CONNECTIONS` says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 4096;

/// How the server treats connections: `serve` only.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeSettings {
    /// Seconds a client has to send a request's headers; a slower one is disconnected.
    #[arg(long, env = "UPLOADER_HEADER_TIMEOUT_SECS", default_value_t = 10.0)]
    pub header_timeout_secs: f64,
    /// Seconds a request may take from its headers to its answer, body included; a slower
    /// one is answered `503 timeout`.
    #[arg(long, env = "UPLOADER_REQUEST_TIMEOUT_SECS", default_value_t = 60.0)]
    pub request_timeout_secs: f64,
    /// Connections open at once; when full, the oldest idle one is closed for a new one. By
    /// default the open-file limit less 64 kept for the database and S3, at most 4096.
    #[arg(long, env = "UPLOADER_MAX_CONNECTIONS")]
    pub max_connections: Option<u64>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        Self {
            header_timeout_secs: 10.0,
            request_timeout_secs: 60.0,
            max_connections: None,
        }
    }
}

/// What `ServeSettings` come to once checked against the process's limits.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    pub header_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl ServeSettings {
    /// The limits, each refusal naming the setting.
    pub fn limits(&self) -> anyhow::Result<ServeLimits> {
        let secs = |name: &str, v: f64| {
            if v.is_finite() && (0.01..=3600.0).contains(&v) {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(anyhow::anyhow!(
                    "{name} is {v}: it must be 0.01 to 3600 seconds"
                ))
            }
        };
        let header_timeout = secs(
            "UPLOADER_HEADER_TIMEOUT_SECS (--header-timeout-secs)",
            self.header_timeout_secs,
        )?;
        let request_timeout = secs(
            "UPLOADER_REQUEST_TIMEOUT_SECS (--request-timeout-secs)",
            self.request_timeout_secs,
        )?;
        let max_connections = connection_limit(self.max_connections, open_file_limit())?;
        Ok(ServeLimits {
            header_timeout,
            request_timeout,
            max_connections,
        })
    }
}

/// Connections allowed with `files` open files (`None`: no limit known), keeping
/// `FD_RESERVE` for everything else: past it, a new connection or the database could not be
/// opened at all.
fn connection_limit(asked: Option<u64>, files: Option<u64>) -> anyhow::Result<usize> {
    let room = files.map(|f| f.saturating_sub(FD_RESERVE));
    if room.is_some_and(|r| r < 16) {
        anyhow::bail!(
            "the open-file limit (RLIMIT_NOFILE) is {}: the backend needs at least {} \
             (raise LimitNOFILE= in its unit, or ulimit -n)",
            files.unwrap_or(0),
            FD_RESERVE + 16
        );
    }
    let limit = match (asked, room) {
        (Some(0), _) => anyhow::bail!("UPLOADER_MAX_CONNECTIONS (--max-connections) is 0"),
        (Some(n), Some(room)) if n > room => anyhow::bail!(
            "UPLOADER_MAX_CONNECTIONS (--max-connections) is {n}, but the open-file limit \
             (RLIMIT_NOFILE) is {} and {FD_RESERVE} are kept for the database and S3: set at \
             most {room}, or raise LimitNOFILE=",
            files.unwrap_or(0)
        ),
        (Some(n), _) => n,
        (None, Some(room)) => room.min(DEFAULT_MAX_CONNECTIONS),
        (None, None) => DEFAULT_MAX_CONNECTIONS,
    };
    Ok(usize::try_from(limit).unwrap_or(usize::MAX))
}

/// The soft limit on open files, when there is one.
#[cfg(unix)]
fn open_file_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    // `rlim_t` is not `u64` on every Unix.
    #[allow(clippy::unnecessary_cast)]
    (ok && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur as u64)
}

/// Windows counts no sockets against a file limit.
#[cfg(not(unix))]
fn open_file_limit() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_keep_a_reserve_below_the_open_file_limit() {
        let cases: [(Option<u64>, Option<u64>, Option<usize>); 7] = [
            (None, Some(256), Some(192)),
            (None, Some(1_048_576), Some(4096)),
            (None, None, Some(4096)),
            (Some(100), Some(256), Some(100)),
            (Some(193), Some(256), None),
            (Some(0), None, None),
            (None, Some(70), None),
        ];
        for (asked, files, want) in cases {
            let got = connection_limit(asked, files);
            assert_eq!(
                got.as_ref().ok().copied(),
                want,
                "{asked:?} {files:?}: {got:?}"
            );
        }
    }
}
