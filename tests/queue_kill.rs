//! The durable queue under abuse: `uploader upload` is SIGKILLed at random moments and
//! restarted (in direct and in backend mode), or sent through a proxy that resets,
//! throttles, stalls and disappears. Every object must end up in the bucket exactly once
//! with the bytes the pipeline renders.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::Workspace;
use uploader_core::config::{AppDirs, VariantSpec};
use uploader_core::pipeline::{self, Recipe};
use uploader_testkit::{BackendServer, FaultProxy, Faults, S3Server};

const CONFIG: &str = r#"
[upload]
concurrency = 8
max_mb_per_second = 6
max_attempts = 10
multipart_threshold_mb = 5
part_size_mb = 5

[[variant]]
name = "large"
longest_edge = 480
quality = 80

[[variant]]
name = "original"
original = true
"#;

fn variants() -> Vec<VariantSpec> {
    let mut original = VariantSpec::longest("original", 1, 90);
    original.original = true;
    original.longest_edge = None;
    vec![VariantSpec::longest("large", 480, 80), original]
}

/// A photo-like JPEG that differs per `seed`; noisy, so its kept original is large.
fn write_photo(path: &Path, seed: u32, width: u32, height: u32, noise: bool) {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = if noise { (state & 0xff) as u8 } else { 0 };
        image::Rgb([
            (x * 255 / width) as u8 ^ n,
            (y * 255 / height) as u8,
            (seed as u8).wrapping_add(n / 2),
        ])
    });
    let file = std::fs::File::create(path).expect("create photo");
    let mut encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(std::io::BufWriter::new(file), 95);
    encoder.encode_image(&img).expect("encode photo");
}

/// 300 small photos and two whose kept originals need multipart (over 5 MB).
fn batch(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for n in 0..300 {
        let path = dir.join(format!("K{n:03}_front.jpg"));
        write_photo(&path, n, 320, 240, false);
        files.push(path);
    }
    for n in 0..2 {
        let path = dir.join(format!("BIG{n}_front.jpg"));
        write_photo(&path, 1000 + n, 2600, 2000, true);
        assert!(std::fs::metadata(&path).unwrap().len() > 6 * 1024 * 1024);
        files.push(path);
    }
    files
}

/// Key → SHA-256 of what the pipeline renders for each file.
fn expected(files: &[PathBuf]) -> BTreeMap<String, String> {
    let recipe = Recipe::new(variants());
    let mut keys = BTreeMap::new();
    for file in files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let sku = stem.split('_').next().unwrap().to_string();
        for r in pipeline::render(file, &recipe).expect("render") {
            keys.insert(
                format!("products/{sku}/{stem}-{}.{}", r.variant, r.extension),
                r.sha256,
            );
        }
    }
    keys
}

/// Every key in the bucket is expected, has the expected bytes, and nothing is missing or
/// left half-done on the server.
async fn assert_bucket_holds(server: &S3Server, expected: &BTreeMap<String, String>) {
    let keys = server.keys().await;
    let wanted: Vec<&String> = expected.keys().collect();
    assert_eq!(
        keys.iter().collect::<Vec<_>>(),
        wanted,
        "keys in the bucket"
    );
    for (key, sha) in expected {
        let (bytes, _) = server.get(key).await;
        assert_eq!(&format!("{:x}", Sha256::digest(&bytes)), sha, "{key}");
    }
    assert_eq!(
        server.open_uploads().await,
        [],
        "multipart uploads left open"
    );
}

fn assert_database_is_sound(ws: &Workspace, files: usize) {
    let db =
        rusqlite::Connection::open(AppDirs::database(&ws.data_dir())).expect("open the database");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    let states: Vec<(String, i64)> = db
        .prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        states,
        [("uploaded".to_string(), files as i64)],
        "no job lost, stuck or doubled"
    );
}

/// What the database says is done: uploaded jobs, recorded multipart parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Progress {
    uploaded: i64,
    parts: i64,
}

fn progress(ws: &Workspace) -> Progress {
    let Ok(db) = rusqlite::Connection::open(AppDirs::database(&ws.data_dir())) else {
        return Progress {
            uploaded: -1,
            parts: -1,
        };
    };
    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(-1);
    Progress {
        uploaded: count("SELECT COUNT(*) FROM jobs WHERE state = 'uploaded'"),
        parts: count("SELECT COUNT(*) FROM parts"),
    }
}

/// Who signs the uploads.
#[derive(Clone, Copy)]
enum Signer<'a> {
    /// This workstation, with the server's keys, at `endpoint` (a proxy) if given.
    Direct(&'a S3Server, Option<&'a str>),
    /// The reference backend; the workstation holds only its token.
    Backend(&'a BackendServer),
}

fn upload(ws: &Workspace, signer: Signer) -> Command {
    let mut cmd = match signer {
        Signer::Direct(server, endpoint) => {
            let mut cmd = ws.uploader(server);
            if let Some(endpoint) = endpoint {
                cmd.arg("--endpoint").arg(endpoint);
            }
            cmd
        }
        Signer::Backend(backend) => ws.uploader_via(backend.env()),
    };
    cmd.args(["upload", "--json"]).arg(ws.photos());
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

fn finish(mut cmd: Command) -> Value {
    let out = cmd.output().expect("run uploader");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).expect("a --json report")
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_ten_times_the_batch_still_lands_exactly_once() {
    let server = S3Server::start().await;
    kill_ten_times_then_finish(&server, Signer::Direct(&server, None)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_ten_times_in_backend_mode_the_batch_lands_and_is_registered_exactly_once() {
    let server = S3Server::start().await;
    let backend = BackendServer::start(&server);
    let expected = kill_ten_times_then_finish(&server, Signer::Backend(&backend)).await;
    let registered: BTreeMap<String, String> = backend
        .registered()
        .into_iter()
        .map(|r| (r.key, r.sha256))
        .collect();
    assert_eq!(
        registered, expected,
        "every object registered, with its bytes"
    );
}

/// Uploads a batch, killing the uploader ten times mid-batch, then lets it finish; checks
/// the bucket and the database, and returns what the bucket holds (key → SHA-256).
async fn kill_ten_times_then_finish(
    server: &S3Server,
    signer: Signer<'_>,
) -> BTreeMap<String, String> {
    let ws = Workspace::new(CONFIG);
    let files = batch(&ws.photos());
    let expected = expected(&files);

    // Each run is killed a random moment after it has made some progress, so that every
    // kill lands mid-batch; the bandwidth cap keeps the multipart uploads in flight for a
    // while, so some kills land between their parts.
    let mut seed: u64 = 0x5eed;
    let mut kills = 0;
    let mut mid_multipart = 0;
    let mut last = progress(&ws);
    for round in 0..10 {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let extra = Duration::from_millis((seed >> 33) % 400);
        let mut child = upload(&ws, signer).spawn().expect("spawn uploader");
        let started = Instant::now();
        while progress(&ws) == last && started.elapsed() < Duration::from_secs(60) {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(extra);
        if child.try_wait().expect("wait").is_none() {
            child.kill().expect("SIGKILL");
            kills += 1;
        }
        child.wait().expect("reap");
        last = progress(&ws);
        if last.parts > 0 {
            mid_multipart += 1;
        }
        eprintln!("round {round}: killed {:?} after progress: {last:?}", extra);
    }
    assert_eq!(kills, 10, "every run was killed before the batch was done");
    assert!(
        mid_multipart > 0,
        "no kill landed between the parts of a multipart upload"
    );

    let report = finish(upload(&ws, signer));
    assert_eq!(report["uploaded"], files.len());
    assert_bucket_holds(server, &expected).await;
    assert_database_is_sound(&ws, files.len());
    expected
}

#[tokio::test(flavor = "multi_thread")]
async fn resets_slow_downs_stalls_and_an_outage_only_delay_the_batch() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let files = batch(&ws.photos());
    let expected = expected(&files);
    let upstream: SocketAddr = server
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address");
    let proxy = FaultProxy::start(
        upstream,
        Faults {
            reset: 0.10,
            slow_down: 0.05,
            stall: 0.05,
            stall_for: Duration::from_secs(2),
            seed: 7,
            ..Faults::default()
        },
    )
    .await
    .expect("start the proxy");

    let endpoint = proxy.endpoint();
    let run = std::thread::spawn({
        let cmd = upload(&ws, Signer::Direct(&server, Some(&endpoint)));
        move || finish(cmd)
    });
    // Mid-batch, the network goes away for 20 s.
    let started = Instant::now();
    while proxy.bytes_up() < 2_000_000 && started.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.go_away();
    tokio::time::sleep(Duration::from_secs(20)).await;
    proxy.come_back().await.expect("the proxy comes back");
    let report = run.join().expect("the upload thread");

    assert_eq!(report["uploaded"], files.len());
    assert_eq!(report["failed"], 0);
    let worst = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["attempts"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(worst < 10, "attempts were nearly exhausted: {worst}");
    eprintln!(
        "proxy: {} connections, {} resets, {} slow downs, {} stalls, worst attempts {worst}",
        proxy.connections(),
        proxy.resets(),
        proxy.slow_downs(),
        proxy.stalls()
    );
    assert!(
        proxy.resets() > 0 && proxy.slow_downs() > 0,
        "the faults happened"
    );
    assert_bucket_holds(&server, &expected).await;
    assert_database_is_sound(&ws, files.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_1_gib_upload_killed_half_way_sends_less_than_60_percent_again() {
    const SIZE: u64 = 1 << 30;
    let server = S3Server::start().await;
    let ws = Workspace::new("[upload]\nconcurrency = 8\n");
    let file = ws.photos().join("catalog-video.mp4");
    let sha = write_random(&file, SIZE);
    let upstream: SocketAddr = server
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("the server's address");
    let proxy = FaultProxy::start(upstream, Faults::default())
        .await
        .expect("start the proxy");
    let endpoint = proxy.endpoint();
    let as_is = |ws: &Workspace| {
        let mut cmd = ws.uploader(&server);
        cmd.arg("--endpoint").arg(&endpoint);
        cmd.args(["upload", "--as-is", "--sku", "V1", "--json"])
            .arg(&file);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    };

    let mut child = as_is(&ws).spawn().expect("spawn uploader");
    let started = Instant::now();
    while proxy.bytes_up() < SIZE / 2 {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "it finished before half-way"
        );
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "stuck before half-way"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let first = proxy.bytes_up();

    let report = finish(as_is(&ws));
    assert_eq!(report["uploaded"], 1);
    let again = proxy.bytes_up() - first;
    eprintln!(
        "killed after {:.0} MiB; the restart sent {:.0} MiB ({:.0}% of the file)",
        first as f64 / 1048576.0,
        again as f64 / 1048576.0,
        again as f64 * 100.0 / SIZE as f64
    );
    assert!(again < SIZE * 6 / 10, "the restart sent {again} bytes");
    let (bytes, _) = server.get("products/V1/catalog-video.mp4").await;
    assert_eq!(bytes.len() as u64, SIZE);
    assert_eq!(format!("{:x}", Sha256::digest(&bytes)), sha);
    assert_eq!(
        server.open_uploads().await,
        [],
        "multipart uploads left open"
    );
}

/// Writes `size` pseudo-random bytes (incompressible, fast) and returns their SHA-256.
fn write_random(path: &Path, size: u64) -> String {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut hasher = Sha256::new();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..size / block.len() as u64 {
        for chunk in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        hasher.update(&block);
        out.write_all(&block).expect("write");
    }
    out.flush().expect("flush");
    format!("{:x}", hasher.finalize())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_crashes_the_app_fails_after_three_starts_and_the_rest_lands() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let mut files = Vec::new();
    for n in 0..4 {
        let path = ws.photos().join(format!("C{n}_front.jpg"));
        write_photo(&path, 50 + n, 320, 240, false);
        files.push(path);
    }
    let poison = ws.photos().join("C2_front.jpg");
    let mut crashes = 0;
    let report = loop {
        let mut cmd = upload(&ws, Signer::Direct(&server, None));
        // Debug builds abort while rendering this file, as a crashing decoder would.
        cmd.env("CATALOG_UPLOADER_TEST_CRASH_ON", "C2_front.jpg");
        let out = cmd.output().expect("run uploader");
        if out.status.code().is_none() {
            crashes += 1;
            assert!(crashes <= 3, "the app kept crashing on the same file");
            continue;
        }
        break serde_json::from_slice::<Value>(&out.stdout).expect("a --json report");
    };
    assert_eq!(crashes, 3, "{report}");
    assert_eq!(
        (report["uploaded"].as_u64(), report["failed"].as_u64()),
        (Some(3), Some(1))
    );
    let failed = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["state"] == "failed")
        .unwrap()
        .clone();
    assert_eq!(
        failed["source"].as_str().map(PathBuf::from),
        Some(poison.clone()),
        "{failed}"
    );
    let why = failed["error"].as_str().unwrap_or_default();
    assert!(
        why.contains("stopped while reading this file 3 times"),
        "{why}"
    );
    // Only the poison failed: the others landed.
    let landed = expected(&[files[0].clone(), files[1].clone(), files[3].clone()]);
    assert_bucket_holds(&server, &landed).await;
}

/// Ten small photos in the workspace's folder.
fn small_batch(ws: &Workspace, prefix: &str) -> Vec<PathBuf> {
    (0..10)
        .map(|n| {
            let path = ws.photos().join(format!("{prefix}{n}_front.jpg"));
            write_photo(&path, 200 + n, 320, 240, false);
            path
        })
        .collect()
}

fn attempts(report: &Value) -> Vec<u64> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["attempts"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_of_502_pages_and_slow_downs_longer_than_the_retry_budget_spends_no_attempt() {
    let server = S3Server::start().await;
    // Two attempts with a one-second backoff: the budget is spent in a few seconds.
    let ws = Workspace::new(&CONFIG.replace("max_attempts = 10", "max_attempts = 2"));
    let files = small_batch(&ws, "OUT");
    let upstream = server.addr();
    let failing = Faults {
        slow_down: 0.5,
        bad_gateway: 1.0,
        ..Faults::default()
    };
    let proxy = FaultProxy::start(upstream, failing).await.unwrap();
    let endpoint = proxy.endpoint();
    let run = std::thread::spawn({
        let cmd = upload(&ws, Signer::Direct(&server, Some(&endpoint)));
        move || finish(cmd)
    });
    // Fifteen seconds of a server that answers every request with a 502 page or SlowDown.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let (slowed, gateways) = (proxy.slow_downs(), proxy.bad_gateways());
    assert!(
        slowed > 0 && gateways > 0,
        "the outage happened: {slowed} {gateways}"
    );
    proxy.set_faults(Faults::default());
    let report = run.join().expect("the upload thread");
    assert_eq!(report["uploaded"], files.len(), "{report}");
    assert_eq!(
        attempts(&report),
        vec![0; files.len()],
        "no attempt spent: {report}"
    );
    assert_bucket_holds(&server, &expected(&files)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_answered_403_before_a_resend_sends_the_photo_again() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let files = small_batch(&ws, "HD");
    let first = finish(upload(&ws, Signer::Direct(&server, None)));
    assert_eq!(first["uploaded"], files.len());
    // The same bytes, touched: new jobs whose keys this workstation's record says hold them,
    // which a HEAD is asked to confirm. AWS answers 403 to it when the caller may not list.
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        std::fs::remove_file(file).unwrap();
        std::fs::write(file, bytes).unwrap();
    }
    let upstream = server.addr();
    let proxy = FaultProxy::start(
        upstream,
        Faults {
            forbid_head: true,
            ..Faults::default()
        },
    )
    .await
    .unwrap();
    let endpoint = proxy.endpoint();
    let again = finish(upload(&ws, Signer::Direct(&server, Some(&endpoint))));
    assert_eq!(
        (again["uploaded"].as_u64(), again["failed"].as_u64()),
        (Some(files.len() as u64), Some(0)),
        "{again}"
    );
    assert_bucket_holds(&server, &expected(&files)).await;
}

/// `uploader queue run` (the app's queue, as it runs in the app) with the workspace's config.
fn queue_run(ws: &Workspace, server: &S3Server) -> Command {
    let mut cmd = ws.uploader(server);
    cmd.args(["queue", "run", "--json"]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// `uploader upload FOLDER` with the workspace's config.
fn upload_folder(ws: &Workspace, server: &S3Server, folder: &Path) -> Command {
    let mut cmd = ws.uploader(server);
    cmd.args(["upload", "--json"]).arg(folder);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

#[tokio::test(flavor = "multi_thread")]
async fn the_apps_queue_and_two_uploads_share_a_new_data_folder_through_ten_rounds_of_kills() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let mut all = Vec::new();
    let mut seed: u64 = 0x00c0_ffee;
    let mut killed = 0;
    for round in 0..10u32 {
        // Two new folders each round: distinct files, so every round adds keys.
        let folders: Vec<PathBuf> = ["A", "B"]
            .iter()
            .map(|side| {
                let folder = ws.dir.path().join(format!("round{round}{side}"));
                std::fs::create_dir_all(&folder).unwrap();
                for n in 0..6 {
                    let path = folder.join(format!("R{round}{side}{n}_front.jpg"));
                    write_photo(&path, round * 100 + n, 640, 480, false);
                    all.push(path);
                }
                folder
            })
            .collect();
        // All three start together; the first round finds no database at all.
        let mut children = vec![
            queue_run(&ws, &server).spawn().unwrap(),
            upload_folder(&ws, &server, &folders[0]).spawn().unwrap(),
            upload_folder(&ws, &server, &folders[1]).spawn().unwrap(),
        ];
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let victim = (seed >> 33) as usize % 3;
        let after = Duration::from_millis(100 + (seed >> 40) % 900);
        std::thread::sleep(after);
        if children[victim].try_wait().unwrap().is_none() {
            children[victim].kill().unwrap();
            killed += 1;
        }
        let mut stderr = String::new();
        for (n, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stderr);
            if n != victim {
                assert!(
                    out.status.code().is_some_and(|c| c <= 1),
                    "round {round}: process {n} exited {:?}\n{text}",
                    out.status
                );
            }
            stderr.push_str(&text);
        }
        for word in ["database is locked", "busy", "already exists"] {
            assert!(!stderr.contains(word), "round {round}: {word}\n{stderr}");
        }
        // What the killed one left is taken over by the next start at once; a killed upload
        // may have been killed before it recorded its files: the folders are dropped again.
        for folder in &folders {
            finish(upload_folder(&ws, &server, folder));
        }
        let report = finish(queue_run(&ws, &server));
        assert_eq!(report["failed"], 0, "round {round}: {report}");
        assert_bucket_holds(&server, &expected(&all)).await;
        assert_database_is_sound(&ws, all.len());
        eprintln!("round {round}: killed process {victim} after {after:?}");
    }
    assert!(
        killed >= 5,
        "most rounds killed a process mid-work: {killed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_edited_between_a_kill_and_the_resume_is_never_completed_from_mixed_parts() {
    // Sixteen 5 MB parts, at most eight in flight: some are always left when the kill lands.
    const SIZE: u64 = 80 << 20;
    let server = S3Server::start().await;
    // 6 MB/s and 5 MB parts: a few parts are through when the kill lands.
    let ws = Workspace::new(CONFIG);
    let file = ws.photos().join("lookbook.mp4");
    write_random(&file, SIZE);
    let as_is = || {
        let mut cmd = ws.uploader(&server);
        cmd.args(["upload", "--as-is", "--sku", "M1", "--json"])
            .arg(&file);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    };
    let mut child = as_is().spawn().expect("spawn uploader");
    let started = Instant::now();
    while progress(&ws).parts < 2 {
        assert!(child.try_wait().unwrap().is_none(), "it finished first");
        assert!(started.elapsed() < Duration::from_secs(120), "no part went");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Edited in place at the same size, in every part: those sent hold the old bytes, those
    // left would carry the new ones.
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        for part in 0..SIZE / (5 << 20) {
            f.seek(std::io::SeekFrom::Start(part * (5 << 20) + 1000))
                .unwrap();
            f.write_all(b"retouched").unwrap();
        }
    }
    // The interrupted upload resumes: its parts no longer add up to the file.
    let (code, report) = support::run_json(&mut queue_run(&ws, &server));
    assert_eq!(code, 1, "{report}");
    let error = report["files"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("changed while it was being uploaded"),
        "{error}"
    );
    assert!(
        server.keys().await.is_empty(),
        "a mixed object was completed"
    );
    assert_eq!(
        server.open_uploads().await,
        [],
        "the parts were not abandoned"
    );
    // Dropped again, the edited file is a new upload, sent whole.
    let report = finish(as_is());
    assert_eq!(report["uploaded"], 1, "{report}");
    let (bytes, _) = server.get("products/M1/lookbook.mp4").await;
    let expected = std::fs::read(&file).unwrap();
    assert!(
        bytes == expected,
        "the bucket holds other bytes than the file"
    );
}
