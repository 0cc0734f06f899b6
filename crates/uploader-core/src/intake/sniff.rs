//! What a file is, by its first bytes: its name can lie, and folders hold files of every kind.

use std::io::Read;
use std::path::Path;

/// The source formats the pipeline decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Tiff,
    Bmp,
    Heic,
}

impl SourceFormat {
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::Gif => "GIF",
            Self::Webp => "WebP",
            Self::Tiff => "TIFF",
            Self::Bmp => "BMP",
            Self::Heic => "HEIC",
        }
    }
}

/// The format the first bytes of a file announce, if it is one the pipeline reads.
pub fn sniff(head: &[u8]) -> Option<SourceFormat> {
    let at = |i: usize, magic: &[u8]| head.get(i..i + magic.len()) == Some(magic);
    if at(0, &[0xFF, 0xD8, 0xFF]) {
        Some(SourceFormat::Jpeg)
    } else if at(0, b"\x89PNG\r\n\x1a\n") {
        Some(SourceFormat::Png)
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        Some(SourceFormat::Gif)
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Some(SourceFormat::Webp)
    } else if at(0, b"II*\0") || at(0, b"MM\0*") {
        Some(SourceFormat::Tiff)
    } else if at(0, b"BM") && head.len() >= 14 {
        Some(SourceFormat::Bmp)
    } else if at(4, b"ftyp")
        && [
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
        ]
        .iter()
        .any(|brand| at(8, *brand))
    {
        Some(SourceFormat::Heic)
    } else {
        None
    }
}

/// [`sniff`] on the file's first bytes; `None` also for a file that cannot be read.
pub fn sniff_file(path: &Path) -> Option<SourceFormat> {
    let mut head = [0u8; 16];
    // A FIFO or a device is no photo, and reading one could block or never end.
    let mut file = crate::source::open(path).ok()?;
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    sniff(&head[..filled])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_by_their_first_bytes_not_their_names() {
        let cases: &[(&[u8], Option<SourceFormat>)] = &[
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF", Some(SourceFormat::Jpeg)),
            (b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", Some(SourceFormat::Png)),
            (b"GIF89a\x01\0\x01\0", Some(SourceFormat::Gif)),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some(SourceFormat::Webp)),
            (b"II*\0\x08\0\0\0", Some(SourceFormat::Tiff)),
            (b"MM\0*\0\0\0\x08", Some(SourceFormat::Tiff)),
            (b"BM\x36\0\0\0\0\0\0\0\x36\0\0\0", Some(SourceFormat::Bmp)),
            (b"\0\0\0\x18ftypheic\0\0\0\0", Some(SourceFormat::Heic)),
            (b"\0\0\0\x18ftypmp42\0\0\0\0", None),
            (b"BM", None),
            (b"%PDF-1.7", None),
            (b"hello, world", None),
            (b"", None),
        ];
        for (head, want) in cases {
            assert_eq!(sniff(head), *want, "{head:?}");
        }
    }
}
