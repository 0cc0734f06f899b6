//! `DeleteFaults` between the AWS SDK and real SeaweedFS: per-key errors injected into
//! `DeleteObjects` answers, whole requests refused, and everything else passed through with
//! its signature intact.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use uploader_testkit::{ACCESS_KEY, BUCKET, DeleteFaults, S3Server, SECRET_KEY};

/// XML- and URL-special characters, to check the proxy's escaping both ways.
const K1: &str = "products/R&D <draft> \"1\".jpg";
const K2: &str = "products/k2.jpg";
const KEYS: [&str; 5] = [
    K1,
    K2,
    "products/k3.jpg",
    "products/k4.jpg",
    "products/k5.jpg",
];

/// A client of the proxy: path style, and no retries, so an injected 500 is seen as it is.
fn client_via(endpoint: &str) -> Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(RetryConfig::disabled())
        .credentials_provider(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "testkit",
        ))
        .build();
    Client::from_conf(config)
}

async fn put_all(server: &S3Server) {
    let client = server.client();
    for key in KEYS {
        client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(format!("bytes of {key}").into_bytes()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {}", DisplayErrorContext(e)));
    }
}

/// HeadObject on the server itself: true if there, false on 404.
async fn exists(server: &S3Server, key: &str) -> bool {
    match server
        .client()
        .head_object()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
    {
        Ok(_) => true,
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => false,
        Err(e) => panic!("head {key}: {}", DisplayErrorContext(e)),
    }
}

async fn delete_all(client: &Client, quiet: bool) -> DeleteObjectsOutput {
    let objects = KEYS
        .iter()
        .map(|key| ObjectIdentifier::builder().key(*key).build().unwrap())
        .collect::<Vec<_>>();
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(quiet)
        .build()
        .unwrap();
    client
        .delete_objects()
        .bucket(BUCKET)
        .delete(delete)
        .send()
        .await
        .unwrap_or_else(|e| panic!("delete_objects: {}", DisplayErrorContext(e)))
}

/// The answer's errors as sorted (key, code, message).
fn errors(out: &DeleteObjectsOutput) -> Vec<(String, String, String)> {
    let mut errors: Vec<_> = out
        .errors()
        .iter()
        .map(|e| {
            (
                e.key().unwrap_or_default().to_string(),
                e.code().unwrap_or_default().to_string(),
                e.message().unwrap_or_default().to_string(),
            )
        })
        .collect();
    errors.sort();
    errors
}

fn error(key: &str, code: &str) -> (String, String, String) {
    (
        key.to_string(),
        code.to_string(),
        "injected fault".to_string(),
    )
}

#[tokio::test]
async fn a_key_told_to_fail_twice_fails_twice_then_is_reported_deleted() {
    let server = S3Server::start().await;
    put_all(&server).await;
    let faults = DeleteFaults::start(&server.endpoint).await.unwrap();
    let client = client_via(&faults.endpoint());
    faults.fail_key(K1, Some(2), "InternalError");
    faults.fail_key(K2, None, "AccessDenied");

    let mut both = vec![error(K1, "InternalError"), error(K2, "AccessDenied")];
    both.sort();
    for round in 1..=2 {
        let out = delete_all(&client, true).await;
        assert_eq!(errors(&out), both, "round {round}");
        assert!(out.deleted().is_empty(), "quiet: no Deleted entries");
    }
    let out = delete_all(&client, true).await;
    assert_eq!(errors(&out), [error(K2, "AccessDenied")], "round 3");

    for key in &KEYS[2..] {
        assert!(!exists(&server, key).await, "{key} must be gone");
    }
    // Only the report is falsified: the server did delete the "failed" keys too.
    assert!(!exists(&server, K1).await);
    assert!(!exists(&server, K2).await);

    assert_eq!(faults.delete_requests(), 3);
    assert_eq!(faults.max_keys_per_request(), 5);
    assert_eq!(faults.keys_requested(), 15);
    assert_eq!(faults.injected(), 5);
}

#[tokio::test]
async fn a_key_told_to_fail_is_left_out_of_the_deleted_list_when_not_quiet() {
    let server = S3Server::start().await;
    put_all(&server).await;
    let faults = DeleteFaults::start(&server.endpoint).await.unwrap();
    faults.fail_key(K1, None, "InternalError");

    let out = delete_all(&client_via(&faults.endpoint()), false).await;
    assert_eq!(errors(&out), [error(K1, "InternalError")]);
    let mut deleted: Vec<_> = out
        .deleted()
        .iter()
        .filter_map(|d| d.key().map(str::to_string))
        .collect();
    deleted.sort();
    let mut expected: Vec<_> = KEYS[1..].iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(deleted, expected);
    assert_eq!(faults.injected(), 1);
}

#[tokio::test]
async fn a_request_told_to_fail_is_answered_by_the_proxy_and_deletes_nothing() {
    let server = S3Server::start().await;
    put_all(&server).await;
    let faults = DeleteFaults::start(&server.endpoint).await.unwrap();
    let client = client_via(&faults.endpoint());
    faults.fail_requests(1, 500);

    let objects = KEYS
        .iter()
        .map(|key| ObjectIdentifier::builder().key(*key).build().unwrap())
        .collect::<Vec<_>>();
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .unwrap();
    let err = client
        .delete_objects()
        .bucket(BUCKET)
        .delete(delete)
        .send()
        .await
        .expect_err("the injected 500");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    let SdkError::ServiceError(service) = &err else {
        panic!("not a service error: {}", DisplayErrorContext(&err));
    };
    assert_eq!(service.err().meta().code(), Some("InternalError"));
    for key in KEYS {
        assert!(exists(&server, key).await, "{key} must be untouched");
    }
    assert_eq!(faults.delete_requests(), 1);
    assert_eq!(faults.keys_requested(), 5);

    // Only the next one: the one after goes through.
    let out = delete_all(&client, true).await;
    assert!(errors(&out).is_empty());
    for key in KEYS {
        assert!(!exists(&server, key).await, "{key} must be gone");
    }
    assert_eq!(faults.delete_requests(), 2);
    assert_eq!(faults.injected(), 0);
}

#[tokio::test]
async fn other_requests_pass_through_with_their_signature_intact() {
    let server = S3Server::start().await;
    let faults = DeleteFaults::start(&server.endpoint).await.unwrap();
    let client = client_via(&faults.endpoint());
    // Big enough to come in several reads, streamed both ways.
    let big: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    for (key, body) in [(K1, b"small".to_vec()), ("products/big.bin", big)] {
        client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .content_type("image/jpeg")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key} through the proxy: {}", DisplayErrorContext(e)));
        let head = client
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("head {key}: {}", DisplayErrorContext(e)));
        assert_eq!(head.content_length(), Some(body.len() as i64));
        let got = client
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key}: {}", DisplayErrorContext(e)));
        assert_eq!(got.content_type(), Some("image/jpeg"));
        let bytes = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(bytes.as_ref(), body.as_slice(), "{key}");
        assert_eq!(server.get(key).await.0, body, "{key} as the server has it");
    }
    let missing = client
        .get_object()
        .bucket(BUCKET)
        .key("products/none.jpg")
        .send()
        .await
        .expect_err("no such key");
    assert_eq!(
        missing.raw_response().map(|r| r.status().as_u16()),
        Some(404)
    );
    assert_eq!(faults.delete_requests(), 0);
}

#[tokio::test]
async fn dropping_the_proxy_closes_its_port() {
    // No server needed: the upstream is only dialled per request.
    let faults = DeleteFaults::start("http://127.0.0.1:9").await.unwrap();
    let addr = faults.addr();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(faults);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
