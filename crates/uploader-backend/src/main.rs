//! `uploader-backend`: serve the API, manage workstation tokens, print the OpenAPI file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use uploader_backend::deletions::{self, WorkerSettings};
use uploader_backend::{ServeSettings, Settings, db, openapi, settings, tokens};

#[derive(Parser)]
#[command(
    name = "uploader-backend",
    version,
    about = "Catalog Uploader's reference backend"
)]
struct Cli {
    /// The SQLite database of tokens and registered uploads.
    #[arg(long, global = true, env = "UPLOADER_BACKEND_DB")]
    database: Option<PathBuf>,
    /// A `.env` file to read settings from; `./.env` is read when it exists.
    #[arg(long, global = true)]
    env_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Run the deletion worker in this process too.
        #[arg(long, env = "UPLOADER_WORKER")]
        worker: bool,
        #[command(flatten)]
        settings: Box<Settings>,
        #[command(flatten)]
        serve_settings: ServeSettings,
        #[command(flatten)]
        worker_settings: WorkerSettings,
    },
    /// Drain the deletion queue against S3 until stopped (SIGTERM, Ctrl-C): the deletion
    /// worker service. The batch in flight is finished first.
    Worker {
        #[command(flatten)]
        settings: Box<Settings>,
        #[command(flatten)]
        worker_settings: WorkerSettings,
    },
    /// The deletion queue.
    #[command(subcommand)]
    Deletions(DeletionsCommand),
    /// Workstation tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print the API's OpenAPI description.
    Openapi,
}

#[derive(Subcommand)]
enum DeletionsCommand {
    /// Backlog and average attempts (the monitoring query), rows out of attempts, rows
    /// processed, as JSON.
    Stats,
    /// Rows out of attempts, with their last error: id, key, attempts, error.
    Dead,
    /// Give rows out of attempts (all, or those named) a fresh start.
    Retry { ids: Vec<String> },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for a workstation; it is printed once and stored only as a hash.
    Create {
        #[arg(long)]
        name: String,
        /// What the token may act on: `own` (only objects this workstation created) or `any`
        /// (every object under the prefix: an admin, studios re-shooting the same SKUs).
        #[arg(long, value_enum, default_value = "own")]
        scope: tokens::Scope,
    },
    /// List tokens (never their values).
    List,
    /// Revoke a workstation's token; it stops working at once.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

fn main() -> ExitCode {
    // Settings may come from a .env file: read it before clap reads the environment.
    let env_file = env_file_arg(std::env::args());
    let loaded = match &env_file {
        Some(path) => dotenvy::from_path(path).map_err(|e| format!("{}: {e}", path.display())),
        None => match dotenvy::dotenv() {
            Err(e) if !e.not_found() => Err(format!(".env: {e}")),
            _ => Ok(()),
        },
    };
    if let Err(e) = loaded {
        eprintln!("uploader-backend: cannot read {e}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    // Errors' details, with their request ids, go to stderr beside the request lines.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("UPLOADER_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("uploader_backend=info")),
        )
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("uploader-backend: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let database = cli.database.unwrap_or_else(settings::default_database);
    match cli.command {
        Command::Openapi => {
            print!("{}", openapi::json());
            Ok(())
        }
        Command::Token(command) => {
            let conn = db::open(&database)?;
            match command {
                TokenCommand::Create { name, scope } => {
                    let token = tokens::create(&conn, &name, scope)?;
                    eprintln!(
                        "token for `{name}`, scope {} (shown once; store it in the \
                         workstation's keyring):",
                        scope.as_str()
                    );
                    println!("{token}");
                }
                TokenCommand::List => {
                    for t in tokens::list(&conn)? {
                        let state = if t.revoked_at_ms.is_some() {
                            "revoked"
                        } else {
                            "active"
                        };
                        println!("{}\t{state}\tscope {}", t.name, t.scope.as_str());
                    }
                }
                TokenCommand::Revoke { name } => {
                    tokens::revoke(&conn, &name)?;
                    eprintln!("revoked the token of `{name}`");
                }
            }
            Ok(())
        }
        Command::Deletions(command) => {
            let mut conn = db::open(&database)?;
            match command {
                DeletionsCommand::Stats => {
                    let stats = deletions::stats(&conn)?;
                    println!("{}", serde_json::to_string_pretty(&stats)?);
                }
                DeletionsCommand::Dead => {
                    let mut stmt = conn.prepare(
                        "SELECT id, s3_key, attempts, COALESCE(last_error, '') FROM s3_deletion_queue
                         WHERE attempts >= max_attempts ORDER BY created_at",
                    )?;
                    let rows = stmt.query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, String>(3)?,
                        ))
                    })?;
                    for row in rows {
                        let (id, key, attempts, error) = row?;
                        println!("{id}\t{key}\t{attempts}\t{error}");
                    }
                }
                DeletionsCommand::Retry { ids } => {
                    let n = deletions::retry_dead(&mut conn, &ids, db::now_ms())?;
                    eprintln!("{n} deletions will be tried again");
                }
            }
            Ok(())
        }
        Command::Worker {
            settings,
            worker_settings,
        } => {
            let runtime = runtime()?;
            runtime.block_on(async move {
                let (stop, stopped) = tokio::sync::watch::channel(false);
                tokio::spawn(async move {
                    shutdown_signal().await;
                    eprintln!("stopping after the batch in flight");
                    let _ = stop.send(true);
                });
                deletions::run_worker(&settings, &worker_settings, &database, stopped).await
            })
        }
        Command::Serve {
            listen,
            worker,
            settings,
            serve_settings,
            worker_settings,
        } => {
            let limits = serve_settings.limits()?;
            let runtime = runtime()?;
            runtime.block_on(async move {
                let backend = uploader_backend::backend(&settings, &database).await?;
                let (stop, stopped) = tokio::sync::watch::channel(false);
                let drain = if worker {
                    worker_settings.check()?;
                    let (settings, database) = (settings.clone(), database.clone());
                    Some(tokio::spawn(async move {
                        deletions::run_worker(&settings, &worker_settings, &database, stopped).await
                    }))
                } else {
                    None
                };
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
                eprintln!(
                    "uploader-backend listening on http://{} (bucket {}, prefix {}, at most {} \
                     connections)",
                    listener.local_addr()?,
                    settings.bucket,
                    settings.prefix,
                    limits.max_connections
                );
                uploader_backend::serve(listener, backend, limits, async move {
                    shutdown_signal().await;
                    let _ = stop.send(true);
                })
                .await?;
                if let Some(drain) = drain {
                    drain.await??;
                }
                Ok(())
            })
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// `--env-file PATH` or `--env-file=PATH`, looked for before clap parses anything.
fn env_file_arg(args: impl Iterator<Item = String>) -> Option<PathBuf> {
    let mut args = args.skip(1);
    while let Some(arg) = args.next() {
        if arg == "--env-file" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--env-file=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

/// Ctrl-C, or SIGTERM from systemd.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_env_file_is_found_in_either_spelling() {
        let args = |a: &[&str]| {
            a.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .into_iter()
        };
        let cases: [(&[&str], Option<&str>); 4] = [
            (&["b", "--env-file", "x.env", "serve"], Some("x.env")),
            (&["b", "--env-file=y.env", "serve"], Some("y.env")),
            (&["b", "serve"], None),
            (&["b", "serve", "--env-file"], None),
        ];
        for (given, want) in cases {
            assert_eq!(
                env_file_arg(args(given)),
                want.map(PathBuf::from),
                "{given:?}"
            );
        }
    }
}
