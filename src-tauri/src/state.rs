//! What the commands share: the core's uploader, or why there is none (shown in the window).

use std::sync::Arc;

use uploader_core::config::{self, Config, ConfigOverrides};
use uploader_core::{Signing, Uploader};

use crate::dto::CommandError;

pub struct AppState {
    uploader: Result<Arc<Uploader>, CommandError>,
    launch_paths: std::sync::Mutex<Vec<std::path::PathBuf>>,
}

impl AppState {
    /// Loads the config the same way the CLI does (file, then environment).
    pub fn load_config() -> uploader_core::Result<Config> {
        config::load(&ConfigOverrides::default(), &|k| std::env::var(k).ok())
    }

    pub async fn open(config: uploader_core::Result<Config>) -> Self {
        let opened = match config {
            Ok(config) => Uploader::open_with(config, Signing::CanWait)
                .await
                .map_err(CommandError::from),
            Err(e) => Err(CommandError::from(e)),
        };
        Self {
            uploader: opened,
            launch_paths: std::sync::Mutex::default(),
        }
    }

    /// The paths given on the command line, once: the window reviews them when it is ready.
    pub fn take_launch_paths(&self) -> Vec<std::path::PathBuf> {
        std::mem::take(&mut *self.launch_paths.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn set_launch_paths(&self, paths: Vec<std::path::PathBuf>) {
        *self.launch_paths.lock().unwrap_or_else(|p| p.into_inner()) = paths;
    }

    pub fn uploader(&self) -> Option<&Arc<Uploader>> {
        self.uploader.as_ref().ok()
    }

    pub fn require(&self) -> Result<&Arc<Uploader>, CommandError> {
        self.uploader.as_ref().map_err(Clone::clone)
    }
}
