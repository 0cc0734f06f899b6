//! Writing a variant's pixels in its format. Nothing from the source file is carried over: the
//! encoders are given bare pixels, so no metadata can leak.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

use super::flatten;
use super::jpeg;
use super::pixels::Pixels;
use crate::config::{Format, VariantSpec};

pub fn encode(pixels: &Pixels, spec: &VariantSpec) -> Result<Vec<u8>, String> {
    let [r, g, b, _] = spec.background_rgba();
    match (spec.format, pixels) {
        (Format::Jpeg, Pixels::Rgb(i)) => jpeg::encode(i, spec.quality),
        (Format::Jpeg, Pixels::Rgba(i)) => jpeg::encode(&flatten::onto(i, [r, g, b]), spec.quality),
        (Format::Jpeg, Pixels::Yuv(p)) => jpeg::encode_planes(p, spec.quality),
        (Format::Png, Pixels::Rgb(i)) => png(i.as_raw(), i.dimensions(), ExtendedColorType::Rgb8),
        (Format::Png, Pixels::Rgba(i)) => png(i.as_raw(), i.dimensions(), ExtendedColorType::Rgba8),
        (Format::Webp, Pixels::Rgb(i)) => webp(
            webp::Encoder::from_rgb(i.as_raw(), i.width(), i.height()),
            spec.quality,
        ),
        (Format::Webp, Pixels::Rgba(i)) => webp(
            webp::Encoder::from_rgba(i.as_raw(), i.width(), i.height()),
            spec.quality,
        ),
        // The planes are only decoded when every variant is a JPEG.
        (format, Pixels::Yuv(_)) => Err(format!("{format:?} cannot be written from JPEG planes")),
    }
}

fn png(raw: &[u8], (w, h): (u32, u32), colour: ExtendedColorType) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive)
        .write_image(raw, w, h, colour)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn webp(encoder: webp::Encoder, quality: u8) -> Result<Vec<u8>, String> {
    encoder
        .encode_simple(false, f32::from(quality))
        .map(|memory| memory.to_vec())
        .map_err(|e| format!("the WebP encoder failed: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, RgbaImage};

    fn spec(format: Format) -> VariantSpec {
        VariantSpec {
            format,
            ..VariantSpec::longest("v", 64, 80)
        }
    }

    #[test]
    fn each_format_writes_a_file_of_that_format_that_keeps_alpha_where_it_can() {
        let half_clear = RgbaImage::from_fn(32, 32, |x, _| {
            image::Rgba([200, 30, 30, if x < 16 { 0 } else { 255 }])
        });
        let cases = [
            (Format::Jpeg, ImageFormat::Jpeg, false),
            (Format::Png, ImageFormat::Png, true),
            (Format::Webp, ImageFormat::WebP, true),
        ];
        for (format, want, alpha) in cases {
            let bytes = encode(&Pixels::Rgba(half_clear.clone()), &spec(format)).unwrap();
            assert_eq!(image::guess_format(&bytes).unwrap(), want, "{format:?}");
            let back = image::load_from_memory(&bytes).unwrap();
            assert_eq!(back.color().has_alpha(), alpha, "{format:?}");
            let corner = back.to_rgba8().get_pixel(0, 0).0;
            if alpha {
                assert_eq!(corner[3], 0, "{format:?}");
            } else {
                assert!(
                    corner.iter().all(|&c| c > 240),
                    "{format:?} on white: {corner:?}"
                );
            }
        }
    }

    #[test]
    fn the_same_pixels_give_the_same_bytes_in_every_format() {
        let img = RgbaImage::from_fn(48, 40, |x, y| {
            image::Rgba([x as u8 * 5, y as u8 * 6, 90, 255])
        });
        for format in [Format::Jpeg, Format::Png, Format::Webp] {
            let once = encode(&Pixels::Rgba(img.clone()), &spec(format)).unwrap();
            let again = encode(&Pixels::Rgba(img.clone()), &spec(format)).unwrap();
            assert_eq!(once, again, "{format:?}");
        }
    }
}
