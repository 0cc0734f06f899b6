//! The desktop shell: a thin layer over `uploader-core`. Commands parse input, call the core and
//! map errors to `{code, message}`; core events are forwarded to the window, throttled.
//! Only this crate knows Tauri and the JSON shapes the UI sees.

mod bindings;
mod commands;
mod dto;
mod forward;
mod outbox_watch;
mod state;
mod thumbnails;

use std::path::PathBuf;

use tauri::Manager;

pub use bindings::typescript as typescript_bindings;

pub fn run() {
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        // The window opens at the size and place it was left at.
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .register_asynchronous_uri_scheme_protocol(thumbnails::SCHEME, thumbnails::handle)
        .invoke_handler(tauri::generate_handler![
            commands::review_paths,
            commands::add_paths,
            commands::control_jobs,
            commands::gallery,
            commands::remove_image,
            commands::replace_image,
            commands::object_link,
            commands::outbox_rows,
            commands::outbox_retry,
            commands::list_jobs,
            commands::app_status,
            commands::outbox_status
        ])
        .setup(|app| {
            let state = tauri::async_runtime::block_on(state::AppState::open());
            if let Some(uploader) = state.uploader() {
                forward::spawn(app.handle().clone(), uploader.subscribe());
                outbox_watch::spawn(app.handle().clone(), uploader.clone());
                // Paths on the command line ("Open with…", scripts/run.sh PHOTO…) are queued
                // like a drop. Flags (e.g. WebDriver's `--automation`) are not paths.
                let paths: Vec<PathBuf> = std::env::args_os()
                    .skip(1)
                    .filter(|a| !a.to_string_lossy().starts_with('-'))
                    .map(PathBuf::from)
                    .collect();
                if !paths.is_empty()
                    && let Err(e) = uploader.enqueue(&paths, None)
                {
                    eprintln!("cannot queue the files given on the command line: {e}");
                }
                tauri::async_runtime::spawn(uploader.clone().run_forever());
                tauri::async_runtime::spawn(uploader.clone().outbox_forever());
            }
            app.manage(state);
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Catalog Uploader could not start its window: {e}");
        std::process::exit(1);
    }
}
