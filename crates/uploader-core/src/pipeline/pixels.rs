//! The pixels a variant is made from: RGB, RGBA when transparency must survive (PNG, WebP), or
//! a JPEG's own Y/Cb/Cr planes when every variant is a JPEG.

use fast_image_resize::PixelType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageBuffer, Pixel, Rgb, RgbImage, Rgba, RgbaImage};

use super::planes::Planes;
use super::resize::{self, Plan};

#[derive(Debug, Clone)]
pub enum Pixels {
    Rgb(RgbImage),
    Rgba(RgbaImage),
    Yuv(Planes),
}

impl Pixels {
    pub fn dimensions(&self) -> (u32, u32) {
        match self {
            Pixels::Rgb(i) => i.dimensions(),
            Pixels::Rgba(i) => i.dimensions(),
            Pixels::Yuv(p) => p.dimensions(),
        }
    }

    pub fn pixel_count(&self) -> u64 {
        let (w, h) = self.dimensions();
        u64::from(w) * u64::from(h)
    }

    /// Turned and flipped by an EXIF orientation.
    pub fn oriented(self, orientation: Orientation) -> Pixels {
        match self {
            Pixels::Rgb(i) => {
                let mut image = DynamicImage::ImageRgb8(i);
                image.apply_orientation(orientation);
                Pixels::Rgb(image.into_rgb8())
            }
            Pixels::Rgba(i) => {
                let mut image = DynamicImage::ImageRgba8(i);
                image.apply_orientation(orientation);
                Pixels::Rgba(image.into_rgba8())
            }
            Pixels::Yuv(p) => Pixels::Yuv(p.oriented(orientation)),
        }
    }

    /// Resampled to exactly `size` (a copy when it already has that size).
    pub fn resized(&self, size: (u32, u32)) -> Result<Pixels, String> {
        Ok(match self {
            Pixels::Rgb(i) => Pixels::Rgb(resized(i, PixelType::U8x3, size)?),
            Pixels::Rgba(i) => Pixels::Rgba(resized(i, PixelType::U8x4, size)?),
            Pixels::Yuv(p) => Pixels::Yuv(p.resized(size)?),
        })
    }

    /// The scaled photo cropped (cover) or padded (pad) to the plan's output size around the
    /// centre; `None` when it already has that size (contain), so no copy is made. A background
    /// with alpha below 255 gives a transparent pad.
    pub fn finished(&self, plan: &Plan, background: [u8; 4]) -> Option<Pixels> {
        let (sw, sh) = self.dimensions();
        let (ow, oh) = plan.output;
        if (sw, sh) == (ow, oh) {
            return None;
        }
        // Planes move in whole chroma samples, so their offsets are even.
        let even = |v: u32| match self {
            Pixels::Yuv(_) => v & !1,
            _ => v,
        };
        if sw >= ow && sh >= oh {
            let (x, y) = (even((sw - ow) / 2), even((sh - oh) / 2));
            return Some(match self {
                Pixels::Rgb(i) => {
                    Pixels::Rgb(image::imageops::crop_imm(i, x, y, ow, oh).to_image())
                }
                Pixels::Rgba(i) => {
                    Pixels::Rgba(image::imageops::crop_imm(i, x, y, ow, oh).to_image())
                }
                Pixels::Yuv(p) => Pixels::Yuv(p.cropped((x, y), (ow, oh))),
            });
        }
        let at = (even((ow - sw.min(ow)) / 2), even((oh - sh.min(oh)) / 2));
        let [r, g, b, a] = background;
        Some(match self {
            Pixels::Rgb(i) if a == 255 => Pixels::Rgb(pad(i, (ow, oh), at, Rgb([r, g, b]))),
            Pixels::Rgb(i) => Pixels::Rgba(pad(
                &DynamicImage::ImageRgb8(i.clone()).into_rgba8(),
                (ow, oh),
                at,
                Rgba(background),
            )),
            Pixels::Rgba(i) => Pixels::Rgba(pad(i, (ow, oh), at, Rgba(background))),
            Pixels::Yuv(p) => Pixels::Yuv(p.padded((ow, oh), at, [r, g, b])),
        })
    }
}

/// `image` resampled to exactly `size` (a copy when it already has that size).
pub(super) fn resized<P: Pixel<Subpixel = u8>>(
    image: &ImageBuffer<P, Vec<u8>>,
    pixel_type: PixelType,
    size: (u32, u32),
) -> Result<ImageBuffer<P, Vec<u8>>, String> {
    if image.dimensions() == size {
        return Ok(image.clone());
    }
    let raw = resize::resample(image.as_raw(), image.dimensions(), pixel_type, size)?;
    ImageBuffer::from_raw(size.0, size.1, raw)
        .ok_or_else(|| "resized buffer has the wrong size".into())
}

/// `image` placed at (`x`, `y`) on a `w`×`h` canvas of `fill`.
pub(super) fn pad<P: Pixel<Subpixel = u8>>(
    image: &ImageBuffer<P, Vec<u8>>,
    (w, h): (u32, u32),
    (x, y): (u32, u32),
    fill: P,
) -> ImageBuffer<P, Vec<u8>> {
    let mut canvas = ImageBuffer::from_pixel(w, h, fill);
    image::imageops::replace(&mut canvas, image, i64::from(x), i64::from(y));
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red_blue() -> RgbImage {
        RgbImage::from_fn(40, 20, |x, _| {
            if x < 20 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        })
    }

    fn plan(output: (u32, u32)) -> Plan {
        Plan {
            scaled: (40, 20),
            output,
        }
    }

    #[test]
    fn pad_centres_the_photo_on_the_background_and_cover_keeps_the_centre() {
        let photo = Pixels::Rgb(red_blue());
        let Some(Pixels::Rgb(padded)) = photo.finished(&plan((40, 40)), [255, 255, 255, 255])
        else {
            panic!("an opaque pad of RGB stays RGB");
        };
        assert_eq!(padded.dimensions(), (40, 40));
        assert_eq!(padded.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(padded.get_pixel(5, 20).0, [255, 0, 0]);
        let Some(Pixels::Rgb(cropped)) = photo.finished(&plan((20, 20)), [0, 0, 0, 255]) else {
            panic!("a crop of RGB stays RGB");
        };
        assert_eq!(cropped.dimensions(), (20, 20));
        assert_eq!(
            (cropped.get_pixel(0, 0).0, cropped.get_pixel(19, 0).0),
            ([255, 0, 0], [0, 0, 255])
        );
        assert!(
            photo.finished(&plan((40, 20)), [0, 0, 0, 255]).is_none(),
            "contain makes no copy"
        );
    }

    #[test]
    fn a_transparent_pad_turns_rgb_into_rgba() {
        let photo = Pixels::Rgb(red_blue());
        let Some(Pixels::Rgba(padded)) = photo.finished(&plan((40, 40)), [0, 0, 0, 0]) else {
            panic!("a transparent pad needs alpha");
        };
        assert_eq!(padded.get_pixel(0, 0).0, [0, 0, 0, 0]);
        assert_eq!(padded.get_pixel(5, 20).0, [255, 0, 0, 255]);
    }

    #[test]
    fn transparent_pixels_do_not_bleed_into_their_neighbours_when_resized() {
        let img = RgbaImage::from_fn(64, 64, |x, _| {
            if x < 32 {
                Rgba([0, 255, 0, 0])
            } else {
                Rgba([200, 0, 0, 255])
            }
        });
        let Ok(Pixels::Rgba(out)) = Pixels::Rgba(img).resized((16, 16)) else {
            panic!("RGBA stays RGBA");
        };
        // Next to the transparent green half, the red stays red: premultiplied resampling.
        let edge = out.get_pixel(8, 8).0;
        assert!(edge[1] < 10 && edge[3] > 0, "{edge:?}");
    }
}
