//! Running a job: pre hook, one atomic snapshot, ship every dataset, post
//! hook, retention of the job's own snapshots on the source.

mod forget;
pub(crate) mod hook;
mod lock;
mod name;

use std::collections::HashMap;

use backup_zfs::{DatasetName, SnapshotName, Zfs};
use jiff::tz::TimeZone;
use jiff::Timestamp;

pub use forget::{is_job_snapshot, plan_forget, ForgetPlan};
pub use hook::{run_hook, CommandOutput, DiscardOutput};
pub use lock::JobLock;
#[cfg(test)]
use name::name_time;
pub use name::{snapshot_time, unique_snapshot_name, MAX_PER_SECOND};

use crate::catalog::{Catalog, JobRun};
use crate::config::{FullEvery, Job};
use crate::error::{Error, Result};
use crate::retention::{self, Item};
use backup_core::Manifest;
use backup_core::Progress;
use backup_core::Repository;
use backup_core::{plan_prune, prune, PruneOptions};
use backup_core::{ship, ShipOutcome, ShipRequest};
use backup_core::{LockKind, LockOptions, RepoLock};

/// What a job run did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct JobReport {
    /// The snapshot name taken (after the @).
    pub snapshot: String,
    /// One line per dataset shipped.
    pub shipped: Vec<String>,
    /// Snapshots destroyed on the source by retention.
    pub destroyed: Vec<String>,
    /// Snapshots forgotten in the repository by retention.
    pub forgotten: Vec<String>,
    /// Stale repository locks taken over, one line each.
    pub locks_taken_over: Vec<String>,
    /// What the prune after the run did, if `prune_every` said to prune.
    pub pruned: Option<String>,
    /// Errors of datasets that failed (the others were still shipped).
    pub errors: Vec<String>,
    /// Damage found in the repository on the way (a broken chain that a
    /// ship had to replace with a full stream). Also in `errors`.
    pub damage: Vec<String>,
    /// Things worth knowing that are not failures (a volume whose digest
    /// could not be taken for want of a device node).
    pub notes: Vec<String>,
    /// Stream bytes shipped.
    pub stream_bytes: u64,
    /// Bytes newly stored.
    pub stored_bytes: u64,
}

/// The datasets a job ships: each configured one, with its descendants if
/// `recursive`, minus excluded subtrees and the temporary clones of
/// snapshot views (`<pool>/backup-view-…`).
pub fn job_datasets(zfs: &Zfs, job: &Job) -> Result<Vec<DatasetName>> {
    let mut out = Vec::new();
    for ds in &job.datasets {
        for d in zfs.list_datasets(ds, job.recursive)? {
            // A view clone of a concurrent ship is not data to back up.
            let view = backup_zfs::is_view_clone(&d);
            if !view && !job.exclude.iter().any(|x| x.contains(&d)) && !out.contains(&d) {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// Whether the next stream of `dataset` should be a full, by `full_every`
/// and the manifests already shipped (any order). Pure.
/// The age of a full counts from the time in its name when the job named
/// it (`<prefix>-<time>`), else from its creation.
pub fn wants_full(
    rule: Option<FullEvery>,
    prefix: &str,
    shipped: &[&Manifest],
    now: Timestamp,
) -> bool {
    let mut mine: Vec<&&Manifest> = shipped.iter().collect();
    mine.sort_by_key(|m| (m.createtxg, m.shipped_at));
    let Some(last_full) = mine.iter().rposition(|m| m.base.is_none()) else {
        return true;
    };
    match rule {
        None => false,
        Some(FullEvery::Incrementals(n)) => mine.len() - 1 - last_full >= n as usize,
        Some(FullEvery::Age(d)) => {
            let full = mine[last_full];
            let made = snapshot_time(prefix, &full.snapshot)
                .map_or(full.creation, jiff::Timestamp::as_second);
            let age = now.as_second() - made;
            age >= d.as_secs()
        }
    }
}

/// The clock, zone and lock timings a run works with.
#[derive(Debug, Clone)]
pub struct RunEnv {
    /// The run's time: names the snapshot, drives `full_every` and
    /// retention (the wall clock, or a simulated one).
    pub now: Timestamp,
    /// The zone in which retention counts days and weeks.
    pub tz: TimeZone,
    /// Repository lock waits and lease.
    pub lock: LockOptions,
    /// The host the jobs run on (`backup_zfs::host::hostname()`): in a
    /// repository that several hosts share, a job's snapshots are those this
    /// host shipped, whatever the others name their datasets.
    pub host: String,
}

/// Runs `job` now. The caller holds the job's [`JobLock`]. A dataset that
/// fails to ship does not stop the others; the run then fails as a whole.
///
/// The ship holds a shared repository lock; the repository retention
/// (`keep_repository`: forget, manifests only) an exclusive one, taken after
/// the shared one is released. Pruning unused data is `prune`'s work.
/// What the hooks write goes to `output`, line by line.
pub fn run_job(
    job: &Job,
    repo: &mut Repository,
    catalog: &mut Catalog,
    zfs: &Zfs,
    env: &RunEnv,
    progress: &dyn Progress,
    output: &dyn CommandOutput,
) -> Result<JobReport> {
    let started = Timestamp::now().as_second();
    let result = run_steps(job, repo, catalog, zfs, env, progress, output);
    let (ok, error, report) = match &result {
        Ok(r) if r.errors.is_empty() => (true, None, r.clone()),
        Ok(r) => (false, Some(r.errors.join("; ")), r.clone()),
        Err(e) => (false, Some(e.to_string()), JobReport::default()),
    };
    catalog.record_run(&JobRun {
        job: job.name.clone(),
        started,
        run_at: env.now.as_second(),
        finished: Timestamp::now().as_second(),
        ok,
        error,
        damaged: !report.damage.is_empty(),
        snapshot: (!report.snapshot.is_empty()).then(|| report.snapshot.clone()),
        shipped: report.shipped.len() as u64,
        stream_bytes: report.stream_bytes,
        stored_bytes: report.stored_bytes,
    })?;
    result
}

fn run_steps(
    job: &Job,
    repo: &mut Repository,
    catalog: &mut Catalog,
    zfs: &Zfs,
    env: &RunEnv,
    progress: &dyn Progress,
    output: &dyn CommandOutput,
) -> Result<JobReport> {
    let now = env.now;
    if let Some(h) = &job.pre_hook {
        run_hook(
            &job.name,
            "pre",
            h,
            &[("BACKUP_JOB", job.name.as_str())],
            output,
        )?;
    }
    let datasets = job_datasets(zfs, job)?;
    let name = free_name(zfs, &job.prefix, &datasets, now)?;
    // One `zfs snapshot [-r]` per configured dataset: atomic across each tree.
    for ds in &job.datasets {
        let snap = snapshot_name(ds, &name)?;
        zfs.create_snapshots(std::slice::from_ref(&snap), job.recursive)?;
    }
    let mut report = JobReport {
        snapshot: name.clone(),
        ..JobReport::default()
    };
    let shared = RepoLock::acquire(
        repo,
        LockKind::Shared,
        &format!("run {}", job.name),
        env.lock,
    )?;
    report
        .locks_taken_over
        .extend_from_slice(shared.taken_over());
    if let Some(note) = backup_core::resume(repo, &shared)?.and_then(|a| a.describe()) {
        report.notes.push(note);
    }
    catalog.sync(repo)?;
    let entries = catalog.snapshots()?;
    let mut shipped: HashMap<u64, backup_core::Id> =
        entries.iter().map(|e| (e.manifest.guid, e.id)).collect();
    for ds in &datasets {
        let mine: Vec<&Manifest> = entries
            .iter()
            .map(|e| &e.manifest)
            .filter(|m| m.dataset == ds.as_str() && m.host == env.host)
            .collect();
        let req = ShipRequest {
            snapshot: snapshot_name(ds, &name)?,
            create: false,
            full: wants_full(job.full_every, &job.prefix, &mine, now),
            raw: false,
            compressed: false,
            file_manifest: job.file_manifest,
        };
        match ship(repo, zfs, &req, &shipped, progress) {
            Ok(ShipOutcome::Shipped {
                id,
                manifest: m,
                file_manifest_error,
                file_manifest_note,
                broken_chain,
                stale_views_removed,
                ..
            }) => {
                shipped.insert(m.guid, id);
                // Shipped as a full, but the repository is damaged below
                // the old chain: the run fails, so status turns red.
                if let Some(d) = broken_chain {
                    report.errors.push(d.clone());
                    report.damage.push(d);
                }
                // The stream is committed; a missing file manifest still
                // fails the run, so nobody relies on a drill that cannot check.
                report.errors.extend(file_manifest_error);
                report.notes.extend(file_manifest_note);
                report.notes.extend(
                    stale_views_removed
                        .into_iter()
                        .map(|v| format!("removed {v}")),
                );
                report.stream_bytes += m.stream_len;
                report.stored_bytes += m.stats.new_stored_bytes;
                let kind = if m.base.is_some() {
                    "incremental"
                } else {
                    "full"
                };
                report.shipped.push(format!(
                    "{} ({kind}, {} bytes) as {}",
                    m.full_name(),
                    m.stream_len,
                    id.short()
                ));
            }
            Ok(ShipOutcome::AlreadyShipped { id }) => {
                report.shipped.push(format!(
                    "{} already shipped as {}",
                    req.snapshot,
                    id.short()
                ));
            }
            Err(e) => report.errors.push(format!("{}: {e}", req.snapshot)),
        }
    }
    // The catalog learns this run's manifests. When the storage is gone the
    // ship's own error says what failed (which object, what the server
    // said): a failed sync is added to it, never put in its place, and the
    // post hook still runs.
    if let Err(e) = catalog.sync(repo) {
        if report.errors.is_empty() {
            return Err(e);
        }
        report.errors.push(format!("syncing the catalog: {e}"));
    }
    drop(shared);
    let status = if report.errors.is_empty() {
        "ok"
    } else {
        "failed"
    };
    if let Some(h) = &job.post_hook {
        run_hook(
            &job.name,
            "post",
            h,
            &[
                ("BACKUP_JOB", job.name.as_str()),
                ("BACKUP_JOB_STATUS", status),
            ],
            output,
        )?;
    }
    // Every dataset that got the snapshot, excluded descendants too: they
    // are not shipped, but their copies of the job's snapshots are its own.
    let mut snapshotted = Vec::new();
    for root in &job.datasets {
        for d in zfs.list_datasets(root, job.recursive)? {
            if !snapshotted.contains(&d) {
                snapshotted.push(d);
            }
        }
    }
    if zfs.features()?.holds {
        for ds in &datasets {
            if let Err(e) = hold_base(job, zfs, ds, &shipped) {
                report.errors.push(format!("holding the base of {ds}: {e}"));
            }
        }
    }
    for ds in &snapshotted {
        match source_retention(job, zfs, ds, &shipped, now, &env.tz) {
            Ok(gone) => report.destroyed.extend(gone),
            Err(e) => report.errors.push(format!("retention on {ds}: {e}")),
        }
    }
    if !job.keep_repository.is_empty() {
        match forget(&[job], repo, catalog, env, false) {
            Ok((plan, taken_over)) => {
                report.locks_taken_over.extend(taken_over);
                report.forgotten = plan
                    .jobs
                    .iter()
                    .flat_map(|(_, p)| p.removed().map(|d| d.name.clone()))
                    .collect();
            }
            Err(e) => report.errors.push(format!("repository retention: {e}")),
        }
    }
    if let Some(every) = job.prune_every {
        let due = catalog
            .last_prune()?
            .is_none_or(|last| now.as_second() - last >= every.as_secs());
        if due && report.errors.is_empty() {
            match prune_now(repo, catalog, env, progress) {
                Ok(p) => report.pruned = Some(p),
                Err(e) => report.errors.push(format!("prune: {e}")),
            }
        }
    }
    Ok(report)
}

/// Prunes under the exclusive lock and records when; a summary line.
fn prune_now(
    repo: &mut Repository,
    catalog: &mut Catalog,
    env: &RunEnv,
    progress: &dyn Progress,
) -> Result<String> {
    let lock = RepoLock::acquire(repo, LockKind::Exclusive, "prune", env.lock)?;
    let pruner = plan_prune(repo, PruneOptions::default())?;
    let done = prune(repo, pruner, &lock, progress)?;
    catalog.record_prune(env.now.as_second())?;
    Ok(format!(
        "{} unused and {} rewritten pack(s), {} interrupted ship(s)' packs; {} bytes freed",
        done.unused_packs.len(),
        done.repack_packs.len(),
        done.orphan_packs.len(),
        done.bytes_freed()
    ))
}

/// Applies the jobs' `keep_repository` under an exclusive lock: removes the
/// manifests it does not keep (unless `dry_run`) and updates the catalog.
/// Returns the plan and the stale locks taken over.
pub fn forget(
    jobs: &[&Job],
    repo: &Repository,
    catalog: &mut Catalog,
    env: &RunEnv,
    dry_run: bool,
) -> Result<(ForgetPlan, Vec<String>)> {
    let lock = RepoLock::acquire(repo, LockKind::Exclusive, "forget", env.lock)?;
    let all = repo.manifests()?;
    let plan = plan_forget(jobs, &env.host, &all, env.now, &env.tz);
    if !dry_run {
        for id in &plan.remove {
            lock.check()?;
            repo.remove_manifest(id)?;
        }
        catalog.sync(repo)?;
    }
    Ok((plan, lock.taken_over().to_vec()))
}

/// The job's snapshot name at `now`, free on every dataset it snapshots
/// (two runs within one second get `...Z` and `...Z.01`).
fn free_name(zfs: &Zfs, prefix: &str, datasets: &[DatasetName], now: Timestamp) -> Result<String> {
    let mut taken = std::collections::HashSet::new();
    for ds in datasets {
        taken.extend(
            zfs.list_snapshots(ds)?
                .into_iter()
                .map(|s| s.name.snap().to_string()),
        );
    }
    unique_snapshot_name(prefix, now, |n| taken.contains(n)).ok_or_else(|| Error::Invalid {
        what: format!("snapshot name {prefix}-{}", now.strftime("%Y%m%dT%H%M%SZ")),
        reason: format!("{MAX_PER_SECOND} snapshots of this prefix in one second already exist"),
    })
}

fn snapshot_name(ds: &DatasetName, name: &str) -> Result<SnapshotName> {
    SnapshotName::new(ds.clone(), name).map_err(|e| Error::Invalid {
        what: format!("snapshot name {ds}@{name}"),
        reason: e.to_string(),
    })
}

/// The job's own snapshots of `ds` (named `<prefix>-...`), oldest first.
fn own_snapshots(job: &Job, zfs: &Zfs, ds: &DatasetName) -> Result<Vec<backup_zfs::Snapshot>> {
    let own_prefix = format!("{}-", job.prefix);
    Ok(zfs
        .list_snapshots(ds)?
        .into_iter()
        .filter(|s| s.name.snap().starts_with(&own_prefix))
        .collect())
}

/// The user hold tag that protects a job's next incremental base.
pub fn hold_tag(job: &str) -> String {
    format!("backup-base-{job}")
}

/// Where the dialect has holds: puts the job's tag on the newest of its
/// snapshots of `ds` already in the repository (the next incremental's
/// base), so that nobody (a person, another tool) can destroy it, and takes
/// the tag off the job's older snapshots.
fn hold_base(
    job: &Job,
    zfs: &Zfs,
    ds: &DatasetName,
    shipped: &HashMap<u64, backup_core::Id>,
) -> Result<()> {
    let snaps = own_snapshots(job, zfs, ds)?;
    let Some(base) = snaps.iter().rev().find(|s| shipped.contains_key(&s.guid)) else {
        return Ok(());
    };
    let tag = hold_tag(&job.name);
    zfs.hold(&base.name, &tag)?;
    let others: Vec<SnapshotName> = snaps
        .iter()
        .filter(|s| s.guid != base.guid)
        .map(|s| s.name.clone())
        .collect();
    for s in zfs.held_with(&others, &tag)? {
        zfs.release(&s, &tag)?;
    }
    Ok(())
}

/// Destroys the job's own snapshots of `ds` that `keep_source` does not
/// keep. Snapshots not named `<prefix>-...` are never touched, and the
/// newest snapshot already in the repository (the next incremental's base)
/// is always kept.
fn source_retention(
    job: &Job,
    zfs: &Zfs,
    ds: &DatasetName,
    shipped: &HashMap<u64, backup_core::Id>,
    now: Timestamp,
    tz: &TimeZone,
) -> Result<Vec<String>> {
    let rules = &job.keep_source;
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let snaps = own_snapshots(job, zfs, ds)?;
    let base_guid = snaps
        .iter()
        .rev()
        .find(|s| shipped.contains_key(&s.guid))
        .map(|s| s.guid);
    let items: Vec<Item> = snaps
        .iter()
        .map(|s| Item {
            // Creation times have one-second resolution; ties are broken by
            // key, so the key carries ZFS's order.
            key: format!("{:020}", s.createtxg),
            name: s.name.to_string(),
            group: ds.to_string(),
            time: snapshot_time(&job.prefix, s.name.snap())
                .or_else(|| Timestamp::from_second(s.creation).ok())
                .unwrap_or(now),
            guid: s.guid,
            base_guid: None,
        })
        .collect();
    let plan = retention::plan(&items, rules, now, tz);
    let mut destroyed = Vec::new();
    for d in plan.removed() {
        let Some(s) = snaps
            .iter()
            .find(|s| format!("{:020}", s.createtxg) == d.key)
        else {
            continue;
        };
        if Some(s.guid) == base_guid {
            continue;
        }
        zfs.destroy_snapshot(&s.name)?;
        destroyed.push(s.name.to_string());
    }
    Ok(destroyed)
}

#[cfg(test)]
mod tests;
