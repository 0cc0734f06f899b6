//! Fitting inside a longest edge with a SIMD Lanczos3 (fast_image_resize), never upscaling.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

/// The size that fits `(w, h)` inside `longest_edge`, rounded, never larger, never zero.
pub fn fitted_size(w: u32, h: u32, longest_edge: u32) -> (u32, u32) {
    if w.max(h) <= longest_edge {
        return (w, h);
    }
    let scale = f64::from(longest_edge) / f64::from(w.max(h));
    let short = |s: u32| ((f64::from(s) * scale).round() as u32).max(1);
    if w >= h {
        (longest_edge, short(h))
    } else {
        (short(w), longest_edge)
    }
}

pub fn fit_longest_edge(image: &RgbImage, longest_edge: u32) -> Result<RgbImage, String> {
    let (w, h) = (image.width(), image.height());
    let (nw, nh) = fitted_size(w, h, longest_edge);
    if (nw, nh) == (w, h) {
        return Ok(image.clone());
    }
    let src = ImageRef::new(w, h, image.as_raw(), PixelType::U8x3).map_err(|e| e.to_string())?;
    let mut dst = Image::new(nw, nh, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| e.to_string())?;
    RgbImage::from_raw(nw, nh, dst.into_vec())
        .ok_or_else(|| "resized buffer has the wrong size".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_edge_is_fitted_and_small_images_are_not_upscaled() {
        let cases = [
            ((4000, 3000), 2000, (2000, 1500)),
            ((3000, 4000), 400, (300, 400)),
            ((300, 200), 2000, (300, 200)),
            ((5000, 1), 100, (100, 1)),
        ];
        for ((w, h), edge, want) in cases {
            assert_eq!(fitted_size(w, h, edge), want, "{w}x{h} into {edge}");
            let out = fit_longest_edge(&RgbImage::new(w, h), edge).unwrap();
            assert_eq!((out.width(), out.height()), want, "{w}x{h} into {edge}");
        }
    }

    #[test]
    fn a_flat_colour_stays_that_colour() {
        let img = RgbImage::from_pixel(640, 480, image::Rgb([200, 40, 90]));
        let out = fit_longest_edge(&img, 100).unwrap();
        assert!(out.pixels().all(|p| p.0 == [200, 40, 90]));
    }
}
