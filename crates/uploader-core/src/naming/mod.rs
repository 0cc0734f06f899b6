//! How a photo's file name becomes a SKU and its object keys.

mod key;
mod sku;

use std::path::Path;

pub use key::{KeyTemplate, path_problem, safe_segment};
pub use sku::SkuPattern;

use crate::config::Config;

/// The SKU pattern and key template of one config, applied to source files.
#[derive(Debug, Clone)]
pub struct Naming {
    sku_pattern: SkuPattern,
    keys: KeyTemplate,
}

impl Naming {
    /// Keys under `prefix` (the bucket prefix for uploads, empty for files on disk).
    pub fn new(config: &Config, prefix: &str) -> Self {
        Self {
            sku_pattern: SkuPattern::parse(&config.naming.sku_pattern),
            keys: KeyTemplate::new(prefix, &config.naming.key_template),
        }
    }

    /// `given` when set, otherwise the SKU read from the file's name.
    pub fn sku(&self, source: &Path, given: Option<&str>) -> String {
        match given {
            Some(sku) => sku.to_string(),
            None => self.sku_pattern.sku_of(&stem(source)).to_string(),
        }
    }

    /// Whether the file's name matches the SKU pattern (otherwise its whole name is the SKU).
    pub fn name_has_sku(&self, source: &Path) -> bool {
        self.sku_pattern.matched(&stem(source)).is_some()
    }

    pub fn key(&self, sku: &str, source: &Path, variant: &str, extension: &str) -> String {
        self.keys.key(sku, &stem(source), variant, extension)
    }

    /// The key of a file uploaded as it is: `{prefix}{sku}/{file name}`.
    pub fn file_key(&self, sku: &str, source: &Path) -> String {
        let name = source
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.keys.file_key(sku, &name)
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
