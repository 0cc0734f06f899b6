//! Companion mode: uploads signed by an `@uppy/companion` server, which companies already run
//! for Uppy. Companion's S3 routes sign a POST form for a whole object, and start, sign parts
//! of, list, complete and abort multipart uploads. It cannot tell what an object holds, or
//! which uploads are open for a key, so an object whose send was interrupted is sent again,
//! and an upload whose start was lost is left to the bucket's 7-day lifecycle rule.
//!
//! Companion must keep the name the app sends: its `getKey` must return the prefix followed
//! by `filename` (the standalone server puts a random UUID in front), and it must run with
//! `AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED`, or its part URLs carry the CRC32 of an
//! empty body and S3 refuses every part.

use std::collections::BTreeMap;

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uploader_api::SignedRequest;

use super::delegate::transport_from_inherent;
use super::error::causes;
use super::http::{self, file_body, path_below, s3_answer, send_signed};
use super::{
    CompletedPart, ErrorKind, FileRange, OBJECT_ID_METADATA, ObjectInfo, PutObject,
    SHA256_METADATA, ServerPart, TransportError, TransportResult,
};
use crate::config::UploadSettings;

pub struct Companion {
    http: reqwest::Client,
    /// Companion's base URL, without a trailing `/`.
    base: String,
    /// Sent as a bearer token when set, for a proxy in front of Companion that checks one.
    token: Option<String>,
    /// The prefix Companion's `getKey` puts before the names it is sent.
    prefix: String,
}

impl std::fmt::Debug for Companion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Companion")
            .field("base", &self.base)
            .finish()
    }
}

/// `/s3/params`: a form to POST the object with.
#[derive(Deserialize)]
struct FormPost {
    method: String,
    url: String,
    fields: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    key: String,
    upload_id: String,
}

#[derive(Deserialize)]
struct PartUrl {
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedPart {
    part_number: u32,
    size: u64,
    #[serde(rename = "ETag")]
    etag: String,
}

impl From<ListedPart> for ServerPart {
    fn from(p: ListedPart) -> Self {
        ServerPart {
            part_number: p.part_number,
            size: p.size,
            etag: p.etag,
        }
    }
}

impl Companion {
    pub fn new(
        url: &str,
        token: Option<&str>,
        prefix: &str,
        upload: &UploadSettings,
    ) -> TransportResult<Self> {
        Ok(Self {
            http: http::client(upload)?,
            base: url.trim_end_matches('/').to_string(),
            token: token.map(str::to_string),
            prefix: prefix.to_string(),
        })
    }

    fn request(&self, method: Method, route: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{route}", self.base));
        match &self.token {
            Some(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        }
    }

    /// Sends one request to Companion; its JSON answer, or its error explained.
    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> TransportResult<T> {
        let response = request.send().await.map_err(|e| {
            TransportError::new(
                ErrorKind::Network,
                format!("cannot reach Companion at {}: {}", self.base, causes(&e)),
            )
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(self.refused(what, status, &text));
        }
        serde_json::from_str(&text).map_err(|e| {
            TransportError::new(
                ErrorKind::Server,
                format!("Companion at {} answered {what} unreadably: {e}", self.base),
            )
        })
    }

    fn refused(&self, what: &str, status: StatusCode, text: &str) -> TransportError {
        let kind = if text.contains("NoSuchUpload") {
            ErrorKind::Gone
        } else {
            match status.as_u16() {
                429 | 503 => ErrorKind::Throttled,
                s if s >= 500 => ErrorKind::Server,
                _ => ErrorKind::Permanent,
            }
        };
        let detail: String = text.chars().take(300).collect();
        TransportError::new(
            kind,
            format!(
                "Companion at {} refused {what}: HTTP {}: {detail}",
                self.base,
                status.as_u16()
            ),
        )
    }

    /// Companion's `getKey` must give back the key the queue recorded.
    fn check_key(&self, asked: &str, got: &str) -> TransportResult<()> {
        if asked == got {
            return Ok(());
        }
        Err(TransportError::new(
            ErrorKind::Permanent,
            format!(
                "Companion at {} stores `{asked}` as `{got}`: its getKey must return the prefix \
                 `{}` followed by the file name it is sent",
                self.base, self.prefix
            ),
        ))
    }

    async fn put(&self, object: PutObject) -> TransportResult<Option<String>> {
        let path = path_below(&self.prefix, &object.key)?;
        let query = [
            ("filename", path),
            ("type", object.content_type.as_str()),
            ("metadata[sha256]", object.sha256.as_str()),
            ("metadata[object-id]", object.object_id.as_str()),
        ];
        let form: FormPost = self
            .call(
                self.request(Method::GET, "/s3/params").query(&query),
                "to sign an upload",
            )
            .await?;
        if !form.method.eq_ignore_ascii_case("POST") {
            return Err(TransportError::new(
                ErrorKind::Permanent,
                format!(
                    "Companion signed a {} form; only POST is known",
                    form.method
                ),
            ));
        }
        self.check_key(
            &object.key,
            form.fields.get("key").map_or("", String::as_str),
        )?;
        if form.fields.get(&format!("x-amz-meta-{SHA256_METADATA}")) != Some(&object.sha256) {
            return Err(TransportError::new(
                ErrorKind::Permanent,
                format!(
                    "Companion at {} dropped the SHA-256 metadata from its form",
                    self.base
                ),
            ));
        }
        // The file goes last: S3 ignores fields after it.
        let mut body = reqwest::multipart::Form::new();
        for (name, value) in form.fields {
            body = body.text(name, value);
        }
        let file = reqwest::multipart::Part::stream_with_length(
            object.body.clone(),
            object.body.len() as u64,
        )
        .file_name(path.rsplit('/').next().unwrap_or(path).to_string())
        .mime_str(&object.content_type)
        .map_err(|e| TransportError::new(ErrorKind::Permanent, e.to_string()))?;
        let body = body.part("file", file);
        s3_answer(self.http.post(&form.url).multipart(body).send().await).await
    }

    async fn create(
        &self,
        key: &str,
        content_type: &str,
        sha256: &str,
        object_id: &str,
    ) -> TransportResult<String> {
        let body = serde_json::json!({
            "filename": path_below(&self.prefix, key)?,
            "type": content_type,
            "metadata": { SHA256_METADATA: sha256, OBJECT_ID_METADATA: object_id },
        });
        let created: Created = self
            .call(
                self.request(Method::POST, "/s3/multipart").json(&body),
                "to start a multipart upload",
            )
            .await?;
        self.check_key(key, &created.key)?;
        Ok(created.upload_id)
    }

    async fn part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        range: FileRange,
        _crc32c: &str,
    ) -> TransportResult<String> {
        let route = format!("/s3/multipart/{}/{part_number}", encode(upload_id));
        let signed: PartUrl = self
            .call(
                self.request(Method::GET, &route).query(&[("key", key)]),
                "to sign a part",
            )
            .await?;
        let request = SignedRequest {
            method: "PUT".into(),
            url: signed.url,
            headers: BTreeMap::from([("content-length".to_string(), range.len.to_string())]),
            expires_at_ms: 0,
        };
        let etag = send_signed(&self.http, &request, file_body(&range).await?).await?;
        etag.ok_or_else(|| {
            TransportError::new(
                ErrorKind::Server,
                format!("S3 accepted part {part_number} of `{key}` without an ETag"),
            )
        })
    }

    async fn parts(&self, key: &str, upload_id: &str) -> TransportResult<Vec<ServerPart>> {
        let route = format!("/s3/multipart/{}", encode(upload_id));
        let listed: Vec<ListedPart> = self
            .call(
                self.request(Method::GET, &route).query(&[("key", key)]),
                "to list parts",
            )
            .await?;
        Ok(listed.into_iter().map(ServerPart::from).collect())
    }

    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
    ) -> TransportResult<Option<String>> {
        let route = format!("/s3/multipart/{}/complete", encode(upload_id));
        let parts: Vec<_> = parts
            .into_iter()
            .map(|p| serde_json::json!({ "PartNumber": p.part_number, "ETag": p.etag }))
            .collect();
        let _: serde_json::Value = self
            .call(
                self.request(Method::POST, &route)
                    .query(&[("key", key)])
                    .json(&serde_json::json!({ "parts": parts })),
                "to complete a multipart upload",
            )
            .await?;
        Ok(None)
    }

    /// Companion has no route for this: nothing to adopt.
    async fn uploads(&self, _key: &str) -> TransportResult<Vec<String>> {
        Ok(Vec::new())
    }

    async fn abort(&self, key: &str, upload_id: &str) -> TransportResult<()> {
        let route = format!("/s3/multipart/{}", encode(upload_id));
        match self
            .call::<serde_json::Value>(
                self.request(Method::DELETE, &route).query(&[("key", key)]),
                "to abort a multipart upload",
            )
            .await
        {
            Err(e) if e.kind == ErrorKind::Gone => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Companion cannot say what an object holds: nothing is found, so it is sent again.
    async fn head(&self, _key: &str) -> TransportResult<Option<ObjectInfo>> {
        Ok(None)
    }

    /// Any HTTP answer means Companion is reachable.
    async fn reach(&self) -> TransportResult<()> {
        self.request(Method::GET, "/")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                TransportError::new(
                    ErrorKind::Network,
                    format!("cannot reach Companion at {}: {}", self.base, causes(&e)),
                )
            })
    }
}

/// An upload id as one URL path segment.
fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

transport_from_inherent!(Companion {
    fn deletions(&self) -> crate::deletion::Deletions<'_> {
        crate::deletion::Deletions::Unsupported(
            "Companion cannot delete objects: deletions wait in the outbox until the workstation uses backend or direct mode",
        )
    }

    fn describe(&self) -> String {
        format!("Companion at {}", self.base)
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companion_errors_are_classified() {
        let c = Companion::new("http://x", None, "products/", &UploadSettings::default()).unwrap();
        let cases = [
            (404, r#"{"code":"NoSuchUpload"}"#, ErrorKind::Gone),
            (500, r#"{"message":"NoSuchUpload: gone"}"#, ErrorKind::Gone),
            (500, "Something went wrong", ErrorKind::Server),
            (503, "", ErrorKind::Throttled),
            (
                400,
                "s3: content type must be a string",
                ErrorKind::Permanent,
            ),
        ];
        for (status, text, kind) in cases {
            let e = c.refused("x", StatusCode::from_u16(status).unwrap(), text);
            assert_eq!(e.kind, kind, "{status} {text}");
        }
    }

    #[test]
    fn upload_ids_become_one_path_segment() {
        assert_eq!(encode("abc-DEF_1.2~"), "abc-DEF_1.2~");
        assert_eq!(encode("a/b+c=="), "a%2Fb%2Bc%3D%3D");
    }
}
