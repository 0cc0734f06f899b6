//! Any bytes through the whole pipeline: sniff, decode (libjpeg-turbo, libheif, `image`),
//! orientation, colour conversion, resize to contain/cover/pad variants, encode, stamp.
//!
//! Every input goes through two recipes, because the decoder takes a different road for each:
//! all-JPEG variants (a JPEG source's Y/Cb/Cr planes are resized as they are) and mixed
//! JPEG/WebP/PNG variants (RGB or RGBA pixels, transparency kept) with the original kept
//! (the source's own JPEG, PNG or WebP data with its metadata taken out, or re-encoded).
//!
//! An `Err` is the right answer to a bad file and passes. A panic, crash, hang (libFuzzer's
//! `-timeout`) or runaway memory (`-rss_limit_mb`) fails, and so does an `Ok` that breaks the
//! pipeline's promises: one rendition per variant, in order, each a file of the type it claims;
//! a resized one never larger than its box, and decoding to the size it claims.

#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use uploader_core::config::{Config, Fit, Format, VariantSpec};
use uploader_core::pipeline::{Recipe, Rendition, render_bytes};

fn boxed(name: &str, (width, height): (u32, u32), fit: Fit, format: Format) -> VariantSpec {
    let mut spec = VariantSpec::longest(name, width.max(height), 80);
    spec.longest_edge = None;
    spec.width = Some(width);
    spec.height = Some(height);
    spec.fit = fit;
    spec.format = format;
    spec
}

/// Small limits keep every input fast and its memory bounded: the checks are the app's, only
/// the numbers differ. 4 MP admits every small seed of shared/images (orientation/, derived/
/// and hostile/ are at most 1800×1200) and refuses the big phone photos before any pixels
/// are allocated. 2 MB is scripts/fuzz.sh's -max_len.
fn recipe(variants: Vec<VariantSpec>) -> Recipe {
    let mut config = Config {
        variants,
        ..Config::default()
    };
    config.limits.max_file_mb = 2;
    config.limits.max_megapixels = 4;
    config.metadata.copyright = Some("© Fuzz & Co.".into());
    config.metadata.artist = Some("libFuzzer".into());
    let mut recipe = Recipe::from_config(&config);
    recipe.limits.max_edge = 8_192;
    recipe
}

/// Boxes of different aspect ratios, so that crop and pad offsets are exercised, and small,
/// so that encoding stays cheap next to decoding.
static RECIPES: LazyLock<[Recipe; 2]> = LazyLock::new(|| {
    let mut transparent = boxed("pad-png", (64, 80), Fit::Pad, Format::Png);
    transparent.background = "transparent".into();
    let mut original = VariantSpec::longest("original", 1, 90);
    original.longest_edge = None;
    original.original = true;
    [
        recipe(vec![
            VariantSpec::longest("contain", 256, 85),
            boxed("cover", (96, 64), Fit::Cover, Format::Jpeg),
            boxed("pad", (64, 80), Fit::Pad, Format::Jpeg),
        ]),
        recipe(vec![
            boxed("contain-webp", (256, 256), Fit::Contain, Format::Webp),
            boxed("cover-png", (96, 64), Fit::Cover, Format::Png),
            transparent,
            boxed("pad-jpeg", (80, 64), Fit::Pad, Format::Jpeg),
            original,
        ]),
    ]
});

fn check(recipe: &Recipe, renditions: &[Rendition]) {
    assert_eq!(
        renditions.len(),
        recipe.variants.len(),
        "one rendition per variant"
    );
    for (r, spec) in renditions.iter().zip(&recipe.variants) {
        let name = &spec.name;
        assert_eq!(&r.variant, name, "renditions in the variants' order");
        let magic: &[u8] = match r.content_type {
            "image/jpeg" => b"\xFF\xD8\xFF",
            "image/png" => b"\x89PNG\r\n\x1A\n",
            "image/webp" => b"RIFF",
            other => panic!("{name}: unexpected content type {other}"),
        };
        assert!(
            r.bytes.starts_with(magic),
            "{name}: not a {}",
            r.content_type
        );
        if spec.original {
            // The source's own data: another decoder than the pipeline's may refuse it.
            continue;
        }
        let (box_w, box_h) = spec.target_box();
        assert!(
            (1..=box_w).contains(&r.width) && (1..=box_h).contains(&r.height),
            "{name}: {}×{} is empty or outside its {box_w}×{box_h} box",
            r.width,
            r.height
        );
        let decoded = image::load_from_memory(&r.bytes)
            .unwrap_or_else(|e| panic!("{name}: the variant does not decode: {e}"));
        assert_eq!(
            (decoded.width(), decoded.height()),
            (r.width, r.height),
            "{name}: the file's size is not the size reported"
        );
    }
}

fuzz_target!(|bytes: &[u8]| {
    for recipe in RECIPES.iter() {
        if let Ok(renditions) = render_bytes(Path::new("fuzz-input"), bytes, recipe) {
            check(recipe, &renditions);
        }
    }
});
