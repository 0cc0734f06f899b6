//! What an admin needs to set a workstation and its bucket up, carried by the software instead
//! of a wiki page.

mod connection;
mod iam_policy;

pub use connection::{ConnectionReport, Diagnosis, Step, diagnose};
pub use iam_policy::{PolicyRequest, attached_to, iam_policy};
