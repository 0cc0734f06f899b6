//! Turns one source photo into its variants: decoded by content, oriented upright, resized
//! to each variant's size, re-encoded without the source's metadata.
//!
//! Deterministic: the same input and settings give the same bytes on the same machine (the
//! SIMD resize may pick other instructions on another CPU), and each SHA-256 is recorded.

mod colour;
mod decode;
mod flatten;
mod jpeg;
mod resize;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::config::VariantSpec;
use crate::{Error, Result};

pub use decode::{Limits, decode_upright};

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

/// Renders every variant of the photo at `path`, in the order given. CPU-bound: call it off
/// the async runtime. Smaller variants are made from the next larger one, not the source.
pub fn render(path: &Path, variants: &[VariantSpec], limits: &Limits) -> Result<Vec<Rendition>> {
    let largest = variants.iter().map(|v| v.longest_edge).max().unwrap_or(0);
    let upright = decode::decode_upright(path, limits, largest)?;
    let fail = |spec: &VariantSpec, reason: String| Error::Image {
        path: path.to_path_buf(),
        reason: format!("cannot make variant `{}`: {reason}", spec.name),
    };

    let mut order: Vec<usize> = (0..variants.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(variants[i].longest_edge));
    let mut rendered: Vec<Option<Rendition>> = vec![None; variants.len()];
    let mut base = upright;
    for i in order {
        let spec = &variants[i];
        let pixels =
            resize::fit_longest_edge(&base, spec.longest_edge).map_err(|e| fail(spec, e))?;
        let bytes = jpeg::encode(&pixels, spec.quality).map_err(|e| fail(spec, e))?;
        rendered[i] = Some(Rendition {
            variant: spec.name.clone(),
            sha256: hex(&Sha256::digest(&bytes)),
            width: pixels.width(),
            height: pixels.height(),
            bytes,
            content_type: "image/jpeg",
            extension: "jpg",
        });
        base = pixels;
    }
    Ok(rendered.into_iter().flatten().collect())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
