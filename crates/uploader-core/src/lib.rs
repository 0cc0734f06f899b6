//! Catalog Uploader's domain: everything the app and the CLI do, with no window and no Tauri.
//!
//! A dropped path becomes a job in SQLite before anything else happens ([`store`]); the
//! [`pipeline`] renders its variants; a [`transport`] puts them in S3; every change is
//! announced on the [`events`] bus. [`Uploader`] ties these together.

pub mod admin;
pub mod clock;
pub mod config;
pub mod deletion;
pub mod diagnostics;
pub mod error;
pub mod events;
pub mod hash;
pub mod heap;
pub mod intake;
pub mod naming;
pub mod pipeline;
pub mod preferences;
pub mod private;
pub mod queue;
pub mod source;
pub mod store;
pub mod thumbnail;
pub mod transport;
mod uploader;

pub use error::{Error, Result};
pub use uploader::{EnqueueOptions, Signing, Uploader};
