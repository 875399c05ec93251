//! A repository on S3-compatible object storage (Garage, MinIO, Ceph RGW,
//! AWS), through Apache OpenDAL's S3 service.
//!
//! An S3 PUT is atomic: an object is invisible until its whole body has
//! been received and stored, and a replacing PUT swaps it whole. That is the
//! durability contract of [`Backend`] as it stands; no temporary names are
//! needed. Durability on the server is the store's own (Garage acknowledges
//! a PUT once written to its replication quorum).

use std::time::Duration;

use opendal::layers::TimeoutLayer;
use opendal::{services, ErrorKind as OdKind, HttpTransporter, Operator};
use opendal_http_transport_reqwest::ReqwestTransport;

use super::local::kind_name;
use super::runtime::runtime;
use super::{Backend, FileType, S3Settings};
use crate::error::{Error, Result};
use crate::http_client::build_http_client;

/// Objects under `prefix/` in one bucket.
pub struct S3Backend {
    op: Operator,
    location: String,
    endpoint: String,
    transfers: usize,
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

impl S3Backend {
    /// Opens `s3://bucket/prefix`: settings first, then the AWS environment
    /// variables. Credentials must be found one way or the other.
    pub fn open(
        bucket: &str,
        prefix: &str,
        settings: &S3Settings,
        transfers: usize,
    ) -> Result<S3Backend> {
        let location = if prefix.is_empty() {
            format!("s3://{bucket}")
        } else {
            format!("s3://{bucket}/{prefix}")
        };
        let invalid = |reason: String| Error::Invalid {
            what: format!("S3 settings of {location}"),
            reason,
        };
        let key_id = settings
            .access_key_id
            .clone()
            .or_else(|| env(&["AWS_ACCESS_KEY_ID"]));
        let secret = settings
            .secret_access_key
            .clone()
            .or_else(|| env(&["AWS_SECRET_ACCESS_KEY"]));
        let (Some(key_id), Some(secret)) = (key_id, secret) else {
            return Err(invalid(
                "no credentials: set access_key_id and secret_access_key_file in the \
                 repository's [s3] table, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                    .into(),
            ));
        };
        let region = settings
            .region
            .clone()
            .or_else(|| env(&["AWS_REGION", "AWS_DEFAULT_REGION"]))
            .unwrap_or_else(|| "us-east-1".into());
        let endpoint = settings
            .endpoint
            .clone()
            .or_else(|| env(&["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]));
        if let Some(e) = &endpoint {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(invalid(format!(
                    "endpoint {e:?} must start with http:// or https://"
                )));
            }
        }
        let timeout = settings.timeout.unwrap_or(Duration::from_secs(60));
        opendal::install_default();
        let mut b = services::S3::default()
            .bucket(bucket)
            .root(&format!("/{prefix}"))
            .region(&region)
            .access_key_id(&key_id)
            .secret_access_key(&secret)
            .disable_config_load()
            .disable_ec2_metadata();
        if let Some(token) = env(&["AWS_SESSION_TOKEN"]) {
            b = b.session_token(&token);
        }
        if let Some(e) = &endpoint {
            b = b.endpoint(e);
        }
        if settings.virtual_host_style {
            b = b.enable_virtual_host_style();
        }
        let op = Operator::new(b).map_err(|e| invalid(e.to_string()))?;
        let transport = HttpTransporter::new(ReqwestTransport::new(
            // An `http://` endpoint (Garage or MinIO on the local network)
            // needs no certificate roots.
            build_http_client(
                reqwest::Client::builder(),
                endpoint.as_deref().unwrap_or(""),
            )
            .map_err(invalid)?,
        ));
        let context = op.context().with_http_transport(transport);
        let op = op
            .with_context(context)
            // A request that makes no progress for a minute (the timeout
            // setting) is abandoned and retried: a server that hangs must not
            // hang a nightly run. OpenDAL applies `timeout` to whole small
            // requests (stat, list, delete) and `io_timeout` to each step of
            // a transfer.
            .layer(
                TimeoutLayer::new()
                    .with_timeout(timeout)
                    .with_io_timeout(timeout),
            );
        Ok(S3Backend {
            op,
            location,
            endpoint: endpoint.unwrap_or_else(|| format!("AWS {region}")),
            transfers,
        })
    }

    /// The S3 API the bucket is reached at.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.location)
    }

    fn error(&self, op: &'static str, ty: FileType, name: &str, e: opendal::Error) -> Error {
        use std::io::ErrorKind as K;
        let path = ty.path(name);
        let kind = match e.kind() {
            OdKind::NotFound => {
                return Error::Missing {
                    kind: kind_name(ty),
                    name: name.to_string(),
                }
            }
            _ if e.is_temporary() => K::Interrupted,
            OdKind::RateLimited => K::ResourceBusy,
            OdKind::PermissionDenied => K::PermissionDenied,
            _ => K::Other,
        };
        Error::Backend {
            op,
            path: self.url(&path),
            source: std::io::Error::new(kind, e),
        }
    }
}

impl Backend for S3Backend {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn transfers(&self) -> usize {
        self.transfers
    }

    fn create(&self) -> Result<()> {
        // No directories on S3; but check the bucket answers and is empty of
        // a repository before `init` writes anything.
        match runtime().block_on(self.op.stat("config")) {
            Ok(_) => Err(Error::AlreadyExists {
                location: self.location(),
            }),
            Err(e) if e.kind() == OdKind::NotFound => {
                runtime()
                    .block_on(self.op.list("keys/"))
                    .map_err(|e| self.error("list", FileType::Key, "", e))?;
                Ok(())
            }
            Err(e) => Err(self.error("stat", FileType::Config, "config", e)),
        }
    }

    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.write_shared(ty, name, bytes::Bytes::copy_from_slice(data))
    }

    /// The PUT's body is `data` itself: a pack in flight is held once, not
    /// twice.
    fn write_shared(&self, ty: FileType, name: &str, data: bytes::Bytes) -> Result<()> {
        let path = ty.path(name);
        runtime()
            .block_on(self.op.write(&path, data))
            .map(|_| ())
            .map_err(|e| self.error("write", ty, name, e))
    }

    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        runtime()
            .block_on(self.op.read(&ty.path(name)))
            .map(|b| b.to_vec())
            .map_err(|e| self.error("read", ty, name, e))
    }

    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        let path = ty.path(name);
        let bytes = runtime()
            .block_on(async { self.op.read_with(&path).range(offset..offset + len).await })
            .map(|b| b.to_vec())
            .map_err(|e| self.error("read", ty, name, e))?;
        if bytes.len() as u64 != len {
            return Err(Error::Backend {
                op: "read",
                path: self.url(&path),
                source: std::io::Error::other(format!(
                    "asked for {len} bytes at offset {offset}, got {}",
                    bytes.len()
                )),
            });
        }
        Ok(bytes)
    }

    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        let dir = match ty {
            FileType::Config => {
                return Err(Error::Invalid {
                    what: "list".into(),
                    reason: "config is a single object".into(),
                })
            }
            _ => format!("{}/", ty.dir()),
        };
        let entries = runtime()
            .block_on(async { self.op.list_with(&dir).recursive(true).await })
            .map_err(|e| self.error("list", ty, "", e))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.metadata().mode().is_file())
            .filter_map(|e| {
                let name = e.name().trim_end_matches('/').to_string();
                (!name.starts_with('.') && !name.is_empty())
                    .then(|| (name, e.metadata().content_length()))
            })
            .collect())
    }

    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        match runtime().block_on(self.op.delete(&ty.path(name))) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == OdKind::NotFound => Ok(()),
            Err(e) => Err(self.error("remove", ty, name, e)),
        }
    }
}
