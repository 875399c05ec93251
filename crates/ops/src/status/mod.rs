//! What the jobs did and how old their newest shipped snapshots are: the
//! data behind `backup status` and the metrics textfile, as a pure function
//! of (configuration, catalog, a listing of the repository's packs, now).
//!
//! Nothing here needs zfs or a passphrase. A job's datasets come from the
//! catalog: every manifest whose dataset is a configured one, or, for a
//! recursive job, lies below one (minus excluded subtrees). A descendant
//! counts only if the job's last successful run shipped it, so a child
//! destroyed on the source long ago does not hold the job's age back
//! forever; without a successful run every descendant in the catalog
//! counts.
//!
//! The time of a snapshot is the time the job wrote into its name
//! (`<prefix>-20261121T091500Z`) for the job's own snapshots, the same clock
//! source retention uses (and that `--now` drives), else its ZFS creation
//! time. The achieved RPO of a job is the age of the oldest of its datasets'
//! newest snapshots: the worst dataset.

mod drill;
mod nagios;
mod verify;

use std::collections::{BTreeMap, HashSet};

use backup_zfs::DatasetName;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::Serialize;

use crate::catalog::{Catalog, CatalogEntry, JobRun};
use crate::config::{Config, Job};
use crate::error::Result;
use backup_core::Backend;

pub use drill::{allowed_age, drill_status, AllowedAge, DrillStatus, DrillSummary, MIN_GRACE};
pub use nagios::{
    check as nagios_check, schedule_thresholds, NagiosCheck, NagiosState, Thresholds, CRIT_MISSED,
    WARN_MISSED,
};
pub use verify::{verify_status, VerifyStatus};

/// What a listing of a repository's packs says; no passphrase needed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StorageStats {
    /// Pack files.
    pub packs: u64,
    /// Their total size: what the repository occupies, give or take the
    /// small index, manifest and key objects.
    pub pack_bytes: u64,
}

impl StorageStats {
    /// Lists the packs of the repository at `backend`.
    pub fn of(backend: &dyn Backend) -> Result<StorageStats> {
        let usage = backup_core::pack_usage(backend)?;
        Ok(StorageStats {
            packs: usage.packs,
            pack_bytes: usage.bytes,
        })
    }
}

/// What `status` was able to learn about one repository of the
/// configuration; the caller gathers it.
#[derive(Debug)]
pub struct RepositorySource<'a> {
    /// The repository's name in the configuration.
    pub name: String,
    /// Its catalog, if one could be found (it may be stale).
    pub catalog: Option<&'a Catalog>,
    /// The listing of its packs, or why the repository is unreachable.
    pub storage: std::result::Result<StorageStats, String>,
    /// Things the reader should know, e.g. why the catalog was not synced.
    pub notes: Vec<String>,
}

/// Everything `status` shows.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// The time the ages are computed against, Unix seconds.
    pub now: i64,
    /// Jobs, by name.
    pub jobs: Vec<JobStatus>,
    /// Repositories the jobs use, by name.
    pub repositories: Vec<RepositoryStatus>,
}

/// One repository. Sizes are `None` when it could not be listed.
#[derive(Clone, Debug, Serialize)]
pub struct RepositoryStatus {
    /// Name in the configuration.
    pub name: String,
    /// Whether its packs could be listed.
    pub reachable: bool,
    /// Why not.
    pub error: Option<String>,
    /// Whether a catalog was found (snapshot and run history come from it).
    pub catalog: bool,
    /// Notes, e.g. that the catalog could not be synced.
    pub notes: Vec<String>,
    /// Pack files.
    pub packs: Option<u64>,
    /// Bytes stored: the sum of the pack sizes.
    pub size_bytes: Option<u64>,
    /// Snapshots in the catalog.
    pub snapshots: u64,
    /// Logical bytes: the sum of the stream lengths of those snapshots.
    pub stream_bytes: u64,
    /// `stream_bytes / size_bytes`: deduplication and compression together.
    pub dedup_ratio: Option<f64>,
}

/// One job.
#[derive(Clone, Debug, Serialize)]
pub struct JobStatus {
    /// Name in the configuration.
    pub name: String,
    /// Its repository's name.
    pub repository: String,
    /// Datasets as configured.
    pub datasets: Vec<String>,
    /// Whether descendants are shipped too.
    pub recursive: bool,
    /// Its schedule, as written.
    pub schedule: Option<String>,
    /// Whether the catalog (its history) was available.
    pub history: bool,
    /// No run of this job is recorded.
    pub never_run: bool,
    /// What the reader should be warned of about this job, e.g. that the
    /// catalog has no runs while the repository holds the job's snapshots
    /// (its history is in another catalog).
    pub warnings: Vec<String>,
    /// Runs recorded.
    pub runs: u64,
    /// Failed runs recorded.
    pub failures: u64,
    /// Failed runs since the last success.
    pub consecutive_failures: u64,
    /// The newest run.
    pub last_run: Option<RunSummary>,
    /// The newest successful run.
    pub last_success: Option<Success>,
    /// The newest failed run.
    pub last_failure: Option<Failure>,
    /// The newest shipped snapshot of each of the job's datasets.
    pub snapshots: Vec<DatasetSnapshot>,
    /// Configured datasets with no snapshot in the repository.
    pub missing: Vec<String>,
    /// The achieved RPO: age in seconds of the oldest of the datasets'
    /// newest snapshots; `None` if a dataset has none.
    pub snapshot_age_seconds: Option<i64>,
    /// The dataset that age is from.
    pub oldest_dataset: Option<String>,
    /// Its restore drills.
    pub drill: DrillStatus,
    /// Its scheduled verifications.
    pub verify: VerifyStatus,
}

/// A run, briefly. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// Start.
    pub started: i64,
    /// End.
    pub finished: i64,
    /// Whether it succeeded.
    pub ok: bool,
}

/// The last successful run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Success {
    /// End, Unix seconds.
    pub time: i64,
    /// Seconds it took.
    pub duration_seconds: i64,
    /// Snapshot name it took (after the @).
    pub snapshot: Option<String>,
    /// Streams shipped.
    pub shipped: u64,
    /// Bytes of streams shipped.
    pub stream_bytes: u64,
    /// Bytes newly stored.
    pub stored_bytes: u64,
}

/// The last failed run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// End, Unix seconds.
    pub time: i64,
    /// Its error.
    pub error: String,
    /// True if it found the repository damaged.
    pub damaged: bool,
}

/// The newest shipped snapshot of a dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatasetSnapshot {
    /// Dataset.
    pub dataset: String,
    /// Snapshot name (after the @).
    pub snapshot: String,
    /// Its time, Unix seconds (see the module documentation).
    pub time: i64,
    /// Seconds between that time and now.
    pub age_seconds: i64,
}

/// Builds the status of every job of `config` (or only `only`) at `now`.
/// `repos` holds what could be learnt of each repository the jobs use; a
/// repository missing from it counts as unreachable. `tz` is the zone of
/// drill schedules that name none (normally the system's).
pub fn build(
    config: &Config,
    only: Option<&str>,
    repos: &[RepositorySource<'_>],
    now: Timestamp,
    tz: &TimeZone,
) -> Result<Status> {
    let now = now.as_second();
    let mut jobs = Vec::new();
    let mut used = Vec::new();
    for job in config.jobs.values() {
        if only.is_some_and(|o| o != job.name) {
            continue;
        }
        let source = repos.iter().find(|r| r.name == job.repository);
        let catalog = source.and_then(|s| s.catalog);
        let entries = match catalog {
            Some(c) => c.snapshots()?,
            None => Vec::new(),
        };
        let mut st = job_status(job, catalog, &entries, now)?;
        st.drill = drill_status(job, catalog, now, tz)?;
        let pack_bytes = source
            .and_then(|s| s.storage.as_ref().ok())
            .map(|s| s.pack_bytes);
        st.verify = verify_status(job, catalog, pack_bytes, now)?;
        jobs.push(st);
        if !used.contains(&job.repository) {
            used.push(job.repository.clone());
        }
    }
    used.sort();
    let repositories = used
        .iter()
        .map(|name| match repos.iter().find(|r| &r.name == name) {
            Some(s) => repository_status(s),
            None => Ok(RepositoryStatus {
                name: name.clone(),
                reachable: false,
                error: Some("not examined".into()),
                catalog: false,
                notes: Vec::new(),
                packs: None,
                size_bytes: None,
                snapshots: 0,
                stream_bytes: 0,
                dedup_ratio: None,
            }),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Status {
        now,
        jobs,
        repositories,
    })
}

fn repository_status(s: &RepositorySource<'_>) -> Result<RepositoryStatus> {
    let entries = match s.catalog {
        Some(c) => c.snapshots()?,
        None => Vec::new(),
    };
    let stream_bytes: u64 = entries.iter().map(|e| e.manifest.stream_len).sum();
    let storage = s.storage.as_ref().ok();
    Ok(RepositoryStatus {
        name: s.name.clone(),
        reachable: storage.is_some(),
        error: s.storage.as_ref().err().cloned(),
        catalog: s.catalog.is_some(),
        notes: s.notes.clone(),
        packs: storage.map(|st| st.packs),
        size_bytes: storage.map(|st| st.pack_bytes),
        snapshots: entries.len() as u64,
        stream_bytes,
        dedup_ratio: storage
            .filter(|st| st.pack_bytes > 0 && s.catalog.is_some())
            .map(|st| stream_bytes as f64 / st.pack_bytes as f64),
    })
}

fn job_status(
    job: &Job,
    catalog: Option<&Catalog>,
    entries: &[CatalogEntry],
    now: i64,
) -> Result<JobStatus> {
    let (last_run, last_success, last_failure, counts, consecutive) = match catalog {
        Some(c) => (
            c.runs(&job.name, 1)?.into_iter().next(),
            c.last_run_with(&job.name, true)?,
            c.last_run_with(&job.name, false)?,
            c.run_counts(&job.name)?,
            c.consecutive_failures(&job.name)?,
        ),
        None => (None, None, None, (0, 0), 0),
    };
    let newest = newest_per_dataset(job, entries, last_success.as_ref());
    let snapshots: Vec<DatasetSnapshot> = newest
        .iter()
        .map(|(ds, e)| {
            let time = snapshot_time(job, &e.manifest.snapshot, e.manifest.creation);
            DatasetSnapshot {
                dataset: ds.clone(),
                snapshot: e.manifest.snapshot.clone(),
                time,
                age_seconds: now - time,
            }
        })
        .collect();
    let missing: Vec<String> = job
        .datasets
        .iter()
        .filter(|d| !newest.contains_key(d.as_str()))
        .map(ToString::to_string)
        .collect();
    let mut warnings = Vec::new();
    if let (Some(c), None, false) = (catalog, &last_run, snapshots.is_empty()) {
        warnings.push(format!(
            "the catalog {} records no run of job {}, yet the repository holds its snapshots ({} dataset(s)): its history is in another catalog (another state_dir, --catalog or user); runs from now on are recorded here",
            c.path().display(),
            job.name,
            snapshots.len()
        ));
    }
    let oldest = snapshots.iter().min_by_key(|s| s.time);
    let (age, oldest_dataset) = match oldest {
        Some(o) if missing.is_empty() => (Some(o.age_seconds), Some(o.dataset.clone())),
        _ => (None, None),
    };
    Ok(JobStatus {
        name: job.name.clone(),
        repository: job.repository.clone(),
        datasets: job.datasets.iter().map(ToString::to_string).collect(),
        recursive: job.recursive,
        schedule: job.schedule.clone(),
        history: catalog.is_some(),
        never_run: last_run.is_none(),
        warnings,
        runs: counts.0,
        failures: counts.1,
        consecutive_failures: consecutive,
        last_run: last_run.map(|r| RunSummary {
            started: r.started,
            finished: r.finished,
            ok: r.ok,
        }),
        last_success: last_success.map(|r| Success {
            time: r.finished,
            duration_seconds: r.finished - r.started,
            snapshot: r.snapshot,
            shipped: r.shipped,
            stream_bytes: r.stream_bytes,
            stored_bytes: r.stored_bytes,
        }),
        last_failure: last_failure.map(|r| Failure {
            time: r.finished,
            error: r.error.unwrap_or_default(),
            damaged: r.damaged,
        }),
        snapshots,
        missing,
        snapshot_age_seconds: age,
        oldest_dataset,
        drill: DrillStatus::default(),
        verify: VerifyStatus::default(),
    })
}

/// The newest manifest (by createtxg) of each dataset the job ships, as far
/// as the catalog tells (see the module documentation).
fn newest_per_dataset<'e>(
    job: &Job,
    entries: &'e [CatalogEntry],
    last_success: Option<&JobRun>,
) -> BTreeMap<String, &'e CatalogEntry> {
    let success_snapshot = last_success.and_then(|r| r.snapshot.as_deref());
    let shipped_last: HashSet<&str> = entries
        .iter()
        .filter(|e| Some(e.manifest.snapshot.as_str()) == success_snapshot)
        .map(|e| e.manifest.dataset.as_str())
        .collect();
    let mut newest: BTreeMap<String, &CatalogEntry> = BTreeMap::new();
    for e in entries {
        let Ok(ds) = DatasetName::parse(&e.manifest.dataset) else {
            continue;
        };
        let configured = job.datasets.contains(&ds);
        let below = job.recursive && job.datasets.iter().any(|d| d.contains(&ds));
        if !(configured || below) || job.exclude.iter().any(|x| x.contains(&ds)) {
            continue;
        }
        if !configured && success_snapshot.is_some() && !shipped_last.contains(ds.as_str()) {
            continue;
        }
        let slot = newest.entry(ds.to_string()).or_insert(e);
        let key = |e: &CatalogEntry| (e.manifest.createtxg, e.manifest.shipped_at);
        if key(e) > key(slot) {
            *slot = e;
        }
    }
    newest
}

/// The job's own clock for its own snapshots, else the creation time.
fn snapshot_time(job: &Job, snapshot: &str, creation: i64) -> i64 {
    crate::job::snapshot_time(&job.prefix, snapshot).map_or(creation, jiff::Timestamp::as_second)
}

/// An age for people: "45s", "12m", "3h 05m", "2d 04h".
pub fn human_age(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let text = match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {:02}h", s / 86_400, s % 86_400 / 3600),
    };
    format!("{sign}{text}")
}

#[cfg(test)]
mod tests;
