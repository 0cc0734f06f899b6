//! The connection test (the company guide's section 7, done right). It writes a probe object
//! inside the configured prefix (never `test/hello.txt`, which the least-privilege policy
//! denies), reads it back by HEAD and by a presigned GET, and deletes it. The first failure is
//! explained in plain words, mapped to the guide's troubleshooting.

use std::time::Instant;

use bytes::Bytes;

use crate::Uploader;
use crate::deletion::Deletions;
use crate::transport::{ErrorKind, PutObject, TransportError};

/// A 1×1 grey PNG: the backend signs images only, and a probe should be what uploads are.
const PROBE: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0x0f, 0x00, 0x01,
    0x01, 0x01, 0x00, 0xb1, 0x38, 0xf6, 0x14, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// One step of the test and how it went.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `put`, `head`, `get` or `delete`.
    pub name: &'static str,
    pub millis: u64,
    /// `None`: it worked.
    pub failure: Option<Diagnosis>,
    /// What it did, e.g. the key, or "queued for the backend's deletion worker".
    pub note: String,
}

/// What went wrong, why, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// A stable word: `access_denied`, `no_such_bucket`, `wrong_secret`, `unknown_key_id`,
    /// `clock`, `unreachable`, `token`, `credentials_missing`, `other`.
    pub cause: &'static str,
    /// The problem in plain words.
    pub problem: String,
    /// What to check or change.
    pub fix: String,
    /// The server's own words.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionReport {
    pub destination: String,
    pub key: String,
    pub steps: Vec<Step>,
}

impl ConnectionReport {
    pub fn passed(&self) -> bool {
        self.steps.iter().all(|s| s.failure.is_none())
    }

    pub fn diagnosis(&self) -> Option<&Diagnosis> {
        self.steps.iter().find_map(|s| s.failure.as_ref())
    }
}

/// Maps a failed request to the guide's troubleshooting.
pub fn diagnose(error: &TransportError) -> Diagnosis {
    let detail = error.message.clone();
    let make = |cause, problem: &str, fix: &str| Diagnosis {
        cause,
        problem: problem.into(),
        fix: fix.into(),
        detail: detail.clone(),
    };
    match error.code.as_deref() {
        Some("AccessDenied") => make(
            "access_denied",
            "the credentials work, but their IAM policy does not allow this under the key prefix",
            "attach the policy `uploader admin iam-policy` prints for this bucket and prefix, \
             and check the prefix setting",
        ),
        Some("NoSuchBucket") => make(
            "no_such_bucket",
            "there is no bucket by this name (or not in this region or endpoint)",
            "check the bucket name (s3.bucket, AWS_S3_BUCKET_NAME) and the region",
        ),
        Some("SignatureDoesNotMatch") => make(
            "wrong_secret",
            "the access key id is known, but the secret access key does not match it",
            "store the secret again (or fix AWS_SECRET_ACCESS_KEY): it was mistyped or rotated",
        ),
        Some("InvalidAccessKeyId") => make(
            "unknown_key_id",
            "the server does not know this access key id",
            "check the access key id (AWS_ACCESS_KEY_ID): it may be deleted, deactivated, or \
             belong to another account or endpoint",
        ),
        Some("RequestTimeTooSkewed") => make(
            "clock",
            "this computer's clock is too far from the server's for signed requests",
            "set the clock to synchronise automatically (NTP)",
        ),
        Some("unauthorized") => make(
            "token",
            "the backend does not accept this workstation's token (revoked, or never valid)",
            "ask an admin for a new token (`uploader-backend token create`) and store it with \
             `uploader token set`",
        ),
        _ if error.kind == ErrorKind::Network => make(
            "unreachable",
            "the server cannot be reached: no connection, a wrong address, DNS, TLS or a proxy",
            "check the endpoint or backend URL, the network, and any proxy (HTTPS_PROXY)",
        ),
        _ if error.message.contains("no AWS credentials") => make(
            "credentials_missing",
            "no credentials were found for direct mode",
            "store keys for this workstation, or set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or configure an AWS profile",
        ),
        _ => make(
            "other",
            "the server refused the request",
            "read the server's words below",
        ),
    }
}

impl Uploader {
    /// Puts, reads back and deletes a probe object under the prefix; stops at the first
    /// failure and explains it. Safe to repeat: each run uses its own key.
    pub async fn test_connection(&self) -> ConnectionReport {
        let key = format!(
            "{}.connection-test/{}.png",
            self.config.s3.prefix,
            uuid::Uuid::new_v4().simple()
        );
        let body = Bytes::from_static(PROBE);
        let mut report = ConnectionReport {
            destination: self.destination(),
            key: key.clone(),
            steps: Vec::new(),
        };
        let object_id = crate::transport::new_object_id();
        let put = PutObject {
            key: key.clone(),
            body: body.clone(),
            content_type: "image/png".into(),
            sha256: crate::hash::sha256_hex(&body),
            object_id: object_id.clone(),
        };
        let started = Instant::now();
        let outcome = self.transport.put_object(put).await.map(|_| ());
        if !record(&mut report, "put", started, outcome, key.clone()) {
            return report;
        }

        let started = Instant::now();
        let outcome = match self.transport.head_object(&key).await {
            Ok(Some(info)) if info.size == body.len() as u64 => Ok(()),
            Ok(Some(info)) => Err(TransportError::new(
                ErrorKind::Permanent,
                format!(
                    "the probe reads back as {} bytes, not {}",
                    info.size,
                    body.len()
                ),
            )),
            Ok(None) => Err(TransportError::new(
                ErrorKind::Permanent,
                "the probe was written but a HEAD does not find it",
            )),
            Err(e) => Err(e),
        };
        if !record(&mut report, "head", started, outcome, String::new()) {
            return report;
        }

        let started = Instant::now();
        let outcome = self.fetch_probe(&key, &body).await;
        if !record(&mut report, "get", started, outcome, "presigned GET".into()) {
            return report;
        }

        let started = Instant::now();
        let (outcome, note) = match self.transport.deletions() {
            Deletions::Direct(deleter) => {
                match deleter.delete_objects(std::slice::from_ref(&key)).await {
                    Ok(failed) if failed.is_empty() => (Ok(()), String::new()),
                    Ok(failed) => (
                        Err(
                            TransportError::new(ErrorKind::Permanent, failed[0].message.clone())
                                .with_code(failed[0].code.clone()),
                        ),
                        String::new(),
                    ),
                    Err(e) => (Err(e), String::new()),
                }
            }
            // The backend's deletion worker deletes it; the outbox hands it over.
            Deletions::Upstream(_) | Deletions::Unsupported(_) => {
                match self.delete_upload(&key, &object_id, "connection test") {
                    Ok(_) => (Ok(()), "queued for the deletion worker".into()),
                    Err(e) => (
                        Err(TransportError::new(ErrorKind::Permanent, e.to_string())),
                        String::new(),
                    ),
                }
            }
        };
        record(&mut report, "delete", started, outcome, note);
        report
    }

    async fn fetch_probe(&self, key: &str, body: &Bytes) -> Result<(), TransportError> {
        let link = self
            .view_link(key, std::time::Duration::from_secs(60))
            .await?;
        let answer = reqwest::get(&link.url).await.map_err(|e| {
            TransportError::new(
                ErrorKind::Network,
                format!("the presigned GET failed: {}", crate::transport::causes(&e)),
            )
        })?;
        let status = answer.status();
        let bytes = answer.bytes().await.map_err(|e| {
            TransportError::new(
                ErrorKind::Network,
                format!(
                    "the presigned GET broke off: {}",
                    crate::transport::causes(&e)
                ),
            )
        })?;
        if !status.is_success() {
            return Err(crate::transport::s3_refused(
                status,
                &String::from_utf8_lossy(&bytes),
            ));
        }
        if bytes != *body {
            return Err(TransportError::new(
                ErrorKind::Permanent,
                "the presigned GET gave other bytes than were written",
            ));
        }
        Ok(())
    }
}

/// Adds a step; whether the test goes on.
fn record(
    report: &mut ConnectionReport,
    name: &'static str,
    started: Instant,
    outcome: Result<(), TransportError>,
    note: String,
) -> bool {
    let failure = outcome.err().map(|e| diagnose(&e));
    let ok = failure.is_none();
    report.steps.push(Step {
        name,
        millis: started.elapsed().as_millis() as u64,
        failure,
        note,
    });
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failure_is_mapped_to_the_guides_troubleshooting() {
        let coded = |code: &str| {
            TransportError::new(ErrorKind::Permanent, format!("refused: {code}")).with_code(code)
        };
        for (error, cause, says) in [
            (coded("AccessDenied"), "access_denied", "iam-policy"),
            (coded("NoSuchBucket"), "no_such_bucket", "bucket name"),
            (coded("SignatureDoesNotMatch"), "wrong_secret", "secret"),
            (
                coded("InvalidAccessKeyId"),
                "unknown_key_id",
                "access key id",
            ),
            (coded("RequestTimeTooSkewed"), "clock", "clock"),
            (coded("unauthorized"), "token", "token"),
            (
                TransportError::new(ErrorKind::Network, "connection refused"),
                "unreachable",
                "proxy",
            ),
            (coded("InternalError"), "other", "server's words"),
        ] {
            let d = diagnose(&error);
            assert_eq!(d.cause, cause, "{error:?}");
            assert!(
                format!("{} {}", d.problem, d.fix).contains(says),
                "{cause}: {d:?}"
            );
            assert_eq!(d.detail, error.message);
        }
    }

    #[test]
    fn the_probe_is_a_real_one_pixel_png() {
        let probe = image::load_from_memory(PROBE).unwrap();
        assert_eq!((probe.width(), probe.height()), (1, 1));
    }
}
