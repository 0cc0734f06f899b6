//! Errors: JSON `{code, message}`, `code` stable for programs, `message` for people.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// One of: `unauthorized`, `bad_request`, `invalid_path`, `invalid_content_type`,
    /// `batch_too_large`, `body_too_large`, `object_too_large`, `not_uploaded`, `upload_gone`,
    /// `upstream_unavailable`, `upstream_refused`, `not_found`, `id_conflict`, `not_owner`,
    /// `timeout`, `internal`.
    pub code: String,
    pub message: String,
    /// The request's id, also in the `x-request-id` header: the backend's log has the
    /// details under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The stable error codes.
pub mod code {
    /// No token, or one that is unknown or revoked (401).
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// The request is malformed: a field is missing or invalid (400).
    pub const BAD_REQUEST: &str = "bad_request";
    /// A path could leave the prefix or break a URL; nothing was signed (400).
    pub const INVALID_PATH: &str = "invalid_path";
    /// A type the backend does not sign (`UPLOADER_CONTENT_TYPES`) (400).
    pub const INVALID_CONTENT_TYPE: &str = "invalid_content_type";
    /// More files or parts than are signed at once (413).
    pub const BATCH_TOO_LARGE: &str = "batch_too_large";
    /// A larger body than the backend reads (413).
    pub const BODY_TOO_LARGE: &str = "body_too_large";
    /// An object, or a multipart upload's parts together, over the backend's
    /// `UPLOADER_MAX_OBJECT_BYTES` (413).
    pub const OBJECT_TOO_LARGE: &str = "object_too_large";
    /// Registering an object that is not stored with that size and SHA-256 (409).
    pub const NOT_UPLOADED: &str = "not_uploaded";
    /// The multipart upload no longer exists (410).
    pub const UPLOAD_GONE: &str = "upload_gone";
    /// S3 could not be reached or failed; worth retrying (502, 503).
    pub const UPSTREAM_UNAVAILABLE: &str = "upstream_unavailable";
    /// S3 refused the backend (its keys, policy or bucket); retrying cannot help (502).
    pub const UPSTREAM_REFUSED: &str = "upstream_refused";
    /// No such route, or not with that method (404, 405).
    pub const NOT_FOUND: &str = "not_found";
    /// A deletion id already used for another path; refused per deletion.
    pub const ID_CONFLICT: &str = "id_conflict";
    /// The key holds (or the upload belongs to) another workstation's object, and this
    /// token's scope is `own`: it may not overwrite, delete or abort it (403; per deletion).
    pub const NOT_OWNER: &str = "not_owner";
    /// The request took longer than the backend's `UPLOADER_REQUEST_TIMEOUT_SECS`: a slow
    /// body, or a slow S3; worth retrying (503).
    pub const TIMEOUT: &str = "timeout";
    /// The backend itself failed (500).
    pub const INTERNAL: &str = "internal";
}
