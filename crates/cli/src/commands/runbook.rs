//! `backup runbook [JOB] [--markdown]`: the commands that bring each job's
//! data back, whole datasets and single files (backup_ops::runbook).

use std::collections::BTreeMap;

use anyhow::Result;
use backup_ops::drill::job_ships;
use backup_ops::runbook::{markdown, text, Runbook, RunbookDataset};

use crate::cli::{GlobalArgs, RunbookArgs};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::format::rfc3339;

pub fn run(g: &GlobalArgs, a: &RunbookArgs) -> Result<ExitStatus> {
    let config = context::config(g)?;
    let jobs: Vec<_> = match &a.job {
        Some(name) => vec![config.jobs.get(name).ok_or_else(|| {
            UsageError(format!(
                "no job named {name:?} in {}",
                config.path.display()
            ))
        })?],
        None => config.jobs.values().collect(),
    };
    for (i, job) in jobs.iter().enumerate() {
        let spec = &config.repositories[&job.repository];
        let repo = context::open_named(g, &config, &job.repository)?;
        let catalog = context::synced_catalog(g, &repo)?;
        let mut by_dataset: BTreeMap<String, RunbookDataset> = BTreeMap::new();
        let mut entries = catalog.snapshots()?;
        entries.sort_by_key(|e| e.manifest.createtxg);
        for e in entries {
            let m = &e.manifest;
            if !job_ships(job, &m.dataset) || !m.snapshot.starts_with(&job.prefix) {
                continue;
            }
            let d = by_dataset
                .entry(m.dataset.clone())
                .or_insert_with(|| RunbookDataset {
                    dataset: m.dataset.clone(),
                    latest: None,
                    snapshots: 0,
                    files: false,
                });
            d.latest = Some(m.snapshot.clone());
            d.snapshots += 1;
            d.files = m.files.is_some();
        }
        for ds in &job.datasets {
            by_dataset
                .entry(ds.to_string())
                .or_insert_with(|| RunbookDataset {
                    dataset: ds.to_string(),
                    latest: None,
                    snapshots: 0,
                    files: false,
                });
        }
        let last_drill = catalog
            .last_drill(&job.name)?
            .map(|r| (rfc3339(r.started), r.outcome.as_str().to_string()));
        let book = Runbook {
            job: job.name.clone(),
            repository: repo.backend().location(),
            access: super::drill::access(&config, &job.repository, &spec.password),
            datasets: by_dataset.into_values().collect(),
            last_drill,
        };
        if i > 0 {
            println!();
        }
        print!(
            "{}",
            if a.markdown {
                markdown(&book)
            } else {
                text(&book)
            }
        );
    }
    Ok(ExitStatus::Success)
}
