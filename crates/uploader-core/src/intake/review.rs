//! The review of a drop before it is queued: each file's SKU, destination keys and what is
//! worth a second look. Nothing is recorded; reading headers (not pixels) keeps it quick.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{SourceFormat, expand_counted, sniff_file};
use crate::queue::JobState;
use crate::{Result, Uploader};

/// What a drop would queue.
#[derive(Debug, Clone, Default)]
pub struct Review {
    pub items: Vec<ReviewItem>,
    /// Files in the dropped folders that are not images, passed over.
    pub skipped: usize,
}

#[derive(Debug, Clone)]
pub struct ReviewItem {
    pub path: PathBuf,
    pub bytes: u64,
    pub format: Option<SourceFormat>,
    /// As stored, before EXIF orientation (the longest edge is the same either way).
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub sku: String,
    /// One per variant, in the configured order.
    pub keys: Vec<String>,
    pub notes: Vec<Note>,
}

impl ReviewItem {
    /// Queued when the user confirms, unless a note says it cannot be used.
    pub fn usable(&self) -> bool {
        !self.notes.iter().any(Note::excludes)
    }
}

/// Worth a second look before confirming.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// Not queued: the reason names what is wrong with the file.
    Unsupported { reason: String },
    /// Smaller than the storefront's minimum (`limits.min_longest_edge`).
    TooSmall { longest_edge: u32, minimum: u64 },
    /// The same bytes as a photo already uploaded (by any name).
    Duplicate { key: String, source_path: String },
    /// This file, unchanged, is already queued or uploaded: queuing it again adds nothing.
    AlreadyRecorded { state: JobState },
    /// The same bytes as an earlier file of this drop, under another name.
    Repeated { first: String },
    /// The same destination keys as an earlier file of this drop (the same name and SKU from
    /// two folders): queued too, it would overwrite that one in the bucket.
    KeyClash { first: String },
    /// Decoded from a format browsers cannot show, and written as the variants' format.
    Converted { from: SourceFormat, to: String },
    /// The name does not match `naming.sku_pattern`, so the whole name is the SKU.
    NoSku { pattern: String },
}

impl Note {
    pub fn excludes(&self) -> bool {
        matches!(self, Note::Unsupported { .. } | Note::KeyClash { .. })
    }

    /// A stable word for the UI's styling and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Note::Unsupported { .. } => "unsupported",
            Note::TooSmall { .. } => "too_small",
            Note::Duplicate { .. } => "duplicate",
            Note::AlreadyRecorded { .. } => "already_recorded",
            Note::Repeated { .. } => "repeated",
            Note::KeyClash { .. } => "key_clash",
            Note::Converted { .. } => "converted",
            Note::NoSku { .. } => "no_sku",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Note::Unsupported { reason } => reason.clone(),
            Note::TooSmall {
                longest_edge,
                minimum,
            } => format!(
                "too small for the storefront: {longest_edge} px on the longest edge, \
                 {minimum} px wanted (limits.min_longest_edge)"
            ),
            Note::Duplicate { key, source_path } => {
                format!("the same photo as {source_path}, already uploaded as {key}")
            }
            Note::AlreadyRecorded { state } => format!(
                "already {}: this file has not changed since",
                match state {
                    JobState::Uploaded => "uploaded",
                    _ => "queued",
                }
            ),
            Note::Repeated { first } => format!("the same photo as {first}, also in this drop"),
            Note::KeyClash { first } => format!(
                "same name and SKU as {first}, also in this drop: it would overwrite that photo \
                 in the bucket, so it is left out (rename one to upload both)"
            ),
            Note::Converted { from, to } => format!("{} converted to {to}", from.name()),
            Note::NoSku { pattern } => {
                format!(
                    "the name does not match the SKU pattern {pattern}: the whole name is the SKU"
                )
            }
        }
    }
}

impl Uploader {
    /// What queuing `paths` would do (folders walked as [`Uploader::enqueue`] walks them),
    /// with `sku` for every file or each file's SKU from its name. Reads the store and file
    /// headers; records nothing.
    pub fn review(&self, paths: &[PathBuf], sku: Option<&str>) -> Result<Review> {
        let found = expand_counted(paths);
        let mut items: Vec<ReviewItem> = found
            .files
            .iter()
            .map(|path| self.review_file(path, sku))
            .collect::<Result<_>>()?;
        mark_repeats(&mut items);
        Ok(Review {
            items,
            skipped: found.skipped,
        })
    }

    fn review_file(&self, path: &Path, sku: Option<&str>) -> Result<ReviewItem> {
        let given = sku.filter(|s| !s.trim().is_empty());
        let sku = self.naming.sku(path, given);
        let mut item = ReviewItem {
            path: path.to_path_buf(),
            bytes: 0,
            format: None,
            width: None,
            height: None,
            keys: Vec::new(),
            notes: Vec::new(),
            sku,
        };
        let meta = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Ok(unsupported(item, "a folder that cannot be read".into())),
            Err(e) => return Ok(unsupported(item, format!("cannot be read: {e}"))),
        };
        item.bytes = meta.len();
        let limits = &self.config.limits;
        if item.bytes == 0 {
            return Ok(unsupported(item, "the file is empty".into()));
        }
        if item.bytes > limits.max_file_mb.saturating_mul(1_000_000) {
            let reason = format!(
                "{} MB is over the {} MB limit (limits.max_file_mb)",
                item.bytes / 1_000_000,
                limits.max_file_mb
            );
            return Ok(unsupported(item, reason));
        }
        let Some(format) = sniff_file(path) else {
            return Ok(unsupported(
                item,
                "not an image the app reads (JPEG, PNG, WebP, GIF, TIFF, BMP or HEIC)".into(),
            ));
        };
        item.format = Some(format);
        if format == SourceFormat::Heic {
            if !cfg!(feature = "heic") {
                return Ok(unsupported(
                    item,
                    "HEIC photos need a build with HEIC support".into(),
                ));
            }
            let to = self.variant_formats();
            item.notes.push(Note::Converted { from: format, to });
        } else {
            match header_dimensions(path) {
                Ok((w, h)) => (item.width, item.height) = (Some(w), Some(h)),
                Err(reason) => return Ok(unsupported(item, reason)),
            }
        }
        if let (Some(w), Some(h)) = (item.width, item.height) {
            let pixels = u64::from(w) * u64::from(h);
            if pixels > limits.max_megapixels.saturating_mul(1_000_000) {
                let reason = format!(
                    "{w}×{h} is over the {} megapixel limit (limits.max_megapixels)",
                    limits.max_megapixels
                );
                return Ok(unsupported(item, reason));
            }
            let longest_edge = w.max(h);
            if u64::from(longest_edge) < limits.min_longest_edge {
                item.notes.push(Note::TooSmall {
                    longest_edge,
                    minimum: limits.min_longest_edge,
                });
            }
        }
        item.keys = self
            .config
            .variants
            .iter()
            .map(|spec| {
                let extension = match (spec.original, format) {
                    (true, SourceFormat::Jpeg) => "jpg",
                    (true, SourceFormat::Png) => "png",
                    (true, SourceFormat::Webp) => "webp",
                    _ => spec.format.extension(),
                };
                self.naming.key(&item.sku, path, &spec.name, extension)
            })
            .collect();
        if given.is_none() && !self.naming.name_has_sku(path) {
            item.notes.push(Note::NoSku {
                pattern: self.config.naming.sku_pattern.clone(),
            });
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64);
        let recorded =
            self.store
                .recorded_unchanged(&path.to_string_lossy(), &item.sku, item.bytes, mtime)?;
        if let Some(state) = recorded {
            item.notes.push(Note::AlreadyRecorded { state });
        } else if let Some(dup) = self.uploaded_copy(path, item.bytes)? {
            item.notes.push(dup);
        }
        Ok(item)
    }

    /// An uploaded photo with this file's bytes. Only files whose size matches one are hashed.
    fn uploaded_copy(&self, path: &Path, bytes: u64) -> Result<Option<Note>> {
        let candidates = self.store.uploaded_sources_of_size(bytes)?;
        if candidates.is_empty() {
            return Ok(None);
        }
        let Ok((_, sha256)) = crate::hash::hash_file(path) else {
            return Ok(None);
        };
        Ok(candidates
            .into_iter()
            .find(|c| c.source_sha256 == sha256)
            .map(|c| Note::Duplicate {
                key: c.key,
                source_path: c.source_path,
            }))
    }

    /// "JPEG", or "JPEG and WebP" when variants differ.
    fn variant_formats(&self) -> String {
        let mut names: Vec<&str> = Vec::new();
        for spec in &self.config.variants {
            let name = match spec.format {
                crate::config::Format::Jpeg => "JPEG",
                crate::config::Format::Webp => "WebP",
                crate::config::Format::Png => "PNG",
            };
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names.join(" and ")
    }
}

/// Within one drop: a later file with an earlier one's keys is left out (it would overwrite it);
/// a later file with an earlier one's bytes is flagged. Only files of equal size are hashed.
fn mark_repeats(items: &mut [ReviewItem]) {
    let mut notes: Vec<(usize, Note)> = Vec::new();
    let mut keys_seen: HashMap<&str, usize> = HashMap::new();
    let mut sizes: HashMap<u64, Vec<usize>> = HashMap::new();
    for (n, item) in items.iter().enumerate() {
        if !item.usable() {
            continue;
        }
        if let Some(&first) = item.keys.iter().find_map(|k| keys_seen.get(k.as_str())) {
            let first = items[first].path.display().to_string();
            notes.push((n, Note::KeyClash { first }));
            continue;
        }
        for key in &item.keys {
            keys_seen.insert(key, n);
        }
        let known = item
            .notes
            .iter()
            .any(|note| matches!(note, Note::Duplicate { .. } | Note::AlreadyRecorded { .. }));
        if !known {
            sizes.entry(item.bytes).or_default().push(n);
        }
    }
    for same_size in sizes.values().filter(|group| group.len() > 1) {
        let mut hashes_seen: HashMap<String, usize> = HashMap::new();
        for &n in same_size {
            let Ok((_, sha256)) = crate::hash::hash_file(&items[n].path) else {
                continue;
            };
            match hashes_seen.get(&sha256) {
                Some(&first) => notes.push((
                    n,
                    Note::Repeated {
                        first: items[first].path.display().to_string(),
                    },
                )),
                None => {
                    hashes_seen.insert(sha256, n);
                }
            }
        }
    }
    for (n, note) in notes {
        items[n].notes.push(note);
    }
}

fn unsupported(mut item: ReviewItem, reason: String) -> ReviewItem {
    item.notes.push(Note::Unsupported { reason });
    item
}

/// Width and height from the file's header, without decoding its pixels.
fn header_dimensions(path: &Path) -> std::result::Result<(u32, u32), String> {
    image::ImageReader::open(path)
        .map_err(|e| format!("cannot be read: {e}"))?
        .with_guessed_format()
        .map_err(|e| format!("cannot be read: {e}"))?
        .into_dimensions()
        .map_err(|e| format!("a damaged image: {e}"))
}
