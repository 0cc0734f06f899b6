//! Decoding by content, never by extension, with size limits checked before pixels are allocated.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::{Error, Result};

/// Refuses decompression bombs before allocation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_pixels: u64,
    pub max_edge: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 200 * 1024 * 1024,
            max_pixels: 100_000_000,
            max_edge: 65_000,
        }
    }
}

/// The photo's pixels with its EXIF orientation applied.
pub fn decode_upright(path: &Path, limits: &Limits) -> Result<DynamicImage> {
    let fail = |reason: String| Error::Image {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| fail(format!("cannot read: {e}")))?
        .len();
    if len == 0 {
        return Err(fail("the file is empty".into()));
    }
    if len > limits.max_file_bytes {
        return Err(fail(format!(
            "the file is {} MB, over the {} MB limit",
            len / 1_000_000,
            limits.max_file_bytes / 1_000_000
        )));
    }

    let mut reader = ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(|e| fail(format!("cannot read: {e}")))?;
    let Some(format) = reader.format() else {
        return Err(fail("not an image (or not a supported format)".into()));
    };
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_edge);
    image_limits.max_image_height = Some(limits.max_edge);
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(image_limits);

    let name = format!("{format:?}").to_uppercase();
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| fail(format!("not a valid {name} image: {e}")))?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > limits.max_pixels {
        return Err(fail(format!(
            "{w}×{h} is {} megapixels, over the {} megapixel limit",
            u64::from(w) * u64::from(h) / 1_000_000,
            limits.max_pixels / 1_000_000
        )));
    }
    // A broken orientation tag means "upright", never a failure.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)
        .map_err(|e| fail(format!("cannot decode the {name} image: {e}")))?;
    image.apply_orientation(orientation);
    Ok(image)
}
