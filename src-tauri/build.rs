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
    let attributes =
        tauri_build::Attributes::new().capabilities_path_pattern("./src-tauri/capabilities/**/*");
    if let Err(e) = tauri_build::try_build(attributes) {
        println!("cargo:warning=tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
