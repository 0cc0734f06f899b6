//! What is stored at a path.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ObjectQuery {
    /// The path below the backend's prefix.
    #[cfg_attr(feature = "openapi", param(min_length = 1, max_length = 1024))]
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectState {
    pub key: String,
    pub exists: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The SHA-256 the object was stored with, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The upload's own id (`object-id` metadata), if it was stored with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// The store's version id, where the bucket keeps versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// When the store last wrote the object (its clock), in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_ms: Option<i64>,
}

/// A viewing link asked for: a presigned GET of one private object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct LinkQuery {
    /// The path below the backend's prefix.
    #[cfg_attr(feature = "openapi", param(min_length = 1, max_length = 1024))]
    pub path: String,
    /// How long the link lives; 300 s when absent, at most 3600.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 3600))]
    pub expires_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectLink {
    pub key: String,
    /// A GET of this URL returns the object until `expires_at_ms`.
    pub url: String,
    pub expires_at_ms: i64,
}
