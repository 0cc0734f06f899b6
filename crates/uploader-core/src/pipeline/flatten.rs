//! JPEG has no alpha: transparent pixels go onto a background, white by default, as
//! storefronts show them.

use image::{DynamicImage, RgbImage, RgbaImage};

pub fn on_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    onto(&image.to_rgba8(), [255, 255, 255])
}

/// `rgba` composited over an opaque `background`.
pub fn onto(rgba: &RgbaImage, background: [u8; 3]) -> RgbImage {
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (dst, src) in rgb.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(src[3]);
        for c in 0..3 {
            let under = u32::from(background[c]) * (255 - a);
            dst[c] = ((u32::from(src[c]) * a + under + 127) / 255) as u8;
        }
    }
    rgb
}

/// True when every pixel is opaque: such an image needs no alpha channel.
pub fn is_opaque(rgba: &RgbaImage) -> bool {
    rgba.pixels().all(|p| p[3] == 255)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    #[test]
    fn transparent_pixels_become_white_and_opaque_ones_keep_their_colour() {
        let mut img = RgbaImage::new(2, 1);
        img.put_pixel(0, 0, Rgba([0, 0, 0, 0]));
        img.put_pixel(1, 0, Rgba([10, 20, 30, 255]));
        let rgb = on_white(&DynamicImage::ImageRgba8(img));
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [10, 20, 30]);
    }
}
