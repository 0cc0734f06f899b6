//! A JPEG's Y, Cb and Cr planes, kept apart from decode to encode. Resizing them (the chroma at
//! a quarter of the pixels) and handing them straight back to the encoder skips chroma
//! upsampling and two colour conversions: the same work as an RGB path, half the resampling.

use fast_image_resize::PixelType;
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, Luma};

use super::pixels::{pad, resized};
use super::resize;

/// Luma at full size; chroma (none for greyscale) at whatever subsampling it came with until
/// the first resize, then always at half size rounded up (4:2:0), as the encoder takes it.
#[derive(Debug, Clone)]
pub struct Planes {
    pub y: GrayImage,
    pub chroma: Option<(GrayImage, GrayImage)>,
    /// Luma pixels one chroma sample covers, across and down: (2, 2) for 4:2:0.
    pub factors: (u32, u32),
}

impl Planes {
    pub fn dimensions(&self) -> (u32, u32) {
        self.y.dimensions()
    }

    /// Every plane turned the same way, so the photo stands upright.
    pub fn oriented(self, orientation: Orientation) -> Self {
        let turn = |plane: GrayImage| {
            let mut image = DynamicImage::ImageLuma8(plane);
            image.apply_orientation(orientation);
            image.into_luma8()
        };
        let (fx, fy) = self.factors;
        use Orientation::{Rotate90, Rotate90FlipH, Rotate270, Rotate270FlipH};
        let factors = match orientation {
            Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH => (fy, fx),
            _ => (fx, fy),
        };
        Self {
            y: turn(self.y),
            chroma: self.chroma.map(|(cb, cr)| (turn(cb), turn(cr))),
            factors,
        }
    }

    /// Luma resampled to `size`, chroma to half of it: each plane spans the whole picture.
    pub fn resized(&self, (w, h): (u32, u32)) -> Result<Self, String> {
        let unchanged = self.dimensions() == (w, h) && self.factors == (2, 2);
        Ok(Self {
            y: resized(&self.y, PixelType::U8, (w, h))?,
            chroma: match &self.chroma {
                Some((cb, cr)) if unchanged => Some((cb.clone(), cr.clone())),
                Some((cb, cr)) => Some(self.chroma_resized(cb, cr, (w, h))?),
                None => None,
            },
            factors: (2, 2),
        })
    }

    /// Cb and Cr for a `w`×`h` luma, resampled together, interleaved (one two-channel pass
    /// costs about what one single-channel pass does). Each output chroma sample covers 2×2
    /// output luma pixels exactly, also at odd sizes, where the last sample reaches half a
    /// pixel past the picture: the source is then read half a sample past its own edge,
    /// repeated, instead of being stretched.
    fn chroma_resized(
        &self,
        cb: &GrayImage,
        cr: &GrayImage,
        (w, h): (u32, u32),
    ) -> Result<(GrayImage, GrayImage), String> {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let ((sw, sh), (lw, lh), (fx, fy)) = (cb.dimensions(), self.dimensions(), self.factors);
        let extent = |out_c: u32, luma_in: u32, luma_out: u32, f: u32| {
            f64::from(2 * out_c) * f64::from(luma_in) / (f64::from(luma_out) * f64::from(f))
        };
        let (ex, ey) = (extent(cw, lw, w, fx), extent(ch, lh, h, fy));
        let (pw, ph) = (
            sw + u32::from(ex > f64::from(sw)),
            sh + u32::from(ey > f64::from(sh)),
        );
        let mut interleaved = Vec::with_capacity(2 * (pw * ph) as usize);
        let width = sw as usize;
        for y in 0..ph {
            let at = y.min(sh.saturating_sub(1)) as usize * width;
            let b_row = cb.as_raw().get(at..at + width).unwrap_or_default();
            let r_row = cr.as_raw().get(at..at + width).unwrap_or_default();
            let extra = (pw > sw).then(|| b_row.last().zip(r_row.last())).flatten();
            for (b, r) in b_row.iter().zip(r_row).chain(extra) {
                interleaved.extend_from_slice(&[*b, *r]);
            }
        }
        let out = resize::resample_part(
            &interleaved,
            (pw, ph),
            (ex.min(f64::from(pw)), ey.min(f64::from(ph))),
            PixelType::U8x2,
            (cw, ch),
        )?;
        let (b, r): (Vec<u8>, Vec<u8>) = out.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
        let plane =
            |raw| GrayImage::from_raw(cw, ch, raw).ok_or("resized chroma has the wrong size");
        Ok((plane(b)?, plane(r)?))
    }

    /// The `w`×`h` window at (`x`, `y`); `x` and `y` must be even, so that chroma stays aligned.
    pub fn cropped(&self, (x, y): (u32, u32), (w, h): (u32, u32)) -> Self {
        let cut = |p: &GrayImage, x, y, w, h| image::imageops::crop_imm(p, x, y, w, h).to_image();
        Self {
            factors: self.factors,
            y: cut(&self.y, x, y, w, h),
            chroma: self.chroma.as_ref().map(|(cb, cr)| {
                let (cx, cy, cw, ch) = (x / 2, y / 2, w.div_ceil(2), h.div_ceil(2));
                (cut(cb, cx, cy, cw, ch), cut(cr, cx, cy, cw, ch))
            }),
        }
    }

    /// These planes placed at (`x`, `y`), both even, on a `w`×`h` canvas of `background`.
    pub fn padded(&self, (w, h): (u32, u32), (x, y): (u32, u32), background: [u8; 3]) -> Self {
        let [by, bcb, bcr] = ycbcr(background);
        let place =
            |p: &GrayImage, size, (px, py): (u32, u32), fill| pad(p, size, (px, py), Luma([fill]));
        let half = (w.div_ceil(2), h.div_ceil(2));
        Self {
            factors: self.factors,
            y: place(&self.y, (w, h), (x, y), by),
            chroma: self.chroma.as_ref().map(|(cb, cr)| {
                (
                    place(cb, half, (x / 2, y / 2), bcb),
                    place(cr, half, (x / 2, y / 2), bcr),
                )
            }),
        }
    }
}

/// JPEG's (JFIF) full-range YCbCr of an sRGB colour.
pub fn ycbcr([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (f64::from(r), f64::from(g), f64::from(b));
    let clamp = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    [
        clamp(0.299 * r + 0.587 * g + 0.114 * b),
        clamp(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b),
        clamp(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planes(w: u32, h: u32) -> Planes {
        let half = |v: u8| GrayImage::from_pixel(w.div_ceil(2), h.div_ceil(2), Luma([v]));
        Planes {
            y: GrayImage::from_fn(w, h, |x, _| Luma([if x < w / 2 { 0 } else { 255 }])),
            chroma: Some((half(100), half(150))),
            factors: (2, 2),
        }
    }

    #[test]
    fn white_black_and_grey_have_neutral_chroma() {
        assert_eq!(ycbcr([255, 255, 255]), [255, 128, 128]);
        assert_eq!(ycbcr([0, 0, 0]), [0, 128, 128]);
        assert_eq!(ycbcr([128, 128, 128]), [128, 128, 128]);
    }

    #[test]
    fn chroma_follows_luma_at_half_size_through_resize_crop_and_pad() {
        type Op = fn(&Planes) -> Planes;
        let cases: [(&str, Op, (u32, u32)); 3] = [
            ("resize", |p| p.resized((51, 33)).unwrap(), (51, 33)),
            ("crop", |p| p.cropped((10, 4), (41, 21)), (41, 21)),
            (
                "pad",
                |p| p.padded((120, 120), (10, 30), [255, 255, 255]),
                (120, 120),
            ),
        ];
        for (what, op, size) in cases {
            let out = op(&planes(100, 60));
            assert_eq!(out.dimensions(), size, "{what}");
            let (cb, cr) = out.chroma.unwrap();
            let half = (size.0.div_ceil(2), size.1.div_ceil(2));
            assert_eq!((cb.dimensions(), cr.dimensions()), (half, half), "{what}");
        }
    }

    #[test]
    fn pad_fills_with_the_background_and_keeps_the_photo_where_placed() {
        let out = planes(100, 60).padded((120, 120), (10, 30), [255, 255, 255]);
        assert_eq!(out.y.get_pixel(0, 0).0, [255]);
        assert_eq!(out.y.get_pixel(10, 30).0, [0]);
        let (cb, _) = out.chroma.unwrap();
        assert_eq!(
            (cb.get_pixel(0, 0).0, cb.get_pixel(5, 15).0),
            ([128], [100])
        );
    }

    #[test]
    fn a_quarter_turn_swaps_every_plane() {
        let out = planes(100, 60).oriented(Orientation::Rotate90);
        assert_eq!(out.dimensions(), (60, 100));
        assert_eq!(out.chroma.unwrap().0.dimensions(), (30, 50));
    }
}
