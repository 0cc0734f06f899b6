//! An empty Tauri 2 window whose page answers one command round trip, then marks itself ready
//! the way the app does: what launch time and memory cost before the app adds anything.

#[tauri::command]
fn ping() -> &'static str {
    "pong"
}

fn main() {
    let result = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![ping])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("the baseline window could not start: {e}");
        std::process::exit(1);
    }
}
