//! `uploader admin bucket check|apply` against a real SeaweedFS: each check reports what the
//! bucket holds, a call the server lacks is "could not be checked" (never a pass), and apply
//! sets the lifecycle rule and CORS only with --yes, keeping the rules already there.

mod support;

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use serde_json::Value;
use support::{Workspace, run_json};
use uploader_testkit::S3Server;

const ORIGIN: &str = "https://catalog.example.com";

fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_string(),
                c["verdict"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn verdict(report: &Value, id: &str) -> String {
    verdicts(report)
        .into_iter()
        .find(|(i, _)| i == id)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no check `{id}`: {report:#}"))
}

fn lifecycle_rule(id: &str, days: Option<i32>, expire: Option<i32>) -> LifecycleRule {
    let mut rule = LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("products/").build());
    if let Some(days) = days {
        rule = rule.abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(days)
                .build(),
        );
    }
    if let Some(days) = expire {
        rule = rule.expiration(LifecycleExpiration::builder().days(days).build());
    }
    rule.build().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_without_a_lifecycle_rule_fails_until_apply_sets_one() {
    let server = S3Server::start().await;
    let ws = Workspace::new("");
    let check = |origins: &[&str]| {
        let mut cmd = ws.uploader(&server);
        cmd.args(["admin", "bucket", "check", "--json"]);
        for o in origins {
            cmd.args(["--origin", o]);
        }
        tokio::task::block_in_place(|| run_json(&mut cmd))
    };
    let apply = |args: &[&str]| {
        tokio::task::block_in_place(|| {
            let out = ws
                .uploader(&server)
                .args(["admin", "bucket", "apply"])
                .args(args)
                .output()
                .expect("run uploader");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
    };

    let (code, report) = check(&[ORIGIN]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdict(&report, "lifecycle"), "fail", "{report:#}");
    assert_eq!(verdict(&report, "cors"), "fail", "{report:#}");
    assert_eq!(verdict(&report, "encryption"), "fail", "{report:#}");
    assert_eq!(verdict(&report, "versioning"), "fail", "{report:#}");
    assert_eq!(verdict(&report, "public_policy"), "pass", "{report:#}");
    // SeaweedFS answers NotImplemented, and its access logging is a stub that is never on.
    assert_eq!(
        verdict(&report, "block_public_access"),
        "unchecked",
        "{report:#}"
    );
    assert_eq!(verdict(&report, "logging"), "fail", "{report:#}");
    let (_, report) = check(&[]);
    assert_eq!(verdict(&report, "cors"), "not_needed", "{report:#}");

    // Someone's own rules: one expiring old files, one aborting uploads far too late.
    let client = server.client();
    client
        .put_bucket_lifecycle_configuration()
        .bucket(uploader_testkit::BUCKET)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(lifecycle_rule("expire-old", None, Some(365)))
                .rules(lifecycle_rule("slow-abort", Some(30), None))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let (_, report) = check(&[]);
    assert_eq!(
        verdict(&report, "lifecycle"),
        "fail",
        "30 days is too long: {report:#}"
    );

    let plan = apply(&["--origin", ORIGIN]);
    assert!(plan.contains("dry run"), "{plan}");
    let (_, report) = check(&[ORIGIN]);
    assert_eq!(
        verdict(&report, "lifecycle"),
        "fail",
        "a dry run changes nothing"
    );

    let applied = apply(&["--origin", ORIGIN, "--yes"]);
    assert!(applied.contains("applied 2 change(s)"), "{applied}");
    let (_, report) = check(&[ORIGIN]);
    assert_eq!(verdict(&report, "lifecycle"), "pass", "{report:#}");
    assert_eq!(verdict(&report, "cors"), "pass", "{report:#}");
    let ids: Vec<String> = client
        .get_bucket_lifecycle_configuration()
        .bucket(uploader_testkit::BUCKET)
        .send()
        .await
        .unwrap()
        .rules()
        .iter()
        .filter_map(|r| r.id().map(str::to_string))
        .collect();
    assert_eq!(
        ids,
        [
            "expire-old",
            "slow-abort",
            uploader_core::admin::LIFECYCLE_RULE_ID
        ],
        "the bucket's own rules are kept"
    );
    let again = apply(&["--origin", ORIGIN, "--yes"]);
    assert!(
        again.contains("already has"),
        "a second apply changes nothing: {again}"
    );

    // The other checks follow the bucket too: encryption set, then a public policy.
    client
        .put_bucket_encryption()
        .bucket(uploader_testkit::BUCKET)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::Aes256)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client
        .put_bucket_policy()
        .bucket(uploader_testkit::BUCKET)
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}/*"}}]}}"#,
            uploader_testkit::BUCKET
        ))
        .send()
        .await
        .unwrap();
    let (code, report) = check(&[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(verdict(&report, "encryption"), "pass", "{report:#}");
    assert_eq!(verdict(&report, "public_policy"), "fail", "{report:#}");
}
