//! The contract between Catalog Uploader and its backend: the JSON bodies of every route,
//! shared by the reference backend and the app, so neither can drift from the other. The
//! OpenAPI file (`docs/openapi.json`) is generated from these with the `openapi` feature.

pub mod deletions;
pub mod error;
pub mod multipart;
pub mod objects;
pub mod session;
pub mod uploads;

pub use deletions::*;
pub use error::{ErrorBody, code};
pub use multipart::*;
pub use objects::*;
pub use session::*;
pub use uploads::*;

/// Every route, relative to the backend's base URL.
pub mod route {
    pub const HEALTH: &str = "/v1/health";
    pub const SESSION: &str = "/v1/session";
    pub const PRESIGN: &str = "/v1/uploads/presign";
    pub const REGISTER: &str = "/v1/uploads/complete";
    pub const OBJECTS: &str = "/v1/objects";
    pub const OBJECT_LINK: &str = "/v1/objects/link";
    pub const MULTIPART: &str = "/v1/uploads/multipart";
    pub const MULTIPART_SIGN: &str = "/v1/uploads/multipart/sign";
    pub const MULTIPART_PARTS: &str = "/v1/uploads/multipart/parts";
    pub const MULTIPART_COMPLETE: &str = "/v1/uploads/multipart/complete";
    pub const MULTIPART_ABORT: &str = "/v1/uploads/multipart/abort";
    pub const DELETIONS: &str = "/v1/deletions";
    pub const DELETION_STATS: &str = "/v1/deletions/stats";
}
