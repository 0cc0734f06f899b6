// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    uploader_core::heap::limit_arenas();
    uploader_core::config::prepare_keyring();
    catalog_uploader::run();
}
