//! `uploader admin bucket check|apply`: the guide's bucket checklist, read and (where safe) set
//! with this workstation's keys (the keyring's, else the AWS chain).

use std::process::ExitCode;

use uploader_core::admin::{BucketAudit, BucketReport, Verdict};
use uploader_core::config::Config;
use uploader_core::transport::S3Direct;

async fn client(config: &Config) -> anyhow::Result<aws_sdk_s3::Client> {
    anyhow::ensure!(
        !config.s3.bucket.is_empty(),
        "s3.bucket is not set: name the bucket in the config file, the admin's policy or \
         AWS_S3_BUCKET_NAME"
    );
    Ok(S3Direct::for_workstation(&config.s3, &config.upload)
        .await
        .sdk_client())
}

fn audit<'a>(config: &'a Config, origins: &'a [String]) -> BucketAudit<'a> {
    BucketAudit {
        bucket: &config.s3.bucket,
        prefix: &config.s3.prefix,
        origins,
    }
}

pub async fn check(config: &Config, origins: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let report = audit(config, origins).run(&client(config).await?).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_report(report: &BucketReport) {
    println!(
        "s3://{} (prefix `{}`) against the S3 guide:",
        report.bucket, report.prefix
    );
    for c in &report.checks {
        let verdict = match c.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Unchecked => "UNCHECKED",
            Verdict::NotNeeded => "NOT NEEDED",
        };
        println!("  {verdict:<10}  {}: {}", c.title, c.detail);
        if let Some(fix) = &c.fix {
            println!("  {:<10}  fix: {fix}", "");
        }
    }
    println!(
        "{} passed, {} failed, {} could not be checked",
        report.count(Verdict::Pass),
        report.count(Verdict::Fail),
        report.count(Verdict::Unchecked)
    );
}

pub async fn apply(config: &Config, origins: &[String], yes: bool) -> anyhow::Result<ExitCode> {
    let client = client(config).await?;
    let audit = audit(config, origins);
    let plan = audit.plan(&client).await.map_err(|e| {
        anyhow::anyhow!("cannot plan the changes to s3://{}: {e}", config.s3.bucket)
    })?;
    for change in &plan.changes {
        println!("{}: {}", change.id, change.detail);
    }
    let needed = plan.changes.iter().filter(|c| c.needed).count();
    if needed == 0 {
        println!("the bucket already has what the app can set");
    } else if yes {
        audit
            .apply(&client, &plan)
            .await
            .map_err(|e| anyhow::anyhow!("cannot change s3://{}: {e}", config.s3.bucket))?;
        println!("applied {needed} change(s); `uploader admin bucket check` shows the result");
    } else {
        println!("dry run: nothing was changed; run again with --yes to apply");
    }
    Ok(ExitCode::SUCCESS)
}
