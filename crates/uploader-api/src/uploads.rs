//! Single-PUT uploads: presigning a batch of files, and registering what was uploaded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresignRequest {
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub files: Vec<FileToSign>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileToSign {
    /// Where the file goes below the backend's prefix, e.g. `SKU123/front-large.jpg`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub path: String,
    /// An `image/…` type; signed, so the object is stored with it.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+$", max_length = 100)
    )]
    pub content_type: String,
    /// Bytes; signed, so no other length is accepted.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes; signed, so S3 refuses any other bytes.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// The source file's name on the workstation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// This upload's own id (32 lowercase hex characters), stored with the object as its
    /// `object-id` metadata: a deletion names it, so it never removes a later upload of the
    /// same key, even one of the same bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub object_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresignResponse {
    /// One per file, in the order asked.
    pub uploads: Vec<SignedUpload>,
}

/// A request to send as it is: this method, to this URL, with exactly these headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedRequest {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    /// When the URL stops working, in milliseconds since the Unix epoch (the backend's clock).
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedUpload {
    pub path: String,
    /// The object's key: the backend's prefix and `path`.
    pub key: String,
    #[serde(flatten)]
    pub request: SignedRequest,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompleteRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 1024))]
    pub path: String,
    pub size: u64,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{64}$"))]
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The source file's name on the workstation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// The upload's `object-id`, as signed; checked against the stored object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[0-9a-f]{32}$"))]
    pub object_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompleteResponse {
    pub key: String,
    /// False when exactly this object was registered before.
    pub registered: bool,
}
