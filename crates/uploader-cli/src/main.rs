//! `uploader`: Catalog Uploader without a window, for servers, scripts and CI.

mod args;
mod bucket;
mod credentials;
mod outbox;
mod process;
mod progress;
mod report;

use std::process::ExitCode;

use clap::Parser;
use uploader_core::Uploader;
use uploader_core::config::{self, Config};
use uploader_core::store::{Store, Target};

use args::{
    AdminAction, Batch, BucketAction, Cli, Command, ConfigAction, CredentialsAction, QueueAction,
    TokenAction, Wait, Which,
};

fn main() -> ExitCode {
    uploader_core::private::restrict_new_files();
    uploader_core::heap::limit_arenas();
    config::prepare_keyring();
    let cli = Cli::parse();
    // Logs go to the per-OS log folder; without one, the command still runs.
    let _log = uploader_core::diagnostics::log_dir().and_then(|dir| {
        uploader_core::diagnostics::init(&dir, "uploader")
            .map_err(|e| eprintln!("warning: {e}; running without a log file"))
            .ok()
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = cli.overrides();
    // The bundle is wanted most when the settings are wrong: it loads them itself.
    if let Command::Doctor { out } = cli.command {
        return doctor(&overrides, out).await;
    }
    let config: Config = config::load(&overrides, &|k| std::env::var(k).ok())?;
    match cli.command {
        Command::Upload {
            batch,
            wait,
            as_is,
            replace,
        } => {
            let Batch { sku, json, paths } = batch;
            let uploader = Uploader::open(config).await?;
            let options = uploader_core::EnqueueOptions {
                sku: sku.as_deref(),
                as_is,
                replace,
                ..Default::default()
            };
            let done = uploader.enqueue_with(&paths, &options)?;
            // Only the ids are kept while the queue runs: memory stays flat in batch size.
            let ids = done.ids;
            drain(&uploader, &ids, json, wait).await
        }
        Command::Queue {
            action: QueueAction::Run { json, wait },
        } => {
            let uploader = Uploader::open(config).await?;
            let ids = uploader.store().job_ids()?;
            drain(&uploader, &ids, json, wait).await
        }
        Command::Queue { action } => queue(&open_store(&config)?, action),
        Command::Process { out, jobs, batch } => {
            let Batch { sku, json, paths } = batch;
            // Rendering needs variants and naming, not a bucket.
            config.validate_rendering()?;
            let report = process::run(&config, &paths, sku.as_deref(), &out, jobs);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                report.print_human();
            }
            Ok(if report.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Token(action) => token(action),
        Command::Config(ConfigAction::Show { json }) => config_show(&overrides, json),
        Command::Doctor { .. } => unreachable!("handled before the settings are loaded"),
        Command::Credentials(CredentialsAction::Set { token }) => {
            credentials::set(token || config.mode != uploader_core::config::Mode::Direct)
        }
        Command::Credentials(CredentialsAction::Clear) => credentials::clear(),
        Command::Credentials(CredentialsAction::Show) => {
            println!("keyring: {}", config::OsKeyring::describe());
            let uploader = Uploader::open_with(config, uploader_core::Signing::CanWait).await?;
            match uploader.credentials().await {
                uploader_core::transport::CredentialStatus::Configured { detail } => {
                    println!("configured: {detail}");
                    Ok(ExitCode::SUCCESS)
                }
                uploader_core::transport::CredentialStatus::Missing { reason } => {
                    println!("not configured: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Credentials(CredentialsAction::Test { json }) => {
            let uploader = Uploader::open(config).await?;
            let report = uploader.test_connection().await;
            report::connection(&report, json)?;
            Ok(if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Admin(AdminAction::Bucket(BucketAction::Check { origins, json })) => {
            bucket::check(&config, &origins, json).await
        }
        Command::Admin(AdminAction::Bucket(BucketAction::Apply { origins, yes })) => {
            bucket::apply(&config, &origins, yes).await
        }
        Command::Admin(AdminAction::IamPolicy { kms_key_arn }) => {
            let kms_key_arn = kms_key_arn.or_else(|| {
                config
                    .s3
                    .kms_key_id
                    .clone()
                    .filter(|k| k.starts_with("arn:"))
            });
            let policy = uploader_core::admin::iam_policy(&uploader_core::admin::PolicyRequest {
                bucket: &config.s3.bucket,
                prefix: &config.s3.prefix,
                kms_key_arn: kms_key_arn.as_deref(),
            })?;
            println!("{}", serde_json::to_string_pretty(&policy)?);
            eprintln!(
                "Attach this to {}.",
                uploader_core::admin::attached_to(config.mode)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Delete(request) => outbox::delete(config, request).await,
        Command::Link { key, expires } => {
            let uploader = Uploader::open(config).await?;
            let link = uploader
                .view_link(&key, std::time::Duration::from_secs(expires))
                .await?;
            println!("{}", link.url);
            Ok(ExitCode::SUCCESS)
        }
        Command::Outbox { action } => {
            let store = open_store(&config)?;
            outbox::outbox(config, &store, action).await
        }
        Command::Status { json } => {
            // Status reads the database only: it works without a bucket or network.
            let store = open_store(&config)?;
            report::stream(&store, &store.job_ids()?, json)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Writes the support bundle, with as much as can be known when the settings or the database
/// cannot be opened.
async fn doctor(
    overrides: &config::ConfigOverrides,
    out: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    let program = format!("uploader {}", env!("CARGO_PKG_VERSION"));
    let opened = match config::load(overrides, &|k| std::env::var(k).ok()) {
        Ok(config) => Uploader::open_with(config, uploader_core::Signing::CanWait).await,
        Err(e) => Err(e),
    };
    let text = match opened {
        Ok(uploader) => uploader.support_bundle(&program, overrides).await,
        Err(e) => {
            eprintln!("warning: {e}; the bundle says what is known without it");
            uploader_core::diagnostics::support_bundle_unopened(&program, overrides, &e.to_string())
        }
    };
    let path = out.unwrap_or_else(|| {
        let stamp = uploader_core::diagnostics::utc_stamp(std::time::SystemTime::now());
        std::path::PathBuf::from(format!("catalog-uploader-support-{stamp}.txt"))
    });
    uploader_core::private::write(&path, text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    println!("{}", path.display());
    eprintln!("the support bundle is written; it holds no secret, but read it before sending it");
    Ok(ExitCode::SUCCESS)
}

/// Each effective setting, its value and where it came from. Settings hold no secrets.
fn config_show(overrides: &config::ConfigOverrides, json: bool) -> anyhow::Result<ExitCode> {
    let shown = config::explain(overrides, &|k| std::env::var(k).ok())?;
    if json {
        let rows: Vec<serde_json::Value> = shown
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.name,
                    "value": s.value,
                    "source": s.source.to_string(),
                    "locked": matches!(s.source, config::Source::Policy { locked: true, .. }),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        let width = shown.iter().map(|s| s.name.len()).max().unwrap_or(0);
        for s in &shown {
            println!("{:width$} = {}    # {}", s.name, s.value, s.source);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Stores or removes the backend token in the OS keyring.
fn token(action: TokenAction) -> anyhow::Result<ExitCode> {
    match action {
        TokenAction::Set => credentials::set(true),
        TokenAction::Clear => {
            credentials::clear_one(config::BACKEND_TOKEN_ENTRY, "the backend token")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs the queue until nothing is left, then reports on `ids`.
async fn drain(
    uploader: &std::sync::Arc<Uploader>,
    ids: &[i64],
    json: bool,
    wait: Wait,
) -> anyhow::Result<ExitCode> {
    let finished = ids
        .iter()
        .filter(|id| {
            uploader
                .store()
                .job(**id)
                .is_ok_and(|j| j.state.is_terminal())
        })
        .count();
    let bar = progress::follow(uploader, ids, finished as u64, !json);
    let limit = std::time::Duration::from_secs(wait.offline_timeout);
    let drained = uploader.run_until(Some(limit)).await?;
    bar.finish().await;
    if drained == uploader_core::queue::Drained::Offline {
        eprintln!(
            "{} could not be reached for {} s; the files stay queued: `uploader queue run` continues",
            uploader.destination(),
            wait.offline_timeout
        );
    }
    // Photos replaced by this run left deletions in the outbox: send them now too.
    if uploader.outbox_counts()?.backlog() > 0 {
        let limit = std::time::Duration::from_secs(wait.offline_timeout.min(10));
        let flushed = uploader.outbox_flush(limit).await?;
        if let Some(why) = &flushed.unsupported {
            eprintln!("deletions wait in the outbox: {why}");
        } else if flushed.sent > 0 || flushed.offline {
            eprintln!(
                "{} replaced photo(s) deleted or handed over{}",
                flushed.sent,
                if flushed.offline {
                    "; the rest wait in the outbox (`uploader outbox sync`)"
                } else {
                    ""
                }
            );
        }
    }
    if let Some(warning) = uploader.clock_warning() {
        eprintln!("warning: {warning}");
    }
    let counts = report::stream(uploader.store(), ids, json)?;
    Ok(if counts.all_uploaded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The local database alone: queue commands work without a bucket or network.
fn open_store(config: &Config) -> anyhow::Result<Store> {
    let data_dir = config
        .data_dir
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no data dir"))?;
    Ok(Store::open(
        &config::AppDirs::database(&data_dir),
        std::sync::Arc::new(uploader_core::clock::SystemClock),
    )?)
}

fn queue(store: &Store, action: QueueAction) -> anyhow::Result<ExitCode> {
    let target = |which: Which| match which {
        Which { all: true, .. } => vec![Target::All],
        Which {
            batch: Some(batch), ..
        } => vec![Target::Batch(batch)],
        Which { jobs, .. } => jobs.into_iter().map(Target::Job).collect(),
    };
    let (verb, which, apply): (&str, Which, fn(&Store, Target) -> uploader_core::Result<_>) =
        match action {
            QueueAction::List { state, json } => return list(store, state.as_deref(), json),
            QueueAction::Run { .. } => unreachable!("handled with an uploader"),
            QueueAction::Pause(w) => ("paused", w, Store::pause),
            QueueAction::Resume(w) => ("resumed", w, Store::resume),
            QueueAction::Retry(w) => ("queued again", w, Store::retry),
            QueueAction::Cancel(w) => ("cancelled", w, Store::cancel),
        };
    let mut count = 0;
    for t in target(which) {
        count += apply(store, t)?.len();
    }
    println!("{count} job(s) {verb}");
    Ok(ExitCode::SUCCESS)
}

fn list(store: &Store, state: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let state = state
        .map(|s| s.parse::<uploader_core::queue::JobState>())
        .transpose()
        .map_err(|e| anyhow::anyhow!("--state: {e}"))?;
    let jobs: Vec<_> = store
        .jobs()?
        .into_iter()
        .filter(|j| state.is_none_or(|s| j.state == s))
        .collect();
    if json {
        let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
        report::stream(store, &ids, true)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>6} {:>5} {:<10} {:>8} {:>11}  source",
        "job", "batch", "state", "attempts", "bytes"
    );
    for j in &jobs {
        let state = if j.paused && !j.state.is_terminal() {
            format!("{} (paused)", j.state)
        } else {
            j.state.to_string()
        };
        println!(
            "{:>6} {:>5} {:<10} {:>8} {:>11}  {}",
            j.id,
            j.batch_id,
            state,
            format!("{}/{}", j.attempts, j.max_attempts),
            format!("{}/{}", j.bytes_done, j.bytes_total),
            j.source_path.display()
        );
        if let Some(error) = &j.last_error {
            println!("{:>6} last error: {error}", "");
        }
    }
    Ok(ExitCode::SUCCESS)
}
