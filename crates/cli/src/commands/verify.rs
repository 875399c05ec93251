//! Scheduled verification from the command line: `backup check --job JOB`
//! (now, whatever `check_every` says), and the verifications that `backup
//! run JOB` and `backup run --due` run when a job's `check_every` says they
//! are due. Each is `check` under a read lock, reading the next step of the
//! job's `check_read_data` rotation, and is recorded in the catalog.

use anyhow::Result;
use backup_ops::config::{Config, Job};
use backup_ops::verify::{coverage, is_due, verify};
use jiff::Timestamp;

use super::check::print_report;
use crate::cli::GlobalArgs;
use crate::context;
use crate::exit::ExitStatus;
use crate::format::bytes;
use crate::progress::CliProgress;
use backup_ops::status::human_age;

/// Verifies `job`'s repository now and records it: 0 if it found nothing,
/// 3 (damaged) if it found errors.
pub fn verify_job(
    g: &GlobalArgs,
    config: &Config,
    job: &Job,
    now: Timestamp,
    json: bool,
) -> Result<ExitStatus> {
    let repo = context::open_named(g, config, &job.repository)?;
    let catalog = context::catalog(g, &repo)?;
    let status = {
        let _lock = context::read_lock(g, &repo, &format!("verify {}", job.name))?;
        let progress = CliProgress::new(g.quiet || json);
        let (v, r) = verify(job, &repo, &catalog, now, &progress)?;
        print_report(&r, json)?;
        if !json {
            let what = match &v.portion {
                Some(p) => format!(
                    "read {} of {} pack(s) ({}, check_read_data {p})",
                    v.packs_read,
                    v.packs,
                    bytes(v.bytes_read)
                ),
                None => "structure only (no check_read_data)".into(),
            };
            let pass = match coverage(job, Some(v.pack_bytes)) {
                Some(c) => format!(
                    "; every pack is read within {} verification(s), {}",
                    c.runs,
                    human_age(c.period_seconds)
                ),
                None => String::new(),
            };
            let done = if v.completed_pass {
                "; a pass over every pack is complete"
            } else {
                ""
            };
            let result = if v.ok { "ok" } else { "FAILED" };
            println!(
                "verification of job {}: {result}: {what}{done}{pass}",
                job.name
            );
        }
        if v.ok {
            ExitStatus::Success
        } else {
            crate::journal::error!(
                "backup: verification of job {} found {} problem(s)",
                job.name,
                v.problems.len()
            );
            ExitStatus::Damaged
        }
    };
    crate::commands::status::write_metrics(g, config, now);
    Ok(status)
}

/// Verifies `job` if its `check_every` says it is due at `now`; success if
/// not.
pub fn verify_if_due(
    g: &GlobalArgs,
    config: &Config,
    job: &Job,
    now: Timestamp,
    json: bool,
) -> Result<ExitStatus> {
    if job.check_every.is_none() {
        return Ok(ExitStatus::Success);
    }
    let location = &config.repositories[&job.repository].location;
    let catalog = context::catalog_at(g, location)?;
    if !is_due(job, &catalog, now)? {
        if !g.quiet && !json {
            println!("verification of job {}: not due", job.name);
        }
        return Ok(ExitStatus::Success);
    }
    drop(catalog);
    if !json {
        println!("verification of job {}: due", job.name);
    }
    verify_job(g, config, job, now, json)
}

/// The due verifications of `jobs`: the worst status of them; one that
/// cannot run does not stop the others.
pub fn due_verifications(
    g: &GlobalArgs,
    config: &Config,
    jobs: &[&Job],
    now: Timestamp,
    json: bool,
) -> ExitStatus {
    let mut worst = ExitStatus::Success;
    for job in jobs.iter().filter(|j| j.check_every.is_some()) {
        let status = verify_if_due(g, config, job, now, json).unwrap_or_else(|e| {
            crate::journal::error!("backup: verification of job {}: {e:#}", job.name);
            ExitStatus::of(&e)
        });
        worst = worst.worse(status);
    }
    worst
}
