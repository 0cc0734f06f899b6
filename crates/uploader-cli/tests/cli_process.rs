//! `uploader process`: the pipeline to a folder, with no bucket, credentials or network.

use std::process::Command;

use serde_json::Value;
use uploader_testkit::copy_images;

#[test]
fn photos_are_rendered_into_the_key_layout_and_failures_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("in");
    std::fs::create_dir_all(&photos).unwrap();
    copy_images(
        &[
            "real/exifsamples_mobile_jolla.jpg",
            "orientation/Portrait_5.jpg",
            "hostile/truncated.jpg",
        ],
        &photos,
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
