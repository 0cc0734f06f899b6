//! The pipeline on the real photos and awkward files in `../shared/images/`.

use std::path::Path;

use image::RgbImage;
use uploader_core::config::{Fit, Format, VariantSpec};
use uploader_core::pipeline::{self, Recipe, Rendition};
use uploader_testkit::shared_image;

fn variants(edges: &[u32]) -> Vec<VariantSpec> {
    edges
        .iter()
        .map(|&e| VariantSpec::longest(&format!("v{e}"), e, 90))
        .collect()
}

fn render(path: &Path, edges: &[u32]) -> Vec<Rendition> {
    pipeline::render(path, &Recipe::new(variants(edges)))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn decode(r: &Rendition) -> RgbImage {
    image::load_from_memory_with_format(&r.bytes, image::ImageFormat::Jpeg)
        .expect("output decodes")
        .into_rgb8()
}

/// Mean absolute difference per channel, 0..255.
fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn all_eight_orientations_come_out_upright() {
    // Tolerance: the same picture re-encoded differs by ~1–3; a wrong rotation or mirror by 40+.
    const TOLERANCE: f64 = 8.0;
    for shape in ["Landscape", "Portrait"] {
        let upright =
            decode(&render(&shared_image(&format!("orientation/{shape}_1.jpg")), &[300])[0]);
        for n in 0..=8 {
            let out = decode(
                &render(
                    &shared_image(&format!("orientation/{shape}_{n}.jpg")),
                    &[300],
                )[0],
            );
            assert_eq!(out.dimensions(), upright.dimensions(), "{shape}_{n}: size");
            let diff = mean_abs_diff(&out, &upright);
            assert!(
                diff < TOLERANCE,
                "{shape}_{n}: differs from {shape}_1 by {diff:.1}"
            );
        }
    }
}

/// JPEG markers APP1..APP15 (EXIF, XMP, ICC, maker data) and COM.
fn metadata_markers(jpeg: &[u8]) -> Vec<u8> {
    let mut found = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if marker == 0xDA {
            break; // start of scan: no more headers
        }
        if (0xE1..=0xEF).contains(&marker) || marker == 0xFE {
            found.push(marker);
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
    found
}

#[test]
fn no_gps_exif_or_other_metadata_survives() {
    let source = shared_image("real/exifsamples_mobile_HMD_Nokia_8.3_5G.jpg");
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::BufReader::new(
            std::fs::File::open(&source).unwrap(),
        ))
        .expect("the source has EXIF");
    assert!(
        exif.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
            .is_some(),
        "the source has GPS"
    );

    for r in render(&source, &[2048, 400]) {
        let read = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&r.bytes));
        assert!(read.is_err(), "{}: EXIF survived", r.variant);
        assert_eq!(
            metadata_markers(&r.bytes),
            Vec::<u8>::new(),
            "{}: metadata markers",
            r.variant
        );
    }
}

#[test]
fn smaller_variants_come_from_larger_ones_and_nothing_is_upscaled() {
    // Stored 450×600 with orientation 6: upright it is 600×450.
    let source = shared_image("real/exifsamples_orientation_landscape_6.jpg");
    let out = render(&source, &[2048, 400, 100]);
    let sizes: Vec<_> = out
        .iter()
        .map(|r| (r.variant.as_str(), r.width, r.height))
        .collect();
    assert_eq!(
        sizes,
        [("v2048", 600, 450), ("v400", 400, 300), ("v100", 100, 75)]
    );
    // Same input, same bytes.
    let again = render(&source, &[2048, 400, 100]);
    assert!(
        out.iter()
            .zip(&again)
            .all(|(a, b)| a.bytes == b.bytes && a.sha256 == b.sha256)
    );
}

#[test]
fn square_pad_and_cover_variants_have_exact_sizes_on_a_real_photo() {
    let square = |fit| VariantSpec {
        longest_edge: None,
        width: Some(1000),
        height: Some(1000),
        fit,
        ..VariantSpec::longest("square", 1, 90)
    };
    let source = shared_image("real/exifsamples_mobile_jolla.jpg"); // 3264×2448
    let specs = [
        square(Fit::Pad),
        square(Fit::Cover),
        VariantSpec::longest("large", 1500, 90),
    ];
    let out = pipeline::render(&source, &Recipe::new(specs.to_vec())).unwrap();
    let sizes: Vec<_> = out.iter().map(|r| (r.width, r.height)).collect();
    assert_eq!(sizes, [(1000, 1000), (1000, 1000), (1500, 1125)]);
    // Pad: white bands above and below the 1000×750 photo.
    let padded = decode(&out[0]);
    for (x, y) in [(500, 5), (500, 994), (5, 60)] {
        let p = padded.get_pixel(x, y).0;
        assert!(p.iter().all(|c| *c >= 250), "({x},{y}) is {p:?}, not white");
    }
}

#[test]
fn the_admins_copyright_and_artist_replace_the_camera_metadata_in_every_format() {
    let mut config = uploader_core::config::Config::default();
    config.metadata.copyright = Some("© Example Retail".into());
    config.metadata.artist = Some("Studio A".into());
    config.variants = vec![
        formatted("jpeg", 800, Format::Jpeg),
        formatted("webp", 400, Format::Webp),
    ];
    let source = shared_image("real/exifsamples_mobile_HMD_Nokia_8.3_5G.jpg"); // has GPS
    for r in pipeline::render(&source, &Recipe::from_config(&config)).unwrap() {
        let exif = exif::Reader::new()
            .read_from_container(&mut std::io::Cursor::new(&r.bytes))
            .unwrap_or_else(|e| panic!("{}: no EXIF: {e}", r.variant));
        let tags: Vec<_> = exif.fields().map(|f| f.tag).collect();
        assert_eq!(
            tags,
            [exif::Tag::Artist, exif::Tag::Copyright],
            "{}",
            r.variant
        );
    }
}

#[test]
fn limits_from_the_config_refuse_what_the_defaults_allow() {
    let mut config = uploader_core::config::Config::default();
    config.limits.max_megapixels = 5;
    config.limits.max_file_mb = 1;
    let recipe = Recipe::from_config(&config);
    let cases = [
        ("derived/rgb-16bit.png", "larger than the limit of 1 MB"), // 5.4 MB
        ("derived/nokia83_9MP.webp", "over the 5 megapixel limit"),
    ];
    for (file, reason) in cases {
        let err = pipeline::render(&shared_image(file), &recipe).unwrap_err();
        assert!(err.to_string().contains(reason), "{file}: {err}");
    }
}

#[test]
fn a_kept_original_has_the_sources_pixels_without_its_metadata() {
    let original = VariantSpec {
        longest_edge: None,
        original: true,
        ..VariantSpec::longest("original", 1, 90)
    };
    let specs = vec![original, VariantSpec::longest("small", 300, 80)];
    // (file, extension, pixels identical to the source's, EXIF orientation left)
    let cases = [
        (
            "real/exifsamples_mobile_HMD_Nokia_8.3_5G.jpg",
            "jpg",
            true,
            None,
        ),
        (
            "real/exifsamples_orientation_landscape_6.jpg",
            "jpg",
            true,
            Some(6),
        ),
        ("derived/cmyk.jpg", "jpg", true, None),
        ("derived/palette-alpha.png", "png", true, None),
        ("derived/lossless-alpha.webp", "webp", true, None),
        ("hostile/trailing-zip-polyglot.jpg", "jpg", true, None),
        (
            "real/exifsamples_mobile_iphone_13_pro_max.HEIC",
            "jpg",
            false,
            None,
        ),
    ];
    for (file, extension, same_pixels, orientation) in cases {
        let source = shared_image(file);
        let out = pipeline::render(&source, &Recipe::new(specs.clone())).unwrap();
        let kept = &out[0];
        assert_eq!(kept.extension, extension, "{file}");
        assert!(
            !kept.bytes.windows(4).any(|w| w == b"PK\x03\x04"),
            "{file}: trailing data survived"
        );
        let exif = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&kept.bytes));
        let tags: Vec<_> = exif
            .iter()
            .flat_map(|e| e.fields().map(|f| f.tag))
            .collect();
        let want: Vec<_> = orientation.iter().map(|_| exif::Tag::Orientation).collect();
        assert_eq!(tags, want, "{file}: only the orientation may stay");
        let ours = image::load_from_memory(&kept.bytes).unwrap();
        if same_pixels {
            let theirs = image::open(&source).unwrap();
            assert!(
                ours.as_bytes() == theirs.as_bytes(),
                "{file}: pixels changed"
            );
        }
        let (w, h) = (ours.width(), ours.height());
        let upright = if orientation == Some(6) {
            (h, w)
        } else {
            (w, h)
        };
        assert_eq!((kept.width, kept.height), upright, "{file}");
    }
}

#[test]
fn a_photo_far_smaller_than_a_variant_is_kept_with_a_warning_naming_both_sizes() {
    let out = render(&shared_image("hostile/tiny-1x1.png"), &[2000, 400]);
    for r in &out {
        assert_eq!((r.width, r.height), (1, 1));
        let warning = r.warning.as_deref().unwrap_or_default();
        assert!(
            warning.contains("only 1×1") && warning.contains(&format!("`{}`", r.variant)),
            "{warning}"
        );
    }
    let big = render(
        &shared_image("real/exifsamples_mobile_jolla.jpg"),
        &[2000, 400],
    );
    assert!(big.iter().all(|r| r.warning.is_none()));
}

fn formatted(name: &str, edge: u32, format: Format) -> VariantSpec {
    VariantSpec {
        format,
        ..VariantSpec::longest(name, edge, 90)
    }
}

#[test]
fn transparent_sources_keep_alpha_in_png_and_webp_and_sit_on_white_in_jpeg() {
    for file in ["derived/palette-alpha.png", "derived/lossless-alpha.webp"] {
        let specs = [
            formatted("png", 400, Format::Png),
            formatted("webp", 400, Format::Webp),
            formatted("jpeg", 400, Format::Jpeg),
        ];
        let out = pipeline::render(&shared_image(file), &Recipe::new(specs.to_vec())).unwrap();
        let kinds: Vec<_> = out.iter().map(|r| (r.extension, r.content_type)).collect();
        assert_eq!(
            kinds,
            [
                ("png", "image/png"),
                ("webp", "image/webp"),
                ("jpg", "image/jpeg")
            ],
            "{file}"
        );
        let png = image::load_from_memory(&out[0].bytes).unwrap().into_rgba8();
        let webp = image::load_from_memory(&out[1].bytes).unwrap().into_rgba8();
        let jpeg = decode(&out[2]);
        let clear: Vec<(u32, u32)> = png
            .enumerate_pixels()
            .filter(|(_, _, p)| p[3] == 0)
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(
            clear.len() > 100,
            "{file}: the PNG variant kept no transparency"
        );
        for &(x, y) in clear.iter().step_by(97) {
            assert!(
                webp.get_pixel(x, y)[3] < 16,
                "{file}: WebP opaque at ({x},{y})"
            );
            let p = jpeg.get_pixel(x, y).0;
            assert!(
                p.iter().all(|&c| c > 235),
                "{file}: JPEG at ({x},{y}) is {p:?}"
            );
        }
    }
}

#[test]
fn the_jpeg_planes_path_gives_the_picture_the_rgb_path_gives() {
    // All-JPEG variants keep the source's Y/Cb/Cr planes; one PNG variant forces RGB.
    for file in [
        "real/exifsamples_mobile_jolla.jpg",
        "orientation/Portrait_6.jpg",
        "derived/greyscale.jpg",
    ] {
        let source = shared_image(file);
        // Even and odd sizes: at odd ones the last chroma sample covers half a pixel more.
        for edge in [800, 799] {
            let planes = render(&source, &[edge]);
            let specs = [
                VariantSpec::longest(&format!("v{edge}"), edge, 90),
                formatted("png", 64, Format::Png),
            ];
            let rgb = pipeline::render(&source, &Recipe::new(specs.to_vec())).unwrap();
            let diff = mean_abs_diff(&decode(&planes[0]), &decode(&rgb[0]));
            assert!(
                diff < 1.5,
                "{file} at {edge}: the paths differ by {diff:.2}"
            );
        }
    }
}

#[test]
fn phone_heic_photos_come_out_upright_without_metadata() {
    // Nokia: stored upright, EXIF "normal", but a wrong irot 270. iPhone: EXIF 6 and irot agree.
    let cases = [
        (
            "real/exifsamples_mobile_HMD_Nokia_8.3_5G.heif",
            (2000, 1500),
        ),
        (
            "real/exifsamples_mobile_iphone_13_pro_max.HEIC",
            (1500, 2000),
        ),
    ];
    for (file, size) in cases {
        let out = render(&shared_image(file), &[2000]);
        assert_eq!((out[0].width, out[0].height), size, "{file}");
        assert_eq!(
            metadata_markers(&out[0].bytes),
            Vec::<u8>::new(),
            "{file}: metadata"
        );
        assert_eq!(decode(&out[0]).dimensions(), size, "{file}: decodes");
    }
}

/// Every file in shared/images: processed, or refused with a reason that names it.
#[test]
fn every_shared_image_is_processed_or_refused_with_a_reason() {
    let refused: &[(&str, &str)] = &[
        ("hostile/empty.jpg", "the file is empty"),
        ("hostile/text-named-as.jpg", "not an image"),
        ("hostile/svg-named-as.png", "not an image"),
        ("hostile/truncated.jpg", "damaged or cut short"),
        ("hostile/corrupt-scan.jpg", "damaged or cut short"),
        (
            "hostile/bomb-60000x60000.png",
            "over the 100 megapixel limit",
        ),
        (
            "hostile/bomb-deflate-20000x20000.png",
            "over the 100 megapixel limit",
        ),
        ("hostile/jpeg-claims-65500x65500.jpg", "exceeds limit"),
        ("hostile/gif-claims-65535x65535.gif", "exceeds limit"),
        ("hostile/bad-crc.png", "CRC error"),
        ("hostile/truncated.webp", "not a valid WEBP image"),
        ("hostile/truncated.heic", "not a valid HEIF file"),
    ];
    let root = shared_image("");
    let mut seen = 0;
    for dir in ["real", "derived", "hostile", "orientation"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for path in files
            .into_iter()
            .filter(|p| p.file_name().is_some_and(|n| n != "LICENSE"))
        {
            let rel = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            let result = pipeline::render(&path, &Recipe::new(variants(&[1200, 300])));
            match (refused.iter().find(|(f, _)| *f == rel), result) {
                (Some((_, reason)), Err(e)) => {
                    let text = e.to_string();
                    assert!(
                        text.contains(&rel) && text.contains(reason),
                        "{rel}: {text}"
                    );
                }
                (None, Ok(out)) => {
                    assert_eq!(out.len(), 2, "{rel}");
                    for r in &out {
                        let img = decode(r);
                        assert_eq!(img.dimensions(), (r.width, r.height), "{rel}");
                    }
                }
                (Some(_), Ok(_)) => panic!("{rel}: should have been refused"),
                (None, Err(e)) => panic!("{rel}: should have been processed: {e}"),
            }
            seen += 1;
        }
    }
    assert!(seen >= 50, "only {seen} files seen");
}
