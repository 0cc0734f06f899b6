//! Presigned requests: URLs through which a client without keys sends bytes, made by the
//! backend that holds the keys. What the client must send (content type, checksum, SSE) is
//! signed in, so it cannot store other bytes or skip encryption.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::config::ProvideCredentials;
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};

use super::{ErrorKind, S3Direct, TransportError, TransportResult};

/// How long an answer about the credentials' expiry is trusted.
const EXPIRY_RECHECK: Duration = Duration::from_secs(30);

/// A request signed for later: send exactly these headers, before `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: SystemTime,
}

/// A whole object to presign a PUT for.
#[derive(Debug, Clone)]
pub struct PresignPut<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    /// Lowercase hex SHA-256 of the bytes, signed in as the checksum S3 verifies.
    pub sha256: &'a str,
    pub size: u64,
    /// The upload's own id, signed in as its `object-id` metadata.
    pub object_id: Option<&'a str>,
}

impl S3Direct {
    /// A PUT of one object, valid for `expires_in`.
    pub async fn presign_put(
        &self,
        put: &PresignPut<'_>,
        expires_in: Duration,
    ) -> TransportResult<Presigned> {
        let request = self
            .put_request(put.key, put.content_type, put.sha256, put.object_id)?
            .content_length(i64::try_from(put.size).unwrap_or(i64::MAX))
            .presigned(config(expires_in)?)
            .await
            .map_err(|e| self.explain(e))?;
        Ok(presigned(request, expires_in))
    }

    /// A PUT of one part of a multipart upload, with its base64 CRC32C.
    pub async fn presign_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        size: u64,
        crc32c: &str,
        expires_in: Duration,
    ) -> TransportResult<Presigned> {
        let request = self
            .client()
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(i32::try_from(part_number).unwrap_or(i32::MAX))
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .checksum_crc32_c(crc32c)
            .presigned(config(expires_in)?)
            .await
            .map_err(|e| self.explain(e))?;
        Ok(presigned(request, expires_in))
    }

    /// A GET of one object, valid for `expires_in`: a link for viewing a private object.
    pub async fn presign_get(&self, key: &str, expires_in: Duration) -> TransportResult<Presigned> {
        let request = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config(expires_in)?)
            .await
            .map_err(|e| self.explain(e))?;
        Ok(presigned(request, expires_in))
    }

    /// When the signing credentials expire (a role's session, say); `None` for keys that
    /// do not. A URL signed with them stops working then, whatever it says.
    /// Asked of the credential chain at most every 30 s (it may call STS or the instance
    /// metadata service), and again once the last answer is close to expiring.
    pub async fn credentials_expiry(&self) -> TransportResult<Option<SystemTime>> {
        let signer = self.signer();
        let Some(provider) = &signer.credentials else {
            return Ok(None);
        };
        let now = SystemTime::now();
        if let Ok(known) = self.expiry_seen.lock()
            && let Some((expiry, asked)) = *known
        {
            let recent = now.duration_since(asked).unwrap_or(Duration::MAX) < EXPIRY_RECHECK;
            let far = expiry.is_none_or(|at| at > now + EXPIRY_RECHECK);
            if recent && far {
                return Ok(expiry);
            }
        }
        let credentials = provider.provide_credentials().await.map_err(|e| {
            TransportError::new(
                ErrorKind::Permanent,
                format!("no AWS credentials found: {e}"),
            )
        })?;
        if let Ok(mut known) = self.expiry_seen.lock() {
            *known = Some((credentials.expiry(), now));
        }
        Ok(credentials.expiry())
    }
}

fn config(expires_in: Duration) -> TransportResult<PresigningConfig> {
    PresigningConfig::expires_in(expires_in).map_err(|e| {
        TransportError::new(
            ErrorKind::Permanent,
            format!("cannot presign for {expires_in:?}: {e}"),
        )
    })
}

fn presigned(request: PresignedRequest, expires_in: Duration) -> Presigned {
    Presigned {
        method: request.method().to_string(),
        url: request.uri().to_string(),
        headers: request
            .headers()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        expires_at: SystemTime::now() + expires_in,
    }
}
