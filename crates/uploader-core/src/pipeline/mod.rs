//! Turns one source photo into its variants: decoded by content, oriented upright, resized
//! to each variant's size, re-encoded without the source's metadata.
//!
//! Deterministic: the same input and settings give the same bytes, and each SHA-256 is recorded.
//! Across x86-64 CPUs too: fast_image_resize's and libjpeg-turbo's SIMD paths give the bytes
//! their plain paths give (tested: `every_simd_path_gives_the_same_bytes_as_the_plain_one`, and
//! the CLI's `outputs_are_the_same_bytes_whatever_simd_the_cpu_has`).

mod budget;
mod colour;
mod decode;
mod encode;
mod flatten;
#[cfg(feature = "heic")]
mod heic;
mod jpeg;
mod original;
mod pixels;
mod planes;
mod resize;
mod stamp;

use std::path::Path;
use std::sync::Arc;

use crate::config::{Config, Format, VariantSpec};
use crate::{Error, Result};

pub use budget::{Budget, Permit};
pub use decode::{Decoded, Limits, Wants, decode_bytes, decode_upright, read_limited};
pub use pixels::Pixels;
pub use stamp::Stamp;

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
    /// A warning that does not stop the upload: the photo is far smaller than this variant
    /// asks (below two thirds of it).
    pub warning: Option<String>,
}

/// Everything rendering needs besides the photo: shared by every file of a run.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub variants: Vec<VariantSpec>,
    pub limits: Limits,
    pub stamp: Stamp,
    /// Shared by every render of the run, so decoded megapixels stay under its cap.
    pub budget: Arc<Budget>,
}

impl Recipe {
    /// `variants` with default limits, no stamp, and the default decode budget.
    pub fn new(variants: Vec<VariantSpec>) -> Self {
        Self::from_config(&Config {
            variants,
            ..Config::default()
        })
    }

    pub fn from_config(config: &Config) -> Self {
        let l = &config.limits;
        Self {
            variants: config.variants.clone(),
            limits: Limits {
                max_file_bytes: l.max_file_mb.saturating_mul(1_000_000),
                max_pixels: l.max_megapixels.saturating_mul(1_000_000),
                ..Limits::default()
            },
            stamp: Stamp::from_settings(&config.metadata),
            budget: Arc::new(Budget::new(l.concurrent_megapixels)),
        }
    }
}

/// Renders every variant of the photo at `path`, in the order given. CPU-bound: call it off
/// the async runtime. A variant is made from the smallest larger uncropped one already made,
/// not from the source, when there is one.
pub fn render(path: &Path, recipe: &Recipe) -> Result<Vec<Rendition>> {
    let bytes = decode::read_limited(path, &recipe.limits)?;
    render_bytes(path, &bytes, recipe)
}

/// [`render`] on bytes already read from `path`, which only names the file in errors.
pub fn render_bytes(path: &Path, bytes: &[u8], recipe: &Recipe) -> Result<Vec<Rendition>> {
    let (variants, limits) = (&recipe.variants, &recipe.limits);
    // A kept original of a JPEG is its own bytes: it needs no pixels.
    let needed = |w: u32, h: u32| {
        variants
            .iter()
            .filter(|v| !v.original)
            .map(|v| resize::plan(v, w, h).scaled)
            .map(|(sw, sh)| sw.max(sh))
            .max()
            .unwrap_or(0)
    };
    let wants = Wants {
        long_edge: &needed,
        alpha: variants.iter().any(|v| v.format.keeps_alpha()),
        planes: variants.iter().all(|v| v.format == Format::Jpeg),
        budget: Some(&recipe.budget),
    };
    let decoded = decode::decode_bytes(path, bytes, limits, &wants)?;
    let (w, h) = decoded.full;
    let plans: Vec<resize::Plan> = variants.iter().map(|v| resize::plan(v, w, h)).collect();
    let fail = |spec: &VariantSpec, reason: String| Error::Image {
        path: path.to_path_buf(),
        reason: format!("cannot make variant `{}`: {reason}", spec.name),
    };

    let mut order: Vec<usize> = (0..variants.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(u64::from(plans[i].scaled.0) * u64::from(plans[i].scaled.1))
    });
    let mut rendered: Vec<Option<Rendition>> = vec![None; variants.len()];
    // The full decode is the largest buffer: it goes as soon as no variant left needs it.
    let mut source = Some(decoded.image);
    let mut scaled_so_far: Vec<Pixels> = Vec::new();
    let covers = |b: &Pixels, p: &resize::Plan| {
        let (w, h) = b.dimensions();
        w >= p.scaled.0 && h >= p.scaled.1
    };
    for (n, &i) in order.iter().enumerate() {
        let (spec, plan) = (&variants[i], &plans[i]);
        let original = spec.original.then(|| {
            let (format, orientation) = (decoded.format, decoded.exif_orientation);
            original::stripped(bytes, format, orientation, &recipe.stamp)
        });
        if let Some(stripped) = original.flatten() {
            let (bytes, format) =
                stripped.map_err(|e| fail(spec, format!("cannot keep the original: {e}")))?;
            rendered[i] = Some(rendition(spec, bytes, (w, h), format, None));
            continue;
        }
        let base = scaled_so_far
            .iter()
            .filter(|b| covers(b, plan))
            .min_by_key(|b| b.pixel_count())
            .or(source.as_ref())
            .ok_or_else(|| fail(spec, "no source image left".into()))?;
        let scaled = base.resized(plan.scaled).map_err(|e| fail(spec, e))?;
        let finished = scaled.finished(plan, spec.background_rgba());
        let pixels = finished.as_ref().unwrap_or(&scaled);
        let bytes = encode::encode(pixels, spec)
            .and_then(|b| recipe.stamp.apply(spec.format, b))
            .map_err(|e| fail(spec, e))?;
        let warning = resize::far_too_small(spec, w, h).then(|| {
            let (bw, bh) = spec.target_box();
            format!(
                "the photo is only {w}×{h}: variant `{}` asks for {bw}×{bh}, and photos are never enlarged",
                spec.name
            )
        });
        let size = pixels.dimensions();
        rendered[i] = Some(rendition(spec, bytes, size, spec.format, warning));
        scaled_so_far.push(scaled);
        let rest = &order[n + 1..];
        if rest
            .iter()
            .all(|&j| scaled_so_far.iter().any(|b| covers(b, &plans[j])))
        {
            source = None;
        }
    }
    Ok(rendered.into_iter().flatten().collect())
}

fn rendition(
    spec: &VariantSpec,
    bytes: Vec<u8>,
    (width, height): (u32, u32),
    format: Format,
    warning: Option<String>,
) -> Rendition {
    Rendition {
        variant: spec.name.clone(),
        sha256: crate::hash::sha256_hex(&bytes),
        width,
        height,
        bytes,
        content_type: format.content_type(),
        extension: format.extension(),
        warning,
    }
}
