//! The workspace's own binaries, for tests that run them as real processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// `target/<profile>/<name>`, built with `cargo build -p <package>` when it is not there
/// (`cargo test --workspace` builds every binary whose package has integration tests).
pub fn binary(name: &str, package: &str) -> PathBuf {
    // One build at a time: tests in one binary run on several threads.
    static BUILDING: Mutex<()> = Mutex::new(());
    let profile_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
        .expect("the test binary lives in target/<profile>/deps");
    let bin = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let _one = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
    if bin.exists() {
        return bin;
    }
    let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    build
        .args(["build", "-q", "-p", package, "--bin", name])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build
        .status()
        .unwrap_or_else(|e| panic!("cannot run cargo to build `{name}`: {e}"));
    assert!(status.success(), "building `{name}` failed");
    bin
}
