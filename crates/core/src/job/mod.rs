//! Running a job: pre hook, one atomic snapshot, ship every dataset, post
//! hook, retention of the job's own snapshots on the source.

mod hook;
mod lock;

use std::collections::HashMap;

use backup_zfs::{DatasetName, SnapshotName, Zfs};
use jiff::tz::TimeZone;
use jiff::Timestamp;

pub use hook::run_hook;
pub use lock::JobLock;

use crate::catalog::{Catalog, JobRun};
use crate::config::{FullEvery, Job};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::repository::Repository;
use crate::retention::{self, Item};
use crate::ship::{ship, ShipOutcome, ShipRequest};
use crate::Manifest;

/// What a job run did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct JobReport {
    /// The snapshot name taken (after the @).
    pub snapshot: String,
    /// One line per dataset shipped.
    pub shipped: Vec<String>,
    /// Snapshots destroyed on the source by retention.
    pub destroyed: Vec<String>,
    /// Errors of datasets that failed (the others were still shipped).
    pub errors: Vec<String>,
    /// Stream bytes shipped.
    pub stream_bytes: u64,
    /// Bytes newly stored.
    pub stored_bytes: u64,
}

/// The datasets a job ships: each configured one, with its descendants if
/// `recursive`, minus excluded subtrees.
pub fn job_datasets(zfs: &Zfs, job: &Job) -> Result<Vec<DatasetName>> {
    let mut out = Vec::new();
    for ds in &job.datasets {
        for d in zfs.list_datasets(ds, job.recursive)? {
            if !job.exclude.iter().any(|x| x.contains(&d)) && !out.contains(&d) {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// Whether the next stream of `dataset` should be a full, by `full_every`
/// and the manifests already shipped (any order). Pure.
pub fn wants_full(rule: Option<FullEvery>, shipped: &[&Manifest], now: Timestamp) -> bool {
    let mut mine: Vec<&&Manifest> = shipped.iter().collect();
    mine.sort_by_key(|m| (m.createtxg, m.shipped_at));
    let Some(last_full) = mine.iter().rposition(|m| m.base.is_none()) else {
        return true;
    };
    match rule {
        None => false,
        Some(FullEvery::Incrementals(n)) => mine.len() - 1 - last_full >= n as usize,
        Some(FullEvery::Age(d)) => {
            let age = now.as_second() - mine[last_full].creation;
            age >= d.as_secs()
        }
    }
}

/// Runs `job` now. The caller holds the job's [`JobLock`]. A dataset that
/// fails to ship does not stop the others; the run then fails as a whole.
pub fn run_job(
    job: &Job,
    repo: &mut Repository,
    catalog: &mut Catalog,
    zfs: &Zfs,
    now: Timestamp,
    tz: &TimeZone,
    progress: &dyn Progress,
) -> Result<JobReport> {
    let started = Timestamp::now().as_second();
    let result = run_steps(job, repo, catalog, zfs, now, tz, progress);
    let (ok, error, report) = match &result {
        Ok(r) if r.errors.is_empty() => (true, None, r.clone()),
        Ok(r) => (false, Some(r.errors.join("; ")), r.clone()),
        Err(e) => (false, Some(e.to_string()), JobReport::default()),
    };
    catalog.record_run(&JobRun {
        job: job.name.clone(),
        started,
        finished: Timestamp::now().as_second(),
        ok,
        error,
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
    now: Timestamp,
    tz: &TimeZone,
    progress: &dyn Progress,
) -> Result<JobReport> {
    let env = [("BACKUP_JOB", job.name.as_str())];
    if let Some(h) = &job.pre_hook {
        run_hook(&job.name, "pre", h, &env)?;
    }
    let datasets = job_datasets(zfs, job)?;
    let name = format!("{}-{}", job.prefix, now.strftime("%Y%m%dT%H%M%SZ"));
    // One `zfs snapshot [-r]` per configured dataset: atomic across each tree.
    for ds in &job.datasets {
        let snap = snapshot_name(ds, &name)?;
        zfs.create_snapshots(std::slice::from_ref(&snap), job.recursive)?;
    }
    let mut report = JobReport {
        snapshot: name.clone(),
        ..JobReport::default()
    };
    catalog.sync(repo)?;
    let entries = catalog.snapshots()?;
    let mut shipped: HashMap<u64, crate::Id> =
        entries.iter().map(|e| (e.manifest.guid, e.id)).collect();
    for ds in &datasets {
        let mine: Vec<&Manifest> = entries
            .iter()
            .map(|e| &e.manifest)
            .filter(|m| m.dataset == ds.as_str())
            .collect();
        let req = ShipRequest {
            snapshot: snapshot_name(ds, &name)?,
            create: false,
            full: wants_full(job.full_every, &mine, now),
            raw: false,
            compressed: false,
        };
        match ship(repo, zfs, &req, &shipped, progress) {
            Ok(ShipOutcome::Shipped { id, manifest: m }) => {
                shipped.insert(m.guid, id);
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
    catalog.sync(repo)?;
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
        )?;
    }
    for ds in &datasets {
        match source_retention(job, zfs, ds, &shipped, now, tz) {
            Ok(gone) => report.destroyed.extend(gone),
            Err(e) => report.errors.push(format!("retention on {ds}: {e}")),
        }
    }
    Ok(report)
}

/// The time a job wrote into a snapshot's name (`<prefix>-20261121T091500Z`):
/// the job's own clock, which `--now` also drives.
pub(crate) fn name_time(suffix: &str) -> Option<Timestamp> {
    jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", suffix)
        .ok()?
        .to_zoned(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

fn snapshot_name(ds: &DatasetName, name: &str) -> Result<SnapshotName> {
    SnapshotName::new(ds.clone(), name).map_err(|e| Error::Invalid {
        what: format!("snapshot name {ds}@{name}"),
        reason: e.to_string(),
    })
}

/// Destroys the job's own snapshots of `ds` that `keep_source` does not
/// keep. Snapshots not named `<prefix>-...` are never touched, and the
/// newest snapshot already in the repository (the next incremental's base)
/// is always kept.
fn source_retention(
    job: &Job,
    zfs: &Zfs,
    ds: &DatasetName,
    shipped: &HashMap<u64, crate::Id>,
    now: Timestamp,
    tz: &TimeZone,
) -> Result<Vec<String>> {
    let rules = &job.keep_source;
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let own_prefix = format!("{}-", job.prefix);
    let snaps: Vec<_> = zfs
        .list_snapshots(ds)?
        .into_iter()
        .filter(|s| s.name.snap().starts_with(&own_prefix))
        .collect();
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
            time: name_time(&s.name.snap()[own_prefix.len()..])
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
mod tests {
    use super::*;
    use crate::format::manifest::for_test;

    #[test]
    fn time_comes_from_the_name() {
        assert_eq!(
            name_time("20261102T130000Z").unwrap().to_string(),
            "2026-11-02T13:00:00Z"
        );
        assert!(name_time("manual").is_none());
    }

    #[test]
    fn full_every_by_count_and_age() {
        let now = Timestamp::from_second(100 * 86400).unwrap();
        let mut full = for_test("p/d", "a", 1, None);
        full.creation = now.as_second() - 3 * 86400;
        let i1 = for_test("p/d", "b", 2, Some(1));
        let i2 = for_test("p/d", "c", 3, Some(2));
        assert!(wants_full(None, &[], now), "nothing shipped yet");
        assert!(!wants_full(None, &[&full, &i1], now));
        let two = Some(FullEvery::Incrementals(2));
        assert!(!wants_full(two, &[&full, &i1], now));
        assert!(wants_full(two, &[&i2, &full, &i1], now));
        let week = Some(FullEvery::Age(jiff::SignedDuration::from_hours(7 * 24)));
        let day = Some(FullEvery::Age(jiff::SignedDuration::from_hours(24)));
        assert!(!wants_full(week, &[&full, &i1], now));
        assert!(wants_full(day, &[&full, &i1], now));
    }
}
