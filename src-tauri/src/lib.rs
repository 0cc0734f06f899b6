//! The desktop shell: a thin layer over `uploader-core`. Commands parse input, call the core and
//! map errors to `{code, message}`; core events are forwarded to the window, throttled.
//! Only this crate knows Tauri and the JSON shapes the UI sees.

mod bindings;
#[cfg(test)]
mod capabilities;
mod commands;
mod dto;
mod forward;
mod outbox_watch;
mod single_instance;
mod state;
mod thumbnails;

use std::path::PathBuf;

use tauri::{Emitter, Manager};

pub use bindings::typescript as typescript_bindings;

pub fn run() {
    uploader_core::private::restrict_new_files();
    let config = state::AppState::load_config();
    // Paths on the command line ("Open with…", scripts/run.sh PHOTO…) are reviewed like a
    // drop. Flags (e.g. WebDriver's `--automation`) are not paths.
    let paths: Vec<PathBuf> = std::env::args_os()
        .skip(1)
        .filter(|a| !a.to_string_lossy().starts_with('-'))
        .map(PathBuf::from)
        .collect();
    // One window per data folder: a second launch gives its paths to the first and ends here
    // (before it logs, so only the window that stays writes the log).
    let listener = match config.as_ref().ok().and_then(|c| c.data_dir.as_deref()) {
        Some(data_dir) => match single_instance::claim(data_dir, &paths) {
            Ok(single_instance::Claim::HandedOver) => return,
            Ok(single_instance::Claim::First(listener)) => Some(listener),
            Err(e) => {
                eprintln!("opening a second window: {e}");
                None
            }
        },
        None => None,
    };
    let _log = uploader_core::diagnostics::log_dir().and_then(|dir| {
        uploader_core::diagnostics::init(&dir, "app")
            .map_err(|e| eprintln!("Catalog Uploader runs without a log file: {e}"))
            .ok()
    });
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
            commands::outbox_status,
            commands::settings,
            commands::save_settings,
            commands::reset_settings,
            commands::credentials,
            commands::store_credentials,
            commands::clear_credentials,
            commands::support_bundle,
            commands::test_connection,
            commands::take_launch_paths
        ])
        .setup(move |app| {
            // Outside the capabilities folder, so a release build never holds it.
            #[cfg(debug_assertions)]
            app.add_capability(include_str!("../capabilities-debug/webdriver.json"))?;
            let state = tauri::async_runtime::block_on(state::AppState::open(config));
            state.set_launch_paths(paths);
            if let Some(listener) = listener {
                let app = app.handle().clone();
                listener.serve(move |paths| hand_over(&app, paths));
            }
            if let Some(uploader) = state.uploader() {
                forward::spawn(app.handle().clone(), uploader.subscribe());
                outbox_watch::spawn(app.handle().clone(), uploader.clone());
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

/// A later launch's paths: the window comes to the front and reviews them.
fn hand_over(app: &tauri::AppHandle, paths: Vec<PathBuf>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    if !paths.is_empty()
        && let Err(e) = app.emit(dto::OPEN_PATHS_EVENT, paths)
    {
        eprintln!("cannot give the window the files of a second launch: {e}");
    }
}
