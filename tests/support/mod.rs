//! Helpers shared by the integration tests in `tests/`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The `uploader` binary. `cargo test --workspace` builds it (uploader-cli has integration
/// tests); when only this package's tests were built, it is built here.
pub fn uploader_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let profile_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
            .expect("the test binary lives in target/<profile>/deps");
        let bin = profile_dir.join(format!("uploader{}", std::env::consts::EXE_SUFFIX));
        if bin.exists() {
            return bin;
        }
        let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        build
            .args(["build", "-q", "-p", "uploader-cli", "--bin", "uploader"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build
            .status()
            .expect("cannot run cargo to build `uploader`");
        assert!(status.success(), "building `uploader` failed");
        bin
    })
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

    /// `uploader ARGS` against `server`, isolated from the developer's own config and home.
    pub fn uploader(&self, server: &uploader_testkit::S3Server) -> Command {
        let mut cmd = Command::new(uploader_bin());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .envs(server.env())
            .arg("--config")
            .arg(self.config())
            .arg("--data-dir")
            .arg(self.data_dir());
        cmd
    }
}
