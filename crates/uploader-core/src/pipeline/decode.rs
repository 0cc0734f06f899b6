//! Decoding by content, never by extension, with size limits checked before pixels are allocated.
//! JPEG (most photos) goes through libjpeg-turbo at a reduced DCT scale; the rest through `image`.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use std::sync::Arc;

use super::budget::{Budget, Permit};
use super::jpeg;
use super::pixels::Pixels;
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
            max_file_bytes: 200_000_000,
            max_pixels: 100_000_000,
            max_edge: 65_000,
        }
    }
}

/// A photo upright (EXIF orientation applied), in sRGB, maybe at a reduced scale.
pub struct Decoded {
    pub image: Pixels,
    /// This picture's share of the decode budget, held until the render is done.
    pub permit: Option<Permit>,
    /// The upright size at full resolution, which variants are planned on.
    pub full: (u32, u32),
    /// What the bytes are (`None` for HEIF), and the EXIF orientation baked into `image`.
    pub format: Option<ImageFormat>,
    pub exif_orientation: u16,
}

/// Reads the file at `path` if it is a regular file within the size limit; never more than
/// the limit and one byte, whatever the file does meanwhile.
pub fn read_limited(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    crate::source::read_limited(path, limits.max_file_bytes).map_err(|reason| Error::Image {
        path: path.to_path_buf(),
        reason,
    })
}

/// What the variants need from the decode.
pub struct Wants<'a> {
    /// Given the full upright size, how long an edge the largest variant needs: JPEGs are
    /// decoded at the smallest scale that keeps it, which is most of the speed.
    pub long_edge: &'a dyn Fn(u32, u32) -> u32,
    /// Some variant keeps transparency (PNG, WebP), so alpha is not flattened.
    pub alpha: bool,
    /// Every variant is a JPEG, so a JPEG's Y/Cb/Cr planes may be kept as they are.
    pub planes: bool,
    /// Waited on, once the picture's size is known, before its pixels are allocated.
    pub budget: Option<&'a Arc<Budget>>,
}

/// Decodes the photo at `path` as an all-JPEG set of variants would (planes where possible).
pub fn decode_upright(
    path: &Path,
    limits: &Limits,
    needed_long_edge: &dyn Fn(u32, u32) -> u32,
) -> Result<Decoded> {
    let bytes = read_limited(path, limits)?;
    let wants = Wants {
        long_edge: needed_long_edge,
        alpha: false,
        planes: true,
        budget: None,
    };
    decode_bytes(path, &bytes, limits, &wants)
}

/// Decodes `bytes` already read from `path` (named in errors only).
pub fn decode_bytes(path: &Path, bytes: &[u8], limits: &Limits, wants: &Wants) -> Result<Decoded> {
    let fail = |reason: String| Error::Image {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.is_empty() {
        return Err(fail("the file is empty".into()));
    }
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(fail(crate::source::too_large(limits.max_file_bytes)));
    }

    if is_heif(bytes) {
        return decode_heif(bytes, limits, wants).map_err(fail);
    }
    let Ok(format) = image::guess_format(bytes) else {
        return Err(fail("not an image (or not a supported format)".into()));
    };
    let name = format!("{format:?}").to_uppercase();

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_edge);
    image_limits.max_image_height = Some(limits.max_edge);
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(image_limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| fail(format!("not a valid {name} image: {e}")))?;
    let (w, h) = decoder.dimensions();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels {
        return Err(fail(format!(
            "{w}×{h} is {} megapixels, over the {} megapixel limit",
            pixels / 1_000_000,
            limits.max_pixels / 1_000_000
        )));
    }
    let permit = wants.budget.map(|b| b.acquire(w, h));
    // A broken orientation tag means "upright", never a failure.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    use image::metadata::Orientation::{Rotate90, Rotate90FlipH, Rotate270, Rotate270FlipH};
    let full = match orientation {
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => (h, w),
        _ => (w, h),
    };

    let icc = icc.filter(|icc| super::colour::changes_colours(icc));
    let jpeg_failed = |reason| fail(format!("cannot decode the JPEG image: {reason}"));
    let long_edge = (wants.long_edge)(full.0, full.1);
    let kind = match format {
        ImageFormat::Jpeg => Some(jpeg::kind(bytes).map_err(jpeg_failed)?),
        _ => None,
    };
    let mut pixels = match kind {
        Some(jpeg::Kind::Planes) if wants.planes && icc.is_none() => {
            drop(decoder);
            Pixels::Yuv(jpeg::decode_planes_scaled(bytes, long_edge).map_err(jpeg_failed)?)
        }
        Some(jpeg::Kind::Planes | jpeg::Kind::Rgb) => {
            drop(decoder);
            Pixels::Rgb(jpeg::decode_scaled(bytes, long_edge).map_err(jpeg_failed)?)
        }
        _ => {
            let image = DynamicImage::from_decoder(decoder)
                .map_err(|e| fail(format!("cannot decode the {name} image: {e}")))?;
            let rgba = (wants.alpha && image.color().has_alpha()).then(|| image.to_rgba8());
            match rgba {
                Some(rgba) if !super::flatten::is_opaque(&rgba) => Pixels::Rgba(rgba),
                _ => Pixels::Rgb(super::flatten::on_white(&image)),
            }
        }
    };
    // On the reduced-scale decode, before resizing: fewer pixels to convert.
    match (&mut pixels, icc) {
        (Pixels::Rgb(rgb), Some(icc)) => super::colour::to_srgb(rgb, &icc),
        (Pixels::Rgba(rgba), Some(icc)) => super::colour::to_srgb_rgba(rgba, &icc),
        _ => {}
    }
    let image = pixels.oriented(orientation);
    Ok(Decoded {
        image,
        permit,
        full,
        format: Some(format),
        exif_orientation: u16::from(orientation.to_exif()),
    })
}

#[cfg(feature = "heic")]
fn decode_heif(bytes: &[u8], limits: &Limits, wants: &Wants) -> Result<Decoded, String> {
    let admit = |w, h| wants.budget.map(|b| b.acquire(w, h));
    let heif = super::heic::decode(bytes, limits, &admit)?;
    let mut rgb = heif.image;
    if let Some(icc) = heif.icc {
        super::colour::to_srgb(&mut rgb, &icc);
    }
    let orientation = heif
        .exif_orientation
        .and_then(image::metadata::Orientation::from_exif)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let image = Pixels::Rgb(rgb).oriented(orientation);
    let full = image.dimensions();
    Ok(Decoded {
        image,
        permit: heif.permit,
        full,
        format: None,
        exif_orientation: 1,
    })
}

#[cfg(not(feature = "heic"))]
fn decode_heif(_: &[u8], _: &Limits, _: &Wants) -> Result<Decoded, String> {
    Err("HEIC/HEIF photos are not supported in this build".into())
}

/// ISO-BMFF `ftyp` brands of HEIC/HEIF/AVIF files.
fn is_heif(bytes: &[u8]) -> bool {
    const BRANDS: [&[u8]; 8] = [
        b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif",
    ];
    bytes.get(4..8) == Some(b"ftyp")
        && bytes
            .get(8..12)
            .is_some_and(|brand| BRANDS.contains(&brand))
}
