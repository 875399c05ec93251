//! The configuration file: one TOML file (default `/etc/backup/backup.toml`)
//! naming repositories and jobs. [`parse`] checks everything that can be
//! checked without touching the system and reports every mistake with its
//! file, line, column and key; checks against the system (does the dataset
//! exist, does the repository open) are the caller's, through
//! [`Config::error_at`] so they are reported the same way.
//!
//! ```
//! let text = r#"
//! [repositories.nas]
//! location = "/mnt/nas/backup"
//! password_file = "/etc/backup/nas.pass"
//!
//! [jobs.home]
//! repository = "nas"
//! datasets = ["tank/home"]
//! schedule = "hourly"
//! full_every = "7d"
//! keep_repository = { keep_hourly = 24, keep_daily = 7 }
//! "#;
//! let config = backup_ops::config::parse("backup.toml".as_ref(), text).unwrap();
//! assert_eq!(config.jobs["home"].datasets[0].as_str(), "tank/home");
//! ```

mod model;
mod notify;
mod remote;
mod shipping;
pub mod units;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use backup_zfs::DatasetName;
use jiff::SignedDuration;

use crate::retention::Rules;

pub use model::ConfigFile;
pub use notify::{Healthcheck, HealthcheckStyle, Notify, DEFAULT_NOTIFY_TIMEOUT};
pub use units::{duration, portion, rate, size};

/// Where the configuration file is unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/backup/backup.toml";

/// One mistake, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 if unknown.
    pub line: usize,
    /// 1-based column, 0 if unknown.
    pub column: usize,
    /// The key, e.g. `jobs.home.full_every`.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Where a repository's passphrase comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// First line of a file.
    File(PathBuf),
    /// Output of `sh -c COMMAND`.
    Command(String),
    /// A systemd credential: `$CREDENTIALS_DIRECTORY/NAME`.
    Credential(String),
}

/// A checked repository entry.
#[derive(Debug, Clone)]
pub struct RepositorySpec {
    /// Its name in the file.
    pub name: String,
    /// Location.
    pub location: String,
    /// Passphrase source.
    pub password: PasswordSource,
    /// How the backend is opened: limits, transfers, retries, S3 and SFTP
    /// settings (no cache directory: the caller adds it).
    pub backend: backup_core::BackendOptions,
    /// `s3.secret_access_key_file`, read when the repository is opened.
    pub s3_secret_file: Option<PathBuf>,
}

/// When a job sends a full stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullEvery {
    /// After this many incrementals.
    Incrementals(u32),
    /// When the last full is older than this.
    Age(SignedDuration),
}

/// A checked hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// Run with `sh -c`.
    pub command: String,
    /// Killed after this long.
    pub timeout: SignedDuration,
}

/// A checked job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its name in the file.
    pub name: String,
    /// Name of its repository.
    pub repository: String,
    /// Datasets to snapshot and ship.
    pub datasets: Vec<DatasetName>,
    /// Descendants too.
    pub recursive: bool,
    /// Descendants left out.
    pub exclude: Vec<DatasetName>,
    /// Snapshot name prefix.
    pub prefix: String,
    /// When it runs, as written (checked to parse).
    pub schedule: Option<String>,
    /// When to send a full.
    pub full_every: Option<FullEvery>,
    /// Retention on the source.
    pub keep_source: Rules,
    /// Retention in the repository.
    pub keep_repository: Rules,
    /// Before the snapshot.
    pub pre_hook: Option<Hook>,
    /// After the ship.
    pub post_hook: Option<Hook>,
    /// Upload limit in bytes per second.
    pub limit_upload: Option<u64>,
    /// Prune the repository after a run when its last prune is this old.
    pub prune_every: Option<jiff::SignedDuration>,
    /// Verify the repository when the last verification is this old.
    pub check_every: Option<SignedDuration>,
    /// What each verification reads back (a rotation); `None`: structure only.
    pub check_read_data: Option<backup_core::Portion>,
    /// Record a file manifest with each shipped snapshot.
    pub file_manifest: bool,
    /// The job's restore drill, if it has one.
    pub drill: Option<DrillSpec>,
    /// What to run and ping when it runs (its own `notify` over the
    /// global one).
    pub notify: Notify,
}

/// Which shipped snapshot a drill restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillPick {
    /// The newest of each dataset.
    Latest,
    /// A random one of each dataset.
    Random,
    /// This one (id, id prefix or `dataset@snap`).
    Given(String),
}

/// Where a drill restores to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scratch {
    /// A dataset made (and destroyed) under this parent.
    Under(DatasetName),
    /// A throwaway pool on a sparse file in this directory; `None`: the
    /// `drill` directory of the state directory.
    PoolIn(Option<PathBuf>),
}

/// A checked probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Its name.
    pub name: String,
    /// `sh -c` command.
    pub command: String,
    /// The (source) dataset whose restored copy it runs in; `None`: the first.
    pub dataset: Option<DatasetName>,
    /// Killed after this long.
    pub timeout: SignedDuration,
}

/// A checked drill definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillSpec {
    /// When it is due, as written.
    pub schedule: String,
    /// Scratch space.
    pub scratch: Scratch,
    /// Datasets to restore; empty: all the job ships.
    pub datasets: Vec<DatasetName>,
    /// Snapshot choice.
    pub pick: DrillPick,
    /// Restore time target.
    pub rto: Option<SignedDuration>,
    /// Data age target.
    pub rpo: Option<SignedDuration>,
    /// Probes, in order.
    pub probes: Vec<Probe>,
}

impl DrillSpec {
    /// The drill a job without a `[jobs.NAME.drill]` table gets when run by
    /// hand: monthly, a throwaway pool in the state directory, no targets.
    pub fn default_spec() -> DrillSpec {
        DrillSpec {
            schedule: DEFAULT_DRILL_SCHEDULE.into(),
            scratch: Scratch::PoolIn(None),
            datasets: Vec::new(),
            pick: DrillPick::Latest,
            rto: None,
            rpo: None,
            probes: Vec::new(),
        }
    }
}

/// A drill's schedule unless its definition says otherwise.
pub const DEFAULT_DRILL_SCHEDULE: &str = "monthly";

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub path: PathBuf,
    /// Repositories by name.
    pub repositories: BTreeMap<String, RepositorySpec>,
    /// Jobs by name.
    pub jobs: BTreeMap<String, Job>,
    /// State directory, if set.
    pub state_dir: Option<PathBuf>,
    /// Metrics textfile, if set.
    pub metrics_file: Option<PathBuf>,
    places: HashMap<String, (usize, usize)>,
}

impl Config {
    /// An error about `key` (e.g. `jobs.home.datasets[0]`), placed where the
    /// key's value is written.
    pub fn error_at(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let (line, column) = self.places.get(key).copied().unwrap_or((0, 0));
        ConfigError {
            file: self.path.clone(),
            line,
            column,
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Reads and checks a configuration file.
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            key: String::new(),
            message: format!("cannot read the configuration file: {e}"),
        }]
    })?;
    parse(path, &text)
}

/// Checks configuration text; `path` is used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<ConfigError>> {
    validate::parse(path, text)
}

#[cfg(test)]
mod tests;
