//! What an admin needs to set a workstation and its bucket up, carried by the software instead
//! of a wiki page.

mod bucket_apply;
mod bucket_check;
mod connection;
mod credentials;
mod iam_policy;

pub use bucket_apply::{BucketPlan, CORS_RULE_ID, Change, LIFECYCLE_RULE_ID};
pub use bucket_check::{ABORT_WITHIN_DAYS, BucketAudit, BucketReport, Check, Verdict};
pub use connection::{ConnectionReport, Diagnosis, Step, diagnose};
pub use iam_policy::{PolicyRequest, attached_to, iam_policy};
