//! `backup forget [JOB...]`: the jobs' repository retention.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use backup_core::PruneOptions;
use backup_ops::config::Job;
use backup_ops::job::{forget, RunEnv};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::cli::{ForgetArgs, GlobalArgs};
use crate::commands::prune::prune_repo;
use crate::context;
use crate::exit::{ExitStatus, UsageError};

pub fn run(g: &GlobalArgs, a: &ForgetArgs) -> Result<ExitStatus> {
    if !a.snapshots.is_empty() {
        return super::forget_snapshot::run(g, a);
    }
    let config = context::config(g)?;
    let jobs: Vec<&Job> = if a.jobs.is_empty() {
        config
            .jobs
            .values()
            .filter(|j| !j.keep_repository.is_empty())
            .collect()
    } else {
        a.jobs
            .iter()
            .map(|n| {
                config.jobs.get(n).ok_or_else(|| {
                    UsageError(format!("no job named {n:?} in {}", config.path.display()))
                })
            })
            .collect::<Result<_, _>>()?
    };
    if jobs.is_empty() {
        println!("no job has keep_repository rules: nothing to forget");
        return Ok(ExitStatus::Success);
    }
    let now = match &a.now {
        Some(t) => t
            .parse::<Timestamp>()
            .map_err(|e| UsageError(format!("--now {t:?}: {e}")))?,
        None => Timestamp::now(),
    };
    let env = RunEnv {
        now,
        tz: TimeZone::system(),
        lock: context::lock_options(g)?,
        host: backup_zfs::host::hostname(),
    };
    let mut by_repo: BTreeMap<&str, Vec<&Job>> = BTreeMap::new();
    for j in jobs {
        by_repo.entry(j.repository.as_str()).or_default().push(j);
    }
    for (name, jobs) in by_repo {
        let mut repo = context::open_named(g, &config, name)?;
        let mut catalog = context::catalog(g, &repo)?;
        let (plan, taken_over) = forget(&jobs, &repo, &mut catalog, &env, a.dry_run)
            .with_context(|| format!("forget in repository {name}"))?;
        for t in taken_over {
            eprintln!("warning: removed a stale lock: {t}");
        }
        println!("repository {name}:");
        print!("{}", plan.render());
        let verb = if a.dry_run { "would remove" } else { "removed" };
        println!("{verb} {} snapshot(s)", plan.remove.len());
        if a.prune && !a.dry_run {
            prune_repo(g, &mut repo, PruneOptions::default(), false, false)?;
        }
    }
    Ok(ExitStatus::Success)
}
