//! Backend mode: the workstation holds no AWS keys. The company backend (see
//! `docs/backend-api.md`) signs each request just before it is sent, and starts, lists,
//! completes and aborts multipart uploads with its own keys; only bytes go straight to S3.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{AUTHORIZATION, DATE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uploader_api::{
    AbortRequest, CompleteMultipartRequest, CompleteMultipartResponse, CompleteRequest,
    CompleteResponse, CreateMultipartResponse, ErrorBody, FileToSign, Health, ListPartsRequest,
    ListPartsResponse, ObjectState, OpenUploadsResponse, PartDone, PartToSign, PresignRequest,
    PresignResponse, Session, SignPartsRequest, SignPartsResponse, code, route,
};

use super::delegate::transport_from_inherent;
use super::error::causes;
use super::http::{self, file_body, path_below, send_signed};
use super::{
    BoxFuture, CompletedPart, ErrorKind, FileRange, ObjectInfo, PutObject, Registration,
    ServerPart, TransportError, TransportResult,
};
use crate::config::UploadSettings;

/// A clock difference below this is not worth a word.
const SKEW_WORTH_SAYING_MS: i64 = 60_000;

pub struct Backend {
    http: reqwest::Client,
    /// The backend's base URL, without a trailing `/`.
    base: String,
    token: String,
    /// The configured key prefix, which must be the backend's: keys are sent as paths below it.
    prefix: String,
    /// The backend's clock minus ours, in ms, from its answers; 0 until it has answered.
    skew_ms: AtomicI64,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Backend").field("base", &self.base).finish()
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
        let http = http::client(upload)?;
        Ok(Self {
            http,
            base: url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            prefix: prefix.to_string(),
            skew_ms: AtomicI64::new(0),
        })
    }

    /// The backend's clock minus this computer's, once it has answered.
    pub fn clock_skew(&self) -> Duration {
        Duration::from_millis(self.skew_ms.load(Ordering::Relaxed).unsigned_abs())
    }

    /// The clock difference in words, when it is large enough to matter to a person.
    pub fn clock_skew_warning(&self) -> Option<String> {
        skew_warning(self.skew_ms.load(Ordering::Relaxed))
    }

    /// What the backend says this workstation's token may do.
    pub async fn session(&self) -> TransportResult<Session> {
        self.call(Method::GET, route::SESSION, None::<&()>, &[])
            .await
    }

    /// One call to the backend's API, its answer parsed, its error explained.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        route: &str,
        body: Option<&impl Serialize>,
        query: &[(&str, &str)],
    ) -> TransportResult<T> {
        let mut request = self
            .http
            .request(method, format!("{}{route}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token));
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.unreachable(e))?;
        self.note_date(response.headers());
        let status = response.status();
        if status.is_success() {
            let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
            // 204 answers carry no body: `()` and friends parse from `null`.
            let text: &[u8] = if bytes.is_empty() { b"null" } else { &bytes };
            return serde_json::from_slice(text).map_err(|e| {
                TransportError::new(
                    ErrorKind::Server,
                    format!(
                        "the backend at {} answered {route} unreadably: {e}",
                        self.base
                    ),
                )
            });
        }
        let text = response.text().await.unwrap_or_default();
        Err(self.refused(route, status, &text))
    }

    fn note_date(&self, headers: &HeaderMap) {
        let Some(date) = headers
            .get(DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
        else {
            return;
        };
        let theirs = date
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        // `Date` has whole seconds: only a larger difference than that rounding is kept.
        let skew = theirs - epoch_ms();
        if skew.abs() > 1_500 {
            self.skew_ms.store(skew, Ordering::Relaxed);
        } else {
            self.skew_ms.store(0, Ordering::Relaxed);
        }
    }

    fn unreachable(&self, e: reqwest::Error) -> TransportError {
        TransportError::new(
            ErrorKind::Network,
            format!("cannot reach the backend at {}: {}", self.base, causes(&e)),
        )
    }

    fn refused(&self, route: &str, status: StatusCode, text: &str) -> TransportError {
        let Ok(body) = serde_json::from_str::<ErrorBody>(text) else {
            let kind = match status.as_u16() {
                429 | 503 => ErrorKind::Throttled,
                s if s >= 500 => ErrorKind::Server,
                _ => ErrorKind::Permanent,
            };
            return TransportError::new(
                kind,
                format!(
                    "the backend at {} answered {route} with HTTP {status}",
                    self.base
                ),
            );
        };
        let (kind, hint) = match body.code.as_str() {
            code::UNAUTHORIZED => (
                ErrorKind::Permanent,
                " (ask an admin for a new workstation token)",
            ),
            code::UPLOAD_GONE => (ErrorKind::Gone, ""),
            code::UPSTREAM_UNAVAILABLE if status == StatusCode::SERVICE_UNAVAILABLE => {
                (ErrorKind::Throttled, "")
            }
            code::UPSTREAM_UNAVAILABLE | code::INTERNAL => (ErrorKind::Server, ""),
            _ if status.as_u16() == 429 => (ErrorKind::Throttled, ""),
            _ if status.is_server_error() && body.code != code::UPSTREAM_REFUSED => {
                (ErrorKind::Server, "")
            }
            _ => (ErrorKind::Permanent, ""),
        };
        TransportError::new(
            kind,
            format!(
                "the backend refused it: {}{hint} ({}, HTTP {})",
                body.message,
                body.code,
                status.as_u16()
            ),
        )
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
        };
        let request = PresignRequest { files: vec![file] };
        let mut resigned = false;
        loop {
            let answer: PresignResponse = self
                .call(Method::POST, route::PRESIGN, Some(&request), &[])
                .await?;
            let signed = answer.uploads.into_iter().next().ok_or_else(|| {
                TransportError::new(ErrorKind::Server, "the backend signed nothing")
            })?;
            match send_signed(&self.http, &signed.request, object.body.clone().into()).await {
                // A URL that expired on the way (a stall, a slow link) is signed afresh once.
                Err(e) if e.kind == ErrorKind::Resign && !resigned => resigned = true,
                other => return other,
            }
        }
    }

    async fn head(&self, key: &str) -> TransportResult<Option<ObjectInfo>> {
        let path = path_below(&self.prefix, key)?;
        let state: ObjectState = self
            .call(Method::GET, route::OBJECTS, None::<&()>, &[("path", path)])
            .await?;
        Ok(state.exists.then(|| ObjectInfo {
            size: state.size.unwrap_or(0),
            sha256: state.sha256.map(|s| s.to_ascii_lowercase()),
            etag: state.etag,
        }))
    }

    async fn create(&self, key: &str, content_type: &str, sha256: &str) -> TransportResult<String> {
        let request = FileToSign {
            path: path_below(&self.prefix, key)?.to_string(),
            content_type: content_type.to_string(),
            size: 0,
            sha256: sha256.to_string(),
            name: None,
            sku: None,
            variant: None,
        };
        let answer: CreateMultipartResponse = self
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
                .call(Method::POST, route::MULTIPART_SIGN, Some(&request), &[])
                .await?;
            let signed = answer.parts.into_iter().next().ok_or_else(|| {
                TransportError::new(ErrorKind::Server, "the backend signed no part")
            })?;
            let body = file_body(&range).await?;
            let sent = match send_signed(&self.http, &signed.request, body).await {
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
            .call(Method::POST, route::MULTIPART_COMPLETE, Some(&request), &[])
            .await?;
        Ok(answer.etag)
    }

    async fn uploads(&self, key: &str) -> TransportResult<Vec<String>> {
        let path = path_below(&self.prefix, key)?;
        let answer: OpenUploadsResponse = self
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
        };
        let _: CompleteResponse = self
            .call(Method::POST, route::REGISTER, Some(&request), &[])
            .await?;
        Ok(())
    }

    /// Health needs no token: an answer means the backend is reachable. Its clock is noted.
    async fn reach(&self) -> TransportResult<()> {
        let sent = epoch_ms();
        let response = self
            .http
            .get(format!("{}{}", self.base, route::HEALTH))
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        if let Ok(health) = response.json::<Health>().await {
            // The backend's time was read about halfway through the round trip.
            let now = epoch_ms();
            let skew = health.time_ms - (sent + now) / 2;
            let rounding = (now - sent) / 2 + 500;
            self.skew_ms.store(
                if skew.abs() > rounding { skew } else { 0 },
                Ordering::Relaxed,
            );
        }
        Ok(())
    }
}

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

fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

transport_from_inherent!(Backend {
    fn register<'a>(&'a self, object: &'a Registration) -> BoxFuture<'a, TransportResult<()>> {
        Box::pin(self.register(object))
    }

    fn describe(&self) -> String {
        format!("the backend at {}", self.base)
    }

    fn clock_warning(&self) -> Option<String> {
        self.clock_skew_warning()
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_errors_are_classified_by_code() {
        let backend = Backend::new(
            "http://127.0.0.1:1",
            "cu_secret",
            "products/",
            &UploadSettings::default(),
        )
        .unwrap();
        let body = |code: &str| format!(r#"{{"code":"{code}","message":"m"}}"#);
        let cases = [
            (401, body(code::UNAUTHORIZED), ErrorKind::Permanent),
            (410, body(code::UPLOAD_GONE), ErrorKind::Gone),
            (502, body(code::UPSTREAM_UNAVAILABLE), ErrorKind::Server),
            (503, body(code::UPSTREAM_UNAVAILABLE), ErrorKind::Throttled),
            (502, body(code::UPSTREAM_REFUSED), ErrorKind::Permanent),
            (500, body(code::INTERNAL), ErrorKind::Server),
            (400, body(code::INVALID_PATH), ErrorKind::Permanent),
            (413, body(code::BATCH_TOO_LARGE), ErrorKind::Permanent),
            (429, "slow down".to_string(), ErrorKind::Throttled),
            (502, "<html>".to_string(), ErrorKind::Server),
            (404, "nope".to_string(), ErrorKind::Permanent),
        ];
        for (status, text, kind) in cases {
            let e = backend.refused("/v1/x", StatusCode::from_u16(status).unwrap(), &text);
            assert_eq!(e.kind, kind, "{status} {text}");
            assert!(!e.message.contains("cu_secret"));
        }
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
