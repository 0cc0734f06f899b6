//! Small upright previews of source photos for the window, rendered by the same pipeline as
//! the variants (so orientation and HEIC are handled alike) and cached on disk.

use std::path::{Path, PathBuf};

use crate::config::{Config, Fit, Format, VariantSpec};
use crate::pipeline::{self, Recipe};
use crate::{Error, Result};

/// Longest edge of a preview: sharp at 2× on a 120 px cell.
pub const EDGE: u32 = 240;

pub struct Thumbnails {
    dir: PathBuf,
    recipe: std::sync::Arc<Recipe>,
    /// For uploaded objects, fetched through presigned GETs.
    http: std::sync::OnceLock<reqwest::Client>,
    /// The most the cache may hold on disk; the least recently used go first.
    budget: u64,
    /// Bytes written since the cache was last measured.
    written: std::sync::atomic::AtomicU64,
}

/// What the preview cache may hold: about ten thousand previews.
pub const CACHE_BUDGET: u64 = 256 << 20;

/// An uploaded object's preview larger than this is not fetched.
const MAX_OBJECT_BYTES: usize = 50 << 20;

impl Thumbnails {
    /// Previews cached in `dir`, decoded under `config`'s limits.
    pub fn new(dir: PathBuf, config: &Config) -> Self {
        let spec = VariantSpec {
            name: "preview".into(),
            longest_edge: Some(EDGE),
            width: None,
            height: None,
            fit: Fit::default(),
            background: "#ffffff".into(),
            quality: 75,
            format: Format::Jpeg,
            original: false,
        };
        let recipe = Recipe::from_config(&Config {
            variants: vec![spec],
            limits: config.limits.clone(),
            ..Config::default()
        });
        Self {
            dir,
            recipe: std::sync::Arc::new(recipe),
            http: std::sync::OnceLock::new(),
            budget: CACHE_BUDGET,
            // The first preview written measures the cache: it may be left over-full.
            written: std::sync::atomic::AtomicU64::new(CACHE_BUDGET),
        }
    }

    /// The same cache with room for `budget` bytes.
    pub fn with_budget(mut self, budget: u64) -> Self {
        self.budget = budget;
        self.written = std::sync::atomic::AtomicU64::new(budget);
        self
    }

    /// A cached preview, marked as used now (so trimming keeps it).
    fn cached(path: &Path) -> Option<Vec<u8>> {
        let bytes = std::fs::read(path).ok()?;
        if let Ok(file) = std::fs::File::options().append(true).open(path) {
            let _ = file.set_modified(std::time::SystemTime::now());
        }
        Some(bytes)
    }

    /// Removes the least recently used previews until the cache is within 80% of its budget.
    /// Measured after every tenth of the budget written, not at every write: a listing of ten
    /// thousand files is not free.
    fn trim(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                let used = meta.modified().ok()?;
                meta.is_file().then(|| (used, meta.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        if total <= self.budget {
            return;
        }
        files.sort();
        for (_, len, path) in files {
            if total <= self.budget / 10 * 8 {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }

    /// JPEG bytes of `path`'s preview. The cache is keyed by path, size and modification
    /// time, so an edited file gets a new preview.
    pub fn of_file(&self, path: &Path) -> Result<Vec<u8>> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let id = crate::hash::sha256_hex(
            format!("{}\n{}\n{mtime}", path.to_string_lossy(), meta.len()).as_bytes(),
        );
        let cached = self.dir.join(format!("{}.jpg", &id[..32]));
        if let Some(bytes) = Self::cached(&cached) {
            return Ok(bytes);
        }
        let bytes = pipeline::read_limited(path, &self.recipe.limits)?;
        let preview = render(path, &bytes, &self.recipe)?;
        self.keep(&cached, &preview);
        Ok(preview)
    }

    /// A cache that cannot be written only costs a render next time.
    fn keep(&self, cached: &Path, preview: &[u8]) {
        if crate::private::create_dir(&self.dir).is_ok() {
            let partial = cached.with_extension("part");
            if crate::private::write(&partial, preview).is_ok() {
                let _ = std::fs::rename(&partial, cached);
            }
        }
        use std::sync::atomic::Ordering;
        let written = self
            .written
            .fetch_add(preview.len() as u64, Ordering::Relaxed)
            + preview.len() as u64;
        if written >= self.budget / 10 {
            self.written.store(0, Ordering::Relaxed);
            self.trim();
        }
    }

    /// Where the preview of an uploaded object with this content is cached.
    fn object_entry(&self, sha256: &str) -> PathBuf {
        self.dir
            .join(format!("o-{}.jpg", &sha256[..sha256.len().min(32)]))
    }
}

fn render(name: &Path, bytes: &[u8], recipe: &Recipe) -> Result<Vec<u8>> {
    let rendition = pipeline::render_bytes(name, bytes, recipe)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Image {
            path: name.to_path_buf(),
            reason: "no preview was rendered".into(),
        })?;
    Ok(rendition.bytes)
}

impl crate::Uploader {
    /// A small preview of an uploaded object, fetched through a presigned GET (the bucket is
    /// private) and cached by the object's SHA-256, so a replaced object gets a new one.
    pub async fn object_preview(&self, key: &str) -> std::result::Result<Vec<u8>, String> {
        let sha256 = self
            .store
            .uploaded_sha256(key)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("`{key}` is not an uploaded object"))?;
        let thumbs = &self.thumbnails;
        let cached = thumbs.object_entry(&sha256);
        if let Some(bytes) = Thumbnails::cached(&cached) {
            return Ok(bytes);
        }
        let link = self
            .transport
            .view_link(key, std::time::Duration::from_secs(300))
            .await
            .map_err(|e| format!("no viewing link for `{key}`: {}", e.message))?;
        let http = thumbs.http.get_or_init(reqwest::Client::new);
        let mut request = http
            .get(&link.url)
            .timeout(std::time::Duration::from_secs(60));
        for (name, value) in &link.headers {
            request = request.header(name, value);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("cannot fetch `{key}`: {}", crate::transport::causes(&e)))?;
        if !response.status().is_success() {
            return Err(format!("cannot fetch `{key}`: HTTP {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_OBJECT_BYTES as u64)
        {
            return Err(format!("`{key}` is too large for a preview"));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("cannot fetch `{key}`: {}", crate::transport::causes(&e)))?;
        let (name, recipe) = (PathBuf::from(key), std::sync::Arc::clone(&thumbs.recipe));
        let preview = tokio::task::spawn_blocking(move || render(&name, &body, &recipe))
            .await
            .map_err(|e| format!("the preview of `{key}` crashed: {e}"))?
            .map_err(|e| e.to_string())?;
        thumbs.keep(&cached, &preview);
        Ok(preview)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(dir: &Path, name: &str, w: u32, h: u32) -> PathBuf {
        let path = dir.join(name);
        image::RgbImage::from_pixel(w, h, image::Rgb([200, 10, 10]))
            .save(&path)
            .unwrap();
        path
    }

    #[test]
    fn a_preview_is_small_cached_and_renewed_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let thumbs = Thumbnails::new(dir.path().join("cache"), &Config::default());
        let source = photo(dir.path(), "a.png", 1200, 600);
        let first = thumbs.of_file(&source).unwrap();
        let shown = image::load_from_memory(&first).unwrap();
        assert_eq!((shown.width(), shown.height()), (EDGE, EDGE / 2));
        assert_eq!(
            std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
            1
        );
        assert_eq!(thumbs.of_file(&source).unwrap(), first);

        std::thread::sleep(std::time::Duration::from_millis(20));
        photo(dir.path(), "a.png", 600, 1200);
        let renewed = image::load_from_memory(&thumbs.of_file(&source).unwrap()).unwrap();
        assert_eq!((renewed.width(), renewed.height()), (EDGE / 2, EDGE));
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_keeps_what_was_used_last() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let thumbs = Thumbnails::new(cache.clone(), &Config::default()).with_budget(40_000);
        let size = |dir: &Path| -> u64 {
            std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().metadata().unwrap().len())
                .sum()
        };
        let first = photo(dir.path(), "first.png", 300, 200);
        let kept = thumbs.of_file(&first).unwrap();
        for n in 0..40 {
            let path = photo(dir.path(), &format!("p{n}.png"), 300 + n, 200);
            thumbs.of_file(&path).unwrap();
            // The first is looked at all along: it is the last to go.
            std::thread::sleep(std::time::Duration::from_millis(2));
            assert_eq!(thumbs.of_file(&first).unwrap(), kept);
            assert!(
                size(&cache) <= 40_000 + 4_000 + 2 * kept.len() as u64,
                "{}",
                size(&cache)
            );
        }
        let names: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
        assert!(names.len() < 41, "nothing was removed");
        assert!(size(&cache) <= 40_000 + 4_000 + 2 * kept.len() as u64);
    }

    #[test]
    fn a_file_that_is_not_an_image_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let thumbs = Thumbnails::new(dir.path().join("cache"), &Config::default());
        let text = dir.path().join("notes.jpg");
        std::fs::write(&text, "not a photo").unwrap();
        let error = thumbs.of_file(&text).unwrap_err().to_string();
        assert!(error.contains("notes.jpg"), "{error}");
    }
}
