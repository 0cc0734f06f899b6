//! Fitting a photo into its variant's box: contain, cover (centre crop) or pad (centred on a
//! background), with a SIMD Lanczos3 (fast_image_resize). Nothing is ever upscaled.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::config::{Fit, VariantSpec};

/// What one variant makes of an upright `w`×`h` photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The photo resized, aspect ratio kept.
    pub scaled: (u32, u32),
    /// The final picture: `scaled`, cropped (cover) or padded (pad).
    pub output: (u32, u32),
}

/// True when the photo comes out below two thirds of the size the variant asks for (it is
/// never enlarged). A 1800 px photo in a 2000 px slot is fine; 1300 px, or 1×1, is not.
pub fn far_too_small(spec: &VariantSpec, w: u32, h: u32) -> bool {
    !spec.original && scale(spec, w, h) > 1.5
}

fn scale(spec: &VariantSpec, w: u32, h: u32) -> f64 {
    let (bw, bh) = spec.target_box();
    let (fw, fh) = (
        f64::from(bw) / f64::from(w.max(1)),
        f64::from(bh) / f64::from(h.max(1)),
    );
    match spec.fit {
        Fit::Contain | Fit::Pad => fw.min(fh),
        Fit::Cover => fw.max(fh),
    }
}

pub fn plan(spec: &VariantSpec, w: u32, h: u32) -> Plan {
    if spec.original {
        return Plan {
            scaled: (w, h),
            output: (w, h),
        };
    }
    let (bw, bh) = spec.target_box();
    let scale = scale(spec, w, h).min(1.0);
    let side = |s: u32| ((f64::from(s) * scale).round() as u32).max(1);
    let scaled = (side(w), side(h));
    let output = match spec.fit {
        Fit::Contain => scaled,
        Fit::Cover => (scaled.0.min(bw), scaled.1.min(bh)),
        Fit::Pad => (bw, bh),
    };
    Plan { scaled, output }
}

/// The top-left `used` part of `src` (fractions of a pixel allowed) resampled to `nw`×`nh`.
pub fn resample_part(
    src: &[u8],
    (w, h): (u32, u32),
    used: (f64, f64),
    pixel_type: PixelType,
    (nw, nh): (u32, u32),
) -> Result<Vec<u8>, String> {
    let src = ImageRef::new(w, h, src, pixel_type).map_err(|e| e.to_string())?;
    let mut dst = Image::new(nw, nh, pixel_type);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(0.0, 0.0, used.0, used.1);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| e.to_string())?;
    Ok(dst.into_vec())
}

/// `src`, a `w`×`h` buffer of `pixel_type`, resampled to exactly `nw`×`nh`. Alpha is
/// premultiplied while resampling, so transparent pixels do not bleed their colour.
pub fn resample(
    src: &[u8],
    (w, h): (u32, u32),
    pixel_type: PixelType,
    size: (u32, u32),
) -> Result<Vec<u8>, String> {
    let whole = (f64::from(w), f64::from(h));
    resample_part(src, (w, h), whole, pixel_type, size)
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
    fn a_flat_colour_stays_that_colour() {
        let flat = [200u8, 40, 90].repeat(640 * 480);
        let out = resample(&flat, (640, 480), PixelType::U8x3, (100, 75)).unwrap();
        assert_eq!(out, [200u8, 40, 90].repeat(100 * 75));
    }

    /// Output bytes must not depend on the CPU: fast_image_resize picks its SIMD code at run
    /// time, and every path must give what the plain one gives.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_simd_path_gives_the_same_bytes_as_the_plain_one() {
        use fast_image_resize::CpuExtensions;
        let (w, h) = (301, 203);
        let noise: Vec<u8> = (0..w * h * 4)
            .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for (pixel_type, channels) in [
            (PixelType::U8, 1),
            (PixelType::U8x2, 2),
            (PixelType::U8x3, 3),
            (PixelType::U8x4, 4),
        ] {
            let src = &noise[..(w * h * channels) as usize];
            let with = |cpu: CpuExtensions| {
                let src = ImageRef::new(w, h, src, pixel_type).unwrap();
                let mut dst = Image::new(97, 71, pixel_type);
                let mut resizer = Resizer::new();
                // SAFETY: only extensions this CPU has are set.
                unsafe { resizer.set_cpu_extensions(cpu) };
                let options =
                    ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
                resizer.resize(&src, &mut dst, &options).unwrap();
                dst.into_vec()
            };
            let plain = with(CpuExtensions::None);
            for cpu in [CpuExtensions::Sse4_1, CpuExtensions::Avx2] {
                if cpu.is_supported() {
                    assert!(with(cpu) == plain, "{pixel_type:?} with {cpu:?}");
                }
            }
        }
    }
}
