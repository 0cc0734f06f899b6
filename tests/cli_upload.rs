//! `uploader upload` against a real SeaweedFS server, on real photos.

mod support;

use std::collections::HashMap;

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{Workspace, run_json};
use uploader_core::config::VariantSpec;
use uploader_core::pipeline::{self, Recipe};
use uploader_testkit::{S3Server, copy_images};

const CONFIG: &str = r#"
[[variant]]
name = "large"
longest_edge = 1600
quality = 85

[[variant]]
name = "thumb"
longest_edge = 320
quality = 80
"#;

fn variants() -> Vec<VariantSpec> {
    vec![
        VariantSpec::longest("large", 1600, 85),
        VariantSpec::longest("thumb", 320, 80),
    ]
}

#[tokio::test]
async fn real_photos_land_under_the_prefix_as_the_pipeline_rendered_them() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let photos = copy_images(
        &[
            "real/exifsamples_mobile_jolla.jpg",
            "real/exifsamples_hdr_canon_hdr_NO.jpg",
            "real/mate_Elephants_5640x3172.jpg",
            "real/exifsamples_orientation_landscape_6.jpg",
        ],
        &ws.photos(),
    );

    let (code, report) = run_json(
        ws.uploader(&server)
            .args(["upload", "--json"])
            .arg(ws.photos()),
    );
    assert_eq!(code, 0, "{report:#}");
    let files = report["files"].as_array().expect("files");
    assert_eq!(files.len(), photos.len());
    assert_eq!(report["uploaded"], photos.len());

    let mut expected_keys = Vec::new();
    for file in files {
        let source = std::path::PathBuf::from(file["source"].as_str().expect("source"));
        let stem = source.file_stem().unwrap().to_string_lossy().into_owned();
        let sku = stem.split('_').next().unwrap().to_string();
        assert_eq!(file["state"], "uploaded", "{file:#}");
        assert_eq!(file["sku"], sku.as_str());
        assert!(file["error"].is_null());

        // What the pipeline renders for this source is what must be in the bucket, byte for byte.
        let rendered: HashMap<String, pipeline::Rendition> =
            pipeline::render(&source, &Recipe::new(variants()))
                .expect("render")
                .into_iter()
                .map(|r| (r.variant.clone(), r))
                .collect();
        let keys: Vec<&str> = file["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(keys.len(), 2);
        let mut total = 0;
        for (variant, key) in [("large", keys[0]), ("thumb", keys[1])] {
            assert_eq!(key, format!("products/{sku}/{stem}-{variant}.jpg"));
            let (body, content_type) = server.get(key).await;
            assert_eq!(content_type.as_deref(), Some("image/jpeg"), "{key}");
            let want = &rendered[variant];
            assert!(
                body == want.bytes,
                "{key}: stored bytes differ from the pipeline's output"
            );
            assert_eq!(format!("{:x}", Sha256::digest(&body)), want.sha256);
            let decoded = image::load_from_memory_with_format(&body, image::ImageFormat::Jpeg)
                .expect("stored JPEG decodes");
            // The configured edge, or the source's own when smaller: never an upscale.
            let (sw, sh) = image::image_dimensions(&source).expect("source dimensions");
            let edge = if variant == "large" { 1600 } else { 320 };
            assert_eq!(
                decoded.width().max(decoded.height()),
                edge.min(sw.max(sh)),
                "{key}: longest edge"
            );
            total += body.len() as u64;
            expected_keys.push(key.to_string());
        }
        assert_eq!(file["bytes"], total);
    }
    expected_keys.sort();
    assert_eq!(
        server.keys().await,
        expected_keys,
        "nothing else is in the bucket"
    );

    // Orientation 6 (stored sideways) comes out upright: portrait, not landscape.
    let canon = files
        .iter()
        .find(|f| f["source"].as_str().unwrap().contains("canon"))
        .unwrap();
    let (body, _) = server.get(canon["keys"][0].as_str().unwrap()).await;
    let upright = image::load_from_memory(&body).unwrap();
    assert!(
        upright.height() > upright.width(),
        "EXIF orientation 6 must be applied"
    );

    // The local database remembers the batch.
    let out = ws
        .uploader(&server)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["uploaded"], photos.len());
}

#[tokio::test]
async fn a_corrupt_file_fails_alone_naming_the_file_and_the_reason() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let good = copy_images(
        &["real/exifsamples_mobile_jolla.jpg", "hostile/tiny-1x1.png"],
        &ws.photos(),
    );
    let bad = copy_images(
        &["hostile/text-named-as.jpg", "hostile/empty.jpg"],
        &ws.photos(),
    );
    let missing = ws.photos().join("gone.jpg");

    let (code, report) = run_json(
        ws.uploader(&server)
            .args(["upload", "--json", "--sku", "SKU-9"])
            .args(&good)
            .args(&bad)
            .arg(&missing),
    );
    assert_eq!(
        code, 1,
        "a failed file makes the exit code non-zero: {report:#}"
    );
    let by_name = |name: &str| {
        report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["source"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} missing from the report"))
            .clone()
    };
    let cases = [
        ("text-named-as.jpg", "not an image"),
        ("empty.jpg", "the file is empty"),
        ("gone.jpg", "cannot open"),
    ];
    for (name, reason) in cases {
        let file = by_name(name);
        assert_eq!(file["state"], "failed");
        let error = file["error"].as_str().unwrap();
        assert!(
            error.contains(name) && error.contains(reason),
            "{name}: {error}"
        );
        assert!(file["keys"].as_array().unwrap().is_empty());
    }
    let ok = by_name("exifsamples_mobile_jolla.jpg");
    assert_eq!(
        (&ok["state"], &ok["warnings"]),
        (&"uploaded".into(), &serde_json::json!([]))
    );
    // Too small for both variants: uploaded as it is, with a warning for each.
    let tiny = by_name("tiny-1x1.png");
    assert_eq!(tiny["state"], "uploaded");
    let warnings: Vec<&str> = tiny["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings.iter().all(|w| w.contains("only 1×1")),
        "{warnings:?}"
    );
    assert_eq!(
        server.keys().await,
        [
            "products/SKU-9/exifsamples_mobile_jolla-large.jpg",
            "products/SKU-9/exifsamples_mobile_jolla-thumb.jpg",
            "products/SKU-9/tiny-1x1-large.jpg",
            "products/SKU-9/tiny-1x1-thumb.jpg",
        ]
    );
    assert_eq!(
        (report["uploaded"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(3))
    );
}

#[tokio::test]
async fn a_missing_bucket_setting_is_named_before_anything_runs() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let photos = copy_images(&["real/exifsamples_mobile_jolla.jpg"], &ws.photos());
    let out = ws
        .uploader(&server)
        .env_remove("AWS_S3_BUCKET_NAME")
        .arg("upload")
        .args(&photos)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("s3.bucket") && stderr.contains("AWS_S3_BUCKET_NAME"),
        "{stderr}"
    );
    assert!(server.keys().await.is_empty());
}

#[tokio::test]
async fn server_side_failures_are_explained_in_plain_words() {
    let server = S3Server::start().await;
    let ws = Workspace::new(CONFIG);
    let photo = copy_images(
        &["real/exifsamples_orientation_landscape_6.jpg"],
        &ws.photos(),
    );
    let unreachable = format!("http://127.0.0.1:{}", {
        // A port that was free a moment ago: nothing listens there.
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    });
    // (case, variables set, variables removed, what the error must say)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str], &'a str);
    let cases: [Case; 4] = [
        (
            "wrong secret key",
            &[("AWS_SECRET_ACCESS_KEY", "not-the-secret")],
            &[],
            "SignatureDoesNotMatch",
        ),
        (
            "unknown bucket",
            &[("AWS_S3_BUCKET_NAME", "no-such-bucket")],
            &[],
            "NoSuchBucket",
        ),
        (
            "no credentials anywhere",
            &[],
            &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
            "no AWS credentials found",
        ),
        (
            "server down",
            &[("AWS_ENDPOINT_URL", unreachable.as_str())],
            &[],
            "cannot reach",
        ),
    ];
    for (case, set, unset, want) in cases {
        let mut cmd = ws.uploader(&server);
        cmd.envs(set.iter().copied());
        for var in unset {
            cmd.env_remove(var);
        }
        let (code, report) = run_json(
            cmd.args(["upload", "--json", "--offline-timeout", "2"])
                .args(&photo),
        );
        assert_eq!(code, 1, "{case}: {report:#}");
        let error = report["files"][0]["error"].as_str().unwrap_or_default();
        eprintln!("{case}: {error}");
        assert!(error.contains(want), "{case}: {error}");
        assert!(
            error.contains("exifsamples_orientation_landscape_6.jpg"),
            "{case}: {error}"
        );
        assert!(
            !error.contains("not-the-secret"),
            "{case}: a secret reached the message"
        );
    }
    assert!(server.keys().await.is_empty());
}
