//! The catalog never loses or wrongly deletes a photo. Each test is a sequence a person can
//! run with the `uploader` CLI (real processes, each workstation its own data folder) against
//! SeaweedFS, through a proxy that logs every write and delete of a key: a bucket's final
//! contents look the same whether a PUT happened once, twice or never, so the tests count.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{Workspace, run_json};
use uploader_testkit::delete_faults::Effect;
use uploader_testkit::{BackendServer, DeleteFaults, S3Server, shared_image};

/// One small variant: each photo is one object, rendered in milliseconds.
const CONFIG: &str = r#"
[[variant]]
name = "large"
longest_edge = 320
quality = 80
"#;

/// Two different photos that a person might give the same name.
const V1: &str = "orientation/Landscape_1.jpg";
const V2: &str = "orientation/Portrait_1.jpg";

/// S3 behind the counting proxy: what every workstation and the backend talk to.
struct Bucket {
    server: S3Server,
    proxy: DeleteFaults,
}

impl Bucket {
    async fn start() -> Bucket {
        let server = S3Server::start().await;
        let proxy = DeleteFaults::start(&server.endpoint)
            .await
            .expect("start the proxy");
        Bucket { server, proxy }
    }

    /// Direct mode's environment: the server's keys, through the proxy.
    fn direct_env(&self) -> Vec<(&'static str, String)> {
        let mut env = self.server.env();
        for (k, v) in &mut env {
            if *k == "AWS_ENDPOINT_URL" {
                *v = self.proxy.endpoint();
            }
        }
        env
    }

    /// The SHA-256 of what `key` holds, or `None`.
    async fn sha256(&self, key: &str) -> Option<String> {
        if !self.server.keys().await.iter().any(|k| k == key) {
            return None;
        }
        let (bytes, _) = self.server.get(key).await;
        Some(format!("{:x}", Sha256::digest(&bytes)))
    }

    fn writes(&self, key: &str) -> usize {
        self.proxy.succeeded(Effect::Write, key)
    }

    fn deletes(&self, key: &str) -> usize {
        self.proxy.succeeded(Effect::Delete, key)
    }
}

/// One workstation: its own data folder, config and environment.
struct Station {
    ws: Workspace,
    env: Vec<(&'static str, String)>,
}

impl Station {
    fn new(env: Vec<(&'static str, String)>) -> Station {
        Station {
            ws: Workspace::new(CONFIG),
            env,
        }
    }

    fn cmd(&self) -> std::process::Command {
        self.ws.uploader_via(self.env.clone())
    }

    /// `source` (a shared image) copied to `folder/name` in this workstation's photos.
    fn photo(&self, folder: &str, name: &str, source: &str) -> PathBuf {
        let dir = self.ws.photos().join(folder);
        std::fs::create_dir_all(&dir).expect("photo folder");
        let path = dir.join(name);
        std::fs::copy(shared_image(source), &path).expect("copy photo");
        path
    }

    /// `uploader upload --json FILE`: the file's report, which must say uploaded.
    fn upload(&self, file: &Path, extra: &[&str]) -> Value {
        let (code, report) = run_json(self.cmd().args(["upload", "--json"]).args(extra).arg(file));
        assert_eq!(code, 0, "{report:#}");
        let file = report["files"][0].clone();
        assert_eq!(file["state"], "uploaded", "{file:#}");
        file
    }

    /// `uploader delete --json ARGS`; the exit code and report.
    fn delete(&self, args: &[&str]) -> (i32, Value) {
        run_json(self.cmd().args(["delete", "--json"]).args(args))
    }

    fn outbox(&self) -> Vec<Value> {
        let (code, rows) = run_json(self.cmd().args(["outbox", "list", "--json"]));
        assert_eq!(code, 0, "{rows:#}");
        rows.as_array().cloned().unwrap_or_default()
    }

    fn sync(&self) {
        let out = self
            .cmd()
            .args(["outbox", "sync"])
            .output()
            .expect("run uploader outbox sync");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// What the pipeline makes of `source`: the bytes the bucket must hold.
fn rendered_sha256(source: &Path) -> String {
    let recipe =
        uploader_core::pipeline::Recipe::new(vec![uploader_core::config::VariantSpec::longest(
            "large", 320, 80,
        )]);
    let out = uploader_core::pipeline::render(source, &recipe).expect("render");
    out[0].sha256.clone()
}

fn key_of(file: &Value) -> String {
    file["keys"][0].as_str().expect("a key").to_string()
}

async fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_uploaded_again_after_its_removal_is_put_back() {
    let bucket = Bucket::start().await;
    let a = Station::new(bucket.direct_env());
    let photo = a.photo("shoot", "HX1_front.jpg", V1);
    let first = a.upload(&photo, &[]);
    let key = key_of(&first);
    let (code, report) = a.delete(&["--job", &first["job_id"].to_string()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(bucket.sha256(&key).await, None, "removed");

    // The same file again: a new upload, really sent.
    let again = a.upload(&photo, &[]);
    assert_ne!(again["job_id"], first["job_id"]);
    assert_eq!(bucket.sha256(&key).await, Some(rendered_sha256(&photo)));
    assert_eq!((bucket.writes(&key), bucket.deletes(&key)), (2, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn going_back_to_an_earlier_version_puts_it_back() {
    let bucket = Bucket::start().await;
    let a = Station::new(bucket.direct_env());
    let v1 = a.photo("v1", "HX2_front.jpg", V1);
    let v2 = a.photo("v2", "HX2_front.jpg", V2);
    let key = key_of(&a.upload(&v1, &[]));
    a.upload(&v2, &[]);
    assert_eq!(bucket.sha256(&key).await, Some(rendered_sha256(&v2)));
    // v1's very file again, unchanged on disk: recorded once, but its key holds v2 now.
    a.upload(&v1, &[]);
    assert_eq!(bucket.sha256(&key).await, Some(rendered_sha256(&v1)));
    assert_eq!(bucket.writes(&key), 3);
    // And once more v1: the key holds it already, so nothing is sent.
    a.upload(&a.photo("v1-copy", "HX2_front.jpg", V1), &[]);
    assert_eq!(bucket.writes(&key), 3, "the same bytes are not sent again");
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_an_old_version_keeps_the_new_one() {
    let bucket = Bucket::start().await;
    let a = Station::new(bucket.direct_env());
    let v1 = a.upload(&a.photo("v1", "HX7_front.jpg", V1), &[]);
    let v2_photo = a.photo("v2", "HX7_front.jpg", V2);
    let v2 = a.upload(&v2_photo, &[]);
    let key = key_of(&v2);
    assert_eq!(key, key_of(&v1));

    let (code, report) = a.delete(&["--job", &v1["job_id"].to_string()]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["queued"], 0, "v1's key holds v2: nothing to delete");
    assert_eq!(bucket.sha256(&key).await, Some(rendered_sha256(&v2_photo)));
    assert_eq!(bucket.deletes(&key), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offline_deletion_never_removes_another_workstations_later_photo_direct_mode() {
    let bucket = Bucket::start().await;
    let a = Station::new(bucket.direct_env());
    let b = Station::new(bucket.direct_env());
    let mine = a.upload(&a.photo("a", "DK1_front.jpg", V1), &[]);
    let key = key_of(&mine);
    // A removes it while offline: recorded, not sent.
    let (code, report) = a.delete(&["--no-send", "--job", &mine["job_id"].to_string()]);
    assert_eq!(code, 0, "{report:#}");
    // B, which shares nothing with A, uploads a new photo under the same name.
    let theirs = b.photo("b", "DK1_front.jpg", V2);
    b.upload(&theirs, &[]);
    // A comes back and sends its outbox.
    a.sync();
    assert_eq!(bucket.sha256(&key).await, Some(rendered_sha256(&theirs)));
    assert_eq!(bucket.deletes(&key), 0);
    let rows = a.outbox();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["state"], "superseded", "{rows:#?}");
    let why = rows[0]["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("another upload"), "{why}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offline_deletion_never_removes_another_workstations_later_photo_backend_mode() {
    let bucket = Bucket::start().await;
    let backend = BackendServer::start_with(&bucket.server, &bucket.proxy.endpoint(), &[]);
    let a = Station::new(backend.workstation("A", &[]));
    let b = Station::new(backend.workstation("B", &["--scope", "any"]));
    let mine = a.upload(&a.photo("a", "BK1_front.jpg", V1), &[]);
    let key = key_of(&mine);
    let (code, report) = a.delete(&["--no-send", "--job", &mine["job_id"].to_string()]);
    assert_eq!(code, 0, "{report:#}");
    let theirs = b.photo("b", "BK1_front.jpg", V2);
    b.upload(&theirs, &[]);
    // A comes back: its deletion reaches the backend's queue, and the worker gets to it.
    a.sync();
    let _worker = backend.start_worker(
        &bucket.proxy.endpoint(),
        &[("UPLOADER_DELETION_POLL_SECS", "0.1")],
    );
    let db = rusqlite::Connection::open(backend.database()).expect("backend database");
    let processed = || {
        db.query_row(
            "SELECT outcome, last_error FROM s3_deletion_history",
            [],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
        )
        .ok()
    };
    wait_for(
        "the worker processes A's deletion",
        Duration::from_secs(30),
        || processed().is_some(),
    )
    .await;
    let (outcome, why) = processed().expect("processed");
    assert_eq!(outcome, "superseded", "{why:?}");
    assert_eq!(bucket.sha256(&key).await, Some(rendered_sha256(&theirs)));
    assert_eq!(bucket.deletes(&key), 0);
    // The catalog still knows B's photo, and who made it.
    let (workstation, sha): (String, String) = db
        .query_row(
            "SELECT workstation, sha256 FROM uploads WHERE key = ?1",
            [&key],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("B's registration");
    assert_eq!((workstation.as_str(), sha), ("B", rendered_sha256(&theirs)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_xml_cannot_carry_is_refused_where_it_is_made() {
    let bucket = Bucket::start().await;
    let a = Station::new(bucket.direct_env());
    for bad in ["products/X/a\u{FFFE}.jpg", "products/X/b\u{FFFF}.jpg"] {
        let out = a
            .cmd()
            .args(["delete", bad])
            .output()
            .expect("run uploader delete");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("XML 1.0 forbids"), "{stderr}");
    }
    assert!(a.outbox().is_empty(), "nothing was queued");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_workstations_bad_key_never_stalls_another_workstations_deletions() {
    let bucket = Bucket::start().await;
    let backend = BackendServer::start_with(&bucket.server, &bucket.proxy.endpoint(), &[]);
    let a = Station::new(backend.workstation("A", &[]));
    let mine = a.upload(&a.photo("a", "GD1_front.jpg", V1), &[]);
    let key = key_of(&mine);
    // Another workstation's request with a key XML forbids is refused on arrival...
    let token = backend.workstation("hostile", &[])[2].1.clone();
    let answer: Value = ureq::post(format!("{}/v1/deletions", backend.url))
        .header("Authorization", format!("Bearer {token}"))
        .send_json(serde_json::json!({"deletions": [
            {"id": "00000000-0000-4000-8000-000000000001", "path": "GD1/x\u{FFFF}.jpg"}
        ]}))
        .expect("POST /v1/deletions")
        .body_mut()
        .read_json()
        .expect("a receipt");
    assert_eq!(answer["refused"][0]["code"], "invalid_path", "{answer:#}");
    // ...so A's real deletion goes through at once.
    let (code, report) = a.delete(&["--job", &mine["job_id"].to_string()]);
    assert_eq!(code, 0, "{report:#}");
    let _worker = backend.start_worker(
        &bucket.proxy.endpoint(),
        &[("UPLOADER_DELETION_POLL_SECS", "0.1")],
    );
    let started = Instant::now();
    while bucket.sha256(&key).await.is_some() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "A's photo not deleted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bucket.deletes(&key), 1);
}

#[path = "catalog/model.rs"]
mod model;

#[tokio::test(flavor = "multi_thread")]
async fn model_based_sequences_keep_every_invariant_in_direct_mode() {
    model::run(model::Mode::Direct).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn model_based_sequences_keep_every_invariant_in_backend_mode() {
    model::run(model::Mode::Backend).await;
}
