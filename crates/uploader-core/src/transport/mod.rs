//! Where bytes go. The queue talks to a [`Transport`]; direct S3 is one, presigned URLs
//! through the company backend will be another.

mod s3_direct;

use std::future::Future;
use std::pin::Pin;

pub use s3_direct::S3Direct;

/// One object to store.
#[derive(Debug, Clone)]
pub struct PutObject {
    pub key: String,
    pub body: Vec<u8>,
    pub content_type: String,
    /// Lowercase hex SHA-256 of `body`; sent so the server verifies every byte.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    pub etag: Option<String>,
}

/// An error with the reason in plain words, and whether trying again may help.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    pub message: String,
    pub retryable: bool,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Transport: Send + Sync {
    /// Stores one object; putting the same bytes to the same key again is harmless.
    fn put_object(&self, object: PutObject) -> BoxFuture<'_, Result<PutOutcome, TransportError>>;

    /// Where uploads go, in words, e.g. `s3://catalog at http://127.0.0.1:8333`.
    fn describe(&self) -> String;
}
