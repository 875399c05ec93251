//! The application's error type: what jobs, drills, schedules, the catalog
//! and unit installation add to the engine's [`backup_core::Error`], which
//! it wraps unchanged.

use std::path::PathBuf;

/// Everything that can go wrong in the application layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The engine failed: storage, format, crypto, ship, restore, check.
    #[error(transparent)]
    Core(#[from] backup_core::Error),
    /// A zfs command run by the application itself (snapshots, scratch
    /// space, source retention) failed.
    #[error(transparent)]
    Zfs(#[from] backup_zfs::ZfsError),
    /// Restoring one file of a snapshot failed (`restore --path`).
    #[error("restoring {path} (object {object})")]
    Restore {
        /// The file, as `ls` shows it.
        path: String,
        /// Its ZFS object (inode) number.
        object: u64,
        /// What failed.
        #[source]
        source: Box<Error>,
    },
    /// Invalid parameters or configuration given by the caller.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was given, e.g. a config key or an option.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// Reading or writing a local file failed.
    #[error("{context}")]
    Io {
        /// What was being done, e.g. `creating /var/lib/backup`.
        context: String,
        /// The failed file operation.
        #[source]
        source: std::io::Error,
    },
    /// The local catalog (an SQLite cache) failed.
    #[error("catalog {path}")]
    Catalog {
        /// The catalog's database file.
        path: PathBuf,
        /// What SQLite reported.
        #[source]
        source: rusqlite::Error,
    },

    /// The catalog was written by a newer version of backup.
    #[error("catalog {path} has schema version {found}, which this build (schema {known}) does not know; use the newer build, or move it away: the next command rebuilds its cache of the repository, but not the job and drill history it holds")]
    CatalogVersion {
        /// The catalog's database file.
        path: PathBuf,
        /// The schema version the catalog has.
        found: i64,
        /// The schema version this build writes.
        known: i64,
    },

    /// No drill recorded in the catalog has this id, or an id starting with it.
    #[error("no drill in catalog {} has the id {query:?} or an id starting with it", catalog.display())]
    DrillNotFound {
        /// The id, or start of one, given.
        query: String,
        /// The catalog's database file.
        catalog: PathBuf,
    },

    /// The text is the start of several drills' ids.
    #[error("{query:?} matches {count} drills ({}{}); give a longer id", ids.join(", "), if *count > ids.len() { ", ..." } else { "" })]
    DrillAmbiguous {
        /// The start of an id given.
        query: String,
        /// How many drills' ids start with it.
        count: usize,
        /// The first few of them, newest first.
        ids: Vec<String>,
    },

    /// Another process holds a lock.
    #[error("{what} is already running ({holder}); not starting a second run")]
    Locked {
        /// What the lock is for, e.g. `job NAME`.
        what: String,
        /// Who holds it, e.g. `pid 1234`.
        holder: String,
    },

    /// A job's hook failed; the job stopped there.
    #[error("{which} hook of job {job} failed: {reason} (command: {command})")]
    Hook {
        /// The job's name.
        job: String,
        /// Which hook: `pre` or `post`.
        which: &'static str,
        /// The hook's shell command.
        command: String,
        /// How it failed: it could not start, exited non-zero, or outlived its timeout.
        reason: String,
    },
}

/// Shorthand for the application's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// Damaged stored bytes; an engine error, so that it counts as damage
    /// wherever the engine's does.
    pub(crate) fn corrupt(object: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Core(backup_core::Error::Corrupt {
            object: object.into(),
            reason: reason.into(),
        })
    }

    /// True if the error means the repository's data is damaged (see
    /// [`backup_core::Error::is_integrity`]).
    pub fn is_integrity(&self) -> bool {
        matches!(self, Error::Core(e) if e.is_integrity())
    }

    /// The engine's error, if this is one.
    pub fn core(&self) -> Option<&backup_core::Error> {
        match self {
            Error::Core(e) => Some(e),
            _ => None,
        }
    }
}
