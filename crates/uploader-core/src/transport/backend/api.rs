//! The backend's API over HTTP: one call, its answer parsed or its error explained, and the
//! backend's clock read off every answer.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::UNIX_EPOCH;

use reqwest::header::{AUTHORIZATION, DATE, HeaderMap};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uploader_api::{ErrorBody, code};

use super::super::error::causes;
use super::super::{ErrorKind, TransportError, TransportResult};
use crate::clock::{Clock, SystemClock};

pub(super) struct Api {
    pub(super) http: reqwest::Client,
    /// The backend's base URL, without a trailing `/`.
    pub(super) base: String,
    /// Replaced when an admin stores a new token.
    pub(super) token: std::sync::RwLock<String>,
    /// The backend's clock minus ours, in ms, from its answers; 0 until it has answered.
    pub(super) skew_ms: AtomicI64,
}

impl Api {
    fn token(&self) -> String {
        match self.token.read() {
            Ok(token) => token.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// One call to the backend's API, its answer parsed, its error explained.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        route: &str,
        body: Option<&impl Serialize>,
        query: &[(&str, &str)],
    ) -> TransportResult<T> {
        let mut request = self
            .http
            .request(method, format!("{}{route}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", self.token()));
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

    pub(super) fn note_date(&self, headers: &HeaderMap) {
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
        let skew = theirs - SystemClock.now_ms();
        if skew.abs() > 1_500 {
            self.skew_ms.store(skew, Ordering::Relaxed);
        } else {
            self.skew_ms.store(0, Ordering::Relaxed);
        }
    }

    pub(super) fn unreachable(&self, e: reqwest::Error) -> TransportError {
        TransportError::new(
            ErrorKind::Network,
            format!("cannot reach the backend at {}: {}", self.base, causes(&e)),
        )
    }

    pub(super) fn refused(&self, route: &str, status: StatusCode, text: &str) -> TransportError {
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
        .with_code(body.code.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(token: &str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: "http://127.0.0.1:1".into(),
            token: std::sync::RwLock::new(token.into()),
            skew_ms: AtomicI64::new(0),
        }
    }

    #[test]
    fn backend_errors_are_classified_by_code() {
        let api = api("cu_secret");
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
            let e = api.refused("/v1/x", StatusCode::from_u16(status).unwrap(), &text);
            assert_eq!(e.kind, kind, "{status} {text}");
            assert!(!e.message.contains("cu_secret"));
        }
    }

    #[test]
    fn the_backends_clock_is_read_off_its_date_header() {
        let api = api("t");
        let at = |offset_secs: i64| {
            let now = std::time::SystemTime::now();
            let then = if offset_secs >= 0 {
                now + std::time::Duration::from_secs(offset_secs as u64)
            } else {
                now - std::time::Duration::from_secs(offset_secs.unsigned_abs())
            };
            let mut headers = HeaderMap::new();
            headers.insert(DATE, httpdate::fmt_http_date(then).parse().unwrap());
            headers
        };
        api.note_date(&at(2 * 3600));
        let skew = api.skew_ms.load(Ordering::Relaxed);
        assert!(
            (2 * 3_600_000 - 1_500..=2 * 3_600_000 + 1_500).contains(&skew),
            "{skew}"
        );
        // Within the header's one-second rounding: no difference at all.
        api.note_date(&at(0));
        assert_eq!(api.skew_ms.load(Ordering::Relaxed), 0);
        api.note_date(&at(-600));
        assert!(api.skew_ms.load(Ordering::Relaxed) < -598_000);
    }
}
