//! What went wrong with a request, in plain words, and what the queue should do about it.

use crate::diagnostics::without_signatures;

/// How the queue reacts to a failed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No answer (refused, reset, DNS, timeout): retried; if the server cannot be reached at
    /// all the queue goes offline and no attempt is counted.
    Network,
    /// The server asked to slow down (503 SlowDown): retried after a longer backoff.
    Throttled,
    /// The server failed (5xx): retried.
    Server,
    /// Expired credentials, an expired signature or a skewed clock: signed afresh and retried.
    Resign,
    /// The multipart upload no longer exists on the server.
    Gone,
    /// The request itself is wrong (4xx, missing credentials): retrying cannot help.
    Permanent,
}

/// An error with the reason in plain words.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    pub message: String,
    pub kind: ErrorKind,
    /// The server's error code when it gave one (`AccessDenied`, `unauthorized`…), for
    /// diagnoses; the message already says it in words.
    pub code: Option<String>,
}

impl TransportError {
    /// The message loses any URL's query string: an HTTP client's error names the URL it
    /// failed on, and a presigned one carries its signature there.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            message: without_signatures(&message.into()),
            kind,
            code: None,
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

impl ErrorKind {
    /// The server cannot be reached, fails, or throttles: what a probe that gets this says is
    /// that the server is not working, not that a request is wrong.
    pub fn is_unavailable(self) -> bool {
        matches!(
            self,
            ErrorKind::Network | ErrorKind::Server | ErrorKind::Throttled
        )
    }

    /// Classifies an S3 error by its code and HTTP status.
    pub fn of_service_error(code: &str, status: u16) -> ErrorKind {
        match code {
            "SlowDown" | "Throttling" | "ThrottlingException" | "RequestLimitExceeded" => {
                ErrorKind::Throttled
            }
            "ExpiredToken" | "TokenRefreshRequired" | "RequestTimeTooSkewed" | "RequestExpired" => {
                ErrorKind::Resign
            }
            "NoSuchUpload" => ErrorKind::Gone,
            "InternalError" | "ServiceUnavailable" | "RequestTimeout" => ErrorKind::Server,
            _ if status == 503 => ErrorKind::Throttled,
            _ if status >= 500 || status == 408 || status == 429 => ErrorKind::Server,
            _ => ErrorKind::Permanent,
        }
    }
}

/// The error and its sources as one sentence, without Debug dumps, repeats or URLs' query
/// strings.
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    without_signatures(&parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_errors_are_classified_by_code_then_status() {
        let cases = [
            ("SlowDown", 503, ErrorKind::Throttled),
            ("", 503, ErrorKind::Throttled),
            ("InternalError", 500, ErrorKind::Server),
            ("", 502, ErrorKind::Server),
            ("RequestTimeout", 400, ErrorKind::Server),
            ("", 429, ErrorKind::Server),
            ("ExpiredToken", 400, ErrorKind::Resign),
            ("RequestTimeTooSkewed", 403, ErrorKind::Resign),
            ("NoSuchUpload", 404, ErrorKind::Gone),
            ("AccessDenied", 403, ErrorKind::Permanent),
            ("BadDigest", 400, ErrorKind::Permanent),
            ("NoSuchBucket", 404, ErrorKind::Permanent),
            ("InvalidAccessKeyId", 403, ErrorKind::Permanent),
        ];
        for (code, status, kind) in cases {
            assert_eq!(
                ErrorKind::of_service_error(code, status),
                kind,
                "{code} {status}"
            );
        }
    }
}
