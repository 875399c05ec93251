//! The catalog: an SQLite database on the source host, in the state
//! directory: a cache of what the repository holds, and the host's job,
//! drill and verification history. The cache part is never authoritative:
//! [`Catalog::rebuild`] makes it again from the repository alone and keeps
//! the history. One catalog per repository per host, shared by timers, cron
//! and shells; [`adopt`] brings in one left where older versions kept it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::error::{Error, Result};
use backup_core::Id;
use backup_core::Manifest;
use backup_core::Repository;

pub use adopt::{adopt, Adoption};
pub use verifications::Verification;

mod adopt;
pub(crate) mod drills;
#[cfg(test)]
mod tests;
mod verifications;

/// The schema version this build writes. Bump it with a migration step.
const SCHEMA_VERSION: i64 = 6;

const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE snapshots (
        id TEXT PRIMARY KEY,
        dataset TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        guid TEXT NOT NULL,
        createtxg INTEGER NOT NULL,
        creation INTEGER NOT NULL,
        base_guid TEXT,
        stream_len INTEGER NOT NULL,
        chunks INTEGER NOT NULL,
        new_chunks INTEGER NOT NULL,
        new_raw_bytes INTEGER NOT NULL,
        new_stored_bytes INTEGER NOT NULL,
        shipped_at INTEGER NOT NULL,
        host TEXT NOT NULL,
        manifest TEXT NOT NULL
    );
    CREATE INDEX snapshots_dataset ON snapshots (dataset, createtxg);
    CREATE INDEX snapshots_guid ON snapshots (guid);",
    // 1 -> 2: job history. Not rebuildable from the repository: `rebuild`
    // never touches it.
    "CREATE TABLE job_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job TEXT NOT NULL,
        started INTEGER NOT NULL,
        finished INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        error TEXT,
        snapshot TEXT,
        shipped INTEGER NOT NULL,
        stream_bytes INTEGER NOT NULL,
        stored_bytes INTEGER NOT NULL
    );
    CREATE INDEX job_runs_job ON job_runs (job, started);",
    // 2 -> 3: the run's own time (the wall clock, or a simulated one), which
    // `run --due` compares with the schedule. Older rows use `started`.
    "ALTER TABLE job_runs ADD COLUMN run_at INTEGER;",
    // 3 -> 4: restore drills, each with its whole JSON report. Like job
    // history, not rebuildable from the repository: `rebuild` never touches it.
    "CREATE TABLE drills (
        id TEXT PRIMARY KEY,
        job TEXT NOT NULL,
        started INTEGER NOT NULL,
        finished INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        report TEXT NOT NULL
    );
    CREATE INDEX drills_job ON drills (job, started);",
    // 4 -> 5: whether a failed run found the repository damaged (a broken
    // chain a ship had to replace with a full): Nagios says CRITICAL.
    "ALTER TABLE job_runs ADD COLUMN damaged INTEGER NOT NULL DEFAULT 0;",
    // 5 -> 6: scheduled verifications (`check_every`), each with what it
    // read and found; `cursor` is the last pack read, where the next one
    // starts. History: `rebuild` never touches it.
    "CREATE TABLE verifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job TEXT NOT NULL,
        started INTEGER NOT NULL,
        finished INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        portion TEXT,
        packs INTEGER NOT NULL,
        pack_bytes INTEGER NOT NULL,
        packs_read INTEGER NOT NULL,
        bytes_read INTEGER NOT NULL,
        blobs_read INTEGER NOT NULL,
        problems TEXT NOT NULL,
        damaged_snapshots TEXT NOT NULL,
        cursor TEXT,
        completed_pass INTEGER NOT NULL
    );
    CREATE INDEX verifications_job ON verifications (job, started);",
];

/// One run of a job, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct JobRun {
    /// Job name.
    pub job: String,
    /// Start, Unix seconds.
    pub started: i64,
    /// The run's own time, Unix seconds: the wall clock at its start, or the
    /// simulated time it was given. Schedules are decided on it.
    pub run_at: i64,
    /// End, Unix seconds.
    pub finished: i64,
    /// True if every step succeeded.
    pub ok: bool,
    /// The error, if not.
    pub error: Option<String>,
    /// True if the run found the repository damaged (then `ok` is false).
    pub damaged: bool,
    /// Snapshot name taken (after the @).
    pub snapshot: Option<String>,
    /// Streams shipped.
    pub shipped: u64,
    /// Bytes of the streams.
    pub stream_bytes: u64,
    /// Bytes newly stored.
    pub stored_bytes: u64,
}

/// One snapshot as the catalog knows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct CatalogEntry {
    /// Manifest id.
    pub id: Id,
    /// The manifest, without its chunk lists.
    pub manifest: Manifest,
}

/// What a sync changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Manifests added.
    pub added: usize,
    /// Rows removed (their manifests are gone).
    pub removed: usize,
}

/// A sync's outcome: what changed, and manifests that could not be read
/// (left out of the catalog; `check` reports them too).
#[derive(Clone, Debug, Default)]
pub struct SyncReport {
    /// Counts.
    pub stats: SyncStats,
    /// One message per unreadable manifest, naming it.
    pub unreadable: Vec<String>,
}

/// An open catalog.
#[derive(Debug)]
pub struct Catalog {
    conn: Connection,
    path: PathBuf,
}

impl Catalog {
    /// Opens (creating or migrating) the catalog at `path`.
    ///
    /// A directory it creates is 0700 and a database file it creates 0600,
    /// whatever the umask; SQLite gives the `-wal` and `-shm` files the
    /// database file's mode. Existing files and directories keep theirs.
    pub fn open(path: &Path) -> Result<Catalog> {
        use std::os::unix::fs::OpenOptionsExt;
        Catalog::ensure_dir(path)?;
        // Create it ourselves: SQLite would follow the umask (0644 under 022).
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io(format!("creating {}", path.display()), e)),
        }
        let err = |source| Error::Catalog {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        )
        .map_err(err)?;
        let found: i64 = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map_err(err)?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if !(0..=SCHEMA_VERSION).contains(&found) {
            return Err(Error::CatalogVersion {
                path: path.to_path_buf(),
                found,
                known: SCHEMA_VERSION,
            });
        }
        for step in &MIGRATIONS[found as usize..] {
            tx.execute_batch(step).map_err(err)?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
            [SCHEMA_VERSION.to_string()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Catalog {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Creates the directory of the catalog file `path` (0700) if missing.
    fn ensure_dir(path: &Path) -> Result<()> {
        use std::os::unix::fs::DirBuilderExt;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        }
        Ok(())
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Catalog {
            path: self.path.clone(),
            source,
        }
    }

    /// Brings the catalog in line with the repository: reads manifests it
    /// does not have, drops rows whose manifest is gone. A catalog made for
    /// another repository is emptied first.
    pub fn sync(&mut self, repo: &Repository) -> Result<SyncReport> {
        let in_repo: HashSet<Id> = repo.manifest_ids()?.into_iter().collect();
        let repo_id = repo.id().to_hex();
        let known_repo: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'repository'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        let mut stats = SyncStats::default();
        let mut unreadable = Vec::new();
        let mut new = Vec::new();
        let have = if known_repo.as_deref() == Some(repo_id.as_str()) {
            self.ids()?
        } else {
            HashSet::new()
        };
        for id in in_repo.difference(&have) {
            match repo.read_manifest(id) {
                Ok(m) => new.push((*id, m)),
                Err(e @ backup_core::Error::Backend { .. }) => return Err(e.into()),
                Err(e) => unreadable.push(e.to_string()),
            }
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| Error::Catalog {
                path: self.path.clone(),
                source: e,
            })?;
        let err = |source| Error::Catalog {
            path: self.path.clone(),
            source,
        };
        if known_repo.as_deref() != Some(repo_id.as_str()) {
            tx.execute("DELETE FROM snapshots", []).map_err(err)?;
            tx.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('repository', ?1)",
                [&repo_id],
            )
            .map_err(err)?;
        }
        for gone in have.difference(&in_repo) {
            stats.removed += tx
                .execute("DELETE FROM snapshots WHERE id = ?1", [gone.to_hex()])
                .map_err(err)?;
        }
        for (id, m) in &new {
            insert(&tx, id, m).map_err(err)?;
            stats.added += 1;
        }
        tx.commit().map_err(err)?;
        Ok(SyncReport { stats, unreadable })
    }

    /// Empties the catalog and reads everything again from the repository.
    pub fn rebuild(&mut self, repo: &Repository) -> Result<SyncReport> {
        self.conn
            .execute("DELETE FROM meta WHERE key = 'repository'", [])
            .map_err(|e| self.err(e))?;
        self.sync(repo)
    }

    /// Records a job run.
    pub fn record_run(&self, r: &JobRun) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO job_runs (job, started, finished, ok, error, snapshot, shipped, stream_bytes, stored_bytes, run_at, damaged)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    r.job,
                    r.started,
                    r.finished,
                    r.ok,
                    r.error,
                    r.snapshot,
                    r.shipped as i64,
                    r.stream_bytes as i64,
                    r.stored_bytes as i64,
                    r.run_at,
                    r.damaged
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The runs of `job`, newest first (by their own time), at most `limit`.
    pub fn runs(&self, job: &str, limit: usize) -> Result<Vec<JobRun>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM job_runs WHERE job = ?1
                 ORDER BY COALESCE(run_at, started) DESC, id DESC LIMIT ?2"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![job, limit as i64], job_run)
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// When the repository was last pruned by a job run (its own time).
    pub fn last_prune(&self) -> Result<Option<i64>> {
        let v: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'last_prune'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(v.and_then(|v| v.parse().ok()))
    }

    /// Records a prune at `at` (Unix seconds).
    pub fn record_prune(&self, at: i64) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_prune', ?1)",
                [at.to_string()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The latest time `job` ran (its own time, see [`JobRun::run_at`]),
    /// whether it succeeded or not: what `run --due` measures from.
    pub fn last_run_at(&self, job: &str) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT MAX(COALESCE(run_at, started)) FROM job_runs WHERE job = ?1",
                [job],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))
    }

    fn ids(&self) -> Result<HashSet<Id>> {
        let mut st = self
            .conn
            .prepare("SELECT id FROM snapshots")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(|e| self.err(e))?;
        Ok(rows.iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// Every snapshot, by dataset then createtxg.
    pub fn snapshots(&self) -> Result<Vec<CatalogEntry>> {
        let mut st = self
            .conn
            .prepare("SELECT id, manifest FROM snapshots ORDER BY dataset, createtxg, shipped_at")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(id, json)| {
                let id: Id = id.parse().map_err(|_| {
                    Error::corrupt(format!("catalog {}", self.path.display()), "bad id")
                })?;
                let manifest = serde_json::from_str(&json).map_err(|e| {
                    Error::corrupt(format!("catalog {}", self.path.display()), e.to_string())
                })?;
                Ok(CatalogEntry { id, manifest })
            })
            .collect()
    }

    // ---- Read-only queries of job history (for `status` and metrics). ----
    // Kept apart from the methods above to ease merging schema changes.

    /// The newest run of `job` that succeeded (`ok`) or failed (`!ok`).
    pub fn last_run_with(&self, job: &str, ok: bool) -> Result<Option<JobRun>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM job_runs WHERE job = ?1 AND ok = ?2
                 ORDER BY COALESCE(run_at, started) DESC, id DESC LIMIT 1"
            ))
            .map_err(|e| self.err(e))?;
        st.query_row(params![job, ok], job_run)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// How many runs of `job` are recorded: (all, failed).
    pub fn run_counts(&self, job: &str) -> Result<(u64, u64)> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(ok = 0), 0) FROM job_runs WHERE job = ?1",
                [job],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )
            .map_err(|e| self.err(e))
    }

    /// Failed runs of `job` since its last success (all of them if it
    /// never succeeded).
    pub fn consecutive_failures(&self, job: &str) -> Result<u64> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM job_runs WHERE job = ?1 AND ok = 0 AND id >
                   COALESCE((SELECT MAX(id) FROM job_runs WHERE job = ?1 AND ok = 1), 0)",
                [job],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }
}

/// The columns [`job_run`] reads, in its order.
const RUN_COLUMNS: &str = "job, started, finished, ok, error, snapshot, shipped, stream_bytes, stored_bytes, COALESCE(run_at, started), damaged";

/// A `job_runs` row selected as [`RUN_COLUMNS`].
fn job_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRun> {
    Ok(JobRun {
        job: r.get(0)?,
        started: r.get(1)?,
        finished: r.get(2)?,
        ok: r.get(3)?,
        error: r.get(4)?,
        snapshot: r.get(5)?,
        shipped: r.get::<_, i64>(6)? as u64,
        stream_bytes: r.get::<_, i64>(7)? as u64,
        stored_bytes: r.get::<_, i64>(8)? as u64,
        run_at: r.get(9)?,
        damaged: r.get(10)?,
    })
}

/// Stores a manifest without its chunk lists: the catalog is for listing and
/// choosing; a restore reads the whole manifest from the repository.
fn insert(tx: &rusqlite::Transaction<'_>, id: &Id, m: &Manifest) -> rusqlite::Result<usize> {
    let light = Manifest {
        meta_chunks: Vec::new(),
        data_chunks: Vec::new(),
        files: m.files.clone().map(|f| backup_core::filelist::FileListRef {
            chunks: Vec::new(),
            ..f
        }),
        ..m.clone()
    };
    tx.execute(
        "INSERT OR REPLACE INTO snapshots (id, dataset, snapshot, guid, createtxg, creation, base_guid,
            stream_len, chunks, new_chunks, new_raw_bytes, new_stored_bytes, shipped_at, host, manifest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            id.to_hex(),
            m.dataset,
            m.snapshot,
            m.guid.to_string(),
            m.createtxg as i64,
            m.creation,
            m.base.as_ref().map(|b| b.guid.to_string()),
            m.stream_len as i64,
            m.stats.chunks as i64,
            m.stats.new_chunks as i64,
            m.stats.new_raw_bytes as i64,
            m.stats.new_stored_bytes as i64,
            m.shipped_at,
            m.host,
            serde_json::to_string(&light).expect("manifest serialises"),
        ],
    )
}
