//! `uploader credentials test` against a real SeaweedFS: it passes and leaves nothing behind,
//! and each induced fault gets the guide's diagnosis.

mod support;

use serde_json::Value;
use support::Workspace;
use uploader_testkit::{PRODUCTS_ONLY_ACCESS_KEY, PRODUCTS_ONLY_SECRET_KEY, S3Server};

/// Runs the test with `env` changed as given; its exit code and JSON report.
fn connection_test(server: &S3Server, changes: &[(&'static str, String)]) -> (i32, Value) {
    let ws = Workspace::new("");
    let out = ws
        .uploader(server)
        .envs(changes.iter().cloned())
        .args(["credentials", "test", "--json"])
        .output()
        .expect("run uploader");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no report ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

fn cause(report: &Value) -> String {
    report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["ok"] == false))
        .map(|s| {
            s["diagnosis"]["cause"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_connection_test_passes_inside_the_prefix_and_leaves_nothing_behind() {
    let server = S3Server::start().await;
    let (code, report) = tokio::task::block_in_place(|| connection_test(&server, &[]));
    assert_eq!(code, 0, "{report:#}");
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["put", "head", "get", "delete"]);
    let key = report["key"].as_str().unwrap();
    assert!(key.starts_with("products/.connection-test/"), "{key}");
    assert!(server.keys().await.is_empty(), "the probe is deleted");

    // The least-privilege identity passes too, inside the prefix its policy allows.
    let restricted = [
        ("AWS_ACCESS_KEY_ID", PRODUCTS_ONLY_ACCESS_KEY.to_string()),
        (
            "AWS_SECRET_ACCESS_KEY",
            PRODUCTS_ONLY_SECRET_KEY.to_string(),
        ),
    ];
    let (code, report) = tokio::task::block_in_place(|| connection_test(&server, &restricted));
    assert_eq!(code, 0, "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_induced_fault_gets_its_diagnosis() {
    let server = S3Server::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    for (changes, wanted) in [
        (
            vec![(
                "AWS_SECRET_ACCESS_KEY",
                "not-the-secret-0000000000".to_string(),
            )],
            "wrong_secret",
        ),
        (
            vec![("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000".to_string())],
            "unknown_key_id",
        ),
        (
            vec![("AWS_S3_BUCKET_NAME", "no-such-bucket-here".to_string())],
            "no_such_bucket",
        ),
        (vec![("AWS_ENDPOINT_URL", closed.clone())], "unreachable"),
        (
            // The guide's least-privilege identity, asked to write outside its prefix.
            vec![
                ("AWS_ACCESS_KEY_ID", PRODUCTS_ONLY_ACCESS_KEY.to_string()),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    PRODUCTS_ONLY_SECRET_KEY.to_string(),
                ),
                ("CATALOG_UPLOADER_KEY_PREFIX", "test/".to_string()),
            ],
            "access_denied",
        ),
    ] {
        let (code, report) = tokio::task::block_in_place(|| connection_test(&server, &changes));
        assert_eq!(code, 1, "{changes:?}: {report:#}");
        assert_eq!(cause(&report), wanted, "{changes:?}: {report:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn in_backend_mode_it_passes_through_the_backend_and_a_revoked_token_is_named() {
    let server = S3Server::start().await;
    let backend = uploader_testkit::BackendServer::start(&server);
    let run = || {
        let ws = Workspace::new("");
        let out = ws
            .uploader_via(backend.env())
            .args(["credentials", "test", "--json"])
            .output()
            .expect("run uploader");
        let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code().unwrap_or(-1), report)
    };
    let (code, report) = tokio::task::block_in_place(run);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["steps"][3]["note"], "queued for the deletion worker",
        "{report:#}"
    );

    let revoked = std::process::Command::new(uploader_testkit::binary(
        "uploader-backend",
        "uploader-backend",
    ))
    .env_clear()
    .arg("--database")
    .arg(backend.database())
    .args(["token", "revoke", "--name", "test-workstation"])
    .status()
    .unwrap();
    assert!(revoked.success());
    let (code, report) = tokio::task::block_in_place(run);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(cause(&report), "token", "{report:#}");
}
