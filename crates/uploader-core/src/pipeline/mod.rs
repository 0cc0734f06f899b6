//! Turns one source photo into its variants: decoded by content, oriented upright, resized
//! to each variant's size, re-encoded without the source's metadata.
//!
//! Deterministic: the same input and settings give the same bytes, whose SHA-256 is recorded.

mod decode;
mod encode;
mod resize;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::Result;
use crate::config::VariantSpec;

pub use decode::Limits;

/// One rendered variant, ready to stage and upload.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub variant: String,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub extension: &'static str,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
}

/// Renders every variant of the photo at `path`. CPU-bound: call it off the async runtime.
pub fn render(path: &Path, variants: &[VariantSpec], limits: &Limits) -> Result<Vec<Rendition>> {
    let upright = decode::decode_upright(path, limits)?;
    variants
        .iter()
        .map(|spec| {
            let pixels = resize::fit_longest_edge(&upright, spec.longest_edge);
            let bytes =
                encode::jpeg(&pixels, spec.quality).map_err(|reason| crate::Error::Image {
                    path: path.to_path_buf(),
                    reason: format!("cannot encode variant `{}`: {reason}", spec.name),
                })?;
            Ok(Rendition {
                variant: spec.name.clone(),
                sha256: hex(&Sha256::digest(&bytes)),
                width: pixels.width(),
                height: pixels.height(),
                bytes,
                content_type: "image/jpeg",
                extension: "jpg",
            })
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
