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
mod paths;
mod remote;
mod schema;
mod shipping;
mod system;
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
pub use paths::{default_state_dir, state_dir_in, ROOT_STATE_DIR};
pub use system::{check_system, Lookup};
pub use units::{duration, portion, rate, size};

/// Where the configuration file is unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/backup/backup.toml";

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The configuration is refused (`config check` exits 2).
    Error,
    /// Probably a mistake, but nothing breaks (`config check` still exits
    /// 0): an `exclude` that matches no dataset.
    Warning,
}

/// One mistake (or warning), with its place.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigError {
    /// An error or a warning.
    pub severity: Severity,
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
    /// What to do about it, e.g. "did you mean `schedule`?".
    pub hint: Option<String>,
}

impl ConfigError {
    /// An error about `key` in `file` at `line`:`column` (0: unknown).
    pub fn new(file: &Path, line: usize, column: usize, key: &str, message: String) -> Self {
        ConfigError {
            severity: Severity::Error,
            file: file.to_path_buf(),
            line,
            column,
            key: key.to_string(),
            message,
            hint: None,
        }
    }

    /// The same, as a warning.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// The same, with a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// True for an error, false for a warning.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `FILE:LINE:COLUMN: [warning: ]KEY: MESSAGE[; HINT]`.
impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if self.severity == Severity::Warning {
            write!(f, ": warning")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
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
    /// Files of each snapshot restored by the fast path of `restore --path`.
    pub sample_files: usize,
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
            sample_files: DEFAULT_SAMPLE_FILES,
        }
    }
}

/// Files a drill restores one by one unless its definition says otherwise.
pub const DEFAULT_SAMPLE_FILES: usize = 24;

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
        ConfigError::new(&self.path, line, column, key, message.into())
    }
}

/// Reads and checks a configuration file: the configuration, or every
/// error in it (warnings are left out).
pub fn load(path: &Path) -> Result<Config, Vec<ConfigError>> {
    parse(path, &read(path)?)
}

fn read(path: &Path) -> Result<String, Vec<ConfigError>> {
    std::fs::read_to_string(path).map_err(|e| {
        vec![ConfigError::new(
            path,
            0,
            0,
            "",
            format!("cannot read the configuration file: {e}"),
        )]
    })
}

/// Checks configuration text; `path` is used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, Vec<ConfigError>> {
    let (config, errors) = validate::parse(path, text);
    match config {
        Some(c) if errors.is_empty() => Ok(c),
        _ => Err(errors),
    }
}

/// What `config check` learns from the file alone: every finding, and the
/// configuration as far as it could be read (`None` only when the file is
/// not TOML at all), so the checks against the system still run on what is
/// right.
#[derive(Debug)]
pub struct Checked {
    /// The configuration, with the wrong parts left out or at defaults.
    pub config: Option<Config>,
    /// Every finding, in file order.
    pub findings: Vec<ConfigError>,
}

/// Reads and checks a configuration file for `config check`.
pub fn check_file(path: &Path) -> Checked {
    match read(path) {
        Ok(text) => check(path, &text),
        Err(findings) => Checked {
            config: None,
            findings,
        },
    }
}

/// Checks configuration text for `config check`.
pub fn check(path: &Path, text: &str) -> Checked {
    let (config, findings) = validate::parse(path, text);
    Checked { config, findings }
}

#[cfg(test)]
mod tests;
