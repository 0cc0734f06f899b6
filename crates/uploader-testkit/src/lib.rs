//! A real S3-compatible server for tests: SeaweedFS (`weed mini`) on free loopback ports,
//! in a temp dir, with its own credentials and a bucket. Dropping it stops the process.
//!
//! Tests never depend on a server left running: each starts its own.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

mod backend;
mod bins;
mod companion;
pub mod delete_faults;
pub mod proxy;

pub use backend::{BackendServer, Registered, WorkerProcess};
pub use bins::binary;
pub use companion::CompanionServer;
pub use delete_faults::DeleteFaults;
pub use proxy::{FaultProxy, Faults};

pub const ACCESS_KEY: &str = "testkit-access-key";
pub const SECRET_KEY: &str = "testkit-secret-key-0123456789";
pub const BUCKET: &str = "catalog-test";
/// An identity the server lets in under `products/` only, as the guide's least-privilege
/// policy does: the denied-prefix fault.
pub const PRODUCTS_ONLY_ACCESS_KEY: &str = "testkit-products-only";
pub const PRODUCTS_ONLY_SECRET_KEY: &str = "testkit-products-only-secret-0123";

pub struct S3Server {
    child: Child,
    dir: tempfile::TempDir,
    pub endpoint: String,
    pub bucket: String,
}

impl S3Server {
    /// The address the server listens on, for a proxy in front of it.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.endpoint
            .trim_start_matches("http://")
            .parse()
            .expect("the server listens on an IP address")
    }

    /// Starts a server with `BUCKET` created. Panics with the server's log if it cannot start.
    pub async fn start() -> S3Server {
        let mut last_log = String::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(server) => {
                    server.create_bucket(BUCKET).await;
                    return server;
                }
                Err(log) => last_log = log,
            }
        }
        panic!(
            "SeaweedFS did not start (is `weed` installed? scripts/setup.sh installs it):\n{last_log}"
        );
    }

    fn try_start() -> Result<S3Server, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let identities = dir.path().join("identities.json");
        std::fs::write(
            &identities,
            format!(
                r#"{{"identities":[{{"name":"testkit","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}},{{"name":"products-only","credentials":[{{"accessKey":"{PRODUCTS_ONLY_ACCESS_KEY}","secretKey":"{PRODUCTS_ONLY_SECRET_KEY}"}}],"actions":["Read:{BUCKET}/products/*","Write:{BUCKET}/products/*","List:{BUCKET}/products/*"]}}]}}"#
            ),
        )
        .map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        let ports = free_ports(12)?;
        let log_path = dir.path().join("weed.log");
        let log = std::fs::File::create(&log_path).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let s3_port = ports[0];
        let mut cmd = Command::new(weed_binary());
        cmd.arg("mini")
            .arg(format!("-dir={}", data.display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-master.telemetry=false",
            ])
            .args([
                "-admin.ui=false",
                // Like S3: a PUT to a missing bucket is an error, not a new bucket.
                "-s3.autoCreateBucket=false",
                "-webdav=false",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ])
            .arg(format!("-s3.config={}", identities.display()))
            .arg(format!("-s3.port={s3_port}"))
            .arg(format!("-s3.port.grpc={}", ports[1]))
            .arg(format!("-master.port={}", ports[2]))
            .arg(format!("-master.port.grpc={}", ports[3]))
            .arg(format!("-volume.port={}", ports[4]))
            .arg(format!("-volume.port.grpc={}", ports[5]))
            .arg(format!("-filer.port={}", ports[6]))
            .arg(format!("-filer.port.grpc={}", ports[7]))
            .arg(format!("-admin.port={}", ports[8]))
            .arg(format!("-admin.port.grpc={}", ports[9]))
            .arg(format!("-webdav.port={}", ports[10]))
            .arg(format!("-metricsPort={}", ports[11]))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let child = cmd.spawn().map_err(|e| format!("cannot run weed: {e}"))?;
        let mut server = S3Server {
            child,
            dir,
            endpoint: format!("http://127.0.0.1:{s3_port}"),
            bucket: BUCKET.to_string(),
        };
        if server.wait_ready(s3_port, Duration::from_secs(30)) {
            Ok(server)
        } else {
            Err(std::fs::read_to_string(&log_path).unwrap_or_default())
        }
    }

    /// Ready when the S3 port answers HTTP (SeaweedFS opens it last).
    fn wait_ready(&mut self, port: u16, within: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if http_answers(port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Environment for a process that should upload here, in the company's variable names.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_S3_BUCKET_NAME", self.bucket.clone()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            // Tests stay on loopback: the credential chain must never probe instance metadata.
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
    }

    /// An SDK client for checking what landed.
    pub fn client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "testkit",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub async fn create_bucket(&self, name: &str) {
        let started = Instant::now();
        // The filer can lag the S3 port by a moment after start.
        loop {
            match self.client().create_bucket().bucket(name).send().await {
                Ok(_) => return,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!(
                    "cannot create bucket {name}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                ),
            }
        }
    }

    /// Multipart uploads still open in the bucket, as (key, upload id).
    pub async fn open_uploads(&self) -> Vec<(String, String)> {
        let out = self
            .client()
            .list_multipart_uploads()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot list uploads: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            });
        out.uploads()
            .iter()
            .map(|u| {
                (
                    u.key().unwrap_or_default().to_string(),
                    u.upload_id().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Puts a small object at each key, 32 at a time.
    pub async fn put_many(&self, keys: &[String]) {
        let client = self.client();
        let mut tasks = tokio::task::JoinSet::new();
        for key in keys {
            if tasks.len() >= 32 {
                tasks.join_next().await;
            }
            let (client, bucket, key) = (client.clone(), self.bucket.clone(), key.clone());
            tasks.spawn(async move {
                client
                    .put_object()
                    .bucket(bucket)
                    .key(&key)
                    .body(aws_sdk_s3::primitives::ByteStream::from(
                        key.clone().into_bytes(),
                    ))
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "cannot put {key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(e)
                        )
                    });
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("put task");
        }
    }

    /// Every key in the bucket, sorted.
    pub async fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut pages = self
            .client()
            .list_objects_v2()
            .bucket(&self.bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.unwrap_or_else(|e| {
                panic!(
                    "cannot list {}: {}",
                    self.bucket,
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            });
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        keys.sort();
        keys
    }

    /// The object's bytes and `Content-Type`.
    pub async fn get(&self, key: &str) -> (Vec<u8>, Option<String>) {
        let out = self
            .client()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot get {key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            });
        let content_type = out.content_type().map(str::to_string);
        let body = out
            .body
            .collect()
            .await
            .map(|b| b.into_bytes().to_vec())
            .unwrap_or_else(|e| panic!("cannot read {key}: {e}"));
        (body, content_type)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `weed` from PATH, or the binary named by `WEED_BIN`.
fn weed_binary() -> PathBuf {
    std::env::var_os("WEED_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("weed"))
}

/// Distinct free loopback ports; all are held until all are chosen so none repeats.
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string()))
        .collect()
}

fn http_answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_millis(200),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/")
}

/// A photo from `../shared/images/`, copied into `into` so tests never write to shared/.
pub fn shared_image(relative: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/images");
    let path = root.join(relative);
    assert!(
        path.exists(),
        "missing test image {} (../shared must sit beside the checkout)",
        path.display()
    );
    path
}

/// Copies shared images into a temp folder and returns their new paths.
pub fn copy_images(relatives: &[&str], into: &Path) -> Vec<PathBuf> {
    relatives
        .iter()
        .map(|r| {
            let from = shared_image(r);
            let to = into.join(from.file_name().unwrap_or_default());
            std::fs::copy(&from, &to)
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
            to
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn server_starts_with_a_bucket_and_stops_when_dropped() {
        let server = S3Server::start().await;
        let port: u16 = server
            .endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap();
        server
            .client()
            .put_object()
            .bucket(BUCKET)
            .key("products/probe.txt")
            .body(b"probe".to_vec().into())
            .send()
            .await
            .unwrap();
        assert_eq!(server.keys().await, ["products/probe.txt"]);
        drop(server);
        assert!(!http_answers(port), "the server must stop when dropped");
    }
}
