//! Fitting a photo into its variant's box: contain, cover (centre crop) or pad (centred on a
//! background), with a SIMD Lanczos3 (fast_image_resize). Nothing is ever upscaled.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::{Rgb, RgbImage};

use crate::config::{Fit, VariantSpec};

/// What one variant makes of an upright `w`×`h` photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The photo resized, aspect ratio kept.
    pub scaled: (u32, u32),
    /// The final picture: `scaled`, cropped (cover) or padded (pad).
    pub output: (u32, u32),
}

pub fn plan(spec: &VariantSpec, w: u32, h: u32) -> Plan {
    let (bw, bh) = spec.target_box();
    let (fw, fh) = (
        f64::from(bw) / f64::from(w.max(1)),
        f64::from(bh) / f64::from(h.max(1)),
    );
    let scale = match spec.fit {
        Fit::Contain | Fit::Pad => fw.min(fh),
        Fit::Cover => fw.max(fh),
    }
    .min(1.0);
    let side = |s: u32| ((f64::from(s) * scale).round() as u32).max(1);
    let scaled = (side(w), side(h));
    let output = match spec.fit {
        Fit::Contain => scaled,
        Fit::Cover => (scaled.0.min(bw), scaled.1.min(bh)),
        Fit::Pad => (bw, bh),
    };
    Plan { scaled, output }
}

/// `image` resized to exactly `size` (a copy when it already has that size).
pub fn to_size(image: &RgbImage, (nw, nh): (u32, u32)) -> Result<RgbImage, String> {
    let (w, h) = image.dimensions();
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

/// The scaled photo cropped (cover) or padded (pad) to the plan's output size around the
/// centre; `None` when it already has that size (contain), so no copy is made.
pub fn finish(scaled: &RgbImage, plan: &Plan, background: [u8; 3]) -> Option<RgbImage> {
    let (sw, sh) = scaled.dimensions();
    let (ow, oh) = plan.output;
    if (sw, sh) == (ow, oh) {
        return None;
    }
    if sw >= ow && sh >= oh {
        return Some(
            image::imageops::crop_imm(scaled, (sw - ow) / 2, (sh - oh) / 2, ow, oh).to_image(),
        );
    }
    let mut canvas = RgbImage::from_pixel(ow, oh, Rgb(background));
    image::imageops::replace(
        &mut canvas,
        scaled,
        i64::from((ow - sw.min(ow)) / 2),
        i64::from((oh - sh.min(oh)) / 2),
    );
    Some(canvas)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(longest: Option<u32>, bx: Option<(u32, u32)>, fit: Fit) -> VariantSpec {
        VariantSpec {
            longest_edge: longest,
            width: bx.map(|b| b.0),
            height: bx.map(|b| b.1),
            fit,
            ..VariantSpec::longest("v", 1, 85)
        }
    }

    #[test]
    fn each_fit_gives_the_documented_size_and_never_upscales() {
        let cases = [
            // (source, longest edge, box, fit) -> (scaled, output)
            (
                (4000, 3000),
                Some(2000),
                None,
                Fit::Contain,
                (2000, 1500),
                (2000, 1500),
            ),
            (
                (3000, 4000),
                Some(400),
                None,
                Fit::Contain,
                (300, 400),
                (300, 400),
            ),
            (
                (300, 200),
                Some(2000),
                None,
                Fit::Contain,
                (300, 200),
                (300, 200),
            ),
            ((5000, 1), Some(100), None, Fit::Contain, (100, 1), (100, 1)),
            (
                (4000, 3000),
                None,
                Some((1000, 1000)),
                Fit::Contain,
                (1000, 750),
                (1000, 750),
            ),
            (
                (4000, 3000),
                None,
                Some((1000, 1000)),
                Fit::Cover,
                (1333, 1000),
                (1000, 1000),
            ),
            (
                (4000, 3000),
                None,
                Some((1000, 1000)),
                Fit::Pad,
                (1000, 750),
                (1000, 1000),
            ),
            (
                (3000, 4000),
                None,
                Some((1200, 600)),
                Fit::Cover,
                (1200, 1600),
                (1200, 600),
            ),
            (
                (600, 400),
                None,
                Some((1000, 1000)),
                Fit::Cover,
                (600, 400),
                (600, 400),
            ),
            (
                (600, 400),
                None,
                Some((1000, 1000)),
                Fit::Pad,
                (600, 400),
                (1000, 1000),
            ),
        ];
        for (src, longest, bx, fit, scaled, output) in cases {
            let p = plan(&spec(longest, bx, fit), src.0, src.1);
            assert_eq!(
                (p.scaled, p.output),
                (scaled, output),
                "{src:?} {longest:?} {bx:?} {fit:?}"
            );
        }
    }

    #[test]
    fn pad_centres_the_photo_on_the_background_and_cover_keeps_the_centre() {
        let photo = RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        });
        let plan = |output| Plan {
            scaled: (40, 20),
            output,
        };
        let padded = finish(&photo, &plan((40, 40)), [255, 255, 255]).unwrap();
        assert_eq!(padded.dimensions(), (40, 40));
        assert_eq!(padded.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(padded.get_pixel(5, 20).0, [255, 0, 0]);
        let cropped = finish(&photo, &plan((20, 20)), [0, 0, 0]).unwrap();
        assert!(
            finish(&photo, &plan((40, 20)), [0, 0, 0]).is_none(),
            "contain makes no copy"
        );
        assert_eq!(cropped.dimensions(), (20, 20));
        assert_eq!(
            (cropped.get_pixel(0, 0).0, cropped.get_pixel(19, 0).0),
            ([255, 0, 0], [0, 0, 255])
        );
    }

    #[test]
    fn a_flat_colour_stays_that_colour() {
        let img = RgbImage::from_pixel(640, 480, Rgb([200, 40, 90]));
        let out = to_size(&img, (100, 75)).unwrap();
        assert!(out.pixels().all(|p| p.0 == [200, 40, 90]));
    }
}
