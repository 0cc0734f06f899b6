//! `uploader` with a server that signs for it: the workstation holds no AWS keys. In backend
//! mode the reference backend (`uploader-backend`, a real process) signs, and every object must
//! land with the right bytes and be registered with it exactly once. In companion mode the
//! real `@uppy/companion` (npm) signs. SeaweedFS stores.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};
use support::{Workspace, run_json};
use uploader_testkit::{BackendServer, CompanionServer, FaultProxy, Faults, S3Server, copy_images};

const CONFIG: &str = r#"
[upload]
multipart_threshold_mb = 5
part_size_mb = 5

[[variant]]
name = "large"
longest_edge = 800
quality = 85

[[variant]]
name = "original"
original = true
"#;

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Pseudo-random bytes named like a photo: sent as they are, in parts when large.
fn write_blob(path: &Path, len: usize, seed: u64) {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005) | 1;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(path, bytes).expect("write blob");
}

/// Every object in the bucket, by key, with its SHA-256, read back from S3.
async fn stored(server: &S3Server) -> BTreeMap<String, String> {
    let mut objects = BTreeMap::new();
    for key in server.keys().await {
        let (body, _) = server.get(&key).await;
        objects.insert(key, sha256_hex(&body));
    }
    objects
}

/// The registrations, by key, with their SHA-256: one row per key by construction, so
/// "exactly once" is also checked against the backend's log of register calls.
fn registered(backend: &BackendServer) -> BTreeMap<String, String> {
    backend
        .registered()
        .into_iter()
        .map(|r| (r.key, r.sha256))
        .collect()
}

fn count_in_log(backend: &BackendServer, line: &str) -> usize {
    backend
        .log()
        .lines()
        .filter(|l| l.starts_with(line))
        .count()
}

#[tokio::test]
async fn photos_go_up_through_the_backend_single_and_multipart_and_each_is_registered_once() {
    let server = S3Server::start().await;
    let backend = BackendServer::start(&server);
    let ws = Workspace::new(CONFIG);
    let photos = copy_images(
        &[
            "real/exifsamples_mobile_jolla.jpg",
            "real/exifsamples_orientation_landscape_6.jpg",
        ],
        &ws.photos(),
    );
    // A file sent as it is, large enough for three parts.
    let big = ws.dir.path().join("SKU9_big.jpg");
    write_blob(&big, 12 * 1024 * 1024 + 123, 9);

    let (code, report) = run_json(
        ws.uploader_via(backend.env())
            .args(["upload", "--json"])
            .arg(ws.photos()),
    );
    assert_eq!(code, 0, "{report:#}\n{}", backend.log());
    assert_eq!(report["uploaded"], photos.len());
    let (code, report) = run_json(
        ws.uploader_via(backend.env())
            .args(["upload", "--json", "--as-is"])
            .arg(&big),
    );
    assert_eq!(code, 0, "{report:#}\n{}", backend.log());

    let objects = stored(&server).await;
    // Two variants per photo, and the big file.
    assert_eq!(objects.len(), photos.len() * 2 + 1, "{objects:#?}");
    assert!(objects.keys().all(|k| k.starts_with("products/")));
    let big_key = "products/SKU9/SKU9_big.jpg";
    let big_sha = sha256_hex(&std::fs::read(&big).unwrap());
    assert_eq!(objects.get(big_key), Some(&big_sha), "{objects:#?}");
    assert!(
        count_in_log(&backend, "POST /v1/uploads/multipart/complete 200") == 1,
        "the big file went up in parts:\n{}",
        backend.log()
    );
    // Exactly what is stored is registered, each object by one successful call.
    assert_eq!(registered(&backend), objects);
    assert_eq!(
        count_in_log(&backend, "POST /v1/uploads/complete 200"),
        objects.len(),
        "{}",
        backend.log()
    );

    // The same photos again: nothing is signed, sent or registered twice.
    let signed = count_in_log(&backend, "POST /v1/uploads/presign");
    let (code, _) = run_json(
        ws.uploader_via(backend.env())
            .args(["upload", "--json"])
            .arg(ws.photos()),
    );
    assert_eq!(code, 0);
    assert_eq!(
        count_in_log(&backend, "POST /v1/uploads/complete 200"),
        objects.len()
    );
    assert_eq!(count_in_log(&backend, "POST /v1/uploads/presign"), signed);
}

#[tokio::test]
async fn a_wrong_or_revoked_token_fails_in_plain_words_and_sends_nothing() {
    let server = S3Server::start().await;
    let backend = BackendServer::start(&server);
    let ws = Workspace::new(CONFIG);
    let photo = copy_images(
        &["real/exifsamples_orientation_landscape_6.jpg"],
        &ws.photos(),
    );
    let mut revoke = std::process::Command::new(uploader_testkit::binary(
        "uploader-backend",
        "uploader-backend",
    ));
    revoke
        .env_clear()
        .arg("--database")
        .arg(backend.database())
        .args(["token", "revoke", "--name", "test-workstation"]);
    let cases: [(&str, Option<&str>, &str); 2] = [
        (
            "wrong token",
            Some("cu_not-a-token"),
            "unknown or was revoked",
        ),
        ("no token", None, "CATALOG_UPLOADER_BACKEND_TOKEN"),
    ];
    for (case, token, want) in cases {
        let mut cmd = ws.uploader_via(backend.env());
        match token {
            Some(t) => cmd.env("CATALOG_UPLOADER_BACKEND_TOKEN", t),
            None => cmd.env_remove("CATALOG_UPLOADER_BACKEND_TOKEN"),
        };
        let out = cmd
            .args(["upload", "--json", "--offline-timeout", "2"])
            .args(&photo)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(out.status.code(), Some(0), "{case}: {text}");
        assert!(text.contains(want), "{case}: {text}");
    }
    let status = revoke.status().unwrap();
    assert!(status.success());
    let (code, report) = run_json(
        ws.uploader_via(backend.env())
            .args(["upload", "--json", "--offline-timeout", "2"])
            .args(&photo),
    );
    assert_eq!(code, 1, "{report:#}");
    let error = report["files"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("revoked"), "{error}");
    assert!(
        !error.contains(&backend.token),
        "the token reached the message"
    );
    assert!(server.keys().await.is_empty());
    assert!(backend.registered().is_empty());
}

// Multi-threaded: the proxy runs on the runtime while the test blocks on `uploader`.
#[tokio::test(flavor = "multi_thread")]
async fn urls_that_expire_in_a_stall_are_signed_again_and_the_upload_completes() {
    let server = S3Server::start().await;
    let upstream = server
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    // Most requests to S3 pause once for 3 s, longer than the 2 s the URLs live. The small
    // files are tiny, so their pause falls within the request head, before S3 checks the
    // signature: their URL has expired by then.
    let proxy = FaultProxy::start(
        upstream,
        Faults {
            stall: 0.5,
            stall_for: Duration::from_secs(3),
            seed: 7,
            ..Faults::default()
        },
    )
    .await
    .unwrap();
    let backend = BackendServer::start_with(
        &server,
        &proxy.endpoint(),
        &[("UPLOADER_PRESIGN_EXPIRY_SECS", "2")],
    );
    let ws = Workspace::new(CONFIG);
    let mut files = Vec::new();
    for i in 0..10 {
        let path = ws.photos().join(format!("SKU{i}_blob.jpg"));
        write_blob(&path, 10 + i, i as u64);
        files.push(path);
    }
    let big = ws.photos().join("SKU10_big.jpg");
    write_blob(&big, 11 * 1024 * 1024, 77);
    files.push(big);

    let (code, report) = run_json(
        ws.uploader_via(backend.env())
            .args(["upload", "--json", "--as-is"])
            .args(&files),
    );
    assert_eq!(code, 0, "{report:#}\n{}", backend.log());
    assert!(proxy.stalls() > 0);
    let objects = stored(&server).await;
    assert_eq!(objects.len(), files.len());
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy();
        let sku = name.split('_').next().unwrap();
        let key = format!("products/{sku}/{name}");
        assert_eq!(
            objects.get(&key),
            Some(&sha256_hex(&std::fs::read(file).unwrap())),
            "{key}"
        );
    }
    assert_eq!(registered(&backend), objects);
    // More URLs signed than sent once each (10 files, 3 parts): some expired in a stall and
    // were signed again.
    let signed: usize = backend
        .log()
        .lines()
        .filter_map(|l| {
            l.strip_prefix("signed ")?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert!(
        signed > 10 + 3,
        "no URL was signed again ({signed}):\n{}",
        backend.log()
    );
    assert!(server.open_uploads().await.is_empty());
}

#[tokio::test]
async fn companion_signs_single_and_multipart_uploads_that_land_intact() {
    let server = S3Server::start().await;
    let companion = CompanionServer::start(&server);
    let ws = Workspace::new(CONFIG);
    let photos = copy_images(
        &[
            "real/exifsamples_mobile_jolla.jpg",
            "real/exifsamples_orientation_landscape_6.jpg",
        ],
        &ws.photos(),
    );
    let big = ws.dir.path().join("SKU8_big.jpg");
    write_blob(&big, 11 * 1024 * 1024 + 7, 8);

    let (code, report) = run_json(
        ws.uploader_via(companion.env())
            .args(["upload", "--json"])
            .arg(ws.photos()),
    );
    assert_eq!(code, 0, "{report:#}\n{}", companion.log());
    let (code, report) = run_json(
        ws.uploader_via(companion.env())
            .args(["upload", "--json", "--as-is"])
            .arg(&big),
    );
    assert_eq!(code, 0, "{report:#}\n{}", companion.log());

    let objects = stored(&server).await;
    assert_eq!(objects.len(), photos.len() * 2 + 1, "{objects:#?}");
    assert_eq!(
        objects.get("products/SKU8/SKU8_big.jpg"),
        Some(&sha256_hex(&std::fs::read(&big).unwrap()))
    );
    // What the queue recorded is what S3 holds, and every object carries its SHA-256.
    let client = server.client();
    for (key, sha) in &objects {
        let head = client
            .head_object()
            .bucket(&server.bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.metadata().and_then(|m| m.get("sha256")),
            Some(sha),
            "{key}"
        );
    }
    for file in report["files"].as_array().unwrap() {
        for key in file["keys"].as_array().unwrap() {
            assert!(objects.contains_key(key.as_str().unwrap()), "{key}");
        }
    }
    assert!(server.open_uploads().await.is_empty());

    // Companion cannot delete: the deletion is recorded, waits, and the answer says why.
    let key = objects.keys().next().unwrap().clone();
    let (code, report) = run_json(
        ws.uploader_via(companion.env())
            .args(["delete", "--json", &key]),
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["outbox"]["pending"], 1);
    assert!(
        report["sent"]["unsupported"]
            .as_str()
            .unwrap_or_default()
            .contains("Companion cannot delete"),
        "{report:#}"
    );
    assert!(server.keys().await.contains(&key));
}
