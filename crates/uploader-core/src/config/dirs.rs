//! Per-OS folders: `~/.config` and `~/.local/share` on Linux (following XDG_*), AppData on
//! Windows, Application Support on macOS.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

#[derive(Debug, Clone)]
pub struct AppDirs {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
}

impl AppDirs {
    pub fn detect() -> Result<Self> {
        let dirs = directories::ProjectDirs::from("com", "Catalog Uploader", "catalog-uploader")
            .ok_or_else(|| {
                Error::config(
                    "data_dir",
                    "no home directory found: set --data-dir or CATALOG_UPLOADER_DATA_DIR",
                )
            })?;
        Ok(Self {
            config_file: dirs.config_dir().join("config.toml"),
            // Local, not Roaming, AppData on Windows: the queue, staged photos and previews
            // belong to this machine and must not travel with a roaming profile.
            data_dir: dirs.data_local_dir().to_path_buf(),
        })
    }

    /// The database file inside a data dir.
    pub fn database(data_dir: &Path) -> PathBuf {
        data_dir.join("uploader.sqlite3")
    }

    /// Where rendered variants wait until their upload is confirmed.
    pub fn staging(data_dir: &Path) -> PathBuf {
        data_dir.join("staging")
    }

    /// Cached previews shown in the window; safe to delete.
    pub fn thumbnails(data_dir: &Path) -> PathBuf {
        data_dir.join("thumbnails")
    }
}
