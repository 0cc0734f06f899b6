//! `uploader`: Catalog Uploader without a window, for servers, scripts and CI.

mod args;
mod process;
mod progress;
mod report;

use std::process::ExitCode;

use clap::Parser;
use uploader_core::Uploader;
use uploader_core::config::{self, Config};

use args::{Batch, Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let config: Config = config::load(&cli.overrides(), &|k| std::env::var(k).ok())?;
    match cli.command {
        Command::Upload { batch } => {
            let Batch { sku, json, paths } = batch;
            let uploader = Uploader::open(config).await?;
            let jobs = uploader.enqueue(&paths, sku.as_deref())?;
            let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
            let bar = progress::follow(&uploader, &ids, !json);
            uploader.run_pending().await?;
            bar.finish().await;
            let jobs = ids
                .iter()
                .map(|id| uploader.store().job(*id))
                .collect::<Result<Vec<_>, _>>()?;
            let report = report::Report::of(&jobs);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                report.print_human();
            }
            Ok(if report.all_uploaded() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
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
        Command::Status { json } => {
            // Status reads the database only: it works without a bucket or network.
            let data_dir = config
                .data_dir
                .clone()
                .ok_or_else(|| anyhow::anyhow!("no data dir"))?;
            let store = uploader_core::store::Store::open(
                &config::AppDirs::database(&data_dir),
                std::sync::Arc::new(uploader_core::clock::SystemClock),
            )?;
            let report = report::Report::of(&store.jobs()?);
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                report.print_human();
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
