//! `backup forget [JOB...]`: the jobs' repository retention.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use backup_ops::config::Job;
use backup_ops::job::{forget, ForgetPlan, RunEnv};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::cli::{ForgetArgs, GlobalArgs};
use crate::commands::prune::prune_after_forget;
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
        match a.json {
            true => println!(
                "{}",
                serde_json::json!({"dry_run": a.dry_run, "repositories": []})
            ),
            false => println!("no job has keep_repository rules: nothing to forget"),
        }
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
    let mut repositories = Vec::new();
    for (name, jobs) in by_repo {
        let mut repo = context::open_named(g, &config, name)?;
        let mut catalog = context::catalog(g, &repo)?;
        let (plan, taken_over) = forget(&jobs, &repo, &mut catalog, &env, a.dry_run)
            .with_context(|| format!("forget in repository {name}"))?;
        for t in taken_over {
            crate::journal::warning!("warning: removed a stale lock: {t}");
        }
        if !a.json {
            println!("repository {name}:");
            print!("{}", plan.render());
            let verb = if a.dry_run { "would remove" } else { "removed" };
            println!("{verb} {} snapshot(s)", plan.remove.len());
        }
        let mut pruned = None;
        if a.prune && !a.dry_run {
            pruned = Some(prune_after_forget(g, &mut repo, a.json)?);
        }
        repositories.push(plan_json(name, &plan, pruned.as_ref()));
    }
    if a.json {
        let v = serde_json::json!({"dry_run": a.dry_run, "repositories": repositories});
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(ExitStatus::Success)
}

/// One repository's plan for `--json`: per job, every snapshot with its
/// verdict and reasons; the manifests removed; the prune, if any.
fn plan_json(
    repository: &str,
    plan: &ForgetPlan,
    pruned: Option<&backup_core::PrunePlan>,
) -> serde_json::Value {
    let jobs: Vec<_> = plan
        .jobs
        .iter()
        .map(|(job, p)| {
            let snapshots: Vec<_> = p
                .decisions
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "id": d.key,
                        "name": d.name,
                        "dataset": d.group,
                        "time": d.time.to_string(),
                        "keep": d.keep,
                        "reasons": d.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    })
                })
                .collect();
            serde_json::json!({"job": job, "snapshots": snapshots})
        })
        .collect();
    serde_json::json!({
        "repository": repository,
        "jobs": jobs,
        "remove": plan.remove.iter().map(backup_core::Id::to_hex).collect::<Vec<_>>(),
        "prune": pruned,
    })
}
