//! The reference backend over real HTTP, in front of a real SeaweedFS: who may ask, what gets
//! signed, and that what is signed really uploads, and nothing else does.

use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uploader_backend::settings::{DEFAULT_CONTENT_TYPES, DEFAULT_MAX_OBJECT_BYTES};
use uploader_backend::{ServeSettings, Settings, db, tokens};
use uploader_testkit::{ACCESS_KEY, S3Server, SECRET_KEY};

struct Harness {
    rt: tokio::runtime::Runtime,
    s3: S3Server,
    url: String,
    token: String,
    db_path: std::path::PathBuf,
    agent: ureq::Agent,
    _dir: tempfile::TempDir,
}

fn settings(s3: &S3Server, expiry_secs: u64) -> Settings {
    settings_for(&s3.bucket, &s3.endpoint, expiry_secs)
}

fn settings_for(bucket: &str, endpoint: &str, expiry_secs: u64) -> Settings {
    Settings {
        bucket: bucket.into(),
        region: "us-east-1".into(),
        endpoint: Some(endpoint.into()),
        path_style: Some(true),
        prefix: "products/".into(),
        sse: "AES256".into(),
        kms_key_id: None,
        presign_expiry_secs: expiry_secs,
        max_batch: 10,
        content_types: DEFAULT_CONTENT_TYPES.into(),
        max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
        deletion_max_attempts: 3,
        access_key_id: Some(ACCESS_KEY.into()),
        secret_access_key: Some(SECRET_KEY.into()),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Serves `backend` on a loopback port of `rt`, with the default limits: its URL.
fn serve_in(rt: &tokio::runtime::Runtime, backend: uploader_backend::api::Shared) -> String {
    let limits = ServeSettings::default().limits().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(uploader_backend::serve(
            listener,
            backend,
            limits,
            std::future::pending(),
        ));
        url
    })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

impl Harness {
    fn start() -> Harness {
        Self::start_with(900)
    }

    fn start_with(expiry_secs: u64) -> Harness {
        Self::start_configured(|s| s.presign_expiry_secs = expiry_secs)
    }

    fn start_configured(configure: impl FnOnce(&mut Settings)) -> Harness {
        let rt = runtime();
        let s3 = rt.block_on(S3Server::start());
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("backend.sqlite3");
        let token =
            tokens::create(&db::open(&db_path).unwrap(), "WS-12", tokens::Scope::Own).unwrap();
        let mut settings = settings(&s3, 900);
        configure(&mut settings);
        let backend = rt
            .block_on(uploader_backend::backend(&settings, &db_path))
            .unwrap();
        let url = serve_in(&rt, backend);
        Harness {
            rt,
            s3,
            url,
            token,
            db_path,
            agent: agent(),
            _dir: dir,
        }
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_as(Some(&self.token), path, body)
    }

    fn post_as(&self, token: Option<&str>, path: &str, body: &Value) -> (u16, Value) {
        let mut request = self.agent.post(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        answer(request.send_json(body).unwrap())
    }

    fn get_as(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        let mut request = self.agent.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        answer(request.call().unwrap())
    }

    /// Sends a signed request as the client would: its method, URL and headers, these bytes.
    fn send_signed(&self, signed: &Value, body: &[u8]) -> (u16, String) {
        let url = signed["url"].as_str().unwrap();
        let mut request = http_request(signed["method"].as_str().unwrap(), url);
        for (name, value) in signed["headers"].as_object().unwrap() {
            request = request.header(name, value.as_str().unwrap());
        }
        let request = request.body(body.to_vec()).unwrap();
        let mut response = self.agent.run(request).unwrap();
        let status = response.status().as_u16();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, etag.unwrap_or(text))
    }

    fn head(&self, key: &str) -> aws_sdk_s3::operation::head_object::HeadObjectOutput {
        self.rt
            .block_on(
                self.s3
                    .client()
                    .head_object()
                    .bucket(&self.s3.bucket)
                    .key(key)
                    .send(),
            )
            .unwrap()
    }
}

fn http_request(method: &str, url: &str) -> ureq::http::request::Builder {
    ureq::http::Request::builder().method(method).uri(url)
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn file(path: &str, bytes: &[u8]) -> Value {
    json!({
        "path": path,
        "content_type": "image/jpeg",
        "size": bytes.len(),
        "sha256": sha256_hex(bytes),
        "sku": "SKU1",
        "variant": "large",
        "name": "SKU1_front.jpg",
    })
}

fn crc32c_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc32c::crc32c(bytes).to_be_bytes())
}

#[test]
fn every_route_but_health_refuses_a_missing_wrong_or_revoked_token() {
    let h = Harness::start();
    let revoked =
        tokens::create(&db::open(&h.db_path).unwrap(), "WS-old", tokens::Scope::Own).unwrap();
    tokens::revoke(&db::open(&h.db_path).unwrap(), "WS-old").unwrap();
    let wrong = format!("cu_{}", "0".repeat(64));
    let posts = [
        "/v1/uploads/presign",
        "/v1/uploads/complete",
        "/v1/uploads/multipart",
        "/v1/uploads/multipart/sign",
        "/v1/uploads/multipart/parts",
        "/v1/uploads/multipart/complete",
        "/v1/uploads/multipart/abort",
        "/v1/deletions",
    ];
    let gets = [
        "/v1/session",
        "/v1/deletions/stats",
        "/v1/objects?path=a",
        "/v1/uploads/multipart?path=a",
    ];
    for token in [None, Some(wrong.as_str()), Some(revoked.as_str())] {
        for route in posts {
            let (status, body) = h.post_as(token, route, &json!({"files": [file("a.jpg", b"x")]}));
            assert_eq!(
                (status, body["code"].as_str()),
                (401, Some("unauthorized")),
                "{route} {token:?}"
            );
        }
        for route in gets {
            let (status, body) = h.get_as(token, route);
            assert_eq!(
                (status, body["code"].as_str()),
                (401, Some("unauthorized")),
                "{route} {token:?}"
            );
        }
    }
    let (status, health) = h.get_as(None, "/v1/health");
    assert_eq!(status, 200);
    let skew = health["time_ms"].as_i64().unwrap() - uploader_backend::db::now_ms();
    assert!(skew.abs() < 5_000, "{health}");
    let (status, session) = h.get_as(Some(&h.token), "/v1/session");
    assert_eq!(
        (status, session["workstation"].as_str()),
        (200, Some("WS-12"))
    );
    assert_eq!(session["prefix"], "products/");
}

#[test]
fn a_path_outside_the_prefix_is_refused_and_nothing_in_the_batch_is_signed() {
    let h = Harness::start();
    for bad in [
        "../escape.jpg",
        "SKU1/../../escape.jpg",
        "/etc/passwd",
        "SKU1//x.jpg",
        "SKU1\\..\\x.jpg",
        "SKU1/\u{0}.jpg",
        "SKU1/a\nb.jpg",
        "",
        &"x".repeat(1100),
    ] {
        let batch = json!({"files": [file("SKU1/ok.jpg", b"ok"), file(bad, b"bad")]});
        let (status, body) = h.post("/v1/uploads/presign", &batch);
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_path")),
            "{bad:?}: {body}"
        );
        assert!(!body.to_string().contains("X-Amz-Signature"), "{body}");
        let (status, _) = h.post(
            "/v1/uploads/multipart",
            &json!({"path": bad, "content_type": "image/jpeg", "size": 1, "sha256": sha256_hex(b"x")}),
        );
        assert_eq!(status, 400, "{bad:?}");
    }
    let (status, body) = h.post(
        "/v1/uploads/presign",
        &json!({"files": [{"path": "a.jpg", "content_type": "text/html", "size": 1, "sha256": sha256_hex(b"x")}]}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_content_type"))
    );
    let (status, body) = h.post(
        "/v1/uploads/presign",
        &json!({"files": [{"path": "a.jpg", "content_type": "image/jpeg", "size": 1, "sha256": "nothex"}]}),
    );
    assert_eq!((status, body["code"].as_str()), (400, Some("bad_request")));
}

#[test]
fn an_oversize_batch_or_body_is_refused_with_413() {
    let h = Harness::start();
    let files: Vec<Value> = (0..11)
        .map(|i| file(&format!("SKU1/{i}.jpg"), b"x"))
        .collect();
    let (status, body) = h.post("/v1/uploads/presign", &json!({ "files": files }));
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("batch_too_large")),
        "{body}"
    );
    let huge = json!({"files": [file(&"x".repeat(600), b"x")], "padding": "y".repeat(1_100_000)});
    let (status, body) = h.post("/v1/uploads/presign", &huge);
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("body_too_large")),
        "{body}"
    );
    let (status, body) = h.post("/v1/uploads/presign", &json!({"files": "nope"}));
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
}

#[test]
fn a_presigned_put_stores_exactly_the_signed_bytes_encrypted() {
    let h = Harness::start();
    let bytes = b"a small product photo".repeat(100);
    let (status, body) = h.post(
        "/v1/uploads/presign",
        &json!({"files": [file("SKU1/front-large.jpg", &bytes)]}),
    );
    assert_eq!(status, 200, "{body}");
    let signed = &body["uploads"][0];
    assert_eq!(signed["key"], "products/SKU1/front-large.jpg");
    // Other bytes of the same length are refused: the checksum is signed.
    let mut other = bytes.clone();
    other[0] ^= 1;
    let (status, text) = h.send_signed(signed, &other);
    assert!(status >= 400, "other bytes were accepted: {status} {text}");
    // Leaving out the encryption header breaks the signature.
    let mut without_sse = signed.clone();
    without_sse["headers"]
        .as_object_mut()
        .unwrap()
        .remove("x-amz-server-side-encryption");
    let (status, _) = h.send_signed(&without_sse, &bytes);
    assert_eq!(status, 403, "a PUT without SSE was accepted");
    let (status, text) = h.send_signed(signed, &bytes);
    assert_eq!(status, 200, "{text}");
    let head = h.head("products/SKU1/front-large.jpg");
    assert_eq!(head.content_length(), Some(bytes.len() as i64));
    assert_eq!(head.content_type(), Some("image/jpeg"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("sha256"))
            .map(String::as_str),
        Some(sha256_hex(&bytes).as_str())
    );
    let (status, state) = h.get_as(Some(&h.token), "/v1/objects?path=SKU1/front-large.jpg");
    assert_eq!(
        (status, state["exists"].as_bool()),
        (200, Some(true)),
        "{state}"
    );
    assert_eq!(state["sha256"], sha256_hex(&bytes));
}

#[test]
fn registering_an_upload_is_idempotent_and_needs_the_object_to_be_there() {
    let h = Harness::start();
    let bytes = b"registered once".to_vec();
    let register = json!({
        "path": "SKU1/r.jpg", "size": bytes.len(), "sha256": sha256_hex(&bytes),
        "sku": "SKU1", "variant": "large", "name": "SKU1_r.jpg", "width": 10, "height": 20,
    });
    let (status, body) = h.post("/v1/uploads/complete", &register);
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("not_uploaded")),
        "{body}"
    );
    let (_, presigned) = h.post(
        "/v1/uploads/presign",
        &json!({"files": [file("SKU1/r.jpg", &bytes)]}),
    );
    assert_eq!(h.send_signed(&presigned["uploads"][0], &bytes).0, 200);
    let (status, body) = h.post("/v1/uploads/complete", &register);
    assert_eq!(
        (status, body["registered"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    let (status, body) = h.post("/v1/uploads/complete", &register);
    assert_eq!(
        (status, body["registered"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    let rows: i64 = db::open(&h.db_path)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM uploads WHERE key = 'products/SKU1/r.jpg'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn a_multipart_upload_goes_through_signed_part_urls() {
    let h = Harness::start();
    let part1 = vec![7u8; 5 * 1024 * 1024];
    let part2 = b"the tail".to_vec();
    let whole = [part1.as_slice(), part2.as_slice()].concat();
    let (status, created) = h.post(
        "/v1/uploads/multipart",
        &json!({"path": "SKU2/big.jpg", "content_type": "image/jpeg", "size": whole.len(), "sha256": sha256_hex(&whole)}),
    );
    assert_eq!(status, 200, "{created}");
    let upload_id = created["upload_id"].as_str().unwrap().to_string();
    let (_, open) = h.get_as(Some(&h.token), "/v1/uploads/multipart?path=SKU2/big.jpg");
    assert_eq!(open["upload_ids"], json!([upload_id]));
    let mut done = Vec::new();
    for (n, bytes) in [(1, &part1), (2, &part2)] {
        let (status, signed) = h.post(
            "/v1/uploads/multipart/sign",
            &json!({"path": "SKU2/big.jpg", "upload_id": upload_id,
                    "parts": [{"part_number": n, "size": bytes.len(), "crc32c": crc32c_b64(bytes)}]}),
        );
        assert_eq!(status, 200, "{signed}");
        let (status, etag) = h.send_signed(&signed["parts"][0], bytes);
        assert_eq!(status, 200, "part {n}: {etag}");
        done.push(json!({"part_number": n, "etag": etag, "crc32c": crc32c_b64(bytes)}));
    }
    let (status, listed) = h.post(
        "/v1/uploads/multipart/parts",
        &json!({"path": "SKU2/big.jpg", "upload_id": upload_id}),
    );
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["parts"].as_array().unwrap().len(), 2);
    let (status, body) = h.post(
        "/v1/uploads/multipart/complete",
        &json!({"path": "SKU2/big.jpg", "upload_id": upload_id, "parts": done}),
    );
    assert_eq!(status, 200, "{body}");
    let (stored, content_type) = h.rt.block_on(h.s3.get("products/SKU2/big.jpg"));
    assert!(stored == whole, "the object differs from what was sent");
    assert_eq!(content_type.as_deref(), Some("image/jpeg"));
    let (status, body) = h.post(
        "/v1/uploads/multipart/parts",
        &json!({"path": "SKU2/big.jpg", "upload_id": upload_id}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("upload_gone")),
        "{body}"
    );
    let abort = json!({"path": "SKU2/big.jpg", "upload_id": upload_id});
    assert_eq!(h.post("/v1/uploads/multipart/abort", &abort).0, 204);
}

#[test]
fn a_signed_url_stops_working_when_it_expires() {
    let h = Harness::start_with(2);
    let bytes = b"late".to_vec();
    let (_, body) = h.post(
        "/v1/uploads/presign",
        &json!({"files": [file("SKU1/late.jpg", &bytes)]}),
    );
    let signed = &body["uploads"][0];
    let left = signed["expires_at_ms"].as_i64().unwrap() - db::now_ms();
    assert!((0..=2_500).contains(&left), "{left} ms");
    std::thread::sleep(Duration::from_millis(3_500));
    let (status, text) = h.send_signed(signed, &bytes);
    assert_eq!(status, 403, "{text}");
}

#[test]
fn the_apps_transport_signs_a_burst_in_batches_and_a_bad_file_fails_alone() {
    use std::sync::Arc;
    use uploader_core::config::UploadSettings;
    use uploader_core::transport::{Backend, ErrorKind, PutObject, Transport};

    let h = Harness::start();
    let transport =
        Arc::new(Backend::new(&h.url, &h.token, "products/", &UploadSettings::default()).unwrap());
    let results = h.rt.block_on(async {
        let mut sending = tokio::task::JoinSet::new();
        for i in 0..20u8 {
            let transport = Arc::clone(&transport);
            sending.spawn(async move {
                let body = vec![i; 1000];
                let object = PutObject {
                    key: format!("products/SKU{i}/burst.jpg"),
                    sha256: sha256_hex(&body),
                    body: body.into(),
                    // One file the backend will not sign.
                    content_type: if i == 7 { "text/html" } else { "image/jpeg" }.into(),
                    object_id: uploader_core::transport::new_object_id(),
                };
                (i, transport.put_object(object).await)
            });
        }
        sending.join_all().await
    });
    for (i, result) in results {
        match (i, result) {
            (7, Err(e)) => {
                assert_eq!(e.kind, ErrorKind::Permanent);
                assert!(e.message.contains("text/html"), "{}", e.message);
            }
            (7, Ok(_)) => panic!("a text/html file was signed"),
            (i, r) => assert!(r.is_ok(), "file {i}: {r:?}"),
        }
    }
    let keys = h.rt.block_on(h.s3.keys());
    assert_eq!(keys.len(), 19, "{keys:?}");
}

fn deletion(id: &str, path: &str) -> Value {
    json!({"id": id, "path": path, "reason": "test", "requested_at_ms": 1})
}

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

#[test]
fn deletions_are_queued_once_per_id_and_bad_ones_are_refused_alone() {
    let h = Harness::start();
    let batch = json!({"deletions": [
        deletion(&uuid(1), "SKU1/a.jpg"),
        deletion(&uuid(2), "../etc/passwd"),
        deletion("not-a-uuid", "SKU1/b.jpg"),
        deletion(&uuid(3), "SKU1/c.jpg"),
    ]});
    let (status, receipt) = h.post("/v1/deletions", &batch);
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["accepted"], json!([uuid(1), uuid(3)]));
    let refused: Vec<(&str, &str)> = receipt["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refused,
        [
            (uuid(2).as_str(), "invalid_path"),
            ("not-a-uuid", "bad_request")
        ]
    );
    // The same batch again (its answer was lost, say): accepted, nothing added.
    let (_, again) = h.post("/v1/deletions", &batch);
    assert_eq!(again["accepted"], receipt["accepted"]);
    // An id reused for another path is refused.
    let (_, conflict) = h.post(
        "/v1/deletions",
        &json!({"deletions": [deletion(&uuid(1), "SKU9/z.jpg")]}),
    );
    assert_eq!(conflict["refused"][0]["code"], "id_conflict");
    let conn = db::open(&h.db_path).unwrap();
    let keys: Vec<String> = conn
        .prepare("SELECT s3_key FROM s3_deletion_queue ORDER BY s3_key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys, ["products/SKU1/a.jpg", "products/SKU1/c.jpg"]);
    let workstation: String = conn
        .query_row(
            "SELECT DISTINCT workstation FROM s3_deletion_queue",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(workstation, "WS-12");
}

#[test]
fn more_than_a_thousand_deletions_in_one_request_get_413() {
    let h = Harness::start();
    let many: Vec<Value> = (0..1001).map(|n| deletion(&uuid(n), "a.jpg")).collect();
    let (status, body) = h.post("/v1/deletions", &json!({ "deletions": many }));
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("batch_too_large"))
    );
    let (status, _) = h.post("/v1/deletions", &json!({ "deletions": [] }));
    assert_eq!(status, 400);
}

#[test]
fn the_monitoring_query_runs_unchanged_and_agrees_with_the_stats_endpoint() {
    let h = Harness::start();
    let batch: Vec<Value> = (0..5)
        .map(|n| deletion(&uuid(n), &format!("S/{n}.jpg")))
        .collect();
    h.post("/v1/deletions", &json!({ "deletions": batch }));
    let conn = db::open(&h.db_path).unwrap();
    // Some attempts used, one row out of attempts, one processed.
    conn.execute_batch(&format!(
        "UPDATE s3_deletion_queue SET attempts = 1 WHERE id = '{}';
         UPDATE s3_deletion_queue SET attempts = 2 WHERE id = '{}';
         UPDATE s3_deletion_queue SET attempts = max_attempts, last_error = 'AccessDenied' WHERE id = '{}';
         INSERT INTO s3_deletion_history (id, s3_key, reason, workstation, requested_at, attempts,
                max_attempts, last_error, created_at, processed_at)
         SELECT id, s3_key, reason, workstation, requested_at, attempts,
                max_attempts, last_error, created_at, 1 FROM s3_deletion_queue WHERE id = '{}';
         DELETE FROM s3_deletion_queue WHERE id = '{}';",
        uuid(0),
        uuid(1),
        uuid(2),
        uuid(3),
        uuid(3)
    ))
    .unwrap();
    // The company guide's query, character for character.
    let (backlog, avg): (i64, Option<f64>) = conn
        .query_row(
            "SELECT COUNT(*) as backlog, AVG(attempts) as avg_attempts FROM s3_deletion_queue WHERE attempts < max_attempts;",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let (status, stats) = h.get_as(Some(&h.token), "/v1/deletions/stats");
    assert_eq!(status, 200);
    assert_eq!((backlog, avg), (3, Some(1.0)));
    assert_eq!(stats["backlog"], json!(backlog));
    assert_eq!(stats["avg_attempts"], json!(avg));
    assert_eq!(
        (stats["dead"].as_u64(), stats["processed"].as_u64()),
        (Some(1), Some(1))
    );
}

/// What a token may do to another workstation's object, by scope: `(action, path)` asked
/// of each token, and whether it goes through.
#[test]
fn another_workstations_default_token_is_refused_and_the_owner_and_a_wide_token_are_not() {
    let h = Harness::start();
    let conn = db::open(&h.db_path).unwrap();
    let other = tokens::create(&conn, "WS-other", tokens::Scope::Own).unwrap();
    let admin = tokens::create(&conn, "admin", tokens::Scope::Any).unwrap();
    // WS-12 stores and registers a photo, and starts a multipart upload of another.
    let bytes = b"WS-12's photo".to_vec();
    let (_, presigned) = h.post(
        "/v1/uploads/presign",
        &json!({"files": [file("OWN/a.jpg", &bytes)]}),
    );
    assert_eq!(h.send_signed(&presigned["uploads"][0], &bytes).0, 200);
    let register = json!({"path": "OWN/a.jpg", "size": bytes.len(), "sha256": sha256_hex(&bytes)});
    assert_eq!(h.post("/v1/uploads/complete", &register).0, 200);
    let big = json!({"path": "OWN/big.jpg", "content_type": "image/jpeg", "size": 1, "sha256": sha256_hex(b"x")});
    let (status, created) = h.post("/v1/uploads/multipart", &big);
    assert_eq!(status, 200, "{created}");
    let upload_id = created["upload_id"].as_str().unwrap().to_string();

    let mut n = 0;
    let mut act = |token: &str, action: &str| -> (u16, Option<String>) {
        n += 1;
        let (status, body) = match action {
            "overwrite" => h.post_as(
                Some(token),
                "/v1/uploads/presign",
                &json!({"files": [file("OWN/a.jpg", b"someone else's")]}),
            ),
            "start another upload" => h.post_as(Some(token), "/v1/uploads/multipart", &big),
            "continue the upload" => h.post_as(
                Some(token),
                "/v1/uploads/multipart/sign",
                &json!({"path": "OWN/big.jpg", "upload_id": upload_id,
                        "parts": [{"part_number": 1, "size": 1, "crc32c": crc32c_b64(b"x")}]}),
            ),
            "see the upload" => {
                let (status, body) =
                    h.get_as(Some(token), "/v1/uploads/multipart?path=OWN/big.jpg");
                let seen = body["upload_ids"]
                    .as_array()
                    .is_some_and(|ids| !ids.is_empty());
                (
                    if seen { status } else { 403 },
                    json!({"code": "not_owner"}),
                )
            }
            "delete" => {
                let (status, body) = h.post_as(
                    Some(token),
                    "/v1/deletions",
                    &json!({"deletions": [deletion(&uuid(n), "OWN/a.jpg")]}),
                );
                match body["refused"].as_array().and_then(|r| r.first()) {
                    Some(refused) => (403, json!({"code": refused["code"]})),
                    None => (status, body),
                }
            }
            "abort" => h.post_as(
                Some(token),
                "/v1/uploads/multipart/abort",
                &json!({"path": "OWN/big.jpg", "upload_id": upload_id}),
            ),
            other => panic!("no action {other}"),
        };
        (status, body["code"].as_str().map(str::to_string))
    };
    let actions = [
        "overwrite",
        "start another upload",
        "continue the upload",
        "see the upload",
        "delete",
        "abort",
    ];
    for action in actions {
        let (status, code) = act(&other, action);
        assert_eq!(
            (status, code.as_deref()),
            (403, Some("not_owner")),
            "WS-other may not {action}"
        );
    }
    for (who, token) in [
        ("the owner", h.token.clone()),
        ("a token of scope any", admin),
    ] {
        for action in actions {
            let (status, code) = act(&token, action);
            assert!(
                (200..300).contains(&status),
                "{who} may {action}: {status} {code:?}"
            );
        }
    }
    // The refusals left everything as it was; who did what is on record.
    let signed_by: Vec<String> = conn
        .prepare("SELECT DISTINCT workstation FROM signings ORDER BY workstation")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(signed_by, ["WS-12", "admin"]);
    let deleted_by: Vec<String> = conn
        .prepare("SELECT workstation FROM s3_deletion_queue ORDER BY workstation")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(deleted_by, ["WS-12", "admin"]);
}

/// An S3 endpoint nothing listens on: signing needs no S3, anything else fails to connect.
const DEAD_S3: &str = "http://127.0.0.1:1";

/// The real `uploader-backend serve` process, its S3 at `DEAD_S3`, with `env` settings over
/// the defaults, and at most `files` open files when given. Dropping it kills it.
struct Process {
    child: std::process::Child,
    url: String,
    token: String,
    db_path: std::path::PathBuf,
    log_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Process {
    fn start(env: &[(&str, &str)], files: Option<u32>) -> Process {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("backend.sqlite3");
        let token =
            tokens::create(&db::open(&db_path).unwrap(), "WS-12", tokens::Scope::Own).unwrap();
        let log_path = dir.path().join("backend.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let bin = env!("CARGO_BIN_EXE_uploader-backend");
        let mut command = match files {
            Some(n) => {
                let mut c = std::process::Command::new("/bin/sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                    .arg(bin);
                c
            }
            None => std::process::Command::new(bin),
        };
        let child = command
            .env_clear()
            .env("AWS_S3_BUCKET_NAME", "photos")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", DEAD_S3)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .envs(env.iter().copied())
            .arg("--database")
            .arg(&db_path)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut process = Process {
            child,
            url: String::new(),
            token,
            db_path,
            log_path,
            _dir: dir,
        };
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            let log = process.log();
            if let Some(at) = log.find("listening on http://") {
                let rest = &log[at + "listening on ".len()..];
                process.url = rest.split_whitespace().next().unwrap().to_string();
                return process;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("uploader-backend exited ({status}):\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("uploader-backend did not start in 20 s:\n{}", process.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_string()
    }

    /// A request on a connection of its own: status, `x-request-id`, body, and how long it took.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Option<String>, Value, Duration) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let request = http_request(method, &format!("{}{path}", self.url))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("Content-Type", "application/json");
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let started = std::time::Instant::now();
        let mut response = agent.run(request.body(bytes).unwrap()).unwrap();
        let took = started.elapsed();
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            id,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            took,
        )
    }
}

impl Process {
    /// Presigns one file whose `field` is `value`: status and body.
    fn presign_with(&self, field: &str, value: Value) -> (u16, Value) {
        let mut f = file("SKU1/front.jpg", b"bytes");
        f[field] = value;
        let (status, _, body, _) =
            self.call("POST", "/v1/uploads/presign", Some(&json!({"files": [f]})));
        (status, body)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads what the server sends until it closes the connection, or `limit` passes: the bytes,
/// and whether it closed.
fn read_until_closed(stream: &mut std::net::TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while started.elapsed() < limit {
        stream
            .set_read_timeout(Some(
                limit
                    .saturating_sub(started.elapsed())
                    .max(Duration::from_millis(1)),
            ))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => break,
        }
    }
    (got, false)
}

#[test]
fn the_backend_keeps_answering_health_and_uploads_while_300_half_sent_requests_hold_its_sockets() {
    use std::io::{Read, Write};
    // What happened: 256 open files, 300 held sockets. The header timeout is long here, so
    // only the connection limit and its reserve can keep the server answering.
    let p = Process::start(&[("UPLOADER_HEADER_TIMEOUT_SECS", "60")], Some(256));
    assert!(p.log().contains("at most 192 connections"), "{}", p.log());
    let mut held = Vec::new();
    for i in 0..300 {
        let mut stream = std::net::TcpStream::connect(p.addr()).unwrap();
        if i % 3 != 0 {
            stream
                .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
        }
        held.push(stream);
    }
    let mut slowest = Duration::ZERO;
    for round in 0..5 {
        let (status, id, body, took) = p.call("GET", "/v1/health", None);
        assert_eq!(
            (status, body["status"].as_str()),
            (200, Some("ok")),
            "round {round}: {body}"
        );
        assert!(id.is_some());
        assert!(took < Duration::from_secs(1), "health took {took:?}");
        slowest = slowest.max(took);
        let file = file(&format!("SKU{round}/front.jpg"), b"photo");
        let (status, _, body, took) = p.call(
            "POST",
            "/v1/uploads/presign",
            Some(&json!({"files": [file]})),
        );
        assert_eq!(status, 200, "round {round}: {body}");
        assert!(took < Duration::from_secs(1), "presign took {took:?}");
        slowest = slowest.max(took);
    }
    eprintln!("slowest answer with 300 connections held: {slowest:?}");
    // The oldest held connections were closed to make room; never more than the limit stay.
    let mut closed = 0;
    for stream in &mut held {
        stream.set_nonblocking(true).unwrap();
        match stream.read(&mut [0u8; 64]) {
            Ok(0) => closed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            _ => {}
        }
    }
    assert!(
        (108..300).contains(&closed),
        "{closed} of 300 held connections closed"
    );
    assert!(
        p.log().lines().all(|l| !l.contains("Too many open files")),
        "{}",
        p.log()
    );
}

#[test]
fn a_half_sent_silent_or_idle_connection_is_dropped_after_the_header_timeout() {
    use std::io::Write;
    let p = Process::start(&[("UPLOADER_HEADER_TIMEOUT_SECS", "0.5")], None);
    let cases: [(&str, &[u8], bool); 3] = [
        (
            "half-sent headers",
            b"GET /v1/health HTTP/1.1\r\nHost: x\r\n",
            false,
        ),
        ("nothing sent", b"", false),
        (
            "idle after an answer",
            b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
            true,
        ),
    ];
    for (what, sent, answered) in cases {
        let mut stream = std::net::TcpStream::connect(p.addr()).unwrap();
        stream.write_all(sent).unwrap();
        let started = std::time::Instant::now();
        let (got, closed) = read_until_closed(&mut stream, Duration::from_secs(5));
        let took = started.elapsed();
        assert!(closed, "{what}: still open after {took:?}");
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{what}: closed after {took:?}"
        );
        let text = String::from_utf8_lossy(&got);
        assert_eq!(text.starts_with("HTTP/1.1 200"), answered, "{what}: {text}");
    }
}

#[test]
fn a_request_slower_than_the_request_timeout_is_answered_503_timeout() {
    use std::io::Write;
    let p = Process::start(&[("UPLOADER_REQUEST_TIMEOUT_SECS", "0.5")], None);
    let mut stream = std::net::TcpStream::connect(p.addr()).unwrap();
    let head = format!(
        "POST /v1/uploads/presign HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"files\"",
        p.token
    );
    stream.write_all(head.as_bytes()).unwrap();
    let (got, _) = read_until_closed(&mut stream, Duration::from_secs(3));
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("\"code\":\"timeout\""), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("x-request-id:"),
        "{text}"
    );
}

#[test]
fn a_default_backend_signs_raster_types_and_refuses_svg() {
    let p = Process::start(&[], None);
    let cases = [
        ("image/jpeg", 200, None),
        ("image/png", 200, None),
        ("image/webp", 200, None),
        ("image/avif", 200, None),
        ("image/heic", 200, None),
        ("image/tiff", 200, None),
        ("image/svg+xml", 400, Some("invalid_content_type")),
        ("image/x-icon", 400, Some("invalid_content_type")),
        ("text/html", 400, Some("invalid_content_type")),
    ];
    for (content_type, want_status, want_code) in cases {
        let (status, body) = p.presign_with("content_type", json!(content_type));
        assert_eq!(
            (status, body["code"].as_str()),
            (want_status, want_code),
            "{content_type}: {body}"
        );
    }
}

#[test]
fn storage_and_database_failures_are_answered_without_detail_but_with_a_request_id_in_the_log() {
    let p = Process::start(&[], None);
    // The S3 endpoint is dead; the database loses a table the routes need.
    let (status, id, body, _) = p.call("GET", "/v1/objects?path=SKU1/front.jpg", None);
    let storage = (status, id, body, "storage: ");
    rusqlite::Connection::open(&p.db_path)
        .unwrap()
        .execute_batch("DROP TABLE signings")
        .unwrap();
    let file = file("SKU1/front.jpg", b"photo");
    let (status, id, body, _) = p.call(
        "POST",
        "/v1/uploads/presign",
        Some(&json!({"files": [file]})),
    );
    let database = (status, id, body, "database: ");
    let db_path = p.db_path.display().to_string();
    let log = p.log();
    for ((status, id, body, detail), want) in [
        (storage, (502, "upstream_unavailable")),
        (database, (500, "internal")),
    ] {
        assert_eq!((status, body["code"].as_str().unwrap()), want, "{body}");
        let message = body["message"].as_str().unwrap();
        for secret in [
            "127.0.0.1",
            "http",
            "signings",
            "SELECT",
            "sqlite",
            "table",
            &db_path,
        ] {
            assert!(!message.contains(secret), "`{secret}` in {body}");
        }
        let id = id.expect("an x-request-id header");
        assert_eq!(body["request_id"].as_str(), Some(id.as_str()), "{body}");
        assert!(message.contains(&id), "{body}");
        let logged: Vec<&str> = log.lines().filter(|l| l.contains(&id)).collect();
        assert!(
            logged.iter().any(|l| l.contains(detail)),
            "no `{detail}` logged under {id}:\n{log}"
        );
    }
}

#[test]
fn a_panic_while_holding_the_database_leaves_later_requests_working() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("backend.sqlite3");
    let token = tokens::create(&db::open(&db_path).unwrap(), "WS-12", tokens::Scope::Own).unwrap();
    let settings = settings_for("photos", DEAD_S3, 900);
    let backend = rt
        .block_on(uploader_backend::backend(&settings, &db_path))
        .unwrap();
    let held = backend.clone();
    // A handler's bug: it panics in the middle of a transaction it began by hand.
    let panicked = std::thread::spawn(move || {
        let conn = held.db.lock().unwrap();
        conn.execute_batch("BEGIN; UPDATE tokens SET name = 'half-done'")
            .unwrap();
        panic!("a bug while holding the database");
    })
    .join();
    assert!(panicked.is_err() && backend.db.is_poisoned());
    let url = serve_in(&rt, backend);
    let agent = agent();
    let call = |request: ureq::http::request::Builder, body: Option<&Value>| {
        let request = request.header("Authorization", format!("Bearer {token}"));
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        answer(agent.run(request.body(bytes).unwrap()).unwrap())
    };
    for round in 0..2 {
        let (status, session) = call(http_request("GET", &format!("{url}/v1/session")), None);
        // The half-done change was rolled back.
        assert_eq!(
            (status, session["workstation"].as_str()),
            (200, Some("WS-12")),
            "round {round}: {session}"
        );
        let files = json!({"files": [file(&format!("SKU{round}/a.jpg"), b"x")]});
        let (status, body) = call(
            http_request("POST", &format!("{url}/v1/uploads/presign"))
                .header("Content-Type", "application/json"),
            Some(&files),
        );
        assert_eq!(status, 200, "round {round}: {body}");
    }
}

#[test]
fn a_presign_expiry_over_an_hour_is_refused_at_start_naming_the_setting_and_the_cap() {
    for (secs, refused) in [
        (900, false),
        (3600, false),
        (3601, true),
        (604_800, true),
        (0, true),
    ] {
        match settings_for("photos", DEAD_S3, secs).check() {
            Ok(()) => assert!(!refused, "{secs} s was accepted"),
            Err(e) => {
                assert!(refused, "{secs} s: {e}");
                let e = e.to_string();
                assert!(
                    e.contains("UPLOADER_PRESIGN_EXPIRY_SECS") && e.contains("3600"),
                    "{e}"
                );
            }
        }
    }
    // The real process stops at once, saying so.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_uploader-backend"))
        .env_clear()
        .env("AWS_S3_BUCKET_NAME", "photos")
        .env("UPLOADER_PRESIGN_EXPIRY_SECS", "604800")
        .arg("--database")
        .arg(tempfile::tempdir().unwrap().path().join("b.sqlite3"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("UPLOADER_PRESIGN_EXPIRY_SECS") && stderr.contains("3600"),
        "{stderr}"
    );
}

#[test]
fn a_put_over_the_object_size_limit_is_refused_naming_the_limit() {
    let limit = 1_000u64;
    let p = Process::start(&[("UPLOADER_MAX_OBJECT_BYTES", "1000")], None);
    let default = Process::start(&[], None);
    let cases = [
        (&p, limit, 200, None),
        (&p, limit + 1, 413, Some("object_too_large")),
        (&default, DEFAULT_MAX_OBJECT_BYTES, 200, None),
        (
            &default,
            DEFAULT_MAX_OBJECT_BYTES + 1,
            413,
            Some("object_too_large"),
        ),
        (
            &default,
            5 * 1024 * 1024 * 1024,
            413,
            Some("object_too_large"),
        ),
    ];
    for (backend, size, want_status, want_code) in cases {
        let (status, body) = backend.presign_with("size", json!(size));
        assert_eq!(
            (status, body["code"].as_str()),
            (want_status, want_code),
            "{size}: {body}"
        );
        if want_code.is_some() {
            let message = body["message"].as_str().unwrap();
            assert!(message.contains("UPLOADER_MAX_OBJECT_BYTES"), "{body}");
        }
    }
}

#[test]
fn a_multipart_upload_over_the_object_size_limit_is_refused_at_start_at_signing_and_at_completion()
{
    let h = Harness::start_configured(|s| s.max_object_bytes = 10_000_000);
    let start = |size: u64| {
        h.post(
            "/v1/uploads/multipart",
            &json!({"path": "SKU3/big.jpg", "content_type": "image/jpeg", "size": size, "sha256": sha256_hex(b"x")}),
        )
    };
    let (status, body) = start(10_000_001);
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("object_too_large")),
        "{body}"
    );
    // The app declares no size (0): its parts are checked instead.
    let (status, created) = start(0);
    assert_eq!(status, 200, "{created}");
    let upload_id = created["upload_id"].as_str().unwrap().to_string();
    let sign = |n: u32, size: usize, crc: &str| {
        h.post(
            "/v1/uploads/multipart/sign",
            &json!({"path": "SKU3/big.jpg", "upload_id": upload_id,
                    "parts": [{"part_number": n, "size": size, "crc32c": crc}]}),
        )
    };
    // Part 3 of 4 MB would make the object at least 12 MB.
    let (status, body) = sign(3, 4_000_000, &crc32c_b64(b"x"));
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("object_too_large")),
        "{body}"
    );
    // 6 MB and 4.5 MB each pass at signing, but come to 10.5 MB.
    let mut done = Vec::new();
    for (n, bytes) in [(1, vec![1u8; 6_000_000]), (2, vec![2u8; 4_500_000])] {
        let (status, signed) = sign(n, bytes.len(), &crc32c_b64(&bytes));
        assert_eq!(status, 200, "{signed}");
        let (status, etag) = h.send_signed(&signed["parts"][0], &bytes);
        assert_eq!(status, 200, "part {n}: {etag}");
        done.push(json!({"part_number": n, "etag": etag, "crc32c": crc32c_b64(&bytes)}));
    }
    let (status, body) = h.post(
        "/v1/uploads/multipart/complete",
        &json!({"path": "SKU3/big.jpg", "upload_id": upload_id, "parts": done}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (413, Some("object_too_large")),
        "{body}"
    );
    // Aborted: nothing of it stays stored.
    let (status, body) = h.post(
        "/v1/uploads/multipart/parts",
        &json!({"path": "SKU3/big.jpg", "upload_id": upload_id}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (410, Some("upload_gone")),
        "{body}"
    );
}

#[test]
fn a_stopping_server_closes_idle_and_half_sent_connections_at_once() {
    use std::io::Write;
    // The header timeout is long: stopping must not wait for it.
    let mut p = Process::start(&[("UPLOADER_HEADER_TIMEOUT_SECS", "60")], None);
    let mut held = Vec::new();
    for sent in [&b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"[..], b""] {
        let mut stream = std::net::TcpStream::connect(p.addr()).unwrap();
        stream.write_all(sent).unwrap();
        held.push(stream);
    }
    let (status, ..) = p.call("GET", "/v1/health", None);
    assert_eq!(status, 200);
    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if let Some(status) = p.child.try_wait().unwrap() {
            assert!(status.success(), "{status}:\n{}", p.log());
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("still running 5 s after SIGTERM:\n{}", p.log());
}
