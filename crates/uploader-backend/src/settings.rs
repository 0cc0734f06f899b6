//! The backend's settings: flags, or the environment (and a `.env` file) under the names the
//! company's S3 guide uses. Secrets are never printed: not in `--help`, not in `Debug`.

use std::path::PathBuf;
use std::time::Duration;

use uploader_core::config::{S3Settings, UploadSettings};
use uploader_core::transport::S3Direct;

use crate::keys::check_prefix;

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
    /// How long a signed URL lives, in seconds (at most 7 days, and never beyond the
    /// credentials' own expiry).
    #[arg(long, env = "UPLOADER_PRESIGN_EXPIRY_SECS", default_value_t = 900)]
    pub presign_expiry_secs: u64,
    /// Files, or parts, signed in one request at most; more get 413.
    #[arg(long, env = "UPLOADER_MAX_BATCH", default_value_t = 100)]
    pub max_batch: usize,
    /// Content types that may be signed, comma-separated; `image/*` matches every image type.
    #[arg(long, env = "UPLOADER_CONTENT_TYPES", default_value = "image/*")]
    pub content_types: String,
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
        if !(1..=7 * 24 * 3600).contains(&self.presign_expiry_secs) {
            anyhow::bail!("UPLOADER_PRESIGN_EXPIRY_SECS must be 1 to 604800 (7 days)");
        }
        if self.max_batch == 0 || self.max_batch > 1000 {
            anyhow::bail!("UPLOADER_MAX_BATCH must be 1 to 1000");
        }
        if !(1..=100).contains(&self.deletion_max_attempts) {
            anyhow::bail!("UPLOADER_DELETION_MAX_ATTEMPTS must be 1 to 100");
        }
        if self.content_types().is_empty() {
            anyhow::bail!("UPLOADER_CONTENT_TYPES is empty: name at least one type, e.g. image/*");
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
