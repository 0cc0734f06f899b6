//! The original as its own variant: the source's own compressed data, not re-encoded, with its
//! metadata taken out. JPEG keeps JFIF, its ICC profile and Adobe's colour-transform marker
//! (CMYK needs it) and gets a fresh EXIF holding only its orientation; PNG keeps its image and
//! colour chunks; WebP keeps everything but EXIF and XMP. Anything after the image's end (a
//! polyglot's ZIP, say) is dropped. Other formats, and a PNG or WebP that is not stored
//! upright, are re-encoded at full size instead.

use image::ImageFormat;

use super::stamp::Stamp;
use crate::config::Format;

/// The stripped original, or `None` when it has to be re-encoded.
pub fn stripped(
    bytes: &[u8],
    format: Option<ImageFormat>,
    exif_orientation: u16,
    stamp: &Stamp,
) -> Option<Result<(Vec<u8>, Format), String>> {
    let (kept, format) = match format? {
        ImageFormat::Jpeg => (jpeg(bytes, exif_orientation, stamp), Format::Jpeg),
        ImageFormat::Png if exif_orientation == 1 => (
            png(bytes).and_then(|b| stamp.apply(Format::Png, b)),
            Format::Png,
        ),
        ImageFormat::WebP if exif_orientation == 1 => (
            webp(bytes).and_then(|b| stamp.apply(Format::Webp, b)),
            Format::Webp,
        ),
        _ => return None,
    };
    Some(kept.map(|b| (b, format)))
}

fn jpeg(bytes: &[u8], orientation: u16, stamp: &Stamp) -> Result<Vec<u8>, String> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err("not a JPEG".into());
    }
    let mut out = vec![0xFF, 0xD8];
    let mut i = 2;
    loop {
        let marker = match bytes.get(i..i + 2) {
            Some([0xFF, m]) => *m,
            _ => return Err("a JPEG segment is damaged".into()),
        };
        match marker {
            0xFF => {
                i += 1; // fill byte
                continue;
            }
            // Markers without a length: restart markers and TEM carry nothing to strip.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&[0xFF, marker]);
                i += 2;
                continue;
            }
            0x00 | 0xD8 | 0xD9 => return Err("a JPEG marker is out of place".into()),
            _ => {}
        }
        let len = bytes
            .get(i + 2..i + 4)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .ok_or("a JPEG segment is cut short")?;
        if len < 2 {
            return Err("a JPEG segment has an impossible length".into());
        }
        let segment = bytes
            .get(i..i + 2 + len)
            .ok_or("a JPEG segment is cut short")?;
        let body = segment.get(4..).unwrap_or_default();
        let keep = match marker {
            0xE0 => body.starts_with(b"JFIF\0"),
            0xE2 => body.starts_with(b"ICC_PROFILE\0"),
            0xEE => body.starts_with(b"Adobe"),
            0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
            _ => true,
        };
        if marker == 0xDA {
            // Entropy-coded data to the end-of-image marker; nothing after it is kept.
            let end = bytes[i..]
                .windows(2)
                .position(|w| w == [0xFF, 0xD9])
                .map_or(bytes.len(), |p| i + p + 2);
            out.extend_from_slice(&bytes[i..end]);
            break;
        }
        if keep {
            out.extend_from_slice(segment);
        }
        i += 2 + len;
    }
    let exif = Stamp {
        orientation: (orientation != 1).then_some(orientation),
        ..stamp.clone()
    };
    exif.apply(Format::Jpeg, out)
}

/// Chunks that say how to show the pixels; text, EXIF, times and private chunks go.
fn png(bytes: &[u8]) -> Result<Vec<u8>, String> {
    const KEEP: [&[u8; 4]; 10] = [
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    ];
    let mut out = bytes.get(..8).ok_or("not a PNG")?.to_vec();
    let mut i = 8;
    while let Some(head) = bytes.get(i..i + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let chunk = bytes
            .get(i..i + 12 + len)
            .ok_or("a PNG chunk is cut short")?;
        if KEEP.iter().any(|k| k[..] == head[4..8]) {
            out.extend_from_slice(chunk);
        }
        if &head[4..8] == b"IEND" {
            return Ok(out);
        }
        i += 12 + len;
    }
    Err("the PNG has no end chunk".into())
}

/// Every chunk but EXIF and XMP, with the extended header's flags for them cleared. Only the
/// chunks the RIFF header counts: anything after them is not part of the image.
fn webp(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.get(..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WEBP") {
        return Err("not a WebP".into());
    }
    let riff = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    let end = (8 + riff).min(bytes.len());
    let mut out = bytes[..12].to_vec();
    let mut i = 12;
    while let Some(head) = bytes[..end].get(i..i + 8) {
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let padded = len + len % 2;
        let chunk = bytes[..end]
            .get(i..(i + 8 + padded).min(end))
            .ok_or("a WebP chunk is cut short")?;
        match &head[..4] {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut chunk = chunk.to_vec();
                if let Some(flags) = chunk.get_mut(8) {
                    *flags &= !(0x08 | 0x04);
                }
                out.extend_from_slice(&chunk);
            }
            _ => out.extend_from_slice(chunk),
        }
        i += 8 + padded;
    }
    let riff = u32::try_from(out.len() - 8).map_err(|_| "the WebP is too large")?;
    out[4..8].copy_from_slice(&riff.to_le_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jpeg_keeps_its_scan_and_profile_and_loses_exif_comments_and_trailing_data() {
        let mut jpeg = vec![0xFF, 0xD8];
        let segment = |marker: u8, body: &[u8]| {
            let mut s = vec![0xFF, marker];
            s.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
            s.extend_from_slice(body);
            s
        };
        jpeg.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        jpeg.extend(segment(0xE1, b"Exif\0\0GPS secrets"));
        jpeg.extend(segment(0xE2, b"ICC_PROFILE\0\x01\x01profile"));
        jpeg.extend(segment(0xFE, b"shot at home"));
        jpeg.extend(segment(0xDB, b"quant tables"));
        jpeg.extend(segment(0xDA, b"scan header"));
        jpeg.extend_from_slice(b"entropy\xFF\x00data\xFF\xD9PK\x03\x04zip");
        let out = self::jpeg(&jpeg, 6, &Stamp::default()).unwrap();
        let text = String::from_utf8_lossy(&out);
        for gone in ["GPS secrets", "shot at home", "PK"] {
            assert!(!text.contains(gone), "{gone} survived");
        }
        for kept in ["JFIF", "ICC_PROFILE", "quant tables", "entropy"] {
            assert!(text.contains(kept), "{kept} was dropped");
        }
        assert!(out.ends_with(&[0xFF, 0xD9]));
        let exif = exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&out))
            .unwrap();
        let orientation = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY);
        assert_eq!(orientation.and_then(|f| f.value.get_uint(0)), Some(6));
        assert_eq!(exif.fields().count(), 1);
    }

    #[test]
    fn a_webp_loses_exif_and_whatever_follows_its_riff_chunk() {
        let photo = webp::Encoder::from_rgb(&[90u8; 3 * 16 * 16], 16, 16).encode(80.0);
        let stamped = Stamp {
            artist: Some("GPS secrets".into()),
            ..Stamp::default()
        }
        .apply(Format::Webp, photo.to_vec())
        .unwrap();
        let mut polyglot = stamped.clone();
        polyglot.extend_from_slice(b"PK\x03\x04zip");
        let out = webp(&polyglot).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(
            !text.contains("GPS secrets") && !text.contains("PK"),
            "{text}"
        );
        assert_eq!(out[20] & 0x08, 0, "no EXIF flag left");
        assert_eq!(image::load_from_memory(&out).unwrap().width(), 16);
    }

    #[test]
    fn damaged_segments_are_an_error_not_a_panic() {
        for bytes in [
            &b"\xFF\xD8"[..],
            b"\xFF\xD8\xFF\xE1\xFF",
            b"\xFF\xD8\x00\x00",
        ] {
            assert!(jpeg(bytes, 1, &Stamp::default()).is_err());
        }
        assert!(png(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR").is_err());
        assert!(webp(b"RIFF\0\0\0\0WEBX").is_err());
    }
}
