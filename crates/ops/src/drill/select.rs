//! Which shipped snapshots a drill restores. Pure.

use std::collections::BTreeMap;

use backup_zfs::DatasetName;

use crate::config::{DrillPick, DrillSpec, Job};
use crate::error::Result;
use backup_core::Id;
use backup_core::Manifest;

/// Whether `job` ships `dataset`: one of its datasets, or below one when
/// it is recursive, and not excluded.
pub fn job_ships(job: &Job, dataset: &str) -> bool {
    let Ok(ds) = DatasetName::parse(dataset) else {
        return false;
    };
    let listed = job
        .datasets
        .iter()
        .any(|d| d == &ds || (job.recursive && d.contains(&ds)));
    listed && !job.exclude.iter().any(|x| x.contains(&ds))
}

/// The snapshots to restore, one per dataset, sorted by dataset (parents
/// before children). `Latest` and `Random` choose among the manifests of
/// each dataset the job ships (or of `spec.datasets`); `Given` names one.
/// `random(n)` returns an index below `n`.
pub fn pick<'a>(
    job: &Job,
    spec: &DrillSpec,
    pick: &DrillPick,
    all: &'a [(Id, Manifest)],
    mut random: impl FnMut(usize) -> usize,
) -> Result<Vec<&'a (Id, Manifest)>> {
    if let DrillPick::Given(query) = pick {
        return Ok(vec![backup_core::find_snapshot(all, query)?]);
    }
    let mut by_dataset: BTreeMap<&str, Vec<&(Id, Manifest)>> = BTreeMap::new();
    for e in all {
        let ds = e.1.dataset.as_str();
        let wanted = if spec.datasets.is_empty() {
            job_ships(job, ds)
        } else {
            spec.datasets.iter().any(|d| d.as_str() == ds)
        };
        if wanted {
            by_dataset.entry(ds).or_default().push(e);
        }
    }
    if let Some(missing) = spec
        .datasets
        .iter()
        .find(|d| !by_dataset.contains_key(d.as_str()))
    {
        return Err(backup_core::Error::SnapshotNotFound {
            query: missing.to_string(),
        }
        .into());
    }
    if by_dataset.is_empty() {
        return Err(backup_core::Error::SnapshotNotFound {
            query: job
                .datasets
                .iter()
                .map(backup_zfs::DatasetName::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into());
    }
    Ok(by_dataset
        .into_values()
        .map(|mut list| {
            list.sort_by_key(|(_, m)| (m.createtxg, m.shipped_at));
            match pick {
                DrillPick::Random => list[random(list.len()) % list.len()],
                _ => list[list.len() - 1],
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DrillSpec;
    use backup_core::test_support::manifest as for_test;

    fn job(recursive: bool) -> Job {
        let text = format!(
            "[repositories.r]\nlocation = \"/r\"\npassword_file = \"/p\"\n\
             [jobs.j]\nrepository = \"r\"\ndatasets = [\"p/a\"]\nrecursive = {recursive}\n{}",
            if recursive {
                "exclude = [\"p/a/x\"]\n"
            } else {
                ""
            }
        );
        crate::config::parse("t.toml".as_ref(), &text).unwrap().jobs["j"].clone()
    }

    fn all() -> Vec<(Id, Manifest)> {
        let m = |ds, s, g| (Id([g as u8; 32]), for_test(ds, s, g, None));
        vec![
            m("p/a", "s1", 1),
            m("p/a", "s2", 2),
            m("p/a/b", "s1", 3),
            m("p/a/x", "s1", 4),
            m("p/other", "s1", 5),
        ]
    }

    #[test]
    fn latest_of_each_shipped_dataset() {
        let all = all();
        let spec = DrillSpec::default_spec();
        let got = pick(&job(true), &spec, &DrillPick::Latest, &all, |_| 0).unwrap();
        let names: Vec<_> = got.iter().map(|(_, m)| m.full_name()).collect();
        assert_eq!(names, ["p/a@s2", "p/a/b@s1"]);
        let flat = pick(&job(false), &spec, &DrillPick::Latest, &all, |_| 0).unwrap();
        assert_eq!(flat.len(), 1);
        let random = pick(&job(false), &spec, &DrillPick::Random, &all, |_| 0).unwrap();
        assert_eq!(random[0].1.snapshot, "s1");
    }

    #[test]
    fn subset_given_and_missing() {
        let all = all();
        let mut spec = DrillSpec::default_spec();
        spec.datasets = vec![DatasetName::parse("p/a/b").unwrap()];
        let got = pick(&job(true), &spec, &DrillPick::Latest, &all, |_| 0).unwrap();
        assert_eq!(got[0].1.full_name(), "p/a/b@s1");
        let given = DrillPick::Given("p/other@s1".into());
        assert_eq!(
            pick(&job(true), &spec, &given, &all, |_| 0).unwrap()[0]
                .1
                .guid,
            5
        );
        spec.datasets = vec![DatasetName::parse("p/a/c").unwrap()];
        let e = pick(&job(true), &spec, &DrillPick::Latest, &all, |_| 0).unwrap_err();
        assert!(e.to_string().contains("p/a/c"), "{e}");
        let none = pick(
            &job(true),
            &DrillSpec::default_spec(),
            &DrillPick::Latest,
            &[],
            |_| 0,
        );
        assert!(none.unwrap_err().to_string().contains("p/a"));
    }
}
