//! The command line's contract, without a server: usage errors, and `status` on a new database.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_uploader");

fn uploader(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("HOME", data_dir)
        .arg("--data-dir")
        .arg(data_dir.join("data"));
    cmd
}

fn config_file(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let file = dir.join("config.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn upload_without_paths_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = uploader(dir.path()).arg("upload").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PATHS"));
}

#[test]
fn status_on_a_new_data_dir_reports_nothing_and_needs_no_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let out = uploader(dir.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        serde_json::json!({"files": [], "uploaded": 0, "failed": 0, "cancelled": 0, "pending": 0})
    );
    assert!(dir.path().join("data/uploader.sqlite3").exists());
}

#[test]
fn queue_commands_work_on_the_database_alone_and_need_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| uploader(dir.path()).args(args).output().unwrap();
    let paused = run(&["queue", "pause", "--all"]);
    assert!(
        paused.status.success(),
        "{}",
        String::from_utf8_lossy(&paused.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&paused.stdout).trim(),
        "0 job(s) paused"
    );
    let missing = run(&["queue", "cancel", "--batch", "7"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no batch 7"));
    // Which jobs must be said: nothing is cancelled by accident.
    let untargeted = run(&["queue", "cancel"]);
    assert_eq!(untargeted.status.code(), Some(2));
    let listed = run(&["queue", "list", "--state", "lost"]);
    assert_eq!(listed.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&listed.stderr).contains("unknown job state `lost`"));
}

#[test]
fn a_broken_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), "[s3\n");
    let out = uploader(dir.path())
        .arg("--config")
        .arg(&config)
        .arg("status")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml") && stderr.contains("invalid config file"),
        "{stderr}"
    );
}

#[test]
fn admin_iam_policy_prints_a_json_policy_for_the_bucket_and_says_who_it_is_for() {
    let dir = tempfile::tempdir().unwrap();
    for (mode, who) in [("direct", "workstations use"), ("backend", "the backend's")] {
        let out = uploader(dir.path())
            .args([
                "admin",
                "iam-policy",
                "--bucket",
                "catalog",
                "--prefix",
                "shop",
            ])
            .args(["--mode", mode])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains(who), "{mode}: {stderr}");
        let policy: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            policy["Statement"][0]["Resource"],
            "arn:aws:s3:::catalog/shop/*"
        );
        let text = policy.to_string();
        for action in [
            "s3:ListMultipartUploadParts",
            "s3:AbortMultipartUpload",
            "s3:GetObject",
        ] {
            assert!(text.contains(action), "{action}: {text}");
        }
    }
    let out = uploader(dir.path())
        .args(["admin", "iam-policy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("setting `bucket`"));
}

#[test]
fn config_show_prints_each_value_with_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = config_file(dir.path(), "[s3]\nbucket = \"mine\"\n");
    let out = uploader(dir.path())
        .env("AWS_REGION", "eu-west-3")
        .arg("--config")
        .arg(&file)
        .args(["--prefix", "shop/", "config", "show", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let source = |name: &str| -> String {
        let row = rows
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        format!(
            "{} {}",
            row["value"].as_str().unwrap(),
            row["source"].as_str().unwrap()
        )
    };
    assert_eq!(
        source("s3.bucket"),
        format!("\"mine\" config file {}", file.display())
    );
    assert_eq!(source("s3.region"), "\"eu-west-3\" environment");
    assert_eq!(source("s3.prefix"), "\"shop/\" flag");
    assert_eq!(source("upload.concurrency"), "8 default");
}

#[test]
fn doctor_writes_a_bundle_even_when_the_settings_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.txt");
    let out = uploader(dir.path())
        .env(
            "CATALOG_UPLOADER_KEYRING_SERVICE",
            "catalog-uploader-test-doctor",
        )
        .env("AWS_SECRET_ACCESS_KEY", "an-env-secret-0123456789")
        // Secrets where no setting should hold one: a password in a URL, and a value someone
        // pasted the secret into.
        .env(
            "AWS_ENDPOINT_URL",
            "http://admin:hunter2-password@127.0.0.1:1",
        )
        .env(
            "CATALOG_UPLOADER_BACKEND_URL",
            "http://an-env-secret-0123456789.example",
        )
        .args(["doctor", "--out"])
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&bundle).unwrap();
    for wanted in [
        "## Settings",
        "mode = \"direct\"    # default",
        "## Not opened",
        "s3.bucket",
    ] {
        assert!(text.contains(wanted), "no `{wanted}`:\n{text}");
    }
    assert!(!text.contains("an-env-secret-0123456789"), "{text}");
    assert!(!text.contains("hunter2-password"), "{text}");
    // The controls: the values are there, with the secrets cut out.
    assert!(
        text.contains("http://[secret removed]@127.0.0.1:1"),
        "{text}"
    );
    assert!(text.contains("http://[secret removed].example"), "{text}");
}
