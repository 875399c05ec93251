//! The configuration file as written: every table refuses unknown keys, and
//! values that need checking keep their place in the file (`Spanned`).
//! Keys a table needs are `Option`s all the same: the schema walk
//! ([`super::schema`]) reports a missing one, and the rest of the table is
//! still checked. The field lists match the schema's tables (a test pins
//! them).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Where snapshots go, by name.
    #[serde(default)]
    pub repositories: BTreeMap<String, RepositoryConf>,
    /// What to back up, how often, and how long to keep it, by name.
    #[serde(default)]
    pub jobs: BTreeMap<String, JobConf>,
    /// Directory for the catalogs (job, drill and verification history)
    /// and job state (default: /var/lib/backup as root, else
    /// $XDG_STATE_HOME/backup or ~/.local/state/backup).
    pub state_dir: Option<PathBuf>,
    /// node_exporter textfile to write after every run (optional).
    pub metrics_file: Option<PathBuf>,
    /// Notifications for every job (a job's own `notify` table wins, key
    /// by key).
    pub notify: Option<NotifyConf>,
}

/// A repository and where its passphrase comes from (exactly one source).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryConf {
    /// A directory, `sftp://[user@]host[:port]/path` or `s3://bucket/prefix`.
    pub location: Option<Spanned<String>>,
    /// A file whose first line is the passphrase.
    pub password_file: Option<Spanned<PathBuf>>,
    /// A shell command that prints the passphrase.
    pub password_command: Option<Spanned<String>>,
    /// The name of a systemd credential (LoadCredential=) holding it.
    pub password_credential: Option<Spanned<String>>,
    /// Upload limit for every use of this repository, e.g. "2MiB/s".
    pub limit_upload: Option<Spanned<String>>,
    /// Download limit, e.g. "10MiB/s".
    pub limit_download: Option<Spanned<String>>,
    /// Objects transferred at once.
    pub transfers: Option<Spanned<i64>>,
    /// Attempts per storage operation before giving up (1: no retries).
    pub retries: Option<Spanned<i64>>,
    /// Settings of an `s3://` location.
    pub s3: Option<Spanned<S3Conf>>,
    /// Settings of an `sftp://` location.
    pub sftp: Option<Spanned<SftpConf>>,
}

/// `[repositories.NAME.s3]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Conf {
    /// `http(s)://host:port` of the S3 API.
    pub endpoint: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub access_key_id: Option<Spanned<String>>,
    /// The secret itself (prefer the file).
    pub secret_access_key: Option<Spanned<String>>,
    /// A file whose first line is the secret.
    pub secret_access_key_file: Option<Spanned<PathBuf>>,
    /// `bucket.endpoint` instead of `endpoint/bucket`.
    pub virtual_host_style: Option<bool>,
    /// A request making no progress this long is abandoned, e.g. "60s".
    pub timeout: Option<Spanned<String>>,
}

/// `[repositories.NAME.sftp]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SftpConf {
    pub identity_file: Option<Spanned<PathBuf>>,
    pub known_hosts_file: Option<Spanned<PathBuf>>,
    pub ssh_command: Option<Spanned<String>>,
    #[serde(default)]
    pub ssh_options: Vec<Spanned<String>>,
    /// Silence after which the connection counts as lost, e.g. "60s".
    pub timeout: Option<Spanned<String>>,
}

/// A job.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobConf {
    /// Name of a `[repositories.NAME]` table.
    pub repository: Option<Spanned<String>>,
    /// Datasets to snapshot and ship.
    pub datasets: Option<Spanned<Vec<Spanned<String>>>>,
    /// Also every descendant of each dataset (one atomic `zfs snapshot -r`).
    #[serde(default)]
    pub recursive: bool,
    /// Descendants not to ship when `recursive` is set.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// Prefix of the snapshots this job makes: `<prefix>-<UTC time>`.
    pub prefix: Option<Spanned<String>>,
    /// When to run: a systemd calendar expression or five cron fields.
    pub schedule: Option<Spanned<String>>,
    /// When to send a full stream instead of an incremental: a duration
    /// ("7d") or a number of incrementals (24).
    pub full_every: Option<Spanned<FullEveryConf>>,
    /// Retention of the job's snapshots on the source.
    pub keep_source: Option<RetentionConf>,
    /// Retention of the job's snapshots in the repository.
    pub keep_repository: Option<RetentionConf>,
    /// Command run before the snapshot (e.g. a database checkpoint).
    pub pre_hook: Option<HookConf>,
    /// Command run after the ship.
    pub post_hook: Option<HookConf>,
    /// Upload bandwidth limit, e.g. "2MiB/s".
    pub limit_upload: Option<Spanned<String>>,
    /// After repository retention, prune the repository when its last
    /// prune is at least this old ("7d"); unset: only `backup prune` does.
    pub prune_every: Option<Spanned<String>>,
    /// Verify the repository (`check`) when the last verification is at
    /// least this old ("7d"); unset: only `backup check` does.
    pub check_every: Option<Spanned<String>>,
    /// What each verification reads back: a percentage of the packs ("5%")
    /// or a size ("2GiB"), rotating so every pack is read in turn; unset:
    /// structure only.
    pub check_read_data: Option<Spanned<String>>,
    /// Record a file manifest (every path, its metadata and content
    /// digest) with each shipped snapshot, for restore drills (default true).
    pub file_manifest: Option<bool>,
    /// The job's restore drill.
    pub drill: Option<DrillConf>,
    /// The job's notifications, over the global `[notify]` key by key.
    pub notify: Option<NotifyConf>,
}

/// `[notify]` and `[jobs.NAME.notify]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConf {
    /// Run after a successful run.
    pub on_success: Option<HookConf>,
    /// Run after a failed run.
    pub on_failure: Option<HookConf>,
    /// Pinged at the start (Healthchecks only), success and failure.
    pub healthcheck_url: Option<Spanned<String>>,
    /// "healthchecks" (default) or "uptime-kuma".
    pub healthcheck_style: Option<Spanned<String>>,
}

/// A restore drill: restore the job's snapshots into scratch space, verify
/// them layer by layer, run probes, and time it all.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillConf {
    /// When to drill (default "monthly").
    pub schedule: Option<Spanned<String>>,
    /// A dataset under which each drill makes (and destroys) its scratch
    /// dataset; unset: a throwaway file-backed pool in `scratch_dir`.
    pub scratch_parent: Option<Spanned<String>>,
    /// Directory for the throwaway pool's file and the drill's mountpoints
    /// (default `<state_dir>/drill`).
    pub scratch_dir: Option<Spanned<PathBuf>>,
    /// Only these of the job's datasets (default: all it ships).
    pub datasets: Option<Vec<Spanned<String>>>,
    /// Which snapshot: "latest" (default) or "random".
    pub snapshot: Option<Spanned<String>>,
    /// Target restore time ("2h"): the drill fails if restoring takes longer.
    pub rto: Option<Spanned<String>>,
    /// Target data age ("26h"): the drill fails if the restored snapshot is older.
    pub rpo: Option<Spanned<String>>,
    /// Commands run against the restored data.
    #[serde(default)]
    pub probes: Vec<ProbeConf>,
    /// Files restored one by one by the fast path of `restore --path`
    /// (default 24; 0: none).
    pub sample_files: Option<Spanned<i64>>,
}

/// A probe: `sh -c COMMAND` in the restored dataset's mountpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConf {
    /// Its name in reports.
    pub name: Option<Spanned<String>>,
    /// Run with `sh -c`, in the restored mountpoint of `dataset`.
    pub command: Option<Spanned<String>>,
    /// Which restored dataset (default: the drill's first).
    pub dataset: Option<Spanned<String>>,
    /// Killed after this long (default 5m).
    pub timeout: Option<Spanned<String>>,
}

/// `full_every`: a duration or a count.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FullEveryConf {
    /// A number of incrementals between fulls.
    Count(i64),
    /// A duration, e.g. "7d".
    Duration(String),
}

/// Retention rules as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConf {
    /// Keep the n newest.
    pub keep_last: Option<Spanned<i64>>,
    /// Keep the newest of each of the last n hours.
    pub keep_hourly: Option<Spanned<i64>>,
    /// ... days.
    pub keep_daily: Option<Spanned<i64>>,
    /// ... ISO weeks.
    pub keep_weekly: Option<Spanned<i64>>,
    /// ... months.
    pub keep_monthly: Option<Spanned<i64>>,
    /// ... years.
    pub keep_yearly: Option<Spanned<i64>>,
    /// Keep everything newer than this duration.
    pub keep_within: Option<Spanned<String>>,
}

/// A hook command.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookConf {
    /// Run with `sh -c`.
    pub command: Option<Spanned<String>>,
    /// Killed after this long (default 5m).
    pub timeout: Option<Spanned<String>>,
}
