//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use uploader_core::config::{ConfigOverrides, Mode};

/// Put product photos into S3: resized, stripped of private metadata, recorded so nothing is lost.
///
/// Settings come from the config file, then the environment (AWS_S3_BUCKET_NAME, AWS_REGION,
/// AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, CATALOG_UPLOADER_*), then these flags.
/// In backend mode the workstation's token comes from CATALOG_UPLOADER_BACKEND_TOKEN.
#[derive(Debug, Parser)]
#[command(name = "uploader", version)]
pub struct Cli {
    /// Config file [default: the per-OS config dir's catalog-uploader/config.toml]
    #[arg(long, global = true, env = "CATALOG_UPLOADER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the local database and staged files live
    #[arg(long, global = true, env = "CATALOG_UPLOADER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Bucket to upload to
    #[arg(long, global = true)]
    pub bucket: Option<String>,
    /// Region of the bucket
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Custom endpoint for S3-compatible stores, e.g. http://127.0.0.1:8333
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
    /// Key prefix [default: products/]
    #[arg(long, global = true)]
    pub prefix: Option<String>,
    /// Path-style addressing [default: on when --endpoint is set]
    #[arg(long, global = true)]
    pub path_style: Option<bool>,
    /// Who signs uploads: `direct` (this computer's AWS keys), `backend` (the company
    /// backend presigns; set CATALOG_UPLOADER_BACKEND_TOKEN) or `companion` (an
    /// @uppy/companion server presigns) [default: direct]
    #[arg(long, global = true, value_parser = parse_mode)]
    pub mode: Option<Mode>,
    /// The backend's (or Companion's) address, for --mode backend or companion
    #[arg(long, global = true)]
    pub backend_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Resize and upload photos (files or folders). Exits 0 only if every file was uploaded.
    Upload {
        #[command(flatten)]
        batch: Batch,
        #[command(flatten)]
        wait: Wait,
        /// Upload the files byte for byte (any kind of file, folders walked for all files)
        /// to PREFIX/SKU/FILE-NAME, without the image pipeline
        #[arg(long)]
        as_is: bool,
        /// Replace the SKU's photos: once a file is uploaded, its SKU's images from earlier
        /// batches are deleted (through the deletion outbox)
        #[arg(long)]
        replace: bool,
    },
    /// Delete objects: each key goes into the local deletion outbox first, then to S3
    /// (direct mode) or the backend's deletion queue (backend mode). Offline, the deletions
    /// wait and are sent later (`uploader outbox sync`, or the app)
    Delete(DeleteArgs),
    /// Print a temporary link for viewing a private object (a presigned GET)
    Link {
        key: String,
        /// How long the link works, in seconds
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=3600))]
        expires: u64,
    },
    /// The local deletion outbox
    Outbox {
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// Resize photos into the configured variants in a folder, without uploading.
    /// Exits 0 only if every file was processed.
    Process {
        /// Folder for the variants, laid out like the keys: SKU/STEM-VARIANT.jpg
        #[arg(long)]
        out: PathBuf,
        /// Files worked on at once [default: one per core]
        #[arg(long)]
        jobs: Option<usize>,
        #[command(flatten)]
        batch: Batch,
    },
    /// Show the jobs recorded in the local database
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Look at and steer the local queue (it lives in the database, so this works while the
    /// app or another `uploader` is uploading)
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// The workstation's backend token, kept in the OS keyring (Credential Manager, Keychain,
    /// Secret Service); CATALOG_UPLOADER_BACKEND_TOKEN overrides it
    #[command(subcommand)]
    Token(TokenAction),
    /// Setting up buckets and workstations
    #[command(subcommand)]
    Admin(AdminAction),
    /// The effective settings
    #[command(subcommand)]
    Config(ConfigAction),
    /// This workstation's credentials
    #[command(subcommand)]
    Credentials(CredentialsAction),
    /// Write a support bundle: versions, effective settings and their sources, credentials
    /// (masked), queue and outbox counts, the connection test and recent log lines, with every
    /// secret this workstation knows cut out
    Doctor {
        /// Where to write it [default: catalog-uploader-support-<UTC time>.txt here]
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum CredentialsAction {
    /// Store this workstation's secret in the OS keyring: direct mode's AWS access key id and
    /// secret access key, or (backend and companion modes, or --token) the workstation token.
    /// Read from the terminal (the secret unechoed) or, piped, one per line from standard
    /// input; never from the command line, where other users and the shell history see it
    Set {
        /// Store the backend token, whatever the mode
        #[arg(long)]
        token: bool,
    },
    /// Whether credentials are configured, where they come from and which store holds them:
    /// a masked key id, never the secret
    Show,
    /// Remove the stored AWS keys and backend token from the keyring
    Clear,
    /// The connection test: put, read back (HEAD and a presigned GET) and delete a probe
    /// object inside the prefix; a failure is explained in plain words. Exits 0 only if all
    /// steps pass
    Test {
        /// The report as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print each effective setting and where it came from: default, config file, the admin's
    /// policy (and whether it locks it), environment or flag
    Show {
        /// One JSON object per setting: name, value, source
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Print the least-privilege IAM policy (JSON) for the configured bucket and prefix
    /// (--bucket, --prefix) and who it is for (--mode): the workstations' keys in direct mode,
    /// the backend's in backend mode
    IamPolicy {
        /// With SSE-KMS: the key's ARN, which uploads must be able to use
        /// [default: the config's s3.kms_key_id, when it is an ARN]
        #[arg(long)]
        kms_key_arn: Option<String>,
    },
    /// The bucket's own settings against the company's S3 guide
    #[command(subcommand)]
    Bucket(BucketAction),
}

#[derive(Debug, Subcommand)]
pub enum BucketAction {
    /// Audit the configured bucket: Block Public Access, default encryption, versioning, a
    /// lifecycle rule aborting incomplete multipart uploads within 7 days, CORS for --origin,
    /// access logging, no public policy or ACL. Prints pass/fail with the fix; a setting the
    /// server cannot report is "could not be checked", never a pass. Exits 0 only if all pass
    Check {
        /// A browser origin that must be allowed to upload (repeatable); none: CORS not needed
        #[arg(long = "origin", value_name = "URL")]
        origins: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Set the lifecycle rule (abort incomplete multipart uploads under the prefix after 7
    /// days) and, with --origin, CORS, keeping the bucket's other rules. Prints the plan and
    /// changes nothing unless --yes
    Apply {
        #[arg(long = "origin", value_name = "URL")]
        origins: Vec<String>,
        /// Apply the plan
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// List deletions with their state, attempts and last error, oldest first
    List {
        /// Only rows in this state (pending, sending, synced, done, dead)
        #[arg(long)]
        state: Option<String>,
        /// At most this many rows
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Send every due deletion now (exit 1 if the server could not be reached)
    Sync {
        #[arg(long, default_value_t = 60, value_name = "SECONDS")]
        offline_timeout: u64,
        #[arg(long)]
        json: bool,
    },
    /// Give deletions out of attempts (all, or the ids given) a fresh start
    Retry { ids: Vec<String> },
    /// The local backlog and, in backend mode, the backend queue's figures; an alert above
    /// outbox.alert_threshold
    Stats {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Store the token read from standard input (never from the command line, where other
    /// users and the shell history could see it)
    Set,
    /// Remove the stored token
    Clear,
}

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// List jobs with their state, attempts and last error
    List {
        /// Only jobs in this state (queued, processing, staged, uploading, uploaded, failed, cancelled)
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Stop claiming the jobs; work in flight stops at its next step, counting no attempt
    Pause(Which),
    /// Let paused jobs go on
    Resume(Which),
    /// Queue failed jobs again with fresh attempts
    Retry(Which),
    /// End unfinished jobs; their multipart uploads are aborted on the server
    Cancel(Which),
    /// Work through everything left in the queue (after a crash, say), then exit
    Run {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        wait: Wait,
    },
}

/// What `uploader delete` removes, and how it reports.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Object keys, e.g. products/SKU1/front-large.jpg
    pub keys: Vec<String>,
    /// Keys from a file, one per line (`-` for standard input)
    #[arg(long, value_name = "FILE")]
    pub keys_from: Option<PathBuf>,
    /// Remove these uploaded images (job ids): all their variants
    #[arg(long = "job", value_name = "ID")]
    pub jobs: Vec<i64>,
    /// Only record the deletions; send them later
    #[arg(long)]
    pub no_send: bool,
    /// Stop trying to send after the server has been unreachable this many seconds
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub offline_timeout: u64,
    #[arg(long)]
    pub json: bool,
}

/// How long a run waits for an unreachable server.
#[derive(Debug, Args)]
pub struct Wait {
    /// Give up after the server has been unreachable this many seconds; the files stay
    /// queued for `uploader queue run` (exit code 1)
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub offline_timeout: u64,
}

/// The jobs a queue command applies to: job ids, a batch, or all.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Which {
    /// Job ids
    pub jobs: Vec<i64>,
    /// Every job of this batch
    #[arg(long)]
    pub batch: Option<i64>,
    /// Every job
    #[arg(long)]
    pub all: bool,
}

/// The files a command works on, and how it reports.
#[derive(Debug, Args)]
pub struct Batch {
    /// SKU for every file; otherwise read from each file name (naming.sku_pattern)
    #[arg(long)]
    pub sku: Option<String>,
    /// Print a machine-readable report instead of progress and a summary
    #[arg(long)]
    pub json: bool,
    /// Files or folders (folders are walked for images)
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

impl Cli {
    pub fn overrides(&self) -> ConfigOverrides {
        ConfigOverrides {
            config_file: self.config.clone(),
            data_dir: self.data_dir.clone(),
            bucket: self.bucket.clone(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            prefix: self.prefix.clone(),
            path_style: self.path_style,
            mode: self.mode,
            backend_url: self.backend_url.clone(),
        }
    }
}

fn parse_mode(value: &str) -> Result<Mode, String> {
    value
        .parse()
        .map_err(|e: uploader_core::Error| e.to_string())
}
