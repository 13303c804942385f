//! A real S3-compatible server for a test: `moto_server` (PyPI `moto[server]`, which `.ci/run`
//! installs) on a free loopback port, with a bucket of the test's own; stopped with the value.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use room_chats_core::attachments::StorageLocation;

pub struct S3Server {
    child: Child,
    pub endpoint: String,
    pub bucket: String,
}

impl S3Server {
    /// Starts a server and creates `bucket` on it.
    pub async fn start(bucket: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot run moto_server ({error}): pip install 'moto[server]'")
            });
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_owned(),
        };
        let client = awc::Client::default();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = client.get(&server.endpoint).send().await
                && response.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "moto_server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // moto checks no signatures: an unsigned PUT makes the bucket.
        let created = client
            .put(format!("{}/{bucket}", server.endpoint))
            .send()
            .await
            .expect("create bucket");
        assert!(created.status().is_success(), "create bucket: {created:?}");
        server
    }

    /// The service's store: this bucket under `prefix`, with credentials moto accepts.
    pub fn location(&self, prefix: &str) -> StorageLocation {
        let setting = |key: &str, value: &str| (key.to_owned(), value.to_owned());
        StorageLocation::Url {
            url: format!("s3://{}/{prefix}", self.bucket),
            s3_config: vec![
                setting("aws_endpoint", &self.endpoint),
                setting("aws_allow_http", "true"),
                setting("aws_region", "us-east-1"),
                setting("aws_access_key_id", "test"),
                setting("aws_secret_access_key", "test"),
            ],
        }
    }

    /// Keys of the objects in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let listing = self.get(&format!("/{}?list-type=2", self.bucket)).await;
        tag_values(&listing, "Key")
    }

    /// Multipart uploads begun and neither completed nor aborted.
    pub async fn open_uploads(&self) -> usize {
        let listing = self.get(&format!("/{}?uploads", self.bucket)).await;
        listing.matches("<Upload>").count()
    }

    async fn get(&self, path: &str) -> String {
        let mut response = awc::Client::default()
            .get(format!("{}{path}", self.endpoint))
            .send()
            .await
            .expect("moto answers");
        let body = response.body().limit(16 * 1024 * 1024).await.expect("body");
        String::from_utf8_lossy(&body).into_owned()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The texts of every `<tag>…</tag>` in `xml`.
fn tag_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split(&close).next())
        .map(str::to_owned)
        .collect()
}
