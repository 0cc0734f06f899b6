//! libjpeg-turbo for the JPEG hot path: decoding at a reduced DCT scale (libvips' shrink-on-load),
//! refusing damaged data instead of filling it with grey, and encoding with 4:2:0 chroma.

use image::RgbImage;
use turbojpeg::{Colorspace, Compressor, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp};

/// True when libjpeg-turbo can give RGB directly; CMYK and YCCK go through `image` instead.
pub fn handles(bytes: &[u8]) -> bool {
    Decompressor::new()
        .and_then(|mut d| d.read_header(bytes))
        .is_ok_and(|h| !matches!(h.colorspace, Colorspace::CMYK | Colorspace::YCCK))
}

/// Decodes at the smallest of 1/8, 1/4, 1/2 and 1 that keeps the long edge ≥ `min_long_edge`.
/// Any warning (a scan cut short, corrupt entropy data) is an error: such files decode "fine"
/// into grey or garbage, and must not reach the storefront.
pub fn decode_scaled(bytes: &[u8], min_long_edge: u32) -> Result<RgbImage, String> {
    let mut decompressor = Decompressor::new().map_err(|e| e.to_string())?;
    let header = decompressor.read_header(bytes).map_err(|e| e.to_string())?;
    let long = header.width.max(header.height);
    let scale = [8, 4, 2]
        .into_iter()
        .map(|denom| ScalingFactor::new(1, denom))
        .find(|s| s.scale(long) >= min_long_edge as usize)
        .unwrap_or(ScalingFactor::ONE);
    decompressor
        .set_scaling_factor(scale)
        .map_err(|e| e.to_string())?;
    let scaled = header.scaled(scale);
    let mut image = Image {
        pixels: vec![0u8; 3 * scaled.width * scaled.height],
        width: scaled.width,
        pitch: 3 * scaled.width,
        height: scaled.height,
        format: PixelFormat::RGB,
    };
    decompressor
        .decompress(bytes, image.as_deref_mut())
        .map_err(|e| format!("the data is damaged or cut short ({e})"))?;
    RgbImage::from_raw(scaled.width as u32, scaled.height as u32, image.pixels)
        .ok_or_else(|| "decoded size does not match".to_string())
}

/// Baseline JPEG, 4:2:0, no metadata at all (not even JFIF density beyond the default).
pub fn encode(image: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let mut compressor = Compressor::new().map_err(|e| e.to_string())?;
    compressor
        .set_quality(i32::from(quality))
        .map_err(|e| e.to_string())?;
    compressor
        .set_subsamp(Subsamp::Sub2x2)
        .map_err(|e| e.to_string())?;
    let view = Image {
        pixels: image.as_raw().as_slice(),
        width: image.width() as usize,
        pitch: 3 * image.width() as usize,
        height: image.height() as usize,
        format: PixelFormat::RGB,
    };
    compressor.compress_to_vec(view).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> RgbImage {
        RgbImage::from_fn(320, 240, |x, y| {
            image::Rgb([x as u8, y as u8, (x + y) as u8])
        })
    }

    #[test]
    fn same_pixels_give_same_bytes() {
        assert_eq!(encode(&photo(), 85).unwrap(), encode(&photo(), 85).unwrap());
    }

    #[test]
    fn decoding_picks_the_smallest_scale_that_keeps_the_long_edge() {
        let jpeg = encode(&photo(), 90).unwrap();
        let cases = [
            (320, (320, 240)),
            (200, (320, 240)),
            (161, (320, 240)),
            (100, (160, 120)),
            (80, (80, 60)),
            (10, (40, 30)),
        ];
        for (min_long_edge, want) in cases {
            let img = decode_scaled(&jpeg, min_long_edge).unwrap();
            assert_eq!(img.dimensions(), want, "at least {min_long_edge}");
        }
    }

    #[test]
    fn a_cut_short_jpeg_is_refused_not_filled_with_grey() {
        let jpeg = encode(&photo(), 90).unwrap();
        let err = decode_scaled(&jpeg[..jpeg.len() / 2], 320).unwrap_err();
        assert!(err.contains("damaged or cut short"), "{err}");
    }
}
