//! `uploader credentials set|show|clear` with the OS keyring (on a box with no Secret Service,
//! the kernel's keyutils store): the stored keys sign uploads with no AWS keys in the
//! environment, the backend token likewise, and the secret is never on the command line, in
//! the output or in any file of the workspace.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use support::{Workspace, run_json};
use uploader_testkit::{ACCESS_KEY, BackendServer, S3Server, SECRET_KEY, copy_images};

/// Runs `cmd`, writing `input` to its standard input.
fn with_input(cmd: &mut Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run uploader");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for uploader")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &std::path::Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_keys_sign_uploads_and_the_secret_is_nowhere_on_disk() {
    let server = S3Server::start().await;
    let ws = Workspace::new("");
    copy_images(&["real/exifsamples_mobile_jolla.jpg"], &ws.photos());
    tokio::task::block_in_place(|| {
        let out = ws
            .uploader_keyless(&server)
            .args(["credentials", "show"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("not configured"), "{}", text(&out));

        let out = with_input(
            ws.uploader_keyless(&server).args(["credentials", "set"]),
            &format!("{ACCESS_KEY}\n{SECRET_KEY}\n"),
        );
        assert!(out.status.success(), "{}", text(&out));
        assert!(!text(&out).contains(SECRET_KEY), "{}", text(&out));

        let out = ws
            .uploader_keyless(&server)
            .args(["credentials", "show"])
            .output()
            .unwrap();
        let shown = text(&out);
        assert!(out.status.success(), "{shown}");
        assert!(shown.contains("AWS key test…-key (keyring)"), "{shown}");
        assert!(shown.contains("keyring: "), "{shown}");
        assert!(!shown.contains(SECRET_KEY), "{shown}");

        let (code, report) =
            run_json(
                ws.uploader_keyless(&server)
                    .args(["credentials", "test", "--json"]),
            );
        assert_eq!(code, 0, "{report:#}");
        let (code, report) = run_json(
            ws.uploader_keyless(&server)
                .args(["upload", "--json"])
                .arg(ws.photos()),
        );
        assert_eq!(code, 0, "{report:#}");
        assert_eq!(report["uploaded"], 1, "{report:#}");
    });
    assert!(!server.keys().await.is_empty(), "the upload landed");

    // The run logged to the per-OS log folder under its home, and `doctor` bundles it all.
    let logs = ws.dir.path().join(".local/state/catalog-uploader/logs");
    assert!(
        !files_holding(&logs, "uploaded").is_empty(),
        "no log line for the upload in {}",
        logs.display()
    );
    let bundle_path = ws.dir.path().join("support.txt");
    tokio::task::block_in_place(|| {
        let out = ws
            .uploader_keyless(&server)
            .args(["doctor", "--out"])
            .arg(&bundle_path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    });
    let bundle = std::fs::read_to_string(&bundle_path).unwrap();
    for wanted in [
        "## Settings",
        "s3.bucket = \"catalog-test\"    # environment",
        "status:   configured, AWS key test…-key (keyring)",
        "uploaded: 1",
        "ok   delete",
        "## Recent log lines",
        " uploaded ",
    ] {
        assert!(
            bundle.contains(wanted),
            "no `{wanted}` in the bundle:\n{bundle}"
        );
    }
    // The workspace is the run's home, config and data dirs: the secret is in none of them.
    // The control: the same search finds the photo's EXIF marker.
    assert_eq!(
        files_holding(ws.dir.path(), SECRET_KEY),
        Vec::<std::path::PathBuf>::new()
    );
    assert!(
        !files_holding(ws.dir.path(), "Exif").is_empty(),
        "the search finds what is there"
    );

    tokio::task::block_in_place(|| {
        let out = ws
            .uploader_keyless(&server)
            .args(["credentials", "clear"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("AWS keys: removed"), "{}", text(&out));
        let out = ws
            .uploader_keyless(&server)
            .args(["credentials", "show"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    });
}

#[test]
fn secrets_are_never_taken_from_the_command_line_and_bad_input_is_named() {
    let ws = Workspace::new("");
    // No server: nothing here gets as far as one.
    let server_free = || ws.uploader_via(Vec::new());
    let out = server_free()
        .args(["credentials", "set", ACCESS_KEY, SECRET_KEY])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("unexpected argument"), "{}", text(&out));
    for (input, named) in [
        ("", "AWS access key id"),
        ("AKIAONLYTHEID\n", "AWS secret access key"),
        ("AKIA ID\nsecret\n", "access key id"),
        ("AKIAID\n \n", "secret access key"),
    ] {
        let out = with_input(server_free().args(["credentials", "set"]), input);
        assert!(!out.status.success(), "{input:?}: {}", text(&out));
        assert!(text(&out).contains(named), "{input:?}: {}", text(&out));
    }
    let out = server_free()
        .args(["credentials", "clear"])
        .output()
        .unwrap();
    assert!(
        text(&out).contains("AWS keys: the keyring held none"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_backend_token_signs_in_backend_mode() {
    let server = S3Server::start().await;
    let backend = BackendServer::start(&server);
    let ws = Workspace::new("");
    let without_token: Vec<_> = backend
        .env()
        .into_iter()
        .filter(|(k, _)| *k != "CATALOG_UPLOADER_BACKEND_TOKEN")
        .collect();
    tokio::task::block_in_place(|| {
        let out = ws
            .uploader_via(without_token.clone())
            .args(["credentials", "test", "--json"])
            .output()
            .unwrap();
        assert!(text(&out).contains("uploader token set"), "{}", text(&out));

        // In backend mode `credentials set` asks for the token.
        let out = with_input(
            ws.uploader_via(without_token.clone())
                .args(["credentials", "set"]),
            &format!("{}\n", backend.token),
        );
        assert!(out.status.success(), "{}", text(&out));
        let (code, report) = run_json(ws.uploader_via(without_token.clone()).args([
            "credentials",
            "test",
            "--json",
        ]));
        assert_eq!(code, 0, "{report:#}");
        let out = ws
            .uploader_via(without_token)
            .args(["credentials", "clear"])
            .output()
            .unwrap();
        assert!(
            text(&out).contains("the backend token: removed"),
            "{}",
            text(&out)
        );
    });
    assert!(files_holding(ws.dir.path(), &backend.token).is_empty());
}

/// Where a Secret Service answers (a desktop session; here GNOME Keyring on a private D-Bus),
/// keys go there, not to keyutils, and sign from there.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Secret Service on D-Bus: scripts/test.sh runs it under dbus-run-session with gnome-keyring"]
async fn with_a_secret_service_the_keys_are_kept_there() {
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .expect("run under dbus-run-session with gnome-keyring unlocked (scripts/test.sh)");
    let server = S3Server::start().await;
    let ws = Workspace::new("");
    let uploader = || {
        let mut cmd = ws.uploader_keyless(&server);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &bus);
        cmd
    };
    tokio::task::block_in_place(|| {
        let out = with_input(
            uploader().args(["credentials", "set"]),
            &format!("{ACCESS_KEY}\n{SECRET_KEY}\n"),
        );
        assert!(out.status.success(), "{}", text(&out));
        assert!(
            text(&out).contains("stored in the Secret Service"),
            "{}",
            text(&out)
        );
        let out = uploader().args(["credentials", "show"]).output().unwrap();
        assert!(
            text(&out).contains("keyring: the Secret Service\n"),
            "{}",
            text(&out)
        );
        let (code, report) = run_json(uploader().args(["credentials", "test", "--json"]));
        assert_eq!(code, 0, "{report:#}");
        let out = uploader().args(["credentials", "clear"]).output().unwrap();
        assert!(text(&out).contains("AWS keys: removed"), "{}", text(&out));
    });
    assert!(files_holding(ws.dir.path(), SECRET_KEY).is_empty());
}
