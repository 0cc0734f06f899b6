//! An HTTP reverse proxy that falsifies S3 `DeleteObjects` reports, for tests of deletion
//! workers.
//!
//! SeaweedFS on loopback deletes every key it is asked to, so a worker's handling of "S3 could
//! not delete this key" is never exercised. Put this proxy between the client and the server:
//! every request goes through unchanged, and the answers to `DeleteObjects`
//! (`POST /{bucket}?delete`) can report chosen keys as failed.
//!
//! Requests are forwarded byte for byte, with the `Host` header exactly as the client sent it,
//! because SigV4 signs it: the proxy speaks HTTP/1.1 to the server through hyper's connection
//! API (one connection per request), which sends the headers it is given and adds none. Only
//! the hop-by-hop headers `Connection`, `Keep-Alive`, `Proxy-Connection` and `Upgrade` are not
//! forwarded, either way.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The most a `DeleteObjects` request or answer may hold; the proxy buffers both.
const MAX_BODY: usize = 64 * 1024 * 1024;
const INJECTED_MESSAGE: &str = "injected fault";

/// What the proxy answers: the server's body streamed through, or one of its own.
type ProxyBody = Either<Incoming, Full<Bytes>>;

/// A loopback reverse proxy to one S3 endpoint that injects per-key `DeleteObjects` errors.
///
/// A key told to fail (`fail_key`) is still deleted: the request is forwarded in full and the
/// server really deletes the key; only the report that comes back is falsified (its
/// `<Deleted>` entry for the key, if any, becomes an `<Error>`). A test that checks the key is
/// still in the bucket after an injected error is checking the wrong thing; one that checks the
/// worker tries the key again, or records it as failed, is not.
///
/// Dropping it stops the listener and every connection through it.
pub struct DeleteFaults {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

struct Shared {
    /// `host:port` of the server.
    upstream: String,
    rules: Mutex<Rules>,
    effects: Mutex<Vec<SideEffect>>,
    delete_requests: AtomicU64,
    max_keys: AtomicUsize,
    keys_requested: AtomicU64,
    injected: AtomicU64,
}

#[derive(Default)]
struct Rules {
    keys: HashMap<String, KeyRule>,
    /// `(requests left, status)`, used in order.
    requests: VecDeque<(u32, u16)>,
}

struct KeyRule {
    /// `None`: every time.
    remaining: Option<u32>,
    code: String,
}

impl Rules {
    /// The status to answer the next `DeleteObjects` with, if one is due; uses it up.
    fn take_request_fault(&mut self) -> Option<u16> {
        let (left, status) = self.requests.front_mut()?;
        let status = *status;
        *left -= 1;
        if *left == 0 {
            self.requests.pop_front();
        }
        Some(status)
    }
}

/// A request that changes what a key holds, as the proxy saw it go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideEffect {
    pub kind: Effect,
    /// The object key (path-style: the path after the bucket), unescaped.
    pub key: String,
    /// The server's answer: 2xx means it happened.
    pub status: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// A whole object written: a PUT (not a part, not a copy) or a completed multipart upload.
    Write,
    /// A key deleted: a DELETE of the object or one key of a `DeleteObjects` request.
    Delete,
}

impl SideEffect {
    pub fn succeeded(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl DeleteFaults {
    /// Every write and delete of a key that went through, in order: what a test counts to
    /// tell "sent once" from "sent twice" or "never", which the bucket's contents cannot.
    pub fn side_effects(&self) -> Vec<SideEffect> {
        lock(&self.shared.effects).clone()
    }

    /// How many `kind` requests of `key` succeeded.
    pub fn succeeded(&self, kind: Effect, key: &str) -> usize {
        lock(&self.shared.effects)
            .iter()
            .filter(|e| e.kind == kind && e.key == key && e.succeeded())
            .count()
    }

    /// Listens on a free loopback port and forwards every request to `upstream_endpoint`, a
    /// plain-HTTP URL such as `http://127.0.0.1:8333` (`S3Server::endpoint`).
    pub async fn start(upstream_endpoint: &str) -> io::Result<DeleteFaults> {
        let upstream = authority(upstream_endpoint)?;
        if tokio::net::lookup_host(&upstream).await?.next().is_none() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{upstream_endpoint}: no address"),
            ));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            rules: Mutex::new(Rules::default()),
            effects: Mutex::new(Vec::new()),
            delete_requests: AtomicU64::new(0),
            max_keys: AtomicUsize::new(0),
            keys_requested: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(DeleteFaults { addr, shared, task })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The S3 endpoint URL to give the client instead of the server's.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `times` `DeleteObjects` requests that name `key` (`None`: all of them) report
    /// `<Error><Key>key</Key><Code>code</Code><Message>injected fault</Message></Error>` for it,
    /// and no `<Deleted>` entry. The server still deletes the key (see the type's doc), but
    /// while the rule lasts a `HEAD` of the key is answered `200` (an empty object, stored at
    /// no known time), as S3 would after a real failure: a client that checks what the key
    /// holds before it deletes again sees it still there.
    ///
    /// A time is used up only by a request whose answer was rewritten (the server answered
    /// 200 with a `DeleteResult`), not by one answered by `fail_requests`. Replaces any earlier
    /// rule for the same key; `Some(0)` removes it.
    pub fn fail_key(&self, key: &str, times: Option<u32>, code: &str) {
        let mut rules = lock(&self.shared.rules);
        if times == Some(0) {
            rules.keys.remove(key);
        } else {
            rules.keys.insert(
                key.to_string(),
                KeyRule {
                    remaining: times,
                    code: code.to_string(),
                },
            );
        }
    }

    /// The next `n` `DeleteObjects` requests are answered by the proxy with `status` and an S3
    /// XML error body (`InternalError` for 5xx), without being forwarded: nothing is deleted.
    /// Calls queue up: `fail_requests(1, 500)` then `fail_requests(1, 503)` answers 500, then
    /// 503. A status outside 200..=999 is answered as 500.
    pub fn fail_requests(&self, n: u32, status: u16) {
        if n > 0 {
            lock(&self.shared.rules).requests.push_back((n, status));
        }
    }

    /// `DeleteObjects` requests seen, forwarded or answered by the proxy.
    pub fn delete_requests(&self) -> u64 {
        self.shared.delete_requests.load(Ordering::Relaxed)
    }

    /// The most keys one `DeleteObjects` request named.
    pub fn max_keys_per_request(&self) -> usize {
        self.shared.max_keys.load(Ordering::Relaxed)
    }

    /// Keys named, summed over every `DeleteObjects` request (a key sent twice counts twice).
    pub fn keys_requested(&self) -> u64 {
        self.shared.keys_requested.load(Ordering::Relaxed)
    }

    /// Per-key errors injected by `fail_key` rules.
    pub fn injected(&self) -> u64 {
        self.shared.injected.load(Ordering::Relaxed)
    }
}

impl Drop for DeleteFaults {
    fn drop(&mut self) {
        // The accept loop owns every connection's task: aborting it ends them all.
        self.task.abort();
    }
}

/// A poisoned lock only means a test panicked elsewhere; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `host:port` of a plain-HTTP URL; port 80 if none is given.
fn authority(endpoint: &str) -> io::Result<String> {
    let invalid =
        |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{endpoint}: {why}"));
    let rest = match endpoint.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some(_) => return Err(invalid("only http:// is supported")),
        None => endpoint,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(invalid("expected http://host:port"));
    }
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.contains(']'));
    Ok(if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    })
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = connections.join_next() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve(stream, shared.clone()));
                }
                // Such as EMFILE: the next accept may work, but must not spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let shared = shared.clone();
        // Its own task: a request whose client is killed mid-way still reaches the server and
        // is still counted, as S3 would have acted on it.
        async move {
            let answer = tokio::spawn(async move { handle(&shared, request).await })
                .await
                .unwrap_or_else(|e| plain(StatusCode::BAD_GATEWAY, format!("proxy task: {e}")));
            Ok::<_, Infallible>(answer)
        }
    });
    // An error here is the client's connection breaking: nothing to report it to.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<ProxyBody> {
    let (parts, body) = request.into_parts();
    if is_delete_objects(&parts) {
        return delete_objects(shared, parts, body).await;
    }
    if parts.method == Method::HEAD
        && let Some((_, key)) = parts.uri.path().trim_start_matches('/').split_once('/')
        && lock(&shared.rules).keys.contains_key(&percent_decode(key))
    {
        let mut still_there = Response::new(Either::Right(Full::new(Bytes::new())));
        still_there
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(0));
        return still_there;
    }
    let effect = side_effect(&parts);
    match forward(shared, parts, Either::Left(body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            if let Some((kind, key)) = effect {
                let status = parts.status.as_u16();
                lock(&shared.effects).push(SideEffect { kind, key, status });
            }
            Response::from_parts(parts, Either::Left(body))
        }
        Err(e) => plain(StatusCode::BAD_GATEWAY, e),
    }
}

/// The write or delete a request makes, and of which key: `PUT /bucket/key` (not a part or a
/// copy), `POST /bucket/key?uploadId=` (completing an upload), `DELETE /bucket/key` (not an
/// abort).
fn side_effect(parts: &Parts) -> Option<(Effect, String)> {
    let query: Vec<&str> = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or(""))
        .collect();
    let has = |name: &str| query.contains(&name);
    let kind = match parts.method {
        Method::PUT if !has("partNumber") && !parts.headers.contains_key("x-amz-copy-source") => {
            Effect::Write
        }
        Method::POST if has("uploadId") => Effect::Write,
        Method::DELETE if !has("uploadId") => Effect::Delete,
        _ => return None,
    };
    let (_, key) = parts.uri.path().trim_start_matches('/').split_once('/')?;
    Some((kind, percent_decode(key)))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `POST` with a `delete` query parameter (`?delete` or `?delete=`).
fn is_delete_objects(parts: &Parts) -> bool {
    parts.method == Method::POST
        && parts.uri.query().is_some_and(|query| {
            query
                .split('&')
                .any(|pair| pair.split('=').next() == Some("delete"))
        })
}

async fn delete_objects(shared: &Shared, parts: Parts, body: Incoming) -> Response<ProxyBody> {
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("DeleteObjects body unreadable or over {MAX_BODY} bytes: {e}"),
            );
        }
    };
    let keys = requested_keys(&String::from_utf8_lossy(&body));
    shared.delete_requests.fetch_add(1, Ordering::Relaxed);
    shared
        .keys_requested
        .fetch_add(keys.len() as u64, Ordering::Relaxed);
    shared.max_keys.fetch_max(keys.len(), Ordering::Relaxed);

    let request_fault = lock(&shared.rules).take_request_fault();
    if let Some(status) = request_fault {
        return injected_request_error(status);
    }

    let response = match forward(shared, parts, Either::Right(Full::new(body))).await {
        Ok(response) => response,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, e),
    };
    {
        // The server's own report decides which keys it deleted; recorded before any rule
        // falsifies it. A quiet answer lists only failures.
        let status = response.status().as_u16();
        let mut effects = lock(&shared.effects);
        for key in &keys {
            effects.push(SideEffect {
                kind: Effect::Delete,
                key: key.clone(),
                status,
            });
        }
    }
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let encoded = parts
        .headers
        .get(header::CONTENT_ENCODING)
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
    if parts.status != StatusCode::OK || encoded {
        return Response::from_parts(parts, Either::Left(body));
    }
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            return plain(
                StatusCode::BAD_GATEWAY,
                format!("DeleteObjects answer unreadable or over {MAX_BODY} bytes: {e}"),
            );
        }
    };
    let rewritten = std::str::from_utf8(&body)
        .ok()
        .and_then(|text| apply_key_rules(shared, &keys, text));
    let Some(rewritten) = rewritten else {
        return Response::from_parts(parts, Either::Right(Full::new(body)));
    };
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(rewritten.len()));
    Response::from_parts(parts, Either::Right(Full::new(Bytes::from(rewritten))))
}

/// The answer with the errors that the rules call for, using the rules up; `None` if no rule
/// applies or the answer is not a `DeleteResult` (then no rule is used up).
fn apply_key_rules(shared: &Shared, keys: &[String], result: &str) -> Option<String> {
    let mut rules = lock(&shared.rules);
    let mut seen = HashSet::new();
    let failing: Vec<(String, String)> = keys
        .iter()
        .filter(|key| seen.insert(key.as_str()))
        .filter_map(|key| {
            let rule = rules.keys.get(key.as_str())?;
            Some((key.clone(), rule.code.clone()))
        })
        .collect();
    if failing.is_empty() {
        return None;
    }
    let rewritten = rewrite_result(result, &failing)?;
    for (key, _) in &failing {
        let used_up = match rules.keys.get_mut(key) {
            Some(KeyRule {
                remaining: Some(left),
                ..
            }) => {
                *left = left.saturating_sub(1);
                *left == 0
            }
            _ => false,
        };
        if used_up {
            rules.keys.remove(key);
        }
    }
    shared
        .injected
        .fetch_add(failing.len() as u64, Ordering::Relaxed);
    Some(rewritten)
}

/// Sends one request to the server on a new connection and returns its answer, whose body is
/// still coming.
async fn forward(
    shared: &Shared,
    parts: Parts,
    body: ProxyBody,
) -> Result<Response<Incoming>, String> {
    let origin = match parts.uri.path_and_query() {
        Some(path) => Uri::builder()
            .path_and_query(path.clone())
            .build()
            .map_err(|e| format!("bad request target: {e}"))?,
        None => Uri::from_static("/"),
    };
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    if !headers.contains_key(header::HOST) {
        let host = HeaderValue::from_str(&shared.upstream).map_err(|e| e.to_string())?;
        headers.insert(header::HOST, host);
    }
    let mut request = Request::new(body);
    *request.method_mut() = parts.method;
    *request.uri_mut() = origin;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;

    let stream = TcpStream::connect(&shared.upstream)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", shared.upstream))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake with {}: {e}", shared.upstream))?;
    // Ends by itself once the answer is read (or dropped): `sender` is dropped below, so the
    // connection is not kept for another request.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| format!("forwarding to {}: {e}", shared.upstream))
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    headers.remove(header::CONNECTION);
    headers.remove(header::UPGRADE);
    headers.remove(HeaderName::from_static("keep-alive"));
    headers.remove(HeaderName::from_static("proxy-connection"));
}

fn plain(status: StatusCode, message: String) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(message))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn injected_request_error(status: u16) -> Response<ProxyBody> {
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|s| s.as_u16() >= 200)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status.as_u16() {
        400 => "InvalidRequest",
        403 => "AccessDenied",
        404 => "NoSuchBucket",
        500..=599 => "InternalError",
        _ => "InjectedFault",
    };
    let body = format!("<Error><Code>{code}</Code><Message>injected</Message></Error>");
    let mut response = Response::new(Either::Right(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    headers.insert(
        HeaderName::from_static("x-amz-request-id"),
        HeaderValue::from_static("delete-faults"),
    );
    response
}

/// The keys of a `<Delete>` body's `<Object>` entries, unescaped, in order.
fn requested_keys(body: &str) -> Vec<String> {
    elements(body, "Object")
        .into_iter()
        .filter_map(|object| {
            let key = elements(object.inner, "Key").into_iter().next()?;
            Some(unescape(key.inner))
        })
        .collect()
}

/// One XML element found by `elements`.
#[derive(Debug)]
struct Element<'a> {
    /// Byte offsets of the whole element, tags included, in the scanned text.
    start: usize,
    end: usize,
    inner: &'a str,
}

/// The elements named `name` in `text`, in order, not looking inside one for another. Enough
/// XML for S3's small documents: no comments, CDATA or namespace prefixes.
fn elements<'a>(text: &'a str, name: &str) -> Vec<Element<'a>> {
    let open = format!("<{name}");
    let close = format!("</{name}>");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(&open).map(|i| from + i) {
        let after_name = at + open.len();
        let rest = &text[after_name..];
        // `<Key` must not match `<KeyMarker>`.
        if !rest.starts_with(['>', '/', ' ', '\t', '\r', '\n']) {
            from = after_name;
            continue;
        }
        let Some(tag_end) = rest.find('>').map(|i| after_name + i + 1) else {
            break;
        };
        if text[..tag_end].ends_with("/>") {
            found.push(Element {
                start: at,
                end: tag_end,
                inner: "",
            });
            from = tag_end;
            continue;
        }
        let Some(close_at) = text[tag_end..].find(&close).map(|i| tag_end + i) else {
            break;
        };
        let end = close_at + close.len();
        found.push(Element {
            start: at,
            end,
            inner: &text[tag_end..close_at],
        });
        from = end;
    }
    found
}

/// `result` (a `<DeleteResult>`) with every `<Deleted>` or `<Error>` entry for the failing keys
/// removed and an `<Error>` added for each; `None` if it is not a `DeleteResult`.
fn rewrite_result(result: &str, failing: &[(String, String)]) -> Option<String> {
    let root = elements(result, "DeleteResult").into_iter().next()?;
    let failing_keys: HashSet<&str> = failing.iter().map(|(key, _)| key.as_str()).collect();
    let mut entries = elements(result, "Deleted");
    entries.extend(elements(result, "Error"));
    entries.sort_by_key(|entry| entry.start);

    let mut out = String::with_capacity(result.len() + failing.len() * 96);
    let mut copied = 0;
    for entry in entries {
        let key = elements(entry.inner, "Key")
            .into_iter()
            .next()
            .map(|key| unescape(key.inner));
        if key.is_some_and(|key| failing_keys.contains(key.as_str())) {
            out.push_str(&result[copied..entry.start]);
            copied = entry.end;
        }
    }
    let errors: String = failing
        .iter()
        .map(|(key, code)| {
            format!(
                "<Error><Key>{}</Key><Code>{}</Code><Message>{INJECTED_MESSAGE}</Message></Error>",
                escape(key),
                escape(code)
            )
        })
        .collect();
    let root_text = &result[root.start..root.end];
    if root_text.ends_with("/>") {
        // `<DeleteResult .../>`: nothing was removed from it.
        out.push_str(&result[copied..root.end - 2]);
        out.push('>');
        out.push_str(&errors);
        out.push_str("</DeleteResult>");
    } else {
        let close_at = root.end - "</DeleteResult>".len();
        out.push_str(&result[copied..close_at]);
        out.push_str(&errors);
        out.push_str(&result[close_at..root.end]);
    }
    out.push_str(&result[root.end..]);
    Some(out)
}

/// Text for XML element content or attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // A raw CR would be read back as LF.
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// The five named entities and numeric character references; anything else is kept as is.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').and_then(|semi| {
            let c = match &rest[1..semi] {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                reference => {
                    let number = reference.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_unescaping_round_trip_every_special_character() {
        let key = "a&b<c>d\"e'f\rg/é";
        assert_eq!(escape(key), "a&amp;b&lt;c&gt;d&quot;e&apos;f&#xD;g/é");
        assert_eq!(unescape(&escape(key)), key);
        assert_eq!(unescape("&#34;&#x9;&#39;&#xd;"), "\"\t'\r");
        assert_eq!(unescape("a & b &bogus; &#xZZ; &"), "a & b &bogus; &#xZZ; &");
    }

    #[test]
    fn the_keys_of_a_delete_request_are_read_in_order_and_unescaped() {
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a&amp;b</Key></Object>
<Object><Key>c&lt;d</Key><VersionId>v1</VersionId></Object><Object><Key/></Object>
<Quiet>true</Quiet></Delete>"#;
        assert_eq!(requested_keys(body), ["a&b", "c<d", ""]);
    }

    #[test]
    fn an_answer_loses_the_failing_keys_entries_and_gains_their_errors() {
        let result = r#"<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Deleted><Key>keep</Key></Deleted><Deleted><Key>a&amp;b</Key></Deleted><Error><Key>x</Key><Code>AccessDenied</Code><Message>m</Message></Error></DeleteResult>"#;
        let failing = [
            ("a&b".to_string(), "InternalError".to_string()),
            ("x".to_string(), "SlowDown".to_string()),
        ];
        let rewritten = rewrite_result(result, &failing).unwrap();
        assert_eq!(
            rewritten,
            r#"<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Deleted><Key>keep</Key></Deleted><Error><Key>a&amp;b</Key><Code>InternalError</Code><Message>injected fault</Message></Error><Error><Key>x</Key><Code>SlowDown</Code><Message>injected fault</Message></Error></DeleteResult>"#
        );
    }

    #[test]
    fn an_empty_quiet_answer_gains_the_errors() {
        let failing = [("k".to_string(), "C".to_string())];
        assert_eq!(
            rewrite_result(r#"<DeleteResult xmlns="ns"/>"#, &failing).unwrap(),
            r#"<DeleteResult xmlns="ns"><Error><Key>k</Key><Code>C</Code><Message>injected fault</Message></Error></DeleteResult>"#
        );
        assert!(rewrite_result("<Error><Code>X</Code></Error>", &failing).is_none());
    }

    #[test]
    fn delete_objects_is_a_post_with_a_delete_parameter() {
        let parts = |method: &str, uri: &str| {
            Request::builder()
                .method(method)
                .uri(uri)
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        assert!(is_delete_objects(&parts("POST", "/bucket?delete")));
        assert!(is_delete_objects(&parts(
            "POST",
            "/bucket?x-id=DeleteObjects&delete="
        )));
        assert!(!is_delete_objects(&parts("GET", "/bucket?delete")));
        assert!(!is_delete_objects(&parts("POST", "/bucket?deleted")));
        assert!(!is_delete_objects(&parts("POST", "/bucket/delete")));
    }

    #[test]
    fn an_endpoint_url_gives_the_address_to_connect_to() {
        assert_eq!(
            authority("http://127.0.0.1:8333").unwrap(),
            "127.0.0.1:8333"
        );
        assert_eq!(authority("http://localhost/").unwrap(), "localhost:80");
        assert_eq!(authority("http://[::1]:9000/x").unwrap(), "[::1]:9000");
        assert!(authority("https://example.com").is_err());
    }
}
