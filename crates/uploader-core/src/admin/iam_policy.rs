//! The least-privilege IAM policy for whoever signs requests: the workstation's keys in direct
//! mode, the backend (and its deletion worker) in backend mode. Only what the software calls,
//! only under the key prefix; the company guide's list, corrected:
//! - `HeadObject` is granted by `s3:GetObject` (there is no `s3:HeadObject`);
//! - resuming and cancelling multipart uploads need `s3:ListMultipartUploadParts` and
//!   `s3:AbortMultipartUpload`, and finding an interrupted one `s3:ListBucketMultipartUploads`;
//! - without `s3:ListBucket`, S3 answers a HEAD of a missing key with 403 instead of 404, and
//!   "not uploaded yet" looks like "access denied": it is granted for the prefix only.

use serde_json::{Value, json};

use crate::config::Mode;
use crate::{Error, Result};

/// What the policy is for.
#[derive(Debug, Clone)]
pub struct PolicyRequest<'a> {
    pub bucket: &'a str,
    /// `products/` by default; empty for the whole bucket.
    pub prefix: &'a str,
    /// With SSE-KMS: the key, which uploads must be able to use.
    pub kms_key_arn: Option<&'a str>,
}

/// The policy document, or which input is wrong. Direct and backend mode make the same calls;
/// only who makes them differs ([`attached_to`]).
pub fn iam_policy(request: &PolicyRequest) -> Result<Value> {
    let bucket = request.bucket.trim();
    if bucket.is_empty() || bucket.contains(['/', '*', '?', ' ']) {
        return Err(Error::config(
            "bucket",
            format!("`{bucket}` is not a bucket name"),
        ));
    }
    if request.prefix.contains(['*', '?']) {
        return Err(Error::config(
            "prefix",
            "a key prefix is plain text, without wildcards",
        ));
    }
    let prefix = match request.prefix.trim_start_matches('/') {
        "" => String::new(),
        p if p.ends_with('/') => p.to_string(),
        p => format!("{p}/"),
    };
    let objects = [
        // PutObject also covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
        "s3:PutObject",
        // GetObject also covers HeadObject and the presigned GETs that show photos.
        "s3:GetObject",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
        // The app's outbox in direct mode, the backend's deletion worker in backend mode: both
        // send DeleteObjects, which checks s3:DeleteObject for each key.
        "s3:DeleteObject",
    ];
    let mut statements = vec![
        json!({
            "Sid": "ObjectsUnderThePrefix",
            "Effect": "Allow",
            "Action": objects,
            "Resource": format!("arn:aws:s3:::{bucket}/{prefix}*"),
        }),
        json!({
            "Sid": "ListOnlyThePrefixSoMissingKeysAre404",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": format!("arn:aws:s3:::{bucket}"),
            "Condition": {"StringLike": {"s3:prefix": [format!("{prefix}*")]}},
        }),
        json!({
            "Sid": "FindInterruptedMultipartUploads",
            "Effect": "Allow",
            "Action": "s3:ListBucketMultipartUploads",
            "Resource": format!("arn:aws:s3:::{bucket}"),
        }),
    ];
    if let Some(key) = request.kms_key_arn {
        if !key.starts_with("arn:") {
            return Err(Error::config(
                "kms_key_arn",
                format!("`{key}` is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)"),
            ));
        }
        statements.push(json!({
            "Sid": "EncryptWithTheBucketsKmsKey",
            "Effect": "Allow",
            // GenerateDataKey to write (multipart too), Decrypt to read back and to complete.
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key,
        }));
    }
    Ok(json!({"Version": "2012-10-17", "Statement": statements}))
}

/// Who attaches the policy, in words, for the command's explanation.
pub fn attached_to(mode: Mode) -> &'static str {
    match mode {
        Mode::Direct => "the IAM user or role whose keys the workstations use",
        Mode::Backend | Mode::Companion => {
            "the backend's IAM user or role (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the \
             backend and its deletion worker); workstations need no AWS keys"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> PolicyRequest<'static> {
        PolicyRequest {
            bucket: "catalog",
            prefix: "products/",
            kms_key_arn: None,
        }
    }

    fn actions(policy: &Value) -> Vec<String> {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
                other => panic!("{other}"),
            })
            .collect()
    }

    #[test]
    fn the_policy_is_valid_json_with_every_action_the_software_calls() {
        // Direct and backend mode make the same calls; only who makes them differs.
        {
            let policy = iam_policy(&request()).unwrap();
            let text = serde_json::to_string_pretty(&policy).unwrap();
            let parsed: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed["Version"], "2012-10-17");
            let actions = actions(&parsed);
            for wanted in [
                "s3:PutObject",
                "s3:GetObject",
                "s3:DeleteObject",
                "s3:ListMultipartUploadParts",
                "s3:AbortMultipartUpload",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
            ] {
                assert!(actions.iter().any(|a| a == wanted), "{wanted}");
            }
            // There is no such action: HeadObject is GetObject's.
            assert!(!text.contains("HeadObject"), "{text}");
            assert!(!text.contains("s3:*"), "{text}");
        }
    }

    #[test]
    fn objects_are_limited_to_the_prefix_and_listing_to_its_names() {
        let policy = iam_policy(&request()).unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements[0]["Resource"], "arn:aws:s3:::catalog/products/*");
        assert_eq!(statements[1]["Resource"], "arn:aws:s3:::catalog");
        assert_eq!(
            statements[1]["Condition"]["StringLike"]["s3:prefix"],
            json!(["products/*"])
        );
    }

    #[test]
    fn a_prefix_without_its_slash_gets_one_and_an_empty_prefix_is_the_bucket() {
        for (prefix, resource) in [
            ("products", "arn:aws:s3:::catalog/products/*"),
            ("/shop/photos/", "arn:aws:s3:::catalog/shop/photos/*"),
            ("", "arn:aws:s3:::catalog/*"),
        ] {
            let policy = iam_policy(&PolicyRequest {
                prefix,
                ..request()
            })
            .unwrap();
            assert_eq!(policy["Statement"][0]["Resource"], resource, "{prefix}");
        }
    }

    #[test]
    fn an_sse_kms_key_is_granted_and_bad_inputs_name_themselves() {
        let with_kms = iam_policy(&PolicyRequest {
            kms_key_arn: Some("arn:aws:kms:eu-west-1:123456789012:key/abcd"),
            ..request()
        })
        .unwrap();
        assert!(actions(&with_kms).contains(&"kms:GenerateDataKey".to_string()));
        for (bad, setting) in [
            (
                PolicyRequest {
                    bucket: "",
                    ..request()
                },
                "bucket",
            ),
            (
                PolicyRequest {
                    bucket: "a/b",
                    ..request()
                },
                "bucket",
            ),
            (
                PolicyRequest {
                    prefix: "products/*",
                    ..request()
                },
                "prefix",
            ),
            (
                PolicyRequest {
                    kms_key_arn: Some("alias/photos"),
                    ..request()
                },
                "kms_key_arn",
            ),
        ] {
            match iam_policy(&bad) {
                Err(Error::Config { setting: s, .. }) => assert_eq!(s, setting),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
