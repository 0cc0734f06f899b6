//! The admin's copyright and artist, written into each encoded variant, which otherwise carries
//! no metadata at all: EXIF (Artist, Copyright) in JPEG and WebP, text chunks (Author,
//! Copyright) in PNG. Inserted into the encoder's bytes, so the encoders stay metadata-free.

use crate::config::{Format, MetadataSettings};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    pub copyright: Option<String>,
    pub artist: Option<String>,
    /// Only for a kept original, whose pixels are stored as shot (JPEG only).
    pub orientation: Option<u16>,
}

impl Stamp {
    pub fn from_settings(settings: &MetadataSettings) -> Self {
        let keep = |s: &Option<String>| {
            s.as_ref()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        Self {
            copyright: keep(&settings.copyright),
            artist: keep(&settings.artist),
            orientation: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.copyright.is_none() && self.artist.is_none() && self.orientation.is_none()
    }

    /// `encoded` (a file in `format`) with the stamp added; unchanged when there is none.
    pub fn apply(&self, format: Format, encoded: Vec<u8>) -> Result<Vec<u8>, String> {
        if self.is_empty() {
            return Ok(encoded);
        }
        match format {
            Format::Jpeg => self.stamp_jpeg(encoded),
            Format::Png => self.stamp_png(encoded),
            Format::Webp => self.stamp_webp(encoded),
        }
    }

    /// A little-endian TIFF structure with one IFD: Orientation (0x0112), Artist (0x013B),
    /// Copyright (0x8298), in tag order.
    fn tiff(&self) -> Vec<u8> {
        let fields: Vec<(u16, &str)> = [(0x013B, &self.artist), (0x8298, &self.copyright)]
            .into_iter()
            .filter_map(|(tag, text)| text.as_deref().map(|t| (tag, t)))
            .collect();
        let oriented = usize::from(self.orientation.is_some());
        let mut out = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
        let count = fields.len() + oriented;
        out.extend_from_slice(&(count as u16).to_le_bytes());
        if let Some(orientation) = self.orientation {
            out.extend_from_slice(&0x0112u16.to_le_bytes());
            out.extend_from_slice(&3u16.to_le_bytes()); // SHORT
            out.extend_from_slice(&1u32.to_le_bytes());
            out.extend_from_slice(&u32::from(orientation).to_le_bytes());
        }
        let mut data_at = 8 + 2 + 12 * count + 4;
        let mut data = Vec::new();
        for (tag, text) in &fields {
            let mut value = text.as_bytes().to_vec();
            value.push(0);
            out.extend_from_slice(&tag.to_le_bytes());
            out.extend_from_slice(&2u16.to_le_bytes()); // ASCII
            out.extend_from_slice(&(value.len() as u32).to_le_bytes());
            if value.len() <= 4 {
                value.resize(4, 0);
                out.extend_from_slice(&value);
            } else {
                out.extend_from_slice(&(data_at as u32).to_le_bytes());
                data_at += value.len();
                data.extend_from_slice(&value);
            }
        }
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&data);
        out
    }

    fn stamp_jpeg(&self, jpeg: Vec<u8>) -> Result<Vec<u8>, String> {
        if !jpeg.starts_with(&[0xFF, 0xD8]) {
            return Err("the encoder did not write a JPEG".into());
        }
        let mut payload = b"Exif\0\0".to_vec();
        payload.extend_from_slice(&self.tiff());
        let length = u16::try_from(payload.len() + 2).map_err(|_| "the metadata is too long")?;
        // After the JFIF APP0 segment, which readers expect first.
        let at = match jpeg.get(2..6) {
            Some([0xFF, 0xE0, hi, lo]) => 4 + usize::from(u16::from_be_bytes([*hi, *lo])),
            _ => 2,
        }
        .min(jpeg.len());
        let mut out = Vec::with_capacity(jpeg.len() + payload.len() + 4);
        out.extend_from_slice(&jpeg[..at]);
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&jpeg[at..]);
        Ok(out)
    }

    /// Text chunks right after IHDR: tEXt when the text is ASCII, iTXt (UTF-8) otherwise.
    fn stamp_png(&self, png: Vec<u8>) -> Result<Vec<u8>, String> {
        const IHDR_END: usize = 8 + 4 + 4 + 13 + 4;
        if png.get(12..16) != Some(b"IHDR") || png.len() < IHDR_END {
            return Err("the encoder did not write a PNG".into());
        }
        let mut out = png[..IHDR_END].to_vec();
        for (keyword, text) in [("Author", &self.artist), ("Copyright", &self.copyright)] {
            let Some(text) = text else { continue };
            let (kind, mut body): (&[u8; 4], Vec<u8>) = if text.is_ascii() {
                (b"tEXt", format!("{keyword}\0{text}").into_bytes())
            } else {
                (b"iTXt", format!("{keyword}\0\0\0\0\0").into_bytes())
            };
            if kind == b"iTXt" {
                body.extend_from_slice(text.as_bytes());
            }
            out.extend_from_slice(&(body.len() as u32).to_be_bytes());
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(&body);
            out.extend_from_slice(kind);
            out.extend_from_slice(&body);
            out.extend_from_slice(&crc.finalize().to_be_bytes());
        }
        out.extend_from_slice(&png[IHDR_END..]);
        Ok(out)
    }

    /// An EXIF chunk, which needs the extended (VP8X) header: added when the file has the
    /// simple one, with its alpha flag read from the bitstream.
    fn stamp_webp(&self, webp: Vec<u8>) -> Result<Vec<u8>, String> {
        if webp.get(..4) != Some(b"RIFF") || webp.get(8..12) != Some(b"WEBP") || webp.len() < 30 {
            return Err("the encoder did not write a WebP".into());
        }
        let mut out = webp[..12].to_vec();
        if &webp[12..16] == b"VP8X" {
            out.extend_from_slice(&webp[12..]);
            out[20] |= 0x08;
        } else {
            let (w, h, alpha) = simple_webp(&webp).ok_or("cannot read the WebP's size")?;
            out.extend_from_slice(b"VP8X");
            out.extend_from_slice(&10u32.to_le_bytes());
            out.push(0x08 | if alpha { 0x10 } else { 0 });
            out.extend_from_slice(&[0, 0, 0]);
            out.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
            out.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
            out.extend_from_slice(&webp[12..]);
        }
        let tiff = self.tiff();
        out.extend_from_slice(b"EXIF");
        out.extend_from_slice(&(tiff.len() as u32).to_le_bytes());
        out.extend_from_slice(&tiff);
        if tiff.len() % 2 == 1 {
            out.push(0);
        }
        let riff = u32::try_from(out.len() - 8).map_err(|_| "the WebP is too large")?;
        out[4..8].copy_from_slice(&riff.to_le_bytes());
        Ok(out)
    }
}

/// Width, height and whether it has alpha, of a simple (VP8 or VP8L) WebP. Simple lossy
/// WebP cannot carry alpha; lossless says so in its header.
fn simple_webp(webp: &[u8]) -> Option<(u32, u32, bool)> {
    let le16 = |at: usize| {
        Some(u32::from(u16::from_le_bytes(
            webp.get(at..at + 2)?.try_into().ok()?,
        )))
    };
    match webp.get(12..16)? {
        b"VP8 " => Some((le16(26)? & 0x3FFF, le16(28)? & 0x3FFF, false)),
        b"VP8L" => {
            let bits = u32::from_le_bytes(webp.get(21..25)?.try_into().ok()?);
            let (w, h) = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
            Some((w, h, bits >> 28 & 1 == 1))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::VariantSpec;
    use crate::pipeline::encode::encode;
    use crate::pipeline::pixels::Pixels;
    use image::{RgbImage, RgbaImage};

    fn stamp() -> Stamp {
        Stamp {
            copyright: Some("© 2026 Example Retail Ltd".into()),
            artist: Some("Studio A".into()),
            orientation: None,
        }
    }

    fn exif_fields(bytes: &[u8]) -> Vec<(String, String)> {
        let exif = exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(bytes))
            .expect("EXIF present");
        // UTF-8 in ASCII fields, as exiftool and most writers do: readers take it as UTF-8.
        let text = |v: &exif::Value| match v {
            exif::Value::Ascii(parts) => String::from_utf8(parts.concat()).unwrap_or_default(),
            other => format!("{other:?}"),
        };
        exif.fields()
            .map(|f| (f.tag.to_string(), text(&f.value)))
            .collect()
    }

    #[test]
    fn jpeg_and_webp_carry_only_the_artist_and_copyright_and_still_decode() {
        let opaque = Pixels::Rgb(RgbImage::from_pixel(64, 48, image::Rgb([10, 120, 200])));
        let clear = Pixels::Rgba(RgbaImage::from_pixel(
            64,
            48,
            image::Rgba([10, 120, 200, 0]),
        ));
        let cases = [
            (Format::Jpeg, &opaque, false),
            (Format::Webp, &opaque, false),
            (Format::Webp, &clear, true),
        ];
        for (format, pixels, alpha) in cases {
            let spec = VariantSpec {
                format,
                ..VariantSpec::longest("v", 64, 80)
            };
            let plain = encode(pixels, &spec).unwrap();
            let stamped = stamp().apply(format, plain).unwrap();
            let fields = exif_fields(&stamped);
            assert_eq!(
                fields,
                [
                    ("Artist".to_string(), "Studio A".to_string()),
                    ("Copyright".into(), "© 2026 Example Retail Ltd".into())
                ],
                "{format:?}"
            );
            let back = image::load_from_memory(&stamped).expect("still decodes");
            assert_eq!(
                (back.width(), back.height(), back.color().has_alpha()),
                (64, 48, alpha)
            );
        }
    }

    #[test]
    fn png_gets_author_and_copyright_text_and_still_decodes() {
        let spec = VariantSpec {
            format: Format::Png,
            ..VariantSpec::longest("v", 64, 80)
        };
        let pixels = Pixels::Rgb(RgbImage::from_pixel(16, 16, image::Rgb([1, 2, 3])));
        let stamped = stamp()
            .apply(Format::Png, encode(&pixels, &spec).unwrap())
            .unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(&stamped));
        let reader = decoder.read_info().expect("a valid PNG, CRCs included");
        let info = reader.info();
        let latin: Vec<_> = info
            .uncompressed_latin1_text
            .iter()
            .map(|t| (t.keyword.as_str(), t.text.as_str()))
            .collect();
        assert_eq!(latin, [("Author", "Studio A")]);
        let utf8 = &info.utf8_text[0];
        assert_eq!(
            (utf8.keyword.as_str(), utf8.get_text().unwrap().as_str()),
            ("Copyright", "© 2026 Example Retail Ltd")
        );
    }

    #[test]
    fn a_simple_lossless_webp_keeps_its_alpha_flag_when_it_gets_the_extended_header() {
        let clear = RgbaImage::from_pixel(8, 8, image::Rgba([1, 2, 3, 0]));
        let lossless = webp::Encoder::from_rgba(clear.as_raw(), 8, 8).encode_lossless();
        assert_eq!(
            &lossless[12..16],
            b"VP8L",
            "libwebp writes the simple format"
        );
        let stamped = stamp().apply(Format::Webp, lossless.to_vec()).unwrap();
        assert_eq!(&stamped[12..16], b"VP8X");
        assert_eq!(stamped[20] & 0x18, 0x18, "EXIF and alpha flags");
        assert!(
            image::load_from_memory(&stamped)
                .unwrap()
                .color()
                .has_alpha()
        );
    }

    #[test]
    fn no_stamp_changes_nothing() {
        let bytes = vec![0xFF, 0xD8, 0xFF, 0xD9];
        assert_eq!(
            Stamp::default().apply(Format::Jpeg, bytes.clone()).unwrap(),
            bytes
        );
    }
}
