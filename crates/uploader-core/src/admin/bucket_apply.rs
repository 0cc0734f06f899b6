//! `uploader admin bucket apply`: what the guide asks of the bucket that the software can set
//! safely — the lifecycle rule aborting incomplete multipart uploads and CORS for browser
//! origins — planned first, applied only when asked. Rules already on the bucket are kept:
//! S3 replaces a bucket's whole lifecycle or CORS configuration on every put.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, CorsConfiguration, CorsRule,
    ExpirationStatus, LifecycleRule, LifecycleRuleFilter,
};
use serde::Serialize;

use super::bucket_check::{ABORT_WITHIN_DAYS, BucketAudit, abort_days, cors_allows};

/// The id of the lifecycle rule the app adds; replaced, never duplicated, on a second apply.
pub const LIFECYCLE_RULE_ID: &str = "catalog-uploader-abort-incomplete-uploads";
/// The id of the CORS rule the app adds.
pub const CORS_RULE_ID: &str = "catalog-uploader-browser-uploads";

/// One setting the apply would change, or leaves as it is.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// `lifecycle` or `cors`.
    pub id: &'static str,
    /// Whether the bucket needs it.
    pub needed: bool,
    /// What is done (or why nothing is), in plain words.
    pub detail: String,
}

/// What an apply would put, computed from what the bucket holds now.
#[derive(Debug, Clone)]
pub struct BucketPlan {
    pub changes: Vec<Change>,
    lifecycle: Option<Vec<LifecycleRule>>,
    cors: Option<Vec<CorsRule>>,
}

fn failed<E: ProvideErrorMetadata>(call: &str, e: &E) -> String {
    format!(
        "{call} failed: {} ({})",
        e.message().unwrap_or("no message"),
        e.code().unwrap_or("no code")
    )
}

impl BucketAudit<'_> {
    /// Reads the bucket's lifecycle and CORS rules and works out what to add. An error when a
    /// configuration cannot be read: putting one blind would drop the rules already there.
    pub async fn plan(&self, client: &Client) -> Result<BucketPlan, String> {
        let mut changes = Vec::new();
        let existing = match client
            .get_bucket_lifecycle_configuration()
            .bucket(self.bucket)
            .send()
            .await
        {
            Ok(out) => out.rules().to_vec(),
            Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Vec::new(),
            Err(e) => return Err(failed("GetBucketLifecycleConfiguration", &e)),
        };
        let lifecycle = match abort_days(&existing, self.prefix) {
            Some((days, rule)) if days <= ABORT_WITHIN_DAYS => {
                changes.push(Change {
                    id: "lifecycle",
                    needed: false,
                    detail: format!("nothing to do: rule `{rule}` aborts after {days} days"),
                });
                None
            }
            _ => {
                let kept: Vec<LifecycleRule> = existing
                    .into_iter()
                    .filter(|r| r.id() != Some(LIFECYCLE_RULE_ID))
                    .collect();
                changes.push(Change {
                    id: "lifecycle",
                    needed: true,
                    detail: format!(
                        "add rule `{LIFECYCLE_RULE_ID}`: abort incomplete multipart uploads \
                         under `{}` after {ABORT_WITHIN_DAYS} days (keeping {} other rule(s))",
                        self.prefix,
                        kept.len()
                    ),
                });
                let ours = LifecycleRule::builder()
                    .id(LIFECYCLE_RULE_ID)
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix(self.prefix).build())
                    .abort_incomplete_multipart_upload(
                        AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(ABORT_WITHIN_DAYS)
                            .build(),
                    )
                    .build()
                    .map_err(|e| e.to_string())?;
                Some(kept.into_iter().chain([ours]).collect())
            }
        };
        let cors = self.plan_cors(client, &mut changes).await?;
        Ok(BucketPlan {
            changes,
            lifecycle,
            cors,
        })
    }

    async fn plan_cors(
        &self,
        client: &Client,
        changes: &mut Vec<Change>,
    ) -> Result<Option<Vec<CorsRule>>, String> {
        if self.origins.is_empty() {
            changes.push(Change {
                id: "cors",
                needed: false,
                detail: "nothing to do: no browser origins given (--origin)".into(),
            });
            return Ok(None);
        }
        let existing = match client.get_bucket_cors().bucket(self.bucket).send().await {
            Ok(out) => out.cors_rules().to_vec(),
            Err(e) if e.code() == Some("NoSuchCORSConfiguration") => Vec::new(),
            Err(e) => return Err(failed("GetBucketCors", &e)),
        };
        if self.origins.iter().all(|o| cors_allows(&existing, o)) {
            changes.push(Change {
                id: "cors",
                needed: false,
                detail: "nothing to do: every origin is allowed already".into(),
            });
            return Ok(None);
        }
        let kept: Vec<CorsRule> = existing
            .into_iter()
            .filter(|r| r.id() != Some(CORS_RULE_ID))
            .collect();
        changes.push(Change {
            id: "cors",
            needed: true,
            detail: format!(
                "add CORS rule `{CORS_RULE_ID}`: {} may GET, PUT, POST and HEAD, with the ETag \
                 exposed (keeping {} other rule(s))",
                self.origins.join(", "),
                kept.len()
            ),
        });
        let mut ours = CorsRule::builder()
            .id(CORS_RULE_ID)
            .allowed_headers("*")
            .expose_headers("ETag")
            .max_age_seconds(3000);
        for method in ["GET", "PUT", "POST", "HEAD"] {
            ours = ours.allowed_methods(method);
        }
        for origin in self.origins {
            ours = ours.allowed_origins(origin);
        }
        let ours = ours.build().map_err(|e| e.to_string())?;
        Ok(Some(kept.into_iter().chain([ours]).collect()))
    }

    /// Puts what `plan` found missing. Each put is whole and the same on a second run.
    pub async fn apply(&self, client: &Client, plan: &BucketPlan) -> Result<(), String> {
        if let Some(rules) = &plan.lifecycle {
            let configuration = BucketLifecycleConfiguration::builder()
                .set_rules(Some(rules.clone()))
                .build()
                .map_err(|e| e.to_string())?;
            client
                .put_bucket_lifecycle_configuration()
                .bucket(self.bucket)
                .lifecycle_configuration(configuration)
                .send()
                .await
                .map_err(|e| failed("PutBucketLifecycleConfiguration", &e))?;
        }
        if let Some(rules) = &plan.cors {
            let configuration = CorsConfiguration::builder()
                .set_cors_rules(Some(rules.clone()))
                .build()
                .map_err(|e| e.to_string())?;
            client
                .put_bucket_cors()
                .bucket(self.bucket)
                .cors_configuration(configuration)
                .send()
                .await
                .map_err(|e| failed("PutBucketCors", &e))?;
        }
        Ok(())
    }
}
