/// Every command the shell registers. Each gets an `allow-…` permission that the window's
/// capability must grant by name: nothing is allowed by default
/// (`capabilities_grant_only_the_app_commands_and_what_the_ui_uses` checks the list).
const COMMANDS: &[&str] = &[
    "review_paths",
    "add_paths",
    "control_jobs",
    "gallery",
    "remove_image",
    "replace_image",
    "object_link",
    "outbox_rows",
    "outbox_retry",
    "list_jobs",
    "app_status",
    "outbox_status",
    "settings",
    "save_settings",
    "reset_settings",
    "credentials",
    "store_credentials",
    "clear_credentials",
    "support_bundle",
    "test_connection",
    "take_launch_paths",
];

/// Merged into tauri.conf.json in debug builds (see `main`).
const DEBUG_CONFIG: &str = r#"{"app":{"withGlobalTauri":true}}"#;

fn main() {
    // The window embeds the built UI; say how to build it instead of tauri's bare panic.
    if !std::path::Path::new("ui/dist/index.html").exists() {
        println!(
            "cargo:warning=ui/dist is missing: run `npm --prefix ui ci && npm --prefix ui run build` (scripts/test.sh and scripts/run.sh do this)"
        );
    }
    println!("cargo:rerun-if-changed=ui/dist");
    // Without this pattern tauri-build looks in ./capabilities and silently grants nothing.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    // `window.__TAURI__` is for the window tests' WebDriver scripts only (the UI imports the
    // API): debug builds get it by merging this into tauri.conf.json where `generate_context!`
    // reads it; release builds never have it. A TAURI_CONFIG of the caller's own wins.
    if std::env::var("PROFILE").as_deref() == Ok("debug")
        && std::env::var_os("TAURI_CONFIG").is_none()
    {
        println!("cargo:rustc-env=TAURI_CONFIG={DEBUG_CONFIG}");
    }
    println!("cargo:rerun-if-env-changed=PROFILE");
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        println!("cargo:warning=tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
