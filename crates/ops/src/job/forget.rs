//! Repository retention (`forget`): which manifests a job's `keep_repository`
//! rules no longer keep, with every other snapshot's chain protected.

use std::collections::{HashMap, HashSet};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::snapshot_time;
use crate::config::Job;
use crate::retention::{self, Decision, Item, Plan, Reason};
use backup_core::Id;
use backup_core::Manifest;

/// The plan for a set of jobs.
#[derive(Debug, Clone, Default)]
pub struct ForgetPlan {
    /// One retention plan per job, in the order given.
    pub jobs: Vec<(String, Plan)>,
    /// Manifests to remove.
    pub remove: Vec<Id>,
}

impl ForgetPlan {
    /// The plans, rendered: one line per snapshot, by job.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (job, plan) in &self.jobs {
            out.push_str(&format!("job {job}:\n"));
            for line in plan.render().lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    }
}

/// True if `m` is one of `job`'s snapshots: shipped by `host` (the host the
/// job runs on), of its datasets (with descendants when recursive, minus
/// excludes) and named `<prefix>-...`. Hosts sharing a repository often
/// have the same dataset names (`rpool/ROOT/debian`, `tank/home`): without
/// the host, one host's retention would forget the other's snapshots.
pub fn is_job_snapshot(job: &Job, host: &str, m: &Manifest) -> bool {
    if m.host != host {
        return false;
    }
    let Ok(ds) = backup_zfs::DatasetName::parse(&m.dataset) else {
        return false;
    };
    let in_set = job
        .datasets
        .iter()
        .any(|d| *d == ds || (job.recursive && d.contains(&ds)));
    in_set
        && !job.exclude.iter().any(|x| x.contains(&ds))
        && m.snapshot.starts_with(&format!("{}-", job.prefix))
}

/// Applies each job's `keep_repository` to its snapshots among `all` (those
/// `host` shipped). A snapshot that any snapshot staying in the repository
/// needs (its chain, whichever job or host made it) is kept, with the reason
/// added to its decision.
pub fn plan_forget(
    jobs: &[&Job],
    host: &str,
    all: &[(Id, Manifest)],
    now: Timestamp,
    tz: &TimeZone,
) -> ForgetPlan {
    let mut out = ForgetPlan::default();
    let mut remove: HashSet<Id> = HashSet::new();
    for job in jobs {
        let items: Vec<Item> = all
            .iter()
            .filter(|(_, m)| is_job_snapshot(job, host, m))
            .map(|(id, m)| Item {
                key: id.to_hex(),
                name: m.full_name(),
                group: m.dataset.clone(),
                time: snapshot_time(&job.prefix, &m.snapshot)
                    .or_else(|| Timestamp::from_second(m.creation).ok())
                    .unwrap_or(now),
                guid: m.guid,
                base_guid: m.base.as_ref().map(|b| b.guid),
            })
            .collect();
        let plan = retention::plan(&items, &job.keep_repository, now, tz);
        for d in plan.removed() {
            if let Ok(id) = d.key.parse() {
                remove.insert(id);
            }
        }
        out.jobs.push((job.name.clone(), plan));
    }
    // Chains across jobs: whatever stays keeps its bases.
    let by_guid: HashMap<u64, Vec<&(Id, Manifest)>> =
        all.iter().fold(HashMap::new(), |mut acc, e| {
            acc.entry(e.1.guid).or_default().push(e);
            acc
        });
    let mut rescued: HashMap<Id, String> = HashMap::new();
    let mut todo: Vec<&(Id, Manifest)> =
        all.iter().filter(|(id, _)| !remove.contains(id)).collect();
    while let Some((_, m)) = todo.pop() {
        let Some(base) = &m.base else { continue };
        for e in by_guid.get(&base.guid).into_iter().flatten() {
            if remove.remove(&e.0) {
                rescued.insert(e.0, m.full_name());
                todo.push(e);
            }
        }
    }
    for (_, plan) in &mut out.jobs {
        for d in &mut plan.decisions {
            if let Some(dependent) = d.key.parse().ok().and_then(|id: Id| rescued.get(&id)) {
                keep_for(d, dependent);
            }
        }
    }
    let mut remove: Vec<Id> = remove.into_iter().collect();
    remove.sort();
    out.remove = remove;
    out
}

fn keep_for(d: &mut Decision, dependent: &str) {
    d.keep = true;
    d.reasons = vec![Reason::BaseOf(dependent.to_string())];
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retention::Rules;
    use backup_core::test_support::manifest as for_test;

    fn job(name: &str, prefix: &str, keep_last: u32) -> Job {
        crate::config::Job {
            name: name.into(),
            repository: "r".into(),
            datasets: vec![backup_zfs::DatasetName::parse("p/d").unwrap()],
            recursive: true,
            exclude: vec![backup_zfs::DatasetName::parse("p/d/tmp").unwrap()],
            prefix: prefix.into(),
            schedule: None,
            full_every: None,
            keep_source: Rules::default(),
            keep_repository: Rules {
                keep_last: Some(keep_last),
                ..Rules::default()
            },
            pre_hook: None,
            post_hook: None,
            limit_upload: None,
            prune_every: None,
            check_every: None,
            check_read_data: None,
            file_manifest: true,
            drill: None,
            notify: crate::config::Notify::default(),
        }
    }

    fn m(ds: &str, snap: &str, guid: u64, base: Option<u64>) -> (Id, Manifest) {
        (
            Id::of_bytes(&guid.to_le_bytes()),
            for_test(ds, snap, guid, base),
        )
    }

    #[test]
    fn only_the_jobs_own_snapshots_are_candidates() {
        let j = job("a", "auto", 1);
        assert!(is_job_snapshot(
            &j,
            "test",
            &m("p/d", "auto-20261101T000000Z", 1, None).1
        ));
        assert!(is_job_snapshot(
            &j,
            "test",
            &m("p/d/c", "auto-20261101T000000Z", 1, None).1
        ));
        assert!(!is_job_snapshot(
            &j,
            "test",
            &m("p/d/tmp", "auto-20261101T000000Z", 1, None).1
        ));
        assert!(!is_job_snapshot(
            &j,
            "test",
            &m("p/e", "auto-20261101T000000Z", 1, None).1
        ));
        assert!(!is_job_snapshot(&j, "test", &m("p/d", "manual", 1, None).1));
        assert!(!is_job_snapshot(
            &j,
            "test",
            &m("p/d", "autox-1", 1, None).1
        ));
    }

    /// Regression: two hosts with the same dataset name and job prefix in
    /// one repository; a's `keep_last = 1` forgot b's snapshots too (and
    /// which of its own it kept depended on b's times).
    #[test]
    fn another_hosts_snapshots_of_the_same_dataset_are_not_the_jobs() {
        let on = |host: &str, snap: &str, guid: u64| {
            let (id, mut manifest) = m("p/d", snap, guid, None);
            manifest.host = host.into();
            (id, manifest)
        };
        let all = vec![
            on("a", "auto-20261101T000000Z", 1),
            on("b", "auto-20261102T000000Z", 2),
            on("a", "auto-20261103T000000Z", 3),
            on("b", "auto-20261104T000000Z", 4),
        ];
        let j = job("j", "auto", 1);
        assert!(!is_job_snapshot(&j, "a", &all[1].1));
        let now: Timestamp = "2026-11-05T00:00:00Z".parse().unwrap();
        let p = plan_forget(&[&j], "a", &all, now, &TimeZone::UTC);
        assert_eq!(p.remove, vec![all[0].0], "{}", p.render());
        let p = plan_forget(&[&j], "b", &all, now, &TimeZone::UTC);
        assert_eq!(p.remove, vec![all[1].0], "{}", p.render());
    }

    #[test]
    fn a_base_another_job_still_needs_is_kept() {
        // Job a's snapshots 1, 2; job b's incremental 3 is based on a's 1.
        let all = vec![
            m("p/d", "a-20261101T000000Z", 1, None),
            m("p/d", "a-20261102T000000Z", 2, Some(1)),
            m("p/d", "b-20261103T000000Z", 3, Some(1)),
            m("p/d", "a-20261030T000000Z", 4, None),
        ];
        let (a, b) = (job("a", "a", 1), job("b", "b", 5));
        let now: Timestamp = "2026-11-05T00:00:00Z".parse().unwrap();
        let p = plan_forget(&[&a, &b], "test", &all, now, &TimeZone::UTC);
        // a keeps 2 (last) and 1 (its base); 4 goes.
        assert_eq!(p.remove, vec![all[3].0]);
        // With a alone and 2 forgotten by a stricter rule, b's 3 still holds 1.
        let a0 = job("a", "a", 1);
        let only: Vec<_> = vec![all[0].clone(), all[2].clone(), all[3].clone()];
        let p = plan_forget(&[&a0], "test", &only, now, &TimeZone::UTC);
        // a keeps 1 as its newest; 4 goes.
        assert_eq!(p.remove, vec![all[3].0]);
        let two = vec![
            m("p/d", "a-20261101T000000Z", 1, None),
            m("p/d", "a-20261102T000000Z", 2, None),
            m("p/d", "b-20261103T000000Z", 3, Some(1)),
        ];
        let p = plan_forget(&[&a0], "test", &two, now, &TimeZone::UTC);
        assert!(p.remove.is_empty(), "1 is b's base: {}", p.render());
        assert!(
            p.render().contains("p/d@b-20261103T000000Z"),
            "{}",
            p.render()
        );
    }
}
