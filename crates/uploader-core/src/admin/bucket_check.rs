//! `uploader admin bucket check`: the S3 guide's bucket checklist, read from the bucket itself.
//! A call the server does not answer (SeaweedFS has no Block Public Access, say) or the keys
//! may not make is "could not be checked", never a pass.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{BucketVersioningStatus, CorsRule, ExpirationStatus, LifecycleRule};
use serde::Serialize;

/// What the guide allows at most before an abandoned multipart upload is aborted.
pub const ABORT_WITHIN_DAYS: i32 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    /// The server did not answer the question (not implemented, access denied, an error).
    Unchecked,
    /// Nothing to check for this setup (CORS with no browser origins).
    NotNeeded,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// A stable id: `block_public_access`, `encryption`, `versioning`, `lifecycle`, `cors`,
    /// `logging`, `public_policy`.
    pub id: &'static str,
    pub title: &'static str,
    pub verdict: Verdict,
    /// What was found, in plain words.
    pub detail: String,
    /// What to do about a failure or an unchecked item.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketReport {
    pub bucket: String,
    pub prefix: String,
    pub checks: Vec<Check>,
}

impl BucketReport {
    /// Passed only when every check passed or was not needed: unchecked is not a pass.
    pub fn passed(&self) -> bool {
        self.checks
            .iter()
            .all(|c| matches!(c.verdict, Verdict::Pass | Verdict::NotNeeded))
    }

    pub fn count(&self, verdict: Verdict) -> usize {
        self.checks.iter().filter(|c| c.verdict == verdict).count()
    }
}

/// What the bucket is checked for.
pub struct BucketAudit<'a> {
    pub bucket: &'a str,
    pub prefix: &'a str,
    /// Browser origins that must be allowed to upload (none: the desktop app needs no CORS).
    pub origins: &'a [String],
}

/// A refused or failed call, as a check that could not be made.
fn unchecked<E: ProvideErrorMetadata, R>(
    id: &'static str,
    title: &'static str,
    call: &str,
    e: &SdkError<E, R>,
) -> Check {
    let code = e.code().unwrap_or("no answer");
    let why = match code {
        "NotImplemented" => "the server does not implement it".to_string(),
        "AccessDenied" => format!(
            "access denied: these keys may not call {call} (run the check with an admin's keys)"
        ),
        _ => format!("{call} failed: {}", e.message().unwrap_or(code)),
    };
    Check {
        id,
        title,
        verdict: Verdict::Unchecked,
        detail: format!("could not be checked: {why}"),
        fix: Some("check it by hand in the S3 console".into()),
    }
}

impl BucketAudit<'_> {
    pub async fn run(&self, client: &Client) -> BucketReport {
        let checks = vec![
            self.block_public_access(client).await,
            self.encryption(client).await,
            self.versioning(client).await,
            self.lifecycle(client).await,
            self.cors(client).await,
            self.logging(client).await,
            self.public_policy(client).await,
        ];
        BucketReport {
            bucket: self.bucket.to_string(),
            prefix: self.prefix.to_string(),
            checks,
        }
    }

    async fn block_public_access(&self, client: &Client) -> Check {
        const ID: &str = "block_public_access";
        const TITLE: &str = "Block Public Access is on";
        let fix = Some(format!(
            "aws s3api put-public-access-block --bucket {} --public-access-block-configuration \
             BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true",
            self.bucket
        ));
        match client
            .get_public_access_block()
            .bucket(self.bucket)
            .send()
            .await
        {
            Ok(out) => {
                let c = out.public_access_block_configuration();
                let off: Vec<&str> = [
                    ("BlockPublicAcls", c.and_then(|c| c.block_public_acls())),
                    ("IgnorePublicAcls", c.and_then(|c| c.ignore_public_acls())),
                    ("BlockPublicPolicy", c.and_then(|c| c.block_public_policy())),
                    (
                        "RestrictPublicBuckets",
                        c.and_then(|c| c.restrict_public_buckets()),
                    ),
                ]
                .into_iter()
                .filter(|(_, on)| *on != Some(true))
                .map(|(name, _)| name)
                .collect();
                if off.is_empty() {
                    pass(ID, TITLE, "all four settings are on")
                } else {
                    fail(ID, TITLE, format!("off: {}", off.join(", ")), fix)
                }
            }
            Err(e) if e.code() == Some("NoSuchPublicAccessBlockConfiguration") => fail(
                ID,
                TITLE,
                "the bucket has no Block Public Access settings".into(),
                fix,
            ),
            Err(e) => unchecked(ID, TITLE, "GetPublicAccessBlock", &e),
        }
    }

    async fn encryption(&self, client: &Client) -> Check {
        const ID: &str = "encryption";
        const TITLE: &str = "Default encryption (SSE-S3 or SSE-KMS)";
        let fix = Some(format!(
            "aws s3api put-bucket-encryption --bucket {} --server-side-encryption-configuration \
             '{{\"Rules\":[{{\"ApplyServerSideEncryptionByDefault\":{{\"SSEAlgorithm\":\"AES256\"}}}}]}}'",
            self.bucket
        ));
        match client
            .get_bucket_encryption()
            .bucket(self.bucket)
            .send()
            .await
        {
            Ok(out) => {
                let algorithms: Vec<String> = out
                    .server_side_encryption_configuration()
                    .map(|c| c.rules())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| d.sse_algorithm().as_str().to_string())
                    .collect();
                if algorithms.is_empty() {
                    fail(ID, TITLE, "no default encryption rule".into(), fix)
                } else {
                    pass(ID, TITLE, &format!("by default: {}", algorithms.join(", ")))
                }
            }
            Err(e) if e.code() == Some("ServerSideEncryptionConfigurationNotFoundError") => {
                fail(ID, TITLE, "no default encryption is set".into(), fix)
            }
            Err(e) => unchecked(ID, TITLE, "GetBucketEncryption", &e),
        }
    }

    async fn versioning(&self, client: &Client) -> Check {
        const ID: &str = "versioning";
        const TITLE: &str = "Versioning is on (a deleted or overwritten photo can be restored)";
        match client
            .get_bucket_versioning()
            .bucket(self.bucket)
            .send()
            .await
        {
            Ok(out) => match out.status() {
                Some(BucketVersioningStatus::Enabled) => pass(ID, TITLE, "enabled"),
                other => fail(
                    ID,
                    TITLE,
                    match other {
                        Some(s) => format!("versioning is {}", s.as_str().to_lowercase()),
                        None => "versioning was never enabled".into(),
                    },
                    Some(format!(
                        "aws s3api put-bucket-versioning --bucket {} --versioning-configuration \
                         Status=Enabled (and expire noncurrent versions with a lifecycle rule)",
                        self.bucket
                    )),
                ),
            },
            Err(e) => unchecked(ID, TITLE, "GetBucketVersioning", &e),
        }
    }

    async fn lifecycle(&self, client: &Client) -> Check {
        const ID: &str = "lifecycle";
        const TITLE: &str = "Incomplete multipart uploads are aborted within 7 days";
        let fix = Some("uploader admin bucket apply --yes".to_string());
        match client
            .get_bucket_lifecycle_configuration()
            .bucket(self.bucket)
            .send()
            .await
        {
            Ok(out) => match abort_days(out.rules(), self.prefix) {
                Some((days, rule)) if days <= ABORT_WITHIN_DAYS => pass(
                    ID,
                    TITLE,
                    &format!("rule `{rule}` aborts them after {days} days"),
                ),
                Some((days, rule)) => fail(
                    ID,
                    TITLE,
                    format!(
                        "rule `{rule}` waits {days} days; the guide says at most {ABORT_WITHIN_DAYS}"
                    ),
                    fix,
                ),
                None => fail(
                    ID,
                    TITLE,
                    format!(
                        "no enabled rule aborts incomplete uploads under `{}`",
                        self.prefix
                    ),
                    fix,
                ),
            },
            Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => {
                fail(ID, TITLE, "the bucket has no lifecycle rules".into(), fix)
            }
            Err(e) => unchecked(ID, TITLE, "GetBucketLifecycleConfiguration", &e),
        }
    }

    async fn cors(&self, client: &Client) -> Check {
        const ID: &str = "cors";
        const TITLE: &str = "CORS allows the configured browser origins";
        if self.origins.is_empty() {
            return Check {
                id: ID,
                title: TITLE,
                verdict: Verdict::NotNeeded,
                detail: "no browser origins given (--origin): the desktop app uploads without \
                         a browser and needs no CORS"
                    .into(),
                fix: None,
            };
        }
        let fix = Some(format!(
            "uploader admin bucket apply --yes --origin {}",
            self.origins.join(" --origin ")
        ));
        match client.get_bucket_cors().bucket(self.bucket).send().await {
            Ok(out) => {
                let missing: Vec<&str> = self
                    .origins
                    .iter()
                    .filter(|origin| !cors_allows(out.cors_rules(), origin))
                    .map(String::as_str)
                    .collect();
                if missing.is_empty() {
                    pass(ID, TITLE, "every origin may PUT and GET and read the ETag")
                } else {
                    fail(
                        ID,
                        TITLE,
                        format!(
                            "no rule lets {} PUT and GET with the ETag exposed",
                            missing.join(", ")
                        ),
                        fix,
                    )
                }
            }
            Err(e) if e.code() == Some("NoSuchCORSConfiguration") => {
                fail(ID, TITLE, "the bucket has no CORS rules".into(), fix)
            }
            Err(e) => unchecked(ID, TITLE, "GetBucketCors", &e),
        }
    }

    async fn logging(&self, client: &Client) -> Check {
        const ID: &str = "logging";
        const TITLE: &str = "Server access logging is on";
        match client.get_bucket_logging().bucket(self.bucket).send().await {
            Ok(out) => match out.logging_enabled() {
                Some(l) => pass(
                    ID,
                    TITLE,
                    &format!(
                        "logs go to s3://{}/{}",
                        l.target_bucket(),
                        l.target_prefix()
                    ),
                ),
                None => fail(
                    ID,
                    TITLE,
                    "access logging is off".into(),
                    Some(format!(
                        "aws s3api put-bucket-logging --bucket {} --bucket-logging-status \
                         '{{\"LoggingEnabled\":{{\"TargetBucket\":\"<log bucket>\",\"TargetPrefix\":\"{}/\"}}}}'",
                        self.bucket, self.bucket
                    )),
                ),
            },
            Err(e) => unchecked(ID, TITLE, "GetBucketLogging", &e),
        }
    }

    async fn public_policy(&self, client: &Client) -> Check {
        const ID: &str = "public_policy";
        const TITLE: &str = "No public bucket policy or ACL";
        let policy = match client
            .get_bucket_policy_status()
            .bucket(self.bucket)
            .send()
            .await
        {
            Ok(out) => out.policy_status().and_then(|s| s.is_public()),
            Err(e) if e.code() == Some("NoSuchBucketPolicy") => Some(false),
            Err(e) => return unchecked(ID, TITLE, "GetBucketPolicyStatus", &e),
        };
        if policy == Some(true) {
            return fail(
                ID,
                TITLE,
                "the bucket policy makes objects public".into(),
                Some(
                    "remove the public statement; photos are viewed through presigned links".into(),
                ),
            );
        }
        let acl = match client.get_bucket_acl().bucket(self.bucket).send().await {
            Ok(out) => out,
            Err(e) => return unchecked(ID, TITLE, "GetBucketAcl", &e),
        };
        let public = acl.grants().iter().any(|g| {
            g.grantee().and_then(|g| g.uri()).is_some_and(|uri| {
                uri.ends_with("/AllUsers") || uri.ends_with("/AuthenticatedUsers")
            })
        });
        if public {
            fail(
                ID,
                TITLE,
                "the bucket ACL grants access to everyone".into(),
                Some(format!(
                    "aws s3api put-bucket-acl --bucket {} --acl private",
                    self.bucket
                )),
            )
        } else if policy.is_none() {
            Check {
                id: ID,
                title: TITLE,
                verdict: Verdict::Unchecked,
                detail: "could not be checked: the server did not say whether the policy is public"
                    .into(),
                fix: Some("read the bucket policy in the S3 console".into()),
            }
        } else {
            pass(ID, TITLE, "neither the policy nor the ACL is public")
        }
    }
}

/// Whether a CORS rule lets `origin` PUT and GET and read the ETag (multipart needs it).
pub(super) fn cors_allows(rules: &[CorsRule], origin: &str) -> bool {
    rules.iter().any(|r| {
        r.allowed_origins().iter().any(|o| o == "*" || o == origin)
            && ["PUT", "GET"].iter().all(|m| {
                r.allowed_methods()
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(m))
            })
            && r.expose_headers()
                .iter()
                .any(|h| h.eq_ignore_ascii_case("ETag"))
    })
}

fn pass(id: &'static str, title: &'static str, detail: &str) -> Check {
    Check {
        id,
        title,
        verdict: Verdict::Pass,
        detail: detail.to_string(),
        fix: None,
    }
}

fn fail(id: &'static str, title: &'static str, detail: String, fix: Option<String>) -> Check {
    Check {
        id,
        title,
        verdict: Verdict::Fail,
        detail,
        fix,
    }
}

/// The prefix a rule applies to (its filter's, its `And`'s, or the legacy top-level one).
pub(super) fn rule_prefix(rule: &LifecycleRule) -> &str {
    let filter = rule.filter();
    filter
        .and_then(|f| f.prefix())
        .or_else(|| filter.and_then(|f| f.and()).and_then(|a| a.prefix()))
        .or({
            #[allow(deprecated)]
            rule.prefix()
        })
        .unwrap_or("")
}

/// The soonest abort of incomplete uploads that an enabled rule covering all of `prefix`
/// promises, and that rule's id. A rule with tag or size conditions covers only some uploads,
/// so it does not count.
pub(super) fn abort_days(rules: &[LifecycleRule], prefix: &str) -> Option<(i32, String)> {
    rules
        .iter()
        .filter(|r| *r.status() == ExpirationStatus::Enabled)
        .filter(|r| {
            let conditional = r.filter().is_some_and(|f| {
                f.tag().is_some()
                    || f.object_size_greater_than().is_some()
                    || f.object_size_less_than().is_some()
                    || f.and().is_some_and(|a| !a.tags().is_empty())
            });
            !conditional && prefix.starts_with(rule_prefix(r))
        })
        .filter_map(|r| {
            let days = r
                .abort_incomplete_multipart_upload()?
                .days_after_initiation()?;
            Some((days, r.id().unwrap_or("(no id)").to_string()))
        })
        .min_by_key(|(days, _)| *days)
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::types::{AbortIncompleteMultipartUpload, LifecycleRuleFilter, Tag};

    use super::*;

    fn rule(id: &str, prefix: &str, days: Option<i32>, enabled: bool) -> LifecycleRule {
        let mut b = LifecycleRule::builder()
            .id(id)
            .status(if enabled {
                ExpirationStatus::Enabled
            } else {
                ExpirationStatus::Disabled
            })
            .filter(LifecycleRuleFilter::builder().prefix(prefix).build());
        if let Some(days) = days {
            b = b.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(days)
                    .build(),
            );
        }
        b.build().unwrap()
    }

    #[test]
    fn only_an_enabled_rule_covering_the_whole_prefix_counts_and_the_soonest_wins() {
        let tagged = LifecycleRule::builder()
            .id("tagged")
            .status(ExpirationStatus::Enabled)
            .filter(
                LifecycleRuleFilter::builder()
                    .tag(Tag::builder().key("k").value("v").build().unwrap())
                    .build(),
            )
            .abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(1)
                    .build(),
            )
            .build()
            .unwrap();
        for (rules, found) in [
            (vec![], None),
            (vec![rule("a", "products/", Some(7), true)], Some(7)),
            (vec![rule("a", "", Some(3), true)], Some(3)),
            (vec![rule("a", "products/", Some(7), false)], None),
            (vec![rule("a", "other/", Some(1), true)], None),
            (vec![rule("a", "products/shoes/", Some(1), true)], None),
            (vec![rule("a", "products/", None, true)], None),
            (
                vec![
                    rule("a", "", Some(30), true),
                    rule("b", "prod", Some(5), true),
                ],
                Some(5),
            ),
            (vec![tagged], None),
        ] {
            let got = abort_days(&rules, "products/").map(|(d, _)| d);
            assert_eq!(got, found, "{rules:?}");
        }
    }

    #[test]
    fn unchecked_is_not_a_pass() {
        let report = BucketReport {
            bucket: "b".into(),
            prefix: "products/".into(),
            checks: vec![
                pass("encryption", "t", "ok"),
                Check {
                    id: "block_public_access",
                    title: "t",
                    verdict: Verdict::Unchecked,
                    detail: "could not be checked".into(),
                    fix: None,
                },
            ],
        };
        assert!(!report.passed());
        assert_eq!(report.count(Verdict::Unchecked), 1);
    }
}
