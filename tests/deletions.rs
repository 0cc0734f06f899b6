//! Deletions end to end, with real processes: `uploader` records each deletion in its local
//! outbox, then hands it to the reference backend's `s3_deletion_queue` (backend mode), whose
//! worker (`uploader-backend worker`) deletes from SeaweedFS; or deletes from SeaweedFS itself
//! (direct mode). Networks go away, S3 fails for chosen keys (`DeleteFaults`), and processes
//! are SIGKILLed; no deletion may be lost or applied twice.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Workspace, run_json};
use uploader_testkit::{BackendServer, DeleteFaults, FaultProxy, Faults, S3Server};

/// Few attempts, short waits: failures play out in seconds.
const CONFIG: &str = r#"
[outbox]
max_attempts = 3
retry_base_secs = 0.05
retry_max_secs = 0.2
"#;

/// The worker's settings for tests: polls often, backs off briefly, a short lease so rows
/// held by a killed worker come back quickly.
const WORKER: &[(&str, &str)] = &[
    ("UPLOADER_DELETION_POLL_SECS", "0.1"),
    ("UPLOADER_DELETION_RETRY_BASE_SECS", "0.05"),
    ("UPLOADER_DELETION_LEASE_SECS", "1"),
];

/// The company guide's monitoring query, character for character.
const MONITORING_QUERY: &str = "SELECT COUNT(*) as backlog, AVG(attempts) as avg_attempts FROM s3_deletion_queue WHERE attempts < max_attempts;";

fn keys(n: usize, folder: &str) -> Vec<String> {
    (0..n)
        .map(|i| format!("products/{folder}/{i:05}-large.jpg"))
        .collect()
}

fn write_keys(ws: &Workspace, keys: &[String]) -> std::path::PathBuf {
    let path = ws.dir.path().join("keys.txt");
    std::fs::write(&path, keys.join("\n")).expect("write keys");
    path
}

fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .parse()
        .expect("a loopback address")
}

/// The backend's environment for `uploader`, reaching it at `url`.
fn via(backend: &BackendServer, url: &str) -> Vec<(&'static str, String)> {
    let mut env = backend.env();
    for (k, v) in &mut env {
        if *k == "CATALOG_UPLOADER_BACKEND_URL" {
            *v = url.to_string();
        }
    }
    env
}

fn db(backend: &BackendServer) -> rusqlite::Connection {
    rusqlite::Connection::open(backend.database()).expect("open the backend database")
}

fn ids(conn: &rusqlite::Connection, table: &str) -> Vec<String> {
    conn.prepare(&format!("SELECT id FROM {table} ORDER BY id"))
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn monitoring(conn: &rusqlite::Connection) -> (u64, Option<f64>) {
    conn.query_row(MONITORING_QUERY, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
}

/// The local outbox's rows, by `uploader outbox list --json`.
fn outbox(ws: &Workspace, env: &[(&'static str, String)]) -> Vec<Value> {
    let (code, rows) = run_json(
        ws.uploader_via(env.to_vec())
            .args(["outbox", "list", "--json", "--limit", "100000"]),
    );
    assert_eq!(code, 0);
    rows.as_array().cloned().unwrap_or_default()
}

fn local_ids(rows: &[Value], state: &str) -> BTreeSet<String> {
    rows.iter()
        .filter(|r| r["state"] == state)
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn stats(ws: &Workspace, env: &[(&'static str, String)]) -> Value {
    let (code, stats) = run_json(
        ws.uploader_via(env.to_vec())
            .args(["outbox", "stats", "--json"]),
    );
    assert_eq!(code, 0, "{stats:#}");
    stats
}

async fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn left_under(server: &S3Server, folder: &str) -> usize {
    let prefix = format!("products/{folder}/");
    server
        .keys()
        .await
        .iter()
        .filter(|k| k.starts_with(&prefix))
        .count()
}

/// Runs `cmd`, SIGKILLs it after `after`; whether it was still running then.
fn kill_after(mut cmd: std::process::Command, after: Duration) -> bool {
    let mut child: Child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run uploader");
    std::thread::sleep(after);
    let running = matches!(child.try_wait(), Ok(None));
    let _ = child.kill();
    let _ = child.wait();
    running
}

fn post_deletions(backend: &BackendServer, rows: &[Value]) -> Value {
    let deletions: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "id": r["id"],
                "path": r["key"].as_str().unwrap().trim_start_matches("products/"),
                "reason": "sent again by hand",
            })
        })
        .collect();
    let mut response = ureq::post(format!("{}/v1/deletions", backend.url))
        .header("Authorization", format!("Bearer {}", backend.token))
        .send_json(json!({ "deletions": deletions }))
        .expect("POST /v1/deletions");
    response.body_mut().read_json().expect("a receipt")
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_deletions_reach_the_backend_once_each_and_the_worker_deletes_them_all() {
    let server = S3Server::start().await;
    let keys = keys(2500, "gone");
    server.put_many(&keys).await;
    let backend = BackendServer::start(&server);
    let proxy = FaultProxy::start(addr(&backend.url), Faults::default())
        .await
        .unwrap();
    let env = via(&backend, &proxy.endpoint());
    let ws = Workspace::new(CONFIG);
    let file = write_keys(&ws, &keys);

    // Offline: every deletion is recorded; none is lost, none sent.
    proxy.go_away();
    let (code, report) = run_json(
        ws.uploader_via(env.clone())
            .args(["delete", "--json", "--offline-timeout", "1", "--keys-from"])
            .arg(&file),
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["queued"], 2500);
    assert_eq!(report["sent"]["offline"], true, "{report:#}");
    assert_eq!(report["outbox"]["pending"], 2500);
    assert_eq!(monitoring(&db(&backend)), (0, None));

    // Back, but answers are lost now and then: those batches are sent again.
    proxy.come_back().await.unwrap();
    proxy.set_faults(Faults {
        reset: 0.3,
        seed: 11,
        ..Faults::default()
    });
    let mut runs = 0;
    loop {
        runs += 1;
        let (code, _) = run_json(ws.uploader_via(env.clone()).args([
            "outbox",
            "sync",
            "--json",
            "--offline-timeout",
            "5",
        ]));
        if code == 0 || runs == 20 {
            break;
        }
    }
    proxy.set_faults(Faults::default());
    let rows = outbox(&ws, &env);
    let synced = local_ids(&rows, "synced");
    assert_eq!(synced.len(), 2500, "after {runs} runs");
    assert!(
        proxy.resets() > 0,
        "no answer was lost: the test proves nothing"
    );
    eprintln!("synced in {runs} runs; {} requests reset", proxy.resets());
    // Each id is in the backend's queue once: resent batches added nothing.
    let conn = db(&backend);
    let queued: BTreeSet<String> = ids(&conn, "s3_deletion_queue").into_iter().collect();
    assert_eq!(queued, synced);
    assert_eq!(monitoring(&conn), (2500, Some(0.0)));
    let first: Vec<Value> = rows.iter().take(100).cloned().collect();
    let receipt = post_deletions(&backend, &first);
    assert_eq!(receipt["accepted"].as_array().unwrap().len(), 100);
    assert_eq!(ids(&conn, "s3_deletion_queue").len(), 2500);

    // The guide's query and the stats the app shows agree.
    let upstream = &stats(&ws, &env)["upstream"];
    assert_eq!(
        (
            upstream["backlog"].as_u64(),
            upstream["avg_attempts"].as_f64()
        ),
        (Some(2500), Some(0.0))
    );

    // The worker deletes them all, at most 1,000 keys a request.
    let faults = DeleteFaults::start(&server.endpoint).await.unwrap();
    let mut worker = backend.start_worker(&faults.endpoint(), WORKER);
    wait_for("the queue drains", Duration::from_secs(120), || {
        monitoring(&db(&backend)).0 == 0
    })
    .await;
    assert_eq!(left_under(&server, "gone").await, 0);
    assert!(faults.max_keys_per_request() <= 1000);
    assert!(
        faults.delete_requests() >= 3,
        "{}",
        faults.delete_requests()
    );
    let processed: BTreeSet<String> = ids(&conn, "s3_deletion_history").into_iter().collect();
    assert_eq!(processed, synced);
    eprintln!(
        "worker: {} DeleteObjects requests, at most {} keys each",
        faults.delete_requests(),
        faults.max_keys_per_request()
    );

    // Sent again after it was processed: accepted, and not queued again.
    let receipt = post_deletions(&backend, &first);
    assert_eq!(receipt["accepted"].as_array().unwrap().len(), 100);
    assert_eq!(monitoring(&conn), (0, None));
    let upstream = &stats(&ws, &env)["upstream"];
    assert_eq!(
        (upstream["backlog"].as_u64(), upstream["processed"].as_u64()),
        (Some(0), Some(2500))
    );
    assert!(upstream["worker_seen_at_ms"].as_i64().is_some());
    let mut health = ureq::get(format!("{}/v1/health", backend.url))
        .call()
        .unwrap();
    let health: Value = health.body_mut().read_json().unwrap();
    // The worker reports every round, so health's time is the same or later.
    assert!(
        health["deletion_worker_seen_at_ms"].as_i64() >= upstream["worker_seen_at_ms"].as_i64(),
        "{health}"
    );

    // SIGTERM: the worker stops cleanly.
    let status = worker.terminate(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{}", worker.log());
    assert!(worker.log().contains("stopped"), "{}", worker.log());
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_keys_are_retried_and_one_that_always_fails_ends_out_of_attempts_in_the_stats() {
    let server = S3Server::start().await;
    let keys = keys(20, "flaky");
    server.put_many(&keys).await;
    // This time the worker runs inside the backend (`serve --worker`), whose S3 requests all
    // go through the fault injector.
    let faults = DeleteFaults::start(&server.endpoint).await.unwrap();
    let mut settings = vec![
        ("UPLOADER_DELETION_MAX_ATTEMPTS", "4"),
        ("UPLOADER_WORKER", "true"),
    ];
    settings.extend_from_slice(WORKER);
    let backend = BackendServer::start_with(&server, &faults.endpoint(), &settings);
    let env = backend.env();
    let ws = Workspace::new(CONFIG);
    faults.fail_key(&keys[3], Some(2), "InternalError");
    faults.fail_key(&keys[7], Some(1), "SlowDown");
    faults.fail_key(&keys[11], None, "AccessDenied");
    let (code, report) = run_json(
        ws.uploader_via(env.clone())
            .args(["delete", "--json", "--keys-from"])
            .arg(write_keys(&ws, &keys)),
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["sent"]["sent"], 20, "{report:#}\n{}", backend.log());

    wait_for("every row settles", Duration::from_secs(60), || {
        let conn = db(&backend);
        monitoring(&conn).0 == 0 && ids(&conn, "s3_deletion_history").len() == 19
    })
    .await;
    let conn = db(&backend);
    let attempts = |key: &str, table: &str| -> (i64, i64, Option<String>) {
        conn.query_row(
            &format!("SELECT attempts, max_attempts, last_error FROM {table} WHERE s3_key = ?1"),
            [key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    // Retried, then deleted: the failures are on record.
    let (n, _, error) = attempts(&keys[3], "s3_deletion_history");
    assert_eq!(n, 2);
    assert!(error.unwrap().contains("InternalError"));
    assert_eq!(attempts(&keys[7], "s3_deletion_history").0, 1);
    // Out of attempts: it stays in the queue, visible, with its error.
    let (n, max, error) = attempts(&keys[11], "s3_deletion_queue");
    assert_eq!((n, max), (4, 4));
    assert!(
        error.as_deref().unwrap().contains("AccessDenied"),
        "{error:?}"
    );
    let upstream = &stats(&ws, &env)["upstream"];
    assert_eq!(
        (upstream["dead"].as_u64(), upstream["backlog"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(monitoring(&conn), (0, None));
    assert_eq!(faults.injected(), 2 + 1 + 4);
    // The rest are gone from the bucket.
    let left: Vec<String> = server.keys().await;
    for (i, key) in keys.iter().enumerate() {
        if i != 11 {
            assert!(!left.contains(key), "{key} is still there");
        }
    }
    assert!(
        backend.log().contains("deletion worker"),
        "{}",
        backend.log()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_the_app_while_it_syncs_and_the_worker_mid_batch_loses_and_repeats_nothing() {
    let server = S3Server::start().await;
    let keys = keys(2500, "killed");
    server.put_many(&keys).await;
    let backend = BackendServer::start(&server);
    // Requests to the backend stall now and then, so kills land mid-request.
    let proxy = FaultProxy::start(
        addr(&backend.url),
        Faults {
            stall: 0.5,
            stall_for: Duration::from_millis(300),
            seed: 5,
            ..Faults::default()
        },
    )
    .await
    .unwrap();
    let env = via(&backend, &proxy.endpoint());
    let ws = Workspace::new(CONFIG);
    let (code, report) = run_json(
        ws.uploader_via(env.clone())
            .args(["delete", "--json", "--no-send", "--keys-from"])
            .arg(write_keys(&ws, &keys)),
    );
    assert_eq!((code, report["queued"].as_u64()), (0, Some(2500)));

    let mut killed_running = 0;
    for (i, ms) in [150u64, 400, 250, 700, 550, 900].into_iter().enumerate() {
        let mut cmd = ws.uploader_via(env.clone());
        cmd.args(["outbox", "sync", "--offline-timeout", "5"]);
        if kill_after(cmd, Duration::from_millis(ms)) {
            killed_running += 1;
        }
        let rows = outbox(&ws, &env);
        let upstream: BTreeSet<String> = ids(&db(&backend), "s3_deletion_queue")
            .into_iter()
            .collect();
        // Whatever the app recorded as handed over, the backend holds.
        let synced = local_ids(&rows, "synced");
        assert!(synced.is_subset(&upstream), "kill {i}");
        assert_eq!(rows.len(), 2500, "kill {i}");
    }
    assert!(killed_running >= 3, "the sync finished before most kills");
    eprintln!("app killed mid-sync {killed_running} times");
    let (code, _) = run_json(
        ws.uploader_via(env.clone())
            .args(["outbox", "sync", "--json"]),
    );
    assert_eq!(code, 0);
    let rows = outbox(&ws, &env);
    let synced = local_ids(&rows, "synced");
    assert_eq!(synced.len(), 2500);
    let conn = db(&backend);
    let queued: BTreeSet<String> = ids(&conn, "s3_deletion_queue").into_iter().collect();
    assert_eq!(queued, synced);

    // The worker's DeleteObjects stall, so each kill lands during a batch.
    let faults = DeleteFaults::start(&server.endpoint).await.unwrap();
    let s3_proxy = FaultProxy::start(
        faults.addr(),
        Faults {
            stall: 1.0,
            stall_for: Duration::from_millis(1500),
            seed: 3,
            ..Faults::default()
        },
    )
    .await
    .unwrap();
    let mut killed_holding = 0;
    for ms in [700u64, 1200, 900] {
        let mut worker = backend.start_worker(&s3_proxy.endpoint(), WORKER);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        assert!(worker.is_running(), "{}", worker.log());
        worker.kill();
        let conn = db(&backend);
        let held: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM s3_deletion_queue WHERE lease_owner IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        killed_holding += usize::from(held > 0);
        let queued = ids(&conn, "s3_deletion_queue").len();
        let processed = ids(&conn, "s3_deletion_history").len();
        assert_eq!(queued + processed, 2500, "a row was lost or doubled");
    }
    assert!(
        killed_holding >= 2,
        "most kills came before the worker held a batch"
    );
    s3_proxy.set_faults(Faults::default());
    let mut worker = backend.start_worker(&s3_proxy.endpoint(), WORKER);
    wait_for("the queue drains", Duration::from_secs(120), || {
        monitoring(&db(&backend)).0 == 0
    })
    .await;
    let processed: BTreeSet<String> = ids(&conn, "s3_deletion_history").into_iter().collect();
    assert_eq!(processed, synced);
    assert_eq!(left_under(&server, "killed").await, 0);
    eprintln!(
        "worker: {} keys sent in {} requests for 2500 rows (kills resend)",
        faults.keys_requested(),
        faults.delete_requests()
    );
    assert!(faults.max_keys_per_request() <= 1000);
    worker.kill();
}

#[tokio::test(flavor = "multi_thread")]
async fn direct_mode_drains_its_own_outbox_offline_failing_and_killed() {
    let server = S3Server::start().await;
    let keys = keys(2500, "direct");
    server.put_many(&keys).await;
    let faults = DeleteFaults::start(&server.endpoint).await.unwrap();
    faults.fail_key(&keys[5], Some(1), "InternalError");
    faults.fail_key(&keys[6], None, "AccessDenied");
    let proxy = FaultProxy::start(faults.addr(), Faults::default())
        .await
        .unwrap();
    let ws = Workspace::new(CONFIG);
    let file = write_keys(&ws, &keys);
    let direct = |ws: &Workspace| {
        let mut cmd = ws.uploader(&server);
        cmd.arg("--endpoint").arg(proxy.endpoint());
        cmd
    };

    // Offline: recorded, nothing deleted.
    proxy.go_away();
    let (code, report) = run_json(
        direct(&ws)
            .args(["delete", "--json", "--offline-timeout", "1", "--keys-from"])
            .arg(&file),
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        (
            report["queued"].as_u64(),
            report["sent"]["offline"].as_bool()
        ),
        (Some(2500), Some(true))
    );
    assert_eq!(left_under(&server, "direct").await, 2500);

    // Back; requests stall now and then; the app is killed while it drains.
    proxy.come_back().await.unwrap();
    proxy.set_faults(Faults {
        stall: 0.7,
        stall_for: Duration::from_millis(800),
        seed: 9,
        ..Faults::default()
    });
    for ms in [300u64, 900, 600] {
        let mut cmd = direct(&ws);
        cmd.args(["outbox", "sync", "--offline-timeout", "5"]);
        kill_after(cmd, Duration::from_millis(ms));
    }
    proxy.set_faults(Faults::default());
    let mut runs = 0;
    while runs < 10 {
        runs += 1;
        let (code, report) = run_json(direct(&ws).args(["outbox", "sync", "--json"]));
        assert_eq!(code, 0, "{report:#}");
        let rows = outbox(&ws, &server.env());
        if local_ids(&rows, "pending").is_empty() && local_ids(&rows, "sending").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let rows = outbox(&ws, &server.env());
    assert_eq!(rows.len(), 2500);
    assert_eq!(local_ids(&rows, "done").len(), 2499, "after {runs} runs");
    let dead: Vec<&Value> = rows.iter().filter(|r| r["state"] == "dead").collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["key"], keys[6].as_str());
    assert_eq!(dead[0]["attempts"], 3);
    assert!(
        dead[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("AccessDenied")
    );
    let flaky = rows.iter().find(|r| r["key"] == keys[5].as_str()).unwrap();
    assert_eq!(
        (flaky["state"].as_str(), flaky["attempts"].as_u64()),
        (Some("done"), Some(1))
    );
    let local = &stats(&ws, &server.env())["local"];
    assert_eq!(
        (local["dead"].as_u64(), local["pending"].as_u64()),
        (Some(1), Some(0))
    );
    let left: Vec<String> = server.keys().await;
    assert!(
        left.iter()
            .filter(|k| k.starts_with("products/direct/"))
            .all(|k| *k == keys[6]),
        "objects left: {}",
        left.len()
    );

    // A retry gives the dead row its attempts back.
    let out = direct(&ws).args(["outbox", "retry"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 deletion(s)"));
    let rows = outbox(&ws, &server.env());
    assert_eq!(local_ids(&rows, "pending").len(), 1);
}

fn http_get(url: &str) -> (u16, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent.get(url).call().expect("GET");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_vec().unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_viewing_link_shows_the_private_object_until_it_expires_in_both_modes() {
    let server = S3Server::start().await;
    let key = "products/view/a-large.jpg".to_string();
    server.put_many(std::slice::from_ref(&key)).await;
    let backend = BackendServer::start(&server);
    let ws = Workspace::new(CONFIG);
    // Without a signature the bucket refuses.
    let (status, _) = http_get(&format!("{}/{}/{key}", server.endpoint, server.bucket));
    assert_eq!(status, 403);
    for (mode, mut cmd) in [
        ("direct", ws.uploader(&server)),
        ("backend", ws.uploader_via(backend.env())),
    ] {
        let out = cmd.args(["link", &key, "--expires", "2"]).output().unwrap();
        assert!(
            out.status.success(),
            "{mode}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let (status, body) = http_get(&url);
        assert_eq!((status, body), (200, key.clone().into_bytes()), "{mode}");
        tokio::time::sleep(Duration::from_millis(3100)).await;
        assert_eq!(
            http_get(&url).0,
            403,
            "{mode}: the link outlived its expiry"
        );
    }
}

/// Small variants only: the photos are rendered quickly.
const SMALL: &str = r#"
[[variant]]
name = "thumb"
longest_edge = 200
quality = 80
"#;

#[tokio::test(flavor = "multi_thread")]
async fn replacing_a_skus_photos_deletes_the_old_ones_and_removing_an_image_deletes_its_variants() {
    let server = S3Server::start().await;
    let backend = BackendServer::start_with(
        &server,
        &server.endpoint,
        &[("UPLOADER_WORKER", "true"), WORKER[0], WORKER[1]],
    );
    let ws = Workspace::new(&format!("{CONFIG}{SMALL}"));
    let old = ws.dir.path().join("old");
    let new = ws.dir.path().join("new");
    std::fs::create_dir_all(&old).unwrap();
    std::fs::create_dir_all(&new).unwrap();
    let photo = uploader_testkit::shared_image("real/exifsamples_mobile_jolla.jpg");
    std::fs::copy(&photo, old.join("SKU7_front.jpg")).unwrap();
    std::fs::copy(&photo, old.join("SKU7_back.jpg")).unwrap();
    std::fs::copy(&photo, new.join("SKU7_studio.jpg")).unwrap();
    std::fs::copy(&photo, new.join("SKU8_front.jpg")).unwrap();
    let env = backend.env();
    let upload = |dir: &std::path::Path, extra: &[&str]| {
        let (code, report) = run_json(
            ws.uploader_via(env.clone())
                .args(["upload", "--json"])
                .args(extra)
                .arg(dir),
        );
        assert_eq!(code, 0, "{report:#}");
        report
    };
    upload(&old, &[]);
    let before = server.keys().await;
    assert_eq!(
        before,
        [
            "products/SKU7/SKU7_back-thumb.jpg",
            "products/SKU7/SKU7_front-thumb.jpg"
        ]
    );

    // The new shoot replaces SKU7's photos; SKU8 has none to replace.
    upload(&new, &["--replace"]);
    let rows = outbox(&ws, &env);
    let queued: BTreeSet<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(queued, before.iter().map(String::as_str).collect());
    assert!(
        rows.iter()
            .all(|r| r["reason"].as_str().unwrap().starts_with("replaced by job"))
    );
    wait_for(
        "the worker deletes the old photos",
        Duration::from_secs(60),
        || ids(&db(&backend), "s3_deletion_history").len() == 2,
    )
    .await;
    assert_eq!(
        server.keys().await,
        [
            "products/SKU7/SKU7_studio-thumb.jpg",
            "products/SKU8/SKU8_front-thumb.jpg"
        ]
    );
    // The catalog forgot them too.
    let registered: Vec<String> = backend.registered().into_iter().map(|r| r.key).collect();
    assert_eq!(registered, server.keys().await);

    // Removing an uploaded image (by job id) deletes its variants.
    let (_, status) = run_json(ws.uploader_via(env.clone()).args(["status", "--json"]));
    let job = status["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| {
            f["source"]
                .as_str()
                .unwrap_or_default()
                .ends_with("SKU8_front.jpg")
        })
        .unwrap_or_else(|| panic!("{status:#}"))["job_id"]
        .as_i64()
        .unwrap();
    let (code, report) = run_json(ws.uploader_via(env.clone()).args([
        "delete",
        "--json",
        "--job",
        &job.to_string(),
    ]));
    assert_eq!(
        (code, report["queued"].as_u64()),
        (0, Some(1)),
        "{report:#}"
    );
    wait_for(
        "the worker deletes the removed image",
        Duration::from_secs(60),
        || ids(&db(&backend), "s3_deletion_history").len() == 3,
    )
    .await;
    assert_eq!(server.keys().await, ["products/SKU7/SKU7_studio-thumb.jpg"]);
}
