//! Where bytes go. The queue talks to a [`Transport`]: direct S3 ([`S3Direct`]), the
//! company backend's presigned URLs ([`Backend`]), or an `@uppy/companion` server's
//! ([`Companion`]). Every call is safe to repeat: a put of the
//! same bytes to the same key, a part sent again under the same number, an abort of an upload
//! that is already gone.

mod backend;
mod companion;
mod credentials;
mod delegate;
mod error;
mod http;
mod presign;
mod s3_direct;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

pub use backend::Backend;
pub use companion::Companion;
pub use credentials::{CredentialStatus, mask};
pub(crate) use error::causes;
pub use error::{ErrorKind, TransportError};
pub(crate) use http::s3_refused;
pub use presign::{PresignPut, Presigned};
pub use s3_direct::S3Direct;

/// User metadata holding the object's SHA-256 (hex), so a HEAD can tell whether the object
/// already there is ours, for single and multipart uploads alike.
pub const SHA256_METADATA: &str = "sha256";

/// User metadata holding the upload's own id (32 hex characters, drawn when the variant is
/// staged): which upload a key holds, so a deletion removes only the one it means.
pub const OBJECT_ID_METADATA: &str = "object-id";

/// A new upload id: 128 random bits in lowercase hex.
pub fn new_object_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// One object to store in one request.
#[derive(Debug, Clone)]
pub struct PutObject {
    pub key: String,
    pub body: Bytes,
    pub content_type: String,
    /// Lowercase hex SHA-256 of `body`; sent so the server verifies every byte.
    pub sha256: String,
    /// Stored as the object's `object-id` metadata.
    pub object_id: String,
}

/// A part's bytes: a range of a staged file, streamed from disk (and read again if the
/// request is retried), so memory does not grow with the part size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRange {
    pub path: std::path::PathBuf,
    pub offset: u64,
    pub len: u64,
}

/// What a HEAD found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    /// The SHA-256 recorded in the object's metadata, if it has one.
    pub sha256: Option<String>,
    pub etag: Option<String>,
    /// The upload's own id (`object-id` metadata), if it was stored with one.
    pub object_id: Option<String>,
    /// The store's version id, where the bucket keeps versions.
    pub version_id: Option<String>,
    /// When the store last wrote the object, by its own clock.
    pub last_modified_ms: Option<crate::clock::Millis>,
}

impl ObjectInfo {
    /// Whether this is the upload `object_id` of these bytes (`None`: an object stored before
    /// uploads had an id, which must then have none either).
    pub fn is_upload(&self, bytes: u64, sha256: &str, object_id: Option<&str>) -> bool {
        self.size == bytes
            && self.sha256.as_deref() == Some(sha256)
            && self.object_id.as_deref() == object_id
    }
}

/// An object now stored, as whoever keeps the catalog is told of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    pub etag: Option<String>,
    pub sku: String,
    pub variant: String,
    /// The source file's name on the workstation.
    pub original_name: Option<String>,
    pub width: u32,
    pub height: u32,
    /// The upload's own id, as stored with the object.
    pub object_id: Option<String>,
}

/// A part the server holds for a multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerPart {
    pub part_number: u32,
    pub size: u64,
    pub etag: String,
}

/// A part as listed when completing the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: u32,
    pub etag: String,
    /// Base64 CRC32C, as sent with the part.
    pub crc32c: String,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type TransportResult<T> = Result<T, TransportError>;

pub trait Transport: Send + Sync {
    /// Stores one object; returns its ETag.
    fn put_object(&self, object: PutObject) -> BoxFuture<'_, TransportResult<Option<String>>>;

    /// The object at `key`, or `None` if there is none.
    fn head_object<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, TransportResult<Option<ObjectInfo>>>;

    /// Starts a multipart upload (CRC32C per part) of the object with `object_id`; returns
    /// the multipart upload's id.
    fn create_multipart<'a>(
        &'a self,
        key: &'a str,
        content_type: &'a str,
        sha256: &'a str,
        object_id: &'a str,
    ) -> BoxFuture<'a, TransportResult<String>>;

    /// Sends one part with its base64 CRC32C, which the server checks; returns its ETag.
    fn upload_part<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        part_number: u32,
        body: FileRange,
        crc32c: &'a str,
    ) -> BoxFuture<'a, TransportResult<String>>;

    /// The parts the server holds; an error of kind `Gone` if the upload no longer exists.
    fn list_parts<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, TransportResult<Vec<ServerPart>>>;

    /// Joins the parts into the object; returns its ETag.
    fn complete_multipart<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
        parts: Vec<CompletedPart>,
    ) -> BoxFuture<'a, TransportResult<Option<String>>>;

    /// Ids of the multipart uploads open for exactly this key, oldest first.
    fn list_multipart_uploads<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, TransportResult<Vec<String>>>;

    /// Aborts the upload; one that is already gone counts as aborted.
    fn abort_multipart<'a>(
        &'a self,
        key: &'a str,
        upload_id: &'a str,
    ) -> BoxFuture<'a, TransportResult<()>>;

    /// Tells whoever keeps the catalog that an object is stored; safe to repeat. Direct
    /// mode has no one to tell.
    fn register<'a>(&'a self, object: &'a Registration) -> BoxFuture<'a, TransportResult<()>> {
        let _ = object;
        Box::pin(async { Ok(()) })
    }

    /// A cheap request that tells whether the server can be reached at all.
    fn probe(&self) -> BoxFuture<'_, TransportResult<()>>;

    /// Where uploads go, in words, e.g. `s3://catalog at http://127.0.0.1:8333`.
    fn describe(&self) -> String;

    /// A temporary link for viewing the private object at `key` (presigned GET).
    fn view_link<'a>(
        &'a self,
        key: &'a str,
        expires_in: std::time::Duration,
    ) -> BoxFuture<'a, TransportResult<Presigned>> {
        let _ = (key, expires_in);
        Box::pin(async {
            Err(TransportError::new(
                ErrorKind::Permanent,
                "this transport cannot make viewing links",
            ))
        })
    }

    /// How this transport deletes objects.
    fn deletions(&self) -> crate::deletion::Deletions<'_> {
        crate::deletion::Deletions::Unsupported("this transport cannot delete objects")
    }

    /// Something wrong with this computer's clock that a person should fix, once known.
    fn clock_warning(&self) -> Option<String> {
        None
    }

    /// Whether this workstation has what it needs to sign in (never the secret itself).
    fn credentials(&self) -> BoxFuture<'_, CredentialStatus> {
        Box::pin(async {
            CredentialStatus::Configured {
                detail: "none needed".into(),
            }
        })
    }

    /// Signs from now on with `stored` AWS keys, or without them (the AWS chain) when `None`.
    /// False for a transport that signs with no AWS keys of its own.
    fn use_aws_keys(&self, _stored: Option<&crate::config::AwsKeys>) -> bool {
        false
    }

    /// Signs in to the backend with `token` from now on. False for a transport with no token.
    fn use_token(&self, _token: &str) -> bool {
        false
    }
}
