//! libjpeg-turbo for the JPEG hot path: decoding at a reduced DCT scale (libvips' shrink-on-load),
//! refusing damaged data instead of filling it with grey, and encoding with 4:2:0 chroma.

use image::{GrayImage, RgbImage};
use turbojpeg::{
    Colorspace, Compressor, DecompressHeader, Decompressor, Image, PixelFormat, ScalingFactor,
    Subsamp, YuvImage, YuvPlanesImage,
};

use super::planes::Planes;

/// What libjpeg-turbo makes of a JPEG's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// YCbCr or greyscale with a known subsampling: its planes can be taken as they are.
    Planes,
    /// Decoded to RGB by libjpeg-turbo.
    Rgb,
    /// CMYK or YCCK: decoded by `image`, which converts them.
    Cmyk,
}

/// Reads the header with libjpeg-turbo. A header it refuses (or warns about: junk between
/// markers, say) is an error, not a reason to try a more lenient decoder.
pub fn kind(bytes: &[u8]) -> Result<Kind, String> {
    let header = Decompressor::new()
        .and_then(|mut d| d.read_header(bytes))
        .map_err(|e| e.to_string())?;
    Ok(match header.colorspace {
        Colorspace::CMYK | Colorspace::YCCK => Kind::Cmyk,
        Colorspace::YCbCr | Colorspace::Gray
            if header.subsamp == Subsamp::Gray || chroma_factors(header.subsamp).is_some() =>
        {
            Kind::Planes
        }
        _ => Kind::Rgb,
    })
}

/// Decodes at the smallest of 1/8, 1/4, 1/2 and 1 that keeps the long edge ≥ `min_long_edge`.
/// Any warning (a scan cut short, corrupt entropy data) is an error: such files decode "fine"
/// into grey or garbage, and must not reach the storefront.
pub fn decode_scaled(bytes: &[u8], min_long_edge: u32) -> Result<RgbImage, String> {
    let (mut decompressor, scaled) = scaled_decompressor(bytes, min_long_edge)?;
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

/// Like [`decode_scaled`], but stops before colour conversion: the Y, Cb and Cr planes as
/// stored (chroma at the file's own subsampling). Resizing and re-encoding those planes skips
/// chroma upsampling and both colour conversions.
pub fn decode_planes_scaled(bytes: &[u8], min_long_edge: u32) -> Result<Planes, String> {
    let (mut decompressor, scaled) = scaled_decompressor(bytes, min_long_edge)?;
    let (w, h) = (scaled.width, scaled.height);
    let len = turbojpeg::yuv_pixels_len(w, 1, h, scaled.subsamp).map_err(|e| e.to_string())?;
    let mut yuv = YuvImage {
        pixels: vec![0u8; len],
        width: w,
        align: 1,
        height: h,
        subsamp: scaled.subsamp,
    };
    decompressor
        .decompress_to_yuv(bytes, yuv.as_deref_mut())
        .map_err(|e| format!("the data is damaged or cut short ({e})"))?;
    let mut pixels = yuv.pixels;
    // libjpeg-turbo pads the luma plane to whole chroma samples: (pw, ph) ≥ (w, h).
    let (fx, fy) = chroma_factors(scaled.subsamp).unwrap_or((1, 1));
    let (pw, ph) = (w.next_multiple_of(fx), h.next_multiple_of(fy));
    let (cw, ch) = match scaled.subsamp {
        Subsamp::Gray => (0, 0),
        _ => (pw / fx, ph / fy),
    };
    if pixels.len() != pw * ph + 2 * cw * ch {
        return Err("decoded planes do not have the expected size".into());
    }
    let plane = |buf: Vec<u8>, pw: usize, ph: usize| {
        GrayImage::from_raw(pw as u32, ph as u32, buf)
            .ok_or_else(|| "decoded plane has the wrong size".to_string())
    };
    let chroma = if cw == 0 {
        None
    } else {
        let cr = pixels.split_off(pw * ph + cw * ch);
        let cb = pixels.split_off(pw * ph);
        Some((plane(cb, cw, ch)?, plane(cr, cw, ch)?))
    };
    let mut y = plane(pixels, pw, ph)?;
    if (pw, ph) != (w, h) {
        y = image::imageops::crop_imm(&y, 0, 0, w as u32, h as u32).to_image();
    }
    Ok(Planes {
        y,
        chroma,
        factors: (fx as u32, fy as u32),
    })
}

/// How many luma pixels one chroma sample covers, across and down.
fn chroma_factors(subsamp: Subsamp) -> Option<(usize, usize)> {
    match subsamp {
        Subsamp::None => Some((1, 1)),
        Subsamp::Sub2x1 => Some((2, 1)),
        Subsamp::Sub2x2 => Some((2, 2)),
        Subsamp::Sub1x2 => Some((1, 2)),
        Subsamp::Sub4x1 => Some((4, 1)),
        Subsamp::Sub1x4 => Some((1, 4)),
        _ => None,
    }
}

fn scaled_decompressor(
    bytes: &[u8],
    min_long_edge: u32,
) -> Result<(Decompressor, DecompressHeader), String> {
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
    Ok((decompressor, header.scaled(scale)))
}

/// 4:2:0 planes (chroma at half size, rounded up) or greyscale, straight to JPEG.
pub fn encode_planes(planes: &Planes, quality: u8) -> Result<Vec<u8>, String> {
    let (w, h) = planes.y.dimensions();
    let Some((cb, cr)) = &planes.chroma else {
        let mut compressor = compressor(quality, Subsamp::Gray)?;
        let view = Image {
            pixels: planes.y.as_raw().as_slice(),
            width: w as usize,
            pitch: w as usize,
            height: h as usize,
            format: PixelFormat::GRAY,
        };
        return compressor.compress_to_vec(view).map_err(|e| e.to_string());
    };
    if cb.dimensions() != (w.div_ceil(2), h.div_ceil(2)) || cr.dimensions() != cb.dimensions() {
        return Err("chroma planes are not at 4:2:0 size".into());
    }
    // libjpeg-turbo reads luma in whole 2×2 blocks: an odd edge repeats its last row or column.
    let padded;
    let y = if w % 2 == 0 && h % 2 == 0 {
        &planes.y
    } else {
        padded = pad_to_even(&planes.y);
        &padded
    };
    let view = YuvPlanesImage {
        y_plane: y.as_raw().as_slice(),
        u_plane: cb.as_raw().as_slice(),
        v_plane: cr.as_raw().as_slice(),
        width: w as usize,
        height: h as usize,
        y_stride: y.width() as usize,
        u_stride: cb.width() as usize,
        v_stride: cr.width() as usize,
        subsamp: Subsamp::Sub2x2,
    };
    // `compress_yuv_planes` sets the subsampling from `view`.
    compressor(quality, Subsamp::Sub2x2)?
        .compress_yuv_planes_to_vec(&view)
        .map_err(|e| e.to_string())
}

fn compressor(quality: u8, subsamp: Subsamp) -> Result<Compressor, String> {
    let mut compressor = Compressor::new().map_err(|e| e.to_string())?;
    compressor
        .set_quality(i32::from(quality))
        .map_err(|e| e.to_string())?;
    compressor.set_subsamp(subsamp).map_err(|e| e.to_string())?;
    Ok(compressor)
}

/// `plane` grown to even sides by repeating its last column and row.
fn pad_to_even(plane: &GrayImage) -> GrayImage {
    let (w, h) = (plane.width() as usize, plane.height() as usize);
    let (pw, ph) = (w.next_multiple_of(2), h.next_multiple_of(2));
    if w == 0 || h == 0 {
        return plane.clone();
    }
    let mut out = Vec::with_capacity(pw * ph);
    for row in plane.as_raw().chunks_exact(w) {
        out.extend_from_slice(row);
        if pw > w {
            out.push(row[w - 1]);
        }
    }
    if ph > h {
        let last = out[out.len() - pw..].to_vec();
        out.extend_from_slice(&last);
    }
    GrayImage::from_raw(pw as u32, ph as u32, out).unwrap_or_else(|| plane.clone())
}

/// Baseline JPEG, 4:2:0, no metadata at all (not even JFIF density beyond the default).
pub fn encode(image: &RgbImage, quality: u8) -> Result<Vec<u8>, String> {
    let mut compressor = compressor(quality, Subsamp::Sub2x2)?;
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
    fn planes_of_odd_sized_photos_survive_decode_and_encode_at_every_subsampling() {
        let cases = [
            (Subsamp::Sub2x2, (321, 241)),
            (Subsamp::Sub2x1, (33, 17)),
            (Subsamp::None, (31, 9)),
            (Subsamp::Sub4x1, (37, 5)),
            (Subsamp::Gray, (15, 15)),
        ];
        for (subsamp, (w, h)) in cases {
            let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 99]));
            let mut c = Compressor::new().unwrap();
            c.set_subsamp(subsamp).unwrap();
            let view = Image {
                pixels: img.as_raw().as_slice(),
                width: w as usize,
                pitch: 3 * w as usize,
                height: h as usize,
                format: PixelFormat::RGB,
            };
            let jpeg = c.compress_to_vec(view).unwrap();
            let planes = decode_planes_scaled(&jpeg, w.max(h)).unwrap();
            assert_eq!(planes.dimensions(), (w, h), "{subsamp:?}");
            let planes = planes.resized((w, h)).unwrap();
            let again = encode_planes(&planes, 90).unwrap();
            let back = decode_scaled(&again, w.max(h)).unwrap();
            assert_eq!(back.dimensions(), (w, h), "{subsamp:?}");
        }
    }

    #[test]
    fn a_cut_short_jpeg_is_refused_not_filled_with_grey() {
        let jpeg = encode(&photo(), 90).unwrap();
        let err = decode_scaled(&jpeg[..jpeg.len() / 2], 320).unwrap_err();
        assert!(err.contains("damaged or cut short"), "{err}");
    }
}
