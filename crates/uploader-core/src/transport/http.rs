//! HTTP plumbing for the transports whose requests another server signs (backend mode,
//! Companion): the client, keys as paths below the prefix, sending a signed request, reading
//! S3's answer.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use uploader_api::SignedRequest;

use super::error::causes;
use super::{ErrorKind, FileRange, TransportError, TransportResult};
use crate::config::UploadSettings;

/// The HTTP client: a connect timeout, and the queue's request timeout between reads.
pub(super) fn client(upload: &UploadSettings) -> TransportResult<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(upload.request_timeout_secs))
        .user_agent(concat!("catalog-uploader/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| TransportError::new(ErrorKind::Permanent, format!("cannot set up HTTP: {e}")))
}

/// The key as a path below the prefix the signing server adds; a key outside it is never
/// sent.
pub(super) fn path_below<'k>(prefix: &str, key: &'k str) -> TransportResult<&'k str> {
    key.strip_prefix(prefix).ok_or_else(|| {
        TransportError::new(
            ErrorKind::Permanent,
            format!("`{key}` is not under the prefix `{prefix}` that the server signs under"),
        )
    })
}

/// Sends `body` as the signed request says: its method, URL and headers; returns the ETag.
pub(super) async fn send_signed(
    http: &reqwest::Client,
    signed: &SignedRequest,
    body: reqwest::Body,
) -> TransportResult<Option<String>> {
    let method = Method::from_bytes(signed.method.as_bytes()).map_err(|_| {
        TransportError::new(
            ErrorKind::Permanent,
            format!("the server signed an unknown method `{}`", signed.method),
        )
    })?;
    let mut request = http.request(method, &signed.url).body(body);
    for (name, value) in &signed.headers {
        request = request.header(name, value);
    }
    s3_answer(request.send().await).await
}

/// S3's answer to a signed request: the ETag, or the error explained.
pub(super) async fn s3_answer(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> TransportResult<Option<String>> {
    let response = sent.map_err(|e| {
        TransportError::new(
            ErrorKind::Network,
            format!("cannot reach S3: {}", causes(&e)),
        )
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string));
    }
    let text = response.text().await.unwrap_or_default();
    Err(s3_refused(status, &text))
}

/// A part's bytes, streamed from the staged file with their exact length.
pub(super) async fn file_body(range: &FileRange) -> TransportResult<reqwest::Body> {
    let unreadable = |e: std::io::Error| {
        TransportError::new(
            ErrorKind::Permanent,
            format!("cannot read {}: {e}", range.path.display()),
        )
    };
    let mut file = tokio::fs::File::from_std(crate::source::open(&range.path).map_err(unreadable)?);
    file.seek(std::io::SeekFrom::Start(range.offset))
        .await
        .map_err(unreadable)?;
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(range.len), 256 * 1024);
    Ok(reqwest::Body::wrap_stream(stream))
}

/// S3's XML error for a signed request, classified like any S3 error. An expired URL is
/// `AccessDenied` with "Request has expired": signed afresh, not a permanent refusal.
pub(crate) fn s3_refused(status: StatusCode, text: &str) -> TransportError {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].to_string())
    };
    let code = tag("Code").unwrap_or_else(|| "error".into());
    let message = tag("Message").unwrap_or_else(|| "no details".into());
    let expired = code == "AccessDenied" && message.to_ascii_lowercase().contains("expired");
    let kind = if expired {
        ErrorKind::Resign
    } else {
        ErrorKind::of_service_error(&code, status.as_u16())
    };
    let hint = match code.as_str() {
        _ if expired => " (the signed URL expired before it was used; it is signed afresh)",
        "SignatureDoesNotMatch" => {
            " (the signing server's keys or settings do not match the bucket)"
        }
        "BadDigest" | "XAmzContentChecksumMismatch" => {
            " (the file changed after it was queued: retry reads it again)"
        }
        _ => "",
    };
    TransportError::new(
        kind,
        format!(
            "S3 refused it: {code}: {message}{hint} (HTTP {})",
            status.as_u16()
        ),
    )
    .with_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_errors_on_signed_urls_are_classified() {
        let xml = |code: &str, message: &str| {
            format!(
                "<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
            )
        };
        let cases = [
            (
                403,
                xml("AccessDenied", "Request has expired"),
                ErrorKind::Resign,
            ),
            (
                403,
                xml("AccessDenied", "Access Denied."),
                ErrorKind::Permanent,
            ),
            (403, xml("SignatureDoesNotMatch", "x"), ErrorKind::Permanent),
            (400, xml("BadDigest", "x"), ErrorKind::Permanent),
            (503, xml("SlowDown", "x"), ErrorKind::Throttled),
            (500, xml("InternalError", "x"), ErrorKind::Server),
            (
                502,
                "<html>bad gateway</html>".to_string(),
                ErrorKind::Server,
            ),
        ];
        for (status, text, kind) in cases {
            let e = s3_refused(StatusCode::from_u16(status).unwrap(), &text);
            assert_eq!(e.kind, kind, "{status} {text}");
        }
    }

    #[tokio::test]
    async fn a_failed_presigned_request_names_the_url_without_its_signature() {
        // A port just bound and closed again: the request is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!(
            "http://127.0.0.1:{port}/bucket/products/SKU1/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Security-Token=FwoGZXIvYXdz&X-Amz-Signature=0123456789abcdef"
        );
        let sent = reqwest::Client::new().put(&url).body("x").send().await;
        assert!(sent.is_err(), "nothing listens on {port}");
        let error = s3_answer(sent).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Network);
        assert!(
            error
                .message
                .contains(&format!("127.0.0.1:{port}/bucket/products/SKU1/a.jpg")),
            "{}",
            error.message
        );
        for secret in [
            "X-Amz",
            "AKIAEXAMPLE",
            "FwoGZXIvYXdz",
            "0123456789abcdef",
            "?",
        ] {
            assert!(!error.message.contains(secret), "{}", error.message);
        }
    }

    #[test]
    fn keys_outside_the_prefix_are_not_sent() {
        assert_eq!(
            path_below("products/", "products/SKU/a.jpg").unwrap(),
            "SKU/a.jpg"
        );
        assert_eq!(
            path_below("products/", "other/SKU/a.jpg").unwrap_err().kind,
            ErrorKind::Permanent
        );
    }
}
