//! What `uploader` leaves behind on the workstation: no signed URL in a job's error, the log or
//! a support bundle, files only their user can read, and local files that are not photos
//! (devices, pipes, folders) refused without hanging. Real processes, a real SeaweedFS and the
//! real backend.

mod support;

use std::path::{Path, PathBuf};

use support::{Workspace, run_json};
use uploader_core::config::AppDirs;
use uploader_testkit::{BackendServer, S3Server, copy_images};

const CONFIG: &str = r#"
[upload]
max_attempts = 1

[[variant]]
name = "large"
longest_edge = 800
quality = 85
"#;

/// Every file and folder below `dir`, `dir` itself first.
fn entries_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![dir.to_path_buf()];
    let mut at = 0;
    while at < found.len() {
        let here = found[at].clone();
        at += 1;
        if here.is_dir() && !here.is_symlink() {
            for entry in std::fs::read_dir(&here).expect("read dir") {
                found.push(entry.expect("dir entry").path());
            }
        }
    }
    found
}

/// The text of every file below `dir`, lossily, for searching.
fn text_under(dir: &Path) -> String {
    entries_under(dir)
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| String::from_utf8_lossy(&std::fs::read(&p).expect("read file")).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `uploader doctor --out FILE`: the bundle's text.
fn doctor(uploader: &mut std::process::Command, out: &Path) -> String {
    let run = uploader
        .arg("doctor")
        .arg("--out")
        .arg(out)
        .output()
        .expect("run uploader doctor");
    assert!(run.status.success(), "{run:?}");
    std::fs::read_to_string(out).expect("bundle")
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port()
}

#[tokio::test]
async fn no_signed_url_reaches_job_errors_the_database_the_log_or_the_support_bundle() {
    let server = S3Server::start().await;
    // The backend signs URLs for an S3 endpoint that refuses every connection.
    let unreachable = format!("http://127.0.0.1:{}", closed_port());
    let backend = BackendServer::start_with(&server, &unreachable, &[]);
    let ws = Workspace::new(CONFIG);
    copy_images(&["real/exifsamples_mobile_jolla.jpg"], &ws.photos());
    let logs = ws.dir.path().join("logs");

    let (code, report) = run_json(
        ws.uploader_via(backend.env())
            .env("CATALOG_UPLOADER_LOG_DIR", &logs)
            // The bucket does not answer the backend either: the queue waits offline.
            .args(["upload", "--json", "--offline-timeout", "3"])
            .arg(ws.photos()),
    );
    assert_eq!(code, 1, "{report:#}\n{}", backend.log());
    let error = report["files"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("127.0.0.1"),
        "the error still says where: {report:#}"
    );

    let status = ws
        .uploader_via(backend.env())
        .env("CATALOG_UPLOADER_LOG_DIR", &logs)
        .args(["status", "--json"])
        .output()
        .expect("run uploader status");
    let bundle = doctor(
        ws.uploader_via(backend.env())
            .env("CATALOG_UPLOADER_LOG_DIR", &logs),
        &ws.dir.path().join("bundle.txt"),
    );
    assert!(
        bundle.contains("FAIL"),
        "the connection test failed too: {bundle}"
    );

    for (what, text) in [
        ("upload --json", report.to_string()),
        (
            "status --json",
            String::from_utf8_lossy(&status.stdout).into(),
        ),
        ("the data folder", text_under(&ws.data_dir())),
        ("the log folder", text_under(&logs)),
        ("the support bundle", bundle),
    ] {
        for signed in [
            "X-Amz-Signature",
            "X-Amz-Credential",
            "X-Amz-Security-Token",
        ] {
            assert!(!text.contains(signed), "{signed} in {what}:\n{text}");
        }
    }
}

/// Each entry below `dirs` that a group or other users may read, write or enter.
#[cfg(unix)]
fn not_private(dirs: &[PathBuf]) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt as _;
    dirs.iter()
        .flat_map(|dir| entries_under(dir))
        .filter_map(|path| {
            let mode = std::fs::symlink_metadata(&path).ok()?.permissions().mode();
            (mode & 0o077 != 0).then(|| format!("{:o} {}", mode & 0o777, path.display()))
        })
        .collect()
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_logs_previews_and_support_bundle_are_readable_by_their_user_only() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let photos = copy_images(&["real/exifsamples_mobile_jolla.jpg"], &ws.photos());

    // Logs go where they go by default: below this workspace's home.
    let (code, report) = run_json(
        ws.uploader(&server)
            .args(["upload", "--json"])
            .arg(ws.photos()),
    );
    assert_eq!(code, 0, "{report:#}");
    let bundle = ws.data_dir().join("support.txt");
    doctor(&mut ws.uploader(&server), &bundle);
    // A preview, as the window renders it (in this process, whose umask is the usual 022).
    let thumbnails = uploader_core::config::AppDirs::thumbnails(&ws.data_dir());
    uploader_core::thumbnail::Thumbnails::new(
        thumbnails.clone(),
        &uploader_core::config::Config::default(),
    )
    .of_file(&photos[0])
    .expect("preview");

    let logs = ws.dir.path().join(".local/state/catalog-uploader/logs");
    let entries = entries_under(&ws.data_dir());
    for made in [
        AppDirs::database(&ws.data_dir()),
        AppDirs::staging(&ws.data_dir()),
        bundle,
        thumbnails,
    ] {
        assert!(entries.contains(&made), "{} was made", made.display());
    }
    assert!(entries_under(&logs).len() > 1, "a log file was written");
    let open = not_private(&[ws.data_dir(), logs]);
    assert!(open.is_empty(), "open to others:\n{}", open.join("\n"));
}

/// Runs `cmd` to its end, or kills it after `limit` and fails: a hang is a failure, not a
/// test that never ends.
fn output_within(
    cmd: &mut std::process::Command,
    limit: std::time::Duration,
) -> std::process::Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "still running after {limit:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[cfg(unix)]
#[test]
fn process_refuses_devices_fifos_and_links_to_devices_at_once_and_renders_the_photo_beside_them() {
    let ws = Workspace::new(CONFIG);
    let photos = copy_images(&["real/exifsamples_mobile_jolla.jpg"], &ws.photos());
    let odd = ws.dir.path().join("odd");
    std::fs::create_dir(&odd).expect("odd dir");
    let fifo = odd.join("A1_pipe.jpg");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let link = odd.join("A2_zero.jpg");
    std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
    let sources = [PathBuf::from("/dev/zero"), fifo, link, photos[0].clone()];

    let out = output_within(
        ws.uploader_via(Vec::new())
            .args(["process", "--json", "--out"])
            .arg(ws.dir.path().join("out"))
            .args(&sources),
        std::time::Duration::from_secs(60),
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["processed"], 1, "{report:#}");
    let files = report["files"].as_array().expect("files");
    for (source, file) in sources.iter().zip(files) {
        assert_eq!(file["source"], source.display().to_string());
    }
    for file in &files[..3] {
        let error = file["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with(file["source"].as_str().unwrap_or("?"))
                && error.ends_with("not a regular file"),
            "{file:#}"
        );
    }
    assert!(files[3]["error"].is_null(), "{:#}", files[3]);
}

#[tokio::test]
async fn links_are_signed_only_for_keys_under_the_prefix() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let link = |key: &str| {
        ws.uploader(&server)
            .args(["link", key])
            .output()
            .expect("run uploader link")
    };

    let inside = link("products/SKU1/a-large.jpg");
    assert!(inside.status.success(), "{inside:?}");
    assert!(String::from_utf8_lossy(&inside.stdout).contains("/products/SKU1/a-large.jpg?"));
    for (key, problem) in [
        ("payroll/2026.csv", "is not under the prefix"),
        (
            "products/../payroll/2026.csv",
            "has an empty, `.` or `..` segment",
        ),
        ("products//etc/x", "is absolute"),
    ] {
        let out = link(key);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key} was signed: {out:?}");
        assert!(out.stdout.is_empty(), "{key}: {out:?}");
        assert!(
            stderr.contains(&format!("`{key}` {problem}")) && stderr.contains("products/"),
            "{key}: {stderr}"
        );
    }
}
