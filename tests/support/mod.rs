//! Helpers shared by the integration tests in `tests/`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `uploader` binary, built if it is not there yet.
pub fn uploader_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| uploader_testkit::binary("uploader", "uploader-cli"))
}

/// Runs `uploader … --json`; its exit code and report.
pub fn run_json(cmd: &mut std::process::Command) -> (i32, serde_json::Value) {
    let out = cmd.output().expect("run uploader");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "--json printed no report ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), report)
}

/// A config file and data dir that belong to one test only.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new(config_toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("config.toml"), config_toml).expect("write config");
        std::fs::create_dir_all(dir.path().join("photos")).expect("photos dir");
        Self { dir }
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn photos(&self) -> PathBuf {
        self.dir.path().join("photos")
    }

    /// `uploader` with this workspace's config and data dir, isolated from the developer's
    /// own config, home and environment.
    fn isolated(&self) -> Command {
        let mut cmd = Command::new(uploader_bin());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            // Secrets go to this workspace's own keyring entries, never the developer's.
            .env("CATALOG_UPLOADER_KEYRING_SERVICE", self.keyring_service())
            .arg("--config")
            .arg(self.config())
            .arg("--data-dir")
            .arg(self.data_dir());
        cmd
    }

    /// The keyring service this workspace's secrets are filed under.
    pub fn keyring_service(&self) -> String {
        let name = self.dir.path().file_name().unwrap_or_default();
        format!("catalog-uploader-test-{}", name.to_string_lossy())
    }

    /// `uploader ARGS` against `server` in direct mode with no keys in the environment: only
    /// what `uploader credentials set` stored signs.
    pub fn uploader_keyless(&self, server: &uploader_testkit::S3Server) -> Command {
        let mut cmd = self.isolated();
        cmd.envs(
            server.env().into_iter().filter(|(k, _)| {
                !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET")
            }),
        );
        cmd
    }

    /// `uploader ARGS` against `server`, in direct mode with its keys.
    pub fn uploader(&self, server: &uploader_testkit::S3Server) -> Command {
        let mut cmd = self.isolated();
        cmd.envs(server.env());
        cmd
    }

    /// `uploader ARGS` through a server that signs (`BackendServer::env()`,
    /// `CompanionServer::env()`): no AWS keys.
    pub fn uploader_via(&self, signer: Vec<(&'static str, String)>) -> Command {
        let mut cmd = self.isolated();
        cmd.envs(signer);
        cmd
    }
}
