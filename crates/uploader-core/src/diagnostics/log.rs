//! Structured logs (`tracing`) to a file in the per-OS log dir: a new file each day, the last
//! 14 kept. Events carry job ids, SKUs, paths, states and server errors, never a secret (none of
//! them is ever put in an event); the support bundle removes known secrets again anyway.

use std::path::{Path, PathBuf};

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// What to log, in `tracing`'s filter syntax (e.g. `debug`, `uploader_core=debug`).
pub const ENV_LOG: &str = "CATALOG_UPLOADER_LOG";
/// Where logs go instead of the per-OS log dir (a service's own log folder, say).
pub const ENV_LOG_DIR: &str = "CATALOG_UPLOADER_LOG_DIR";

/// The app's own events at info, its dependencies' only when they warn.
const DEFAULT_FILTER: &str = "warn,uploader_core=info,uploader=info,catalog_uploader=info";
const KEEP_FILES: usize = 14;

/// Keeps the log writer flushing; logs written before it drops reach the file.
pub struct LogGuard(#[allow(dead_code)] tracing_appender::non_blocking::WorkerGuard);

/// The per-OS log dir: `~/.local/state/catalog-uploader/logs` on Linux (following
/// XDG_STATE_HOME), `%LOCALAPPDATA%\Catalog Uploader\catalog-uploader\data\logs` on Windows,
/// `~/Library/Logs/Catalog Uploader` on macOS; or `CATALOG_UPLOADER_LOG_DIR`.
pub fn log_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(ENV_LOG_DIR).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if cfg!(target_os = "macos") {
        let base = directories::BaseDirs::new()?;
        return Some(base.home_dir().join("Library/Logs/Catalog Uploader"));
    }
    let dirs = directories::ProjectDirs::from("com", "Catalog Uploader", "catalog-uploader")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .join("logs"),
    )
}

/// Sends this process's events to `<dir>/<program>.<date>.log`. Once per process: a second
/// call is an error, as is a folder that cannot be made.
pub fn init(dir: &Path, program: &str) -> Result<LogGuard, String> {
    crate::private::create_dir(dir)
        .map_err(|e| format!("cannot create the log folder {}: {e}", dir.display()))?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(program)
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(dir)
        .map_err(|e| format!("cannot write logs in {}: {e}", dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter =
        EnvFilter::try_from_env(ENV_LOG).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| format!("logging is set up already: {e}"))?;
    Ok(LogGuard(guard))
}

/// The last `n` lines of the logs in `dir`, oldest first, across files by age.
pub fn recent_lines(dir: &Path, n: usize) -> Vec<String> {
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    // Newest first, read until enough lines are gathered.
    files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    let mut lines: Vec<String> = Vec::new();
    for (_, path) in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut these: Vec<String> = text.lines().map(str::to_string).collect();
        these.append(&mut lines);
        lines = these;
        if lines.len() >= n {
            break;
        }
    }
    let skip = lines.len().saturating_sub(n);
    lines.split_off(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_lines_come_from_the_newest_files_oldest_line_first() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("uploader.2026-11-27.log");
        let new = dir.path().join("uploader.2026-11-28.log");
        std::fs::write(&old, "a\nb\nc\n").unwrap();
        std::fs::write(&new, "d\ne\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a log\n").unwrap();
        let past = std::time::SystemTime::now() - std::time::Duration::from_secs(86_400);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(past)
            .unwrap();
        assert_eq!(recent_lines(dir.path(), 3), ["c", "d", "e"]);
        assert_eq!(recent_lines(dir.path(), 10), ["a", "b", "c", "d", "e"]);
        assert!(recent_lines(&dir.path().join("none"), 10).is_empty());
    }
}
