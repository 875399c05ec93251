//! How a backend is opened: the settings of the remote protocols, and what
//! wraps every backend (retries, bandwidth limits, the metadata cache).

use std::path::PathBuf;
use std::time::Duration;

/// Everything [`open`](super::open) needs besides the location.
#[derive(Clone, Debug, Default)]
pub struct BackendOptions {
    /// Objects transferred at once (packs uploaded, runs downloaded); `None`
    /// means the backend's default (1 for a directory, 4 for SFTP, 8 for S3).
    pub transfers: Option<usize>,
    /// Upload limit in bytes per second (`--limit-upload`, `limit_upload`).
    pub limit_upload: Option<u64>,
    /// Download limit in bytes per second.
    pub limit_download: Option<u64>,
    /// How transient failures are retried.
    pub retry: RetryPolicy,
    /// Where index segments and manifests of remote repositories are kept
    /// (one directory per location under it); `None`: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Settings for `s3://` locations.
    pub s3: S3Settings,
    /// Settings for `sftp://` locations.
    pub sftp: SftpSettings,
}

/// Bounded exponential backoff with full jitter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: no retry).
    pub attempts: u32,
    /// The first backoff; each further one doubles, up to `max_delay`.
    pub base_delay: Duration,
    /// The longest single backoff.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 8 attempts, backing off 0.5 s, 1 s, 2 s, … up to 60 s: a remote that
    /// is away for about two minutes (a NAS rebooting, a home uplink
    /// reconnecting) does not fail the run.
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// S3 settings. Each unset one falls back to the usual AWS environment
/// variables (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, …).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// `http(s)://host:port` of the S3 API (Garage, MinIO); AWS if unset.
    pub endpoint: Option<String>,
    /// The region (Garage's default is `garage`).
    pub region: Option<String>,
    /// The access key id of the credentials.
    pub access_key_id: Option<String>,
    /// The secret access key of the credentials.
    pub secret_access_key: Option<String>,
    /// Bucket in the host name (`bucket.endpoint`) instead of the path.
    pub virtual_host_style: bool,
    /// A request making no progress this long is abandoned and retried
    /// (default 60 s).
    pub timeout: Option<Duration>,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<secret>"),
            )
            .field("virtual_host_style", &self.virtual_host_style)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// SFTP settings: OpenSSH's `ssh` makes the connection, so `~/.ssh/config`
/// applies too (jump hosts, ports, keys); these override it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SftpSettings {
    /// The private key (`ssh -i`, with `IdentitiesOnly=yes`).
    pub identity_file: Option<PathBuf>,
    /// The known_hosts file holding the server's key (`UserKnownHostsFile`).
    pub known_hosts_file: Option<PathBuf>,
    /// The ssh program (default `ssh`).
    pub ssh_command: Option<String>,
    /// Further `ssh` options, each passed as `-o OPTION`.
    pub ssh_options: Vec<String>,
    /// Seconds of silence after which the connection counts as lost
    /// (`ServerAliveInterval` × `ServerAliveCountMax`); default 60.
    pub timeout: Option<Duration>,
}
