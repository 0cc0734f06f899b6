//! `uploader delete` and `uploader outbox …`: the deletion outbox from the command line.

use std::io::BufRead;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use uploader_core::Uploader;
use uploader_core::config::Config;
use uploader_core::deletion::{Backlog, Flushed};
use uploader_core::store::{OutboxCounts, OutboxState, Store};

use crate::args::{DeleteArgs, OutboxAction};

#[derive(Serialize)]
struct DeleteReport {
    queued: usize,
    ids: Vec<String>,
    sent: Option<SendReport>,
    outbox: OutboxCounts,
}

#[derive(Serialize)]
struct SendReport {
    sent: usize,
    retried: usize,
    dead: usize,
    superseded: usize,
    offline: bool,
    error: Option<String>,
    unsupported: Option<String>,
}

impl From<&Flushed> for SendReport {
    fn from(f: &Flushed) -> Self {
        SendReport {
            sent: f.sent,
            retried: f.retried,
            dead: f.dead,
            superseded: f.superseded,
            offline: f.offline,
            error: f.error.clone(),
            unsupported: f.unsupported.clone(),
        }
    }
}

fn read_keys(path: &Path) -> anyhow::Result<Vec<String>> {
    let lines: Vec<String> = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .lines()
            .collect::<std::io::Result<_>>()?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("--keys-from {}: {e}", path.display()))?
            .lines()
            .map(str::to_string)
            .collect()
    };
    Ok(lines
        .into_iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

pub async fn delete(config: Config, request: DeleteArgs) -> anyhow::Result<ExitCode> {
    let mut keys = request.keys;
    if let Some(path) = &request.keys_from {
        keys.extend(read_keys(path)?);
    }
    anyhow::ensure!(
        !keys.is_empty() || !request.jobs.is_empty(),
        "nothing to delete: give keys, --keys-from FILE or --job ID"
    );
    let uploader = Uploader::open(config).await?;
    let mut ids = if keys.is_empty() {
        Vec::new()
    } else {
        uploader.delete_keys(&keys, "deleted with `uploader delete`")?
    };
    for job in &request.jobs {
        ids.extend(uploader.remove_image(*job)?);
    }
    let sent = if request.no_send {
        None
    } else {
        Some(
            uploader
                .outbox_flush(Duration::from_secs(request.offline_timeout))
                .await?,
        )
    };
    let report = DeleteReport {
        queued: ids.len(),
        ids,
        sent: sent.as_ref().map(SendReport::from),
        outbox: uploader.outbox_counts()?,
    };
    if request.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{} deletion(s) recorded in the outbox", report.queued);
        if let Some(sent) = &sent {
            print_flushed(&uploader, sent);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_flushed(uploader: &Uploader, sent: &Flushed) {
    if let Some(why) = &sent.unsupported {
        println!("nothing sent: {why}");
        return;
    }
    println!("{} sent to {}", sent.sent, uploader.destination());
    if sent.retried > 0 {
        println!("{} failed and will be tried again", sent.retried);
    }
    if sent.dead > 0 {
        println!(
            "{} out of attempts: see `uploader outbox list --state dead`",
            sent.dead
        );
    }
    if sent.superseded > 0 {
        println!(
            "{} not deleted: their keys were uploaded again after the deletion was asked for \
             (see `uploader outbox list --state superseded`)",
            sent.superseded
        );
    }
    if sent.offline {
        println!(
            "{} could not be reached; the rest wait in the outbox and are sent later (`uploader outbox sync`, or the app)",
            uploader.destination()
        );
    }
}

pub async fn outbox(
    config: Config,
    store: &Store,
    action: OutboxAction,
) -> anyhow::Result<ExitCode> {
    match action {
        OutboxAction::List { state, limit, json } => {
            let state = state
                .map(|s| s.parse::<OutboxState>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--state: {e}"))?;
            let rows = store.outbox(state, None, limit)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("{:<36} {:<10} {:>8}  key", "id", "state", "attempts");
            for r in &rows {
                println!(
                    "{:<36} {:<10} {:>8}  {}",
                    r.id,
                    r.state,
                    format!("{}/{}", r.attempts, r.max_attempts),
                    r.key
                );
                let label = match r.state {
                    OutboxState::Superseded => "why",
                    _ => "last error",
                };
                if let Some(error) = &r.last_error {
                    println!("{:<36} {label}: {error}", "");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        OutboxAction::Retry { ids } => {
            let n = store.outbox_retry(&ids)?;
            println!("{n} deletion(s) will be tried again");
            Ok(ExitCode::SUCCESS)
        }
        OutboxAction::Sync {
            offline_timeout,
            json,
        } => {
            let uploader = Uploader::open(config).await?;
            let flushed = uploader
                .outbox_flush(Duration::from_secs(offline_timeout))
                .await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&SendReport::from(&flushed))?
                );
            } else {
                print_flushed(&uploader, &flushed);
            }
            Ok(if flushed.offline {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        OutboxAction::Stats { json } => stats(config, store, json).await,
    }
}

async fn stats(config: Config, store: &Store, json: bool) -> anyhow::Result<ExitCode> {
    let threshold = config.outbox.alert_threshold;
    let local = store.outbox_counts()?;
    let upstream = match config.mode {
        uploader_core::config::Mode::Backend => match Uploader::open(config).await {
            Ok(uploader) => upstream(&uploader).await,
            Err(e) => Err(e.to_string()),
        },
        _ => Ok(None),
    };
    let stats = Backlog::new(local, upstream, threshold);
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(ExitCode::SUCCESS);
    }
    let l = &stats.local;
    println!(
        "this workstation: {} waiting to be sent ({} pending, {} sending), {} handed to the backend, {} done, {} superseded by a later upload, {} out of attempts",
        l.backlog(),
        l.pending,
        l.sending,
        l.synced,
        l.done,
        l.superseded,
        l.dead
    );
    if let Some(u) = &stats.upstream {
        println!(
            "backend queue: backlog {}, average attempts {}, {} out of attempts, {} processed",
            u.backlog,
            u.avg_attempts
                .map_or("-".to_string(), |a| format!("{a:.2}")),
            u.dead,
            u.processed
        );
    }
    if let Some(e) = &stats.upstream_error {
        println!("backend queue: unavailable: {e}");
    }
    if stats.alert {
        println!("ALERT: more than {threshold} deletions are waiting");
    }
    Ok(ExitCode::SUCCESS)
}

async fn upstream(
    uploader: &Arc<Uploader>,
) -> Result<Option<uploader_core::deletion::DeletionStats>, String> {
    uploader
        .upstream_deletion_stats()
        .await
        .map_err(|e| e.to_string())
}
