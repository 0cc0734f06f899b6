//! The `thumb:` URI scheme: `<img src>` of a source photo's preview, rendered by the core off
//! the UI thread. The URL's path is the file's path, percent-encoded (`convertFileSrc`), or
//! `object:` and a key for an uploaded object's preview.

use std::path::PathBuf;

use tauri::http::{Request, Response, StatusCode, header};
use tauri::{Manager, UriSchemeContext, UriSchemeResponder, Wry};

use crate::state::AppState;

pub const SCHEME: &str = "thumb";

/// `object:` + a key: the preview of an uploaded object, fetched through a presigned GET.
const OBJECT: &str = "object:";

pub fn handle(
    ctx: UriSchemeContext<'_, Wry>,
    request: Request<Vec<u8>>,
    responder: UriSchemeResponder,
) {
    let app = ctx.app_handle().clone();
    let path = source_path(request.uri().path());
    if let Some(key) = path
        .as_ref()
        .and_then(|p| p.to_str())
        .and_then(|p| p.strip_prefix(OBJECT))
        .map(str::to_string)
    {
        tauri::async_runtime::spawn(async move {
            let state = app.state::<AppState>();
            let rendered = match state.require() {
                Ok(uploader) => uploader.object_preview(&key).await,
                Err(e) => Err(e.message),
            };
            responder.respond(answer(rendered));
        });
        return;
    }
    tauri::async_runtime::spawn_blocking(move || {
        let state = app.state::<AppState>();
        let rendered = match (state.require(), path) {
            (Ok(uploader), Some(path)) => uploader.thumbnail(&path).map_err(|e| e.to_string()),
            (Err(e), _) => Err(e.message),
            (_, None) => Err("not a file path".into()),
        };
        responder.respond(answer(rendered));
    });
}

/// The preview, or 404 with the reason (shown as the image's failure, read by tests).
fn answer(rendered: Result<Vec<u8>, String>) -> Response<Vec<u8>> {
    match rendered {
        Ok(jpeg) => response(StatusCode::OK, "image/jpeg", jpeg),
        Err(message) => response(StatusCode::NOT_FOUND, "text/plain", message.into_bytes()),
    }
}

fn response(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Vec<u8>> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(v) = content_type.parse() {
        headers.insert(header::CONTENT_TYPE, v);
    }
    // The preview of a path changes only with the file, and the cache renews it then.
    if let Ok(v) = "max-age=3600".parse() {
        headers.insert(header::CACHE_CONTROL, v);
    }
    response
}

/// `/%2Fhome%2Fa%2FA1.jpg` → `/home/a/A1.jpg` (and `C:\...` on Windows).
fn source_path(uri_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(uri_path.strip_prefix('/').unwrap_or(uri_path))?;
    (!decoded.is_empty()).then(|| PathBuf::from(decoded))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_path_gives_back_the_file_path_it_encodes() {
        let cases = [
            ("/%2Fhome%2Fa%2FA1_front.jpg", Some("/home/a/A1_front.jpg")),
            ("/C%3A%5CPhotos%5Cb%20c.jpg", Some("C:\\Photos\\b c.jpg")),
            ("/%2Ftmp%2F%C3%A9t%C3%A9.png", Some("/tmp/été.png")),
            ("/%2", None),
            ("/%zz", None),
            ("/", None),
        ];
        for (uri, want) in cases {
            assert_eq!(source_path(uri), want.map(PathBuf::from), "{uri}");
        }
    }
}
