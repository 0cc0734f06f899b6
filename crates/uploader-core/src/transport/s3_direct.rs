//! Direct mode: the app signs requests itself with the AWS credential chain
//! (environment, shared profile, SSO, instance role).

use aws_config::BehaviorVersion;
use aws_config::meta::region::RegionProviderChain;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;

use super::{BoxFuture, PutObject, PutOutcome, Transport, TransportError};
use crate::config::S3Settings;

pub struct S3Direct {
    client: Client,
    bucket: String,
    endpoint: Option<String>,
}

impl S3Direct {
    /// Credentials and (when the settings name none) the region come from the AWS chain.
    pub async fn from_chain(settings: &S3Settings) -> Self {
        let region = RegionProviderChain::first_try(
            (!settings.region.is_empty()).then(|| Region::new(settings.region.clone())),
        )
        .or_default_provider()
        .or_else(Region::new("us-east-1"));
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .load()
            .await;
        Self::build(aws_sdk_s3::config::Builder::from(&sdk), settings)
    }

    /// With explicit keys, for tests and tools that already hold them.
    pub fn with_keys(settings: &S3Settings, access_key_id: &str, secret_access_key: &str) -> Self {
        let builder = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.effective_region().to_string()))
            .credentials_provider(Credentials::new(
                access_key_id,
                secret_access_key,
                None,
                None,
                "explicit",
            ));
        Self::build(builder, settings)
    }

    fn build(builder: aws_sdk_s3::config::Builder, settings: &S3Settings) -> Self {
        let mut builder = builder.force_path_style(settings.uses_path_style());
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Self {
            client: Client::from_conf(builder.build()),
            bucket: settings.bucket.clone(),
            endpoint: settings.endpoint.clone(),
        }
    }

    async fn put(&self, object: PutObject) -> Result<PutOutcome, TransportError> {
        let checksum = hex_to_base64(&object.sha256).ok_or_else(|| TransportError {
            message: format!("`{}` has no valid SHA-256 to send", object.key),
            retryable: false,
        })?;
        let response = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&object.key)
            .content_type(&object.content_type)
            .checksum_sha256(checksum)
            .body(ByteStream::from(object.body))
            .send()
            .await
            .map_err(|e| self.explain(e))?;
        Ok(PutOutcome {
            etag: response.e_tag().map(str::to_string),
        })
    }

    /// Turns an SDK error into a sentence, and says whether a retry may help.
    fn explain<E, R>(&self, error: SdkError<E, R>) -> TransportError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let place = self.describe();
        let (message, retryable) = match &error {
            SdkError::ServiceError(e) => {
                let err = e.err();
                let code = err.code().unwrap_or("error");
                let detail = err.message().unwrap_or("no details");
                let hint = match code {
                    "NoSuchBucket" => " (check the bucket name)",
                    "AccessDenied" => " (check the IAM policy and the key prefix)",
                    "InvalidAccessKeyId" | "SignatureDoesNotMatch" => " (check the access keys)",
                    "RequestTimeTooSkewed" => " (check this computer's clock)",
                    _ => "",
                };
                (
                    format!("{place} refused it: {code}: {detail}{hint}"),
                    matches!(
                        code,
                        "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout"
                    ),
                )
            }
            SdkError::TimeoutError(_) => (format!("{place} did not answer in time"), true),
            _ => {
                let causes = causes(&error);
                if causes.contains("no credentials found") || causes.contains("credential provider")
                {
                    (
                        format!(
                            "no AWS credentials found for {place}: set AWS_ACCESS_KEY_ID and \
                             AWS_SECRET_ACCESS_KEY, or configure an AWS profile"
                        ),
                        false,
                    )
                } else if matches!(
                    error,
                    SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
                ) {
                    (format!("cannot reach {place}: {causes}"), true)
                } else {
                    (format!("request to {place} failed: {causes}"), false)
                }
            }
        };
        TransportError { message, retryable }
    }
}

impl Transport for S3Direct {
    fn put_object(&self, object: PutObject) -> BoxFuture<'_, Result<PutOutcome, TransportError>> {
        Box::pin(self.put(object))
    }

    fn describe(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("s3://{} at {endpoint}", self.bucket),
            None => format!("s3://{}", self.bucket),
        }
    }
}

/// The error and its sources as one sentence, without Debug dumps or repeats.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

fn hex_to_base64(hex: &str) -> Option<String> {
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
