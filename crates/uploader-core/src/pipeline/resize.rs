//! Fitting inside a longest edge, never upscaling.

use image::DynamicImage;
use image::imageops::FilterType;

pub fn fit_longest_edge(image: &DynamicImage, longest_edge: u32) -> DynamicImage {
    let (w, h) = (image.width(), image.height());
    if w.max(h) <= longest_edge {
        return image.clone();
    }
    // Round the short edge rather than truncate, and never let it reach zero.
    let scale = f64::from(longest_edge) / f64::from(w.max(h));
    let (nw, nh) = if w >= h {
        (longest_edge, ((f64::from(h) * scale).round() as u32).max(1))
    } else {
        (((f64::from(w) * scale).round() as u32).max(1), longest_edge)
    };
    image.resize_exact(nw, nh, FilterType::Lanczos3)
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
            let out = fit_longest_edge(&DynamicImage::new_rgb8(w, h), edge);
            assert_eq!((out.width(), out.height()), want, "{w}x{h} into {edge}");
        }
    }
}
