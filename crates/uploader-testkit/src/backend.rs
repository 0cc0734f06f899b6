//! The reference backend (`uploader-backend`) as a real process in front of a test S3
//! server, with its own database and one workstation token. Dropping it stops the process.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{S3Server, bins, free_ports, http_answers};

pub struct BackendServer {
    child: Child,
    dir: tempfile::TempDir,
    /// The S3 server's settings, for workers started later.
    s3_env: Vec<(&'static str, String)>,
    pub url: String,
    /// A live workstation token.
    pub token: String,
}

/// One object the backend has registered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Registered {
    pub key: String,
    pub sha256: String,
    pub size: u64,
    pub variant: Option<String>,
}

impl BackendServer {
    /// A new token for workstation `name` (`extra`: more arguments of `token create`, such
    /// as `--scope any`), as `uploader`'s environment for this backend.
    pub fn workstation(&self, name: &str, extra: &[&str]) -> Vec<(&'static str, String)> {
        vec![
            ("CATALOG_UPLOADER_MODE", "backend".to_string()),
            ("CATALOG_UPLOADER_BACKEND_URL", self.url.clone()),
            (
                "CATALOG_UPLOADER_BACKEND_TOKEN",
                create_token(&self.database(), name, extra),
            ),
        ]
    }

    /// Signs for `s3` with its keys, under `products/`, URLs valid 15 minutes.
    pub fn start(s3: &S3Server) -> BackendServer {
        Self::start_with(s3, &s3.endpoint, &[])
    }

    /// Signs for `s3`'s bucket as reached at `endpoint` (a proxy in front of it, say), with
    /// extra settings such as `("UPLOADER_PRESIGN_EXPIRY_SECS", "2")`.
    pub fn start_with(s3: &S3Server, endpoint: &str, settings: &[(&str, &str)]) -> BackendServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let database = dir.path().join("backend.sqlite3");
        let bin = bins::binary("uploader-backend", "uploader-backend");
        let token = create_token(&database, "test-workstation", &[]);

        let port = free_ports(1).expect("a free port")[0];
        let log = std::fs::File::create(dir.path().join("backend.log")).expect("log file");
        let child = Command::new(&bin)
            .env_clear()
            .envs(s3.env())
            .env("AWS_ENDPOINT_URL", endpoint)
            .envs(settings.iter().copied())
            .arg("--database")
            .arg(&database)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("run uploader-backend serve");
        let mut server = BackendServer {
            child,
            dir,
            s3_env: s3.env(),
            url: format!("http://127.0.0.1:{port}"),
            token,
        };
        server.wait_ready(port);
        server
    }

    fn wait_ready(&mut self, port: u16) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("uploader-backend exited ({status}):\n{}", self.log());
            }
            if http_answers(port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("uploader-backend did not answer in 20 s:\n{}", self.log());
    }

    /// What the backend printed.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("backend.log")).unwrap_or_default()
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("backend.sqlite3")
    }

    /// Every registered object, sorted by key.
    pub fn registered(&self) -> Vec<Registered> {
        let conn = rusqlite::Connection::open(self.database()).expect("open backend database");
        let mut rows: Vec<Registered> = conn
            .prepare("SELECT key, sha256, size, variant FROM uploads ORDER BY key")
            .expect("query uploads")
            .query_map([], |r| {
                Ok(Registered {
                    key: r.get(0)?,
                    sha256: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    variant: r.get(3)?,
                })
            })
            .expect("query uploads")
            .collect::<Result<_, _>>()
            .expect("read uploads");
        rows.sort();
        rows
    }

    /// Environment for `uploader` to upload through this backend.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CATALOG_UPLOADER_MODE", "backend".to_string()),
            ("CATALOG_UPLOADER_BACKEND_URL", self.url.clone()),
            ("CATALOG_UPLOADER_BACKEND_TOKEN", self.token.clone()),
        ]
    }
}

/// `uploader-backend token create --name NAME EXTRA…` on `database`: the token it prints.
fn create_token(database: &std::path::Path, name: &str, extra: &[&str]) -> String {
    let out = Command::new(bins::binary("uploader-backend", "uploader-backend"))
        .env_clear()
        .arg("--database")
        .arg(database)
        .args(["token", "create", "--name", name])
        .args(extra)
        .output()
        .expect("run uploader-backend token create");
    assert!(
        out.status.success(),
        "token create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A deletion worker (`uploader-backend worker`) on the backend's database. Dropping it
/// kills the process.
pub struct WorkerProcess {
    child: Child,
    log: PathBuf,
}

impl BackendServer {
    /// Starts a deletion worker on this backend's database that deletes through `endpoint`,
    /// with extra settings such as `("UPLOADER_DELETION_LEASE_SECS", "1")`. Its output goes
    /// to `worker-N.log` in the backend's dir.
    pub fn start_worker(&self, endpoint: &str, settings: &[(&str, &str)]) -> WorkerProcess {
        let bin = bins::binary("uploader-backend", "uploader-backend");
        let n = std::fs::read_dir(self.dir.path())
            .map(|d| d.count())
            .unwrap_or(0);
        let log = self.dir.path().join(format!("worker-{n}.log"));
        let file = std::fs::File::create(&log).expect("worker log");
        let child = Command::new(&bin)
            .env_clear()
            .envs(self.s3_env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("AWS_ENDPOINT_URL", endpoint)
            .envs(settings.iter().copied())
            .arg("--database")
            .arg(self.database())
            .arg("worker")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("worker log"))
            .stderr(file)
            .spawn()
            .expect("run uploader-backend worker");
        WorkerProcess { child, log }
    }
}

impl WorkerProcess {
    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM (what systemd sends), then waits for the process to exit; its exit status.
    #[cfg(unix)]
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Drop for BackendServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
