//! Colour: pixels described by an embedded ICC profile (Display P3 from phones, Adobe RGB,
//! "Generic RGB") are converted to sRGB before the profile is dropped with the rest of the
//! metadata. Otherwise a P3 photo would look dull on the storefront.

use image::{RgbImage, RgbaImage};
use moxcms::{ColorProfile, DataColorSpace, Layout, TransformOptions};

/// Converts `image` from the profile in `icc` to sRGB. A profile that cannot be read, or that is
/// not an RGB profile, leaves the pixels as they are: such files are shown as sRGB everywhere.
pub fn to_srgb(image: &mut RgbImage, icc: &[u8]) {
    if let Some(out) = transform(image.as_raw(), icc, Layout::Rgb)
        && let Some(converted) = RgbImage::from_raw(image.width(), image.height(), out)
    {
        *image = converted;
    }
}

/// [`to_srgb`] for pixels with alpha, which is left as it is.
pub fn to_srgb_rgba(image: &mut RgbaImage, icc: &[u8]) {
    if let Some(out) = transform(image.as_raw(), icc, Layout::Rgba)
        && let Some(converted) = RgbaImage::from_raw(image.width(), image.height(), out)
    {
        *image = converted;
    }
}

/// False when converting through `icc` would leave every colour within one level of where it
/// is: an sRGB profile (most cameras embed one), or one that cannot be used.
pub fn changes_colours(icc: &[u8]) -> bool {
    let probe: Vec<u8> = [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [40, 180, 60],
        [200, 120, 30],
        [128, 128, 128],
        [20, 20, 20],
        [250, 250, 250],
    ]
    .concat();
    transform(&probe, icc, Layout::Rgb)
        .is_some_and(|out| out.iter().zip(&probe).any(|(a, b)| a.abs_diff(*b) > 1))
}

fn transform(raw: &[u8], icc: &[u8], layout: Layout) -> Option<Vec<u8>> {
    let source = ColorProfile::new_from_slice(icc).ok()?;
    if source.color_space != DataColorSpace::Rgb {
        return None;
    }
    let srgb = ColorProfile::new_srgb();
    let transform = source
        .create_transform_8bit(layout, &srgb, layout, TransformOptions::default())
        .ok()?;
    let mut out = vec![0u8; raw.len()];
    transform.transform(raw, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn icc(profile: &ColorProfile) -> Vec<u8> {
        profile.encode().expect("encodable profile")
    }

    #[test]
    fn display_p3_colours_are_moved_into_srgb_and_neutrals_stay_neutral() {
        let mut img = RgbImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                image::Rgb([40, 180, 60])
            } else {
                image::Rgb([128, 128, 128])
            }
        });
        to_srgb(&mut img, &icc(&ColorProfile::new_display_p3()));
        let green = img.get_pixel(0, 0).0;
        let grey = img.get_pixel(1, 0).0;
        // P3 is the wider gamut: its green is more saturated than sRGB's same numbers.
        assert!(green[1] > 180 && green[0] < 40, "{green:?}");
        assert!(grey.iter().all(|c| c.abs_diff(128) <= 1), "{grey:?}");
    }

    #[test]
    fn an_srgb_profile_changes_nothing_and_garbage_is_ignored() {
        let original =
            RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8 * 16, y as u8 * 16, 77]));
        let mut img = original.clone();
        to_srgb(&mut img, &icc(&ColorProfile::new_srgb()));
        let max_diff = img
            .as_raw()
            .iter()
            .zip(original.as_raw())
            .map(|(a, b)| a.abs_diff(*b))
            .max();
        assert!(max_diff <= Some(1), "{max_diff:?}");
        let mut img = original.clone();
        to_srgb(&mut img, b"not a profile");
        assert_eq!(img, original);
        assert!(!changes_colours(&icc(&ColorProfile::new_srgb())));
        assert!(!changes_colours(b"not a profile"));
        assert!(changes_colours(&icc(&ColorProfile::new_display_p3())));
    }
}
