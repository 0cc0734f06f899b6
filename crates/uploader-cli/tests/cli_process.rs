//! `uploader process`: the pipeline to a folder, with no bucket, credentials or network.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use uploader_testkit::copy_images;

/// `files` of shared/images copied into `dir/in`.
fn photos(dir: &Path, files: &[&str]) -> PathBuf {
    let photos = dir.join("in");
    std::fs::create_dir_all(&photos).unwrap();
    copy_images(files, &photos);
    photos
}

#[test]
fn photos_are_rendered_into_the_key_layout_and_failures_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos(
        dir.path(),
        &[
            "real/exifsamples_mobile_jolla.jpg",
            "orientation/Portrait_5.jpg",
            "hostile/truncated.jpg",
        ],
    );
    let out_dir = dir.path().join("out");

    let out = Command::new(env!("CARGO_BIN_EXE_uploader"))
        .env_clear()
        .env("HOME", dir.path())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["process", "--json", "--out"])
        .arg(&out_dir)
        .arg(&photos)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["processed"].as_u64(), report["failed"].as_u64()),
        (Some(2), Some(1))
    );

    let files = report["files"].as_array().unwrap();
    let truncated = files
        .iter()
        .find(|f| f["source"].as_str().unwrap().ends_with("truncated.jpg"))
        .unwrap();
    let error = truncated["error"].as_str().unwrap();
    assert!(
        error.contains("truncated.jpg") && error.contains("damaged or cut short"),
        "{error}"
    );

    let jolla = files.iter().find(|f| f["sku"] == "exifsamples").unwrap();
    let outputs = jolla["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 2);
    for o in outputs {
        let path = std::path::PathBuf::from(o["path"].as_str().unwrap());
        assert!(
            path.starts_with(out_dir.join("exifsamples")),
            "{}",
            path.display()
        );
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, o["bytes"].as_u64().unwrap());
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            (
                o["width"].as_u64().unwrap() as u32,
                o["height"].as_u64().unwrap() as u32
            )
        );
    }
    // Portrait_5 is stored sideways: it comes out portrait.
    let portrait = files.iter().find(|f| f["sku"] == "Portrait").unwrap();
    let large = &portrait["outputs"][0];
    assert!(
        large["height"].as_u64() > large["width"].as_u64(),
        "{large}"
    );
}

/// The same photos give the same bytes whichever SIMD code libjpeg-turbo runs: its plain C
/// path (`JSIMD_FORCENONE`), SSE2, or the best this CPU has. With the resizer's own check
/// (`every_simd_path_gives_the_same_bytes_as_the_plain_one`), a SHA-256 recorded on one x86-64
/// workstation is the one every other computes.
#[test]
fn outputs_are_the_same_bytes_whatever_simd_the_cpu_has() {
    let dir = tempfile::tempdir().unwrap();
    let photos = photos(
        dir.path(),
        &[
            "real/exifsamples_mobile_jolla.jpg",
            "orientation/Portrait_6.jpg",
            "derived/progressive.jpg",
            "derived/palette-alpha.png",
        ],
    );
    let hashes = |simd: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_uploader"));
        command.env_clear().env("HOME", dir.path());
        if let Some(var) = simd {
            command.env(var, "1");
        }
        let out = command
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["process", "--json", "--jobs", "1", "--out"])
            .arg(dir.path().join("out"))
            .arg(&photos)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut hashes: Vec<String> = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["outputs"].as_array().unwrap().clone())
            .map(|o| format!("{} {}", o["path"], o["sha256"]))
            .collect();
        hashes.sort();
        hashes
    };
    let best = hashes(None);
    assert_eq!(best.len(), 8);
    for simd in ["JSIMD_FORCENONE", "JSIMD_FORCESSE2"] {
        assert_eq!(hashes(Some(simd)), best, "{simd}");
    }
}
