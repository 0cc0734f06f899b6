//! HEIC/HEIF, the format of phone photos, through libheif (built in, with libde265 for HEVC).
//!
//! Orientation: the container's `irot`/`imir` and the EXIF orientation should agree, and do in
//! iPhone files. Some phones write a wrong `irot` (the Nokia 8.3 sample in shared/ is stored
//! upright with `irot` 270 and EXIF "normal"), so when the file has an EXIF orientation, it
//! decides and the container's transformations are ignored; otherwise libheif applies them.

use image::RgbImage;
use libheif_rs::{
    ColorSpace, DecodingOptions, HeifContext, ImageHandle, ItemId, LibHeif, RgbChroma,
};

use super::budget::Permit;
use super::decode::Limits;

/// What libheif gives: the pixels, the ICC profile, and the EXIF orientation still to apply.
pub struct Heif {
    pub image: RgbImage,
    pub icc: Option<Vec<u8>>,
    pub exif_orientation: Option<u8>,
    pub permit: Option<Permit>,
}

/// `admit(w, h)` is waited on before the pixels are decoded.
pub fn decode(
    bytes: &[u8],
    limits: &Limits,
    admit: &dyn Fn(u32, u32) -> Option<Permit>,
) -> Result<Heif, String> {
    let context =
        HeifContext::read_from_bytes(bytes).map_err(|e| format!("not a valid HEIF file: {e}"))?;
    let handle = context
        .primary_image_handle()
        .map_err(|e| format!("the HEIF file has no readable image: {e}"))?;
    let (w, h) = (handle.width(), handle.height());
    let pixels = u64::from(w) * u64::from(h);
    if pixels > limits.max_pixels || w.max(h) > limits.max_edge {
        return Err(format!(
            "{w}×{h} is {} megapixels, over the {} megapixel limit",
            pixels / 1_000_000,
            limits.max_pixels / 1_000_000
        ));
    }
    let permit = admit(w, h);
    let icc = handle.color_profile_raw().map(|p| p.data);
    let exif_orientation = exif_orientation(&handle);
    let mut options = DecodingOptions::new();
    if let (Some(options), Some(_)) = (options.as_mut(), exif_orientation) {
        options.set_ignore_transformations(true);
    }
    let decoded = LibHeif::new()
        .decode(&handle, ColorSpace::Rgb(RgbChroma::Rgb), options)
        .map_err(|e| format!("cannot decode the HEIF image: {e}"))?;
    let plane = decoded
        .planes()
        .interleaved
        .ok_or_else(|| "the HEIF decoder gave no RGB plane".to_string())?;
    let (pw, ph, stride) = (plane.width, plane.height, plane.stride);
    let row = pw as usize * 3;
    let mut rgb = Vec::with_capacity(row * ph as usize);
    for y in 0..ph as usize {
        let start = y * stride;
        let line = plane
            .data
            .get(start..start + row)
            .ok_or_else(|| "the HEIF decoder gave a short plane".to_string())?;
        rgb.extend_from_slice(line);
    }
    let image =
        RgbImage::from_raw(pw, ph, rgb).ok_or_else(|| "decoded size does not match".to_string())?;
    Ok(Heif {
        image,
        icc,
        exif_orientation,
        permit,
    })
}

/// The orientation tag of the image's EXIF block, which starts with a 4-byte offset to the
/// TIFF header.
fn exif_orientation(handle: &ImageHandle) -> Option<u8> {
    let mut ids: [ItemId; 1] = [0];
    if handle.metadata_block_ids(&mut ids, b"Exif") == 0 {
        return None;
    }
    let block = handle.metadata(ids[0]).ok()?;
    let offset = u32::from_be_bytes(block.get(..4)?.try_into().ok()?) as usize;
    let tiff = block.get(4usize.checked_add(offset)?..)?.to_vec();
    let exif = exif::Reader::new().read_raw(tiff).ok()?;
    let value = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)?
        .value
        .get_uint(0)?;
    u8::try_from(value).ok().filter(|v| (1..=8).contains(v))
}
