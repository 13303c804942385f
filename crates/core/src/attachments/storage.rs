//! Where attachment bytes live: a directory on local disk (the default, under `DATA_DIR`) or
//! an S3-compatible bucket (`STORAGE_URL=s3://bucket/prefix`), behind one interface.

use std::ops::Range;
use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::{HeaderValue, SignedUrlOptions, Signer};
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    WriteMultipart,
};

/// Why the store could not be set up or used.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// `STORAGE_URL` is not a URL this service can use.
    #[error("STORAGE_URL {0}")]
    BadUrl(String),
    /// The object does not exist.
    #[error("object not found")]
    NotFound,
    /// The store failed (unreachable, refused, disk full …).
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// The local directory could not be created or read.
    #[error("attachment directory: {0}")]
    Directory(#[from] std::io::Error),
}

/// Where the store is, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    /// A directory on local disk.
    Directory(std::path::PathBuf),
    /// `STORAGE_URL`: `s3://…` or `file://…`.
    Url {
        /// The URL.
        url: String,
        /// S3 client settings (`object_store` keys such as `aws_endpoint`) over those of the
        /// `AWS_*` environment variables; empty in production, where the environment rules.
        s3_config: Vec<(String, String)>,
    },
}

/// The attachment store.
#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// The S3 client again, for presigned URLs; `None` on local disk.
    signer: Option<Arc<AmazonS3>>,
    /// Keys live under this prefix of the bucket (empty on local disk).
    prefix: Path,
    /// Bytes per part of a streamed upload: S3 wants at least 5 MiB per part but the last,
    /// local disk takes any, and this much of each upload is held in memory.
    part_size: usize,
    /// What the log says the store is.
    description: String,
    /// The directory, on local disk.
    local_dir: Option<std::path::PathBuf>,
}

/// Smallest part S3 accepts (all parts but the last).
const S3_PART_BYTES: usize = 5 * 1024 * 1024;

/// Parts on local disk: small, so an upload holds little memory.
const LOCAL_PART_BYTES: usize = 256 * 1024;

impl Storage {
    /// The store at `location`.
    pub fn open(location: &StorageLocation) -> Result<Self, StorageError> {
        match location {
            StorageLocation::Directory(dir) => Self::local(dir),
            StorageLocation::Url { url, s3_config } => Self::from_url(url, s3_config),
        }
    }

    /// Files under `dir` on local disk (created if missing).
    pub fn local(dir: &FsPath) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self {
            store: Arc::new(store),
            signer: None,
            prefix: Path::default(),
            part_size: LOCAL_PART_BYTES,
            description: format!("local disk at {}", dir.display()),
            local_dir: Some(dir.to_owned()),
        })
    }

    /// The store `url` names: `s3://bucket[/prefix]` (endpoint, region and credentials from
    /// the standard `AWS_*` variables, then `s3_config`) or `file:///absolute/dir`.
    pub fn from_url(url: &str, s3_config: &[(String, String)]) -> Result<Self, StorageError> {
        let parsed =
            url::Url::parse(url).map_err(|error| StorageError::BadUrl(error.to_string()))?;
        match parsed.scheme() {
            "file" => {
                let dir = parsed
                    .to_file_path()
                    .map_err(|()| StorageError::BadUrl("file:// needs an absolute path".into()))?;
                Self::local(&dir)
            }
            "s3" => {
                let bucket = parsed
                    .host_str()
                    .filter(|bucket| !bucket.is_empty())
                    .ok_or_else(|| StorageError::BadUrl("s3:// needs a bucket".into()))?;
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                for (key, value) in s3_config {
                    let key = key.parse().map_err(|error| {
                        StorageError::BadUrl(format!("S3 setting {key}: {error}"))
                    })?;
                    builder = builder.with_config(key, value);
                }
                let s3 = builder.build()?;
                let s3 = Arc::new(s3);
                let prefix = Path::from(parsed.path().trim_matches('/'));
                Ok(Self {
                    store: s3.clone(),
                    signer: Some(s3),
                    description: format!("s3 bucket {bucket}, prefix \"{prefix}\""),
                    prefix,
                    part_size: S3_PART_BYTES,
                    local_dir: None,
                })
            }
            other => Err(StorageError::BadUrl(format!(
                "scheme {other}: is not s3:// or file://"
            ))),
        }
    }

    /// What the store is, for the startup log.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Removes what uploads cut short by a crash left on local disk (idle for `idle`); answers
    /// how many files. Nothing to do on S3.
    pub async fn sweep_unfinished(&self, idle: Duration) -> Result<usize, StorageError> {
        let Some(dir) = self.local_dir.clone() else {
            return Ok(0);
        };
        let swept = tokio::task::spawn_blocking(move || super::staging::sweep(&dir, idle))
            .await
            .map_err(|panicked| std::io::Error::other(panicked.to_string()))??;
        Ok(swept)
    }

    /// Whether downloads and uploads can go straight to the store with presigned URLs.
    pub fn presigns(&self) -> bool {
        self.signer.is_some()
    }

    fn location(&self, key: &str) -> Path {
        if self.prefix.as_ref().is_empty() {
            Path::from(key)
        } else {
            // `Path::join` would take the key as one segment and escape its slashes.
            Path::from(format!("{}/{key}", self.prefix))
        }
    }

    /// Starts writing the object `key` in parts; nothing is visible at `key` until
    /// [`ObjectWriter::finish`]. On S3 the object keeps `content_type` and `disposition`, so
    /// the store serves presigned downloads with them (local disk keeps no such metadata; the
    /// service sets them when it serves the file).
    pub async fn writer(
        &self,
        key: &str,
        content_type: &str,
        disposition: &str,
    ) -> Result<ObjectWriter, StorageError> {
        let location = self.location(key);
        let upload = if self.signer.is_some() {
            let mut attributes = Attributes::new();
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
            attributes.insert(Attribute::ContentDisposition, disposition.to_owned().into());
            let options = PutMultipartOptions {
                attributes,
                ..PutMultipartOptions::default()
            };
            self.store.put_multipart_opts(&location, options).await?
        } else {
            self.store.put_multipart(&location).await?
        };
        Ok(ObjectWriter {
            upload: Some(WriteMultipart::new_with_chunk_size(upload, self.part_size)),
        })
    }

    /// The object's bytes in `range` (all of them when `None`), as a stream.
    pub async fn read(
        &self,
        key: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, StorageError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        match self.store.get_opts(&self.location(key), options).await {
            Ok(result) => Ok(result.into_stream()),
            Err(object_store::Error::NotFound { .. }) => Err(StorageError::NotFound),
            Err(error) => Err(error.into()),
        }
    }

    /// Removes the object (an absent one is not an error).
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.store.delete(&self.location(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// A URL that reads the object for `ttl` without credentials (S3 only). The store answers
    /// it with `content_type` and `disposition`, whatever the object was stored with.
    pub async fn presigned_get(
        &self,
        key: &str,
        ttl: Duration,
        content_type: &str,
        disposition: &str,
    ) -> Result<Option<url::Url>, StorageError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let options = SignedUrlOptions::new().with_query([
            ("response-content-type", content_type),
            ("response-content-disposition", disposition),
        ]);
        let url = signer
            .signed_url_opts(http::Method::GET, &self.location(key), ttl, &options)
            .await?;
        Ok(Some(url))
    }

    /// A URL that writes the object for `ttl` without credentials (S3 only), accepted only with
    /// exactly this `Content-Type`: it is signed. The length cannot be (object_store reserves
    /// `Content-Length` to the signer), so whoever uses the object checks it.
    pub async fn presigned_put(
        &self,
        key: &str,
        ttl: Duration,
        content_type: &str,
    ) -> Result<Option<url::Url>, StorageError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let content_type = HeaderValue::from_str(content_type)
            .map_err(|error| StorageError::BadUrl(format!("content type: {error}")))?;
        let options =
            SignedUrlOptions::new().with_signed_header(http::header::CONTENT_TYPE, content_type);
        let url = signer
            .signed_url_opts(http::Method::PUT, &self.location(key), ttl, &options)
            .await?;
        Ok(Some(url))
    }

    /// The object's size in bytes.
    pub async fn size(&self, key: &str) -> Result<u64, StorageError> {
        match self.store.head(&self.location(key)).await {
            Ok(meta) => Ok(meta.size),
            Err(object_store::Error::NotFound { .. }) => Err(StorageError::NotFound),
            Err(error) => Err(error.into()),
        }
    }
}

/// An object being written. Dropped unfinished (the upload failed, was refused or the
/// client went away), it aborts: nothing stays behind.
pub struct ObjectWriter {
    upload: Option<WriteMultipart>,
}

/// Parts of one upload sent to the store at once.
const PARTS_IN_FLIGHT: usize = 2;

impl ObjectWriter {
    /// Adds `bytes`, waiting while the store is behind (so a fast client cannot fill memory).
    pub async fn write(&mut self, bytes: Bytes) -> Result<(), StorageError> {
        let Some(upload) = self.upload.as_mut() else {
            return Ok(());
        };
        upload.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        upload.put(bytes);
        Ok(())
    }

    /// Completes the object.
    pub async fn finish(mut self) -> Result<(), StorageError> {
        if let Some(upload) = self.upload.take() {
            upload.finish().await?;
        }
        Ok(())
    }

    /// Gives the object up and removes what was written of it.
    pub async fn abort(mut self) {
        if let Some(upload) = self.upload.take()
            && let Err(error) = upload.abort().await
        {
            tracing::warn!(%error, "an unfinished upload could not be removed");
        }
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if let Some(upload) = self.upload.take() {
            // Dropped without finish or abort: the request's task ended (the client went away
            // mid-upload). Remove the partial object off the request path.
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Err(error) = upload.abort().await {
                        tracing::warn!(%error, "an unfinished upload could not be removed");
                    }
                });
            }
        }
    }
}
