//! What the commands share: the core's uploader, or why there is none (shown in the window).

use std::sync::Arc;

use uploader_core::Uploader;
use uploader_core::config::{self, ConfigOverrides};

use crate::dto::CommandError;

pub struct AppState {
    uploader: Result<Arc<Uploader>, CommandError>,
}

impl AppState {
    /// Loads the config the same way the CLI does (file, then environment).
    pub async fn open() -> Self {
        let opened = match config::load(&ConfigOverrides::default(), &|k| std::env::var(k).ok()) {
            Ok(config) => Uploader::open(config).await.map_err(CommandError::from),
            Err(e) => Err(CommandError::from(e)),
        };
        Self { uploader: opened }
    }

    pub fn uploader(&self) -> Option<&Arc<Uploader>> {
        self.uploader.as_ref().ok()
    }

    pub fn require(&self) -> Result<&Arc<Uploader>, CommandError> {
        self.uploader.as_ref().map_err(Clone::clone)
    }
}
