//! The real `@uppy/companion` (npm, installed by scripts/setup.sh into `companion/`) in front
//! of a test S3 server. Dropping it stops the process.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{ACCESS_KEY, S3Server, SECRET_KEY, free_ports, http_answers};

pub struct CompanionServer {
    child: Child,
    dir: tempfile::TempDir,
    pub url: String,
}

impl CompanionServer {
    /// Companion signing for `s3`'s bucket, keys under `products/`.
    pub fn start(s3: &S3Server) -> CompanionServer {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("companion");
        assert!(
            root.join("node_modules/@uppy/companion").is_dir(),
            "@uppy/companion is not installed in {}: run scripts/setup.sh",
            root.display()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_ports(1).expect("a free port")[0];
        let log = std::fs::File::create(dir.path().join("companion.log")).expect("log file");
        let child = Command::new("node")
            .arg(root.join("server.mjs"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("TMPDIR", dir.path())
            .env("COMPANION_PORT", port.to_string())
            .env("COMPANION_AWS_KEY", ACCESS_KEY)
            .env("COMPANION_AWS_SECRET", SECRET_KEY)
            .env("COMPANION_AWS_BUCKET", &s3.bucket)
            .env("COMPANION_AWS_ENDPOINT", &s3.endpoint)
            .env("COMPANION_AWS_REGION", "us-east-1")
            .env("COMPANION_AWS_PREFIX", "products/")
            // Without it the AWS SDK signs an empty body's CRC32 into every part URL.
            .env("AWS_REQUEST_CHECKSUM_CALCULATION", "WHEN_REQUIRED")
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("run node (is Node.js installed?)");
        let mut server = CompanionServer {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while !http_answers(port) {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("companion exited ({status}):\n{}", server.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "companion did not answer in 30 s:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("companion.log")).unwrap_or_default()
    }

    /// Environment for `uploader` to upload through this Companion.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CATALOG_UPLOADER_MODE", "companion".to_string()),
            ("CATALOG_UPLOADER_BACKEND_URL", self.url.clone()),
        ]
    }
}

impl Drop for CompanionServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
