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
        description = "Presigns uploads for workstations that hold no AWS keys, registers what they uploaded, and queues their deletions. Every error is JSON `{code, message}`."
    ),
    paths(
        api::health::health,
        api::session::session,
        api::presign::presign,
        api::complete::complete,
        api::objects::object,
        api::objects::link,
        api::multipart::create,
        api::multipart::open_uploads,
        api::multipart::sign,
        api::multipart::parts,
        api::multipart::complete,
        api::multipart::abort,
        api::deletions::queue,
        api::deletions::deletion_stats,
    ),
    components(schemas(uploader_api::ErrorBody)),
    modifiers(&BearerToken, &CommonErrors)
)]
pub struct ApiDoc;

struct BearerToken;

/// Errors any route can answer, added where a route does not list them itself: 400 for a
/// malformed request, 413 for an oversize body, 500 and 502 when the backend or S3 fails.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            utoipa::openapi::ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let has_body = item.post.is_some();
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str| {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| error(description).into());
                };
                add("400", "The request is malformed, or a field was refused");
                if has_body {
                    add("413", "The body is larger than the backend reads");
                }
                add("500", "The backend failed");
                add("502", "S3 failed or refused the backend");
            }
        }
    }
}

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
