//! The API's OpenAPI description, generated from the handlers' annotations. It is committed
//! as `docs/openapi.json`; a test fails when the two differ.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::api;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Catalog Uploader backend",
        description = "Presigns uploads for workstations that hold no AWS keys, and registers what they uploaded. Every error is JSON `{code, message}`."
    ),
    paths(
        api::health::health,
        api::session::session,
        api::presign::presign,
        api::complete::complete,
        api::objects::object,
        api::multipart::create,
        api::multipart::open_uploads,
        api::multipart::sign,
        api::multipart::parts,
        api::multipart::complete,
        api::multipart::abort,
    ),
    components(schemas(uploader_api::ErrorBody)),
    modifiers(&BearerToken)
)]
pub struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

/// The description as committed: pretty JSON with a final newline.
pub fn json() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_openapi_file_matches_the_server() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == super::json(),
            "docs/openapi.json is out of date: run `cargo run -p uploader-backend -- openapi > docs/openapi.json`"
        );
    }
}
