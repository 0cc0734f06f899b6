//! The direct transport against real SeaweedFS over HTTP: what the server checks, and what the
//! user is told when it refuses.

use bytes::Bytes;
use sha2::Digest;
use uploader_core::config::{S3Settings, UploadSettings};
use uploader_core::transport::{ErrorKind, PutObject, S3Direct, Transport};
use uploader_testkit::{ACCESS_KEY, FaultProxy, Faults, S3Server, SECRET_KEY};

fn object(key: &str) -> PutObject {
    let body = Bytes::from(format!("photo bytes of {key}"));
    PutObject {
        key: key.into(),
        sha256: format!("{:x}", sha2::Sha256::digest(&body)),
        body,
        content_type: "image/jpeg".into(),
        object_id: uploader_core::transport::new_object_id(),
    }
}

fn transport(server: &S3Server, offset_secs: i64, correct_skew: bool) -> S3Direct {
    via(server, &server.endpoint, offset_secs, correct_skew)
}

fn via(server: &S3Server, endpoint: &str, offset_secs: i64, correct_skew: bool) -> S3Direct {
    let settings = S3Settings {
        bucket: server.bucket.clone(),
        region: "us-east-1".into(),
        endpoint: Some(endpoint.to_string()),
        ..S3Settings::default()
    };
    S3Direct::with_keys_and_clock_offset(
        &settings,
        &UploadSettings::default(),
        ACCESS_KEY,
        SECRET_KEY,
        offset_secs,
        correct_skew,
    )
}

#[tokio::test]
async fn a_clock_an_hour_off_either_way_still_uploads() {
    let server = S3Server::start().await;
    for offset in [3_600, -3_600] {
        // The server does check: without correction the request is refused, and the error
        // says what to do (and counts as one to sign again, not the file's fault).
        let refused = transport(&server, offset, false)
            .put_object(object("products/SKEW/refused.jpg"))
            .await
            .expect_err("a signature an hour off is refused");
        assert_eq!(refused.kind, ErrorKind::Resign, "{refused}");
        assert!(refused.message.contains("clock"), "{refused}");

        let key = format!("products/SKEW/offset{offset}.jpg");
        transport(&server, offset, true)
            .put_object(object(&key))
            .await
            .unwrap_or_else(|e| panic!("clock {offset} s off: {e}"));
        let (bytes, _) = server.get(&key).await;
        assert_eq!(bytes, object(&key).body);
    }
    assert!(
        !server
            .keys()
            .await
            .contains(&"products/SKEW/refused.jpg".to_string())
    );
}

#[tokio::test]
async fn bytes_that_do_not_match_their_checksum_are_refused_saying_the_file_changed() {
    let server = S3Server::start().await;
    let key = "products/DIGEST/changed.jpg";
    let mut put = object(key);
    // What a file edited between queueing (hashing) and sending looks like to the server.
    put.body = Bytes::from_static(b"other bytes, same length as queued?!");
    let refused = transport(&server, 0, true)
        .put_object(put)
        .await
        .expect_err("bytes that do not match their SHA-256 are refused");
    assert_eq!(refused.kind, ErrorKind::Permanent, "{refused}");
    assert!(
        refused
            .message
            .contains("the file changed after it was queued"),
        "{refused}"
    );
    assert!(server.keys().await.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn starting_a_multipart_upload_is_sent_once_so_a_lost_answer_leaves_one_to_adopt() {
    let server = S3Server::start().await;
    let upstream = server
        .endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("the server listens on an IP address");
    let key = "products/MPU/lost-answer.jpg";
    // Every request is reset somewhere: within its head, or once through, as its answer
    // starts. The server may have opened an upload; the client cannot know.
    for seed in 0..6 {
        let faults = Faults {
            reset: 1.0,
            seed,
            ..Faults::default()
        };
        let proxy = FaultProxy::start(upstream, faults).await.unwrap();
        let before = proxy.requests();
        let lost = via(&server, &proxy.endpoint(), 0, true)
            .create_multipart(key, "image/jpeg", &"0".repeat(64), &"1".repeat(32))
            .await
            .expect_err("every answer is lost");
        assert_eq!(lost.kind, ErrorKind::Network, "{lost}");
        assert_eq!(proxy.requests() - before, 1, "sent once (seed {seed})");
    }
    // At most one upload per lost answer: each can be found with ListMultipartUploads.
    let open = transport(&server, 0, true)
        .list_multipart_uploads(key)
        .await
        .unwrap();
    assert!(open.len() <= 6, "{open:?}");
}

/// A one-request-at-a-time HTTP server on loopback that answers every request with `answer`.
async fn answering(answer: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                // The head (and any short body) of one request, then the answer.
                let _ = stream.read(&mut buf).await;
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_answer_that_is_not_s3s_says_it_could_not_be_read_and_what_was_expected() {
    let server = S3Server::start().await;
    let body = "<?xml version=\"1.0\"?><Unexpected><UploadId>x</UploadId></Unexpected>";
    let answer: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let endpoint = answering(answer).await;
    let e = via(&server, &endpoint, 0, true)
        .create_multipart(
            "products/X/y.jpg",
            "image/jpeg",
            &"0".repeat(64),
            &"1".repeat(32),
        )
        .await
        .expect_err("an answer with the wrong root is not an upload id");
    assert!(
        e.message.contains("could not be read") || e.message.contains("not with S3's answer"),
        "{e}"
    );
    assert!(e.message.contains("CreateMultipartUpload"), "{e}");
    assert!(!e.message.contains("no details"), "{e}");
}

#[tokio::test]
async fn a_server_failing_every_request_fails_the_probe_and_a_refusal_does_not() {
    let server = S3Server::start().await;
    let upstream = server.addr();
    let cases = [
        (
            "502 HTML",
            Faults {
                bad_gateway: 1.0,
                ..Faults::default()
            },
            false,
        ),
        (
            "SlowDown",
            Faults {
                slow_down: 1.0,
                ..Faults::default()
            },
            false,
        ),
        ("healthy", Faults::default(), true),
    ];
    for (name, faults, healthy) in cases {
        let proxy = FaultProxy::start(upstream, faults).await.unwrap();
        let probed = via(&server, &proxy.endpoint(), 0, true).probe().await;
        assert_eq!(probed.is_ok(), healthy, "{name}: {probed:?}");
        if let Err(e) = probed {
            assert!(e.kind.is_unavailable(), "{name}: {e}");
        }
    }
    // A bucket this key may not see still answers: the server is up.
    let mut wrong = S3Settings {
        bucket: "not-this-one".into(),
        region: "us-east-1".into(),
        endpoint: Some(server.endpoint.clone()),
        ..S3Settings::default()
    };
    wrong.prefix = "products/".into();
    let refused = S3Direct::with_keys_and_clock_offset(
        &wrong,
        &UploadSettings::default(),
        ACCESS_KEY,
        SECRET_KEY,
        0,
        true,
    );
    assert!(refused.probe().await.is_ok());
}
