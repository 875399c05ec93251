//! `backup status [JOB] [--json | --nagios]`, and the metrics textfile
//! written after every `backup run`.
//!
//! Status reads the catalog and a listing of each repository's packs; the
//! public header of a repository (no passphrase) says where its catalog is.
//! When the passphrase is at hand the catalog is synced first; when it is
//! not (a monitoring user), the catalog is read as it is, with a note.

use std::path::Path;

use anyhow::{Context, Result};
use backup_core::Repository;
use backup_ops::config::{duration, Config, RepositorySpec};
use backup_ops::status::{self, RepositorySource, Status, StorageStats, Thresholds};
use backup_ops::Catalog;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::cli::{GlobalArgs, StatusArgs};
use crate::commands::status_text;
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::password;

pub fn run(g: &GlobalArgs, a: &StatusArgs) -> Result<ExitStatus> {
    if a.nagios {
        // A plugin reports its own failures as UNKNOWN, on its one line.
        return Ok(match nagios(g, a) {
            Ok(code) => code,
            Err(e) => {
                println!(
                    "BACKUP UNKNOWN - {}",
                    format!("{e:#}").replace(['\n', '|'], " ")
                );
                ExitStatus::Nagios(3)
            }
        });
    }
    let (config, now) = (context::config(g)?, now(a)?);
    let st = gather(g, &config, a.job.as_deref(), now)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&st)?);
    } else {
        status_text::print(&st);
    }
    Ok(ExitStatus::Success)
}

fn nagios(g: &GlobalArgs, a: &StatusArgs) -> Result<ExitStatus> {
    let (config, now) = (context::config(g)?, now(a)?);
    let age = |flag: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .map(|t| {
                duration(t)
                    .map(|d| d.as_secs())
                    .map_err(|e| UsageError(format!("--{flag}: {e}")).into())
            })
            .transpose()
    };
    let given = Thresholds {
        warn: age("warn", &a.warn)?,
        crit: age("crit", &a.crit)?,
    };
    let st = gather(g, &config, a.job.as_deref(), now)?;
    let check = status::nagios_check(&st, given, &TimeZone::system());
    println!("{}", check.line);
    Ok(ExitStatus::Nagios(check.state.code()))
}

/// Writes the configuration's `metrics_file`, if it names one, with every
/// job's status at `now`. Never fails a run: a problem is a warning.
pub fn write_metrics(g: &GlobalArgs, config: &Config, now: Timestamp) {
    let Some(path) = &config.metrics_file else {
        return;
    };
    if let Err(e) = try_write_metrics(g, config, now, path) {
        crate::journal::warning!(
            "backup: warning: metrics file {} not written: {e:#}",
            path.display()
        );
    }
}

fn try_write_metrics(g: &GlobalArgs, config: &Config, now: Timestamp, path: &Path) -> Result<()> {
    let st = gather(g, config, None, now)?;
    backup_ops::metrics::write_atomic(path, backup_ops::metrics::render(&st).as_bytes())?;
    Ok(())
}

fn now(a: &StatusArgs) -> Result<Timestamp> {
    Ok(match &a.now {
        Some(t) => t
            .parse::<Timestamp>()
            .map_err(|e| UsageError(format!("--now {t:?}: {e}")))?,
        None => Timestamp::now(),
    })
}

/// What could be learnt of one repository: its catalog, its pack listing,
/// notes.
struct Gathered {
    name: String,
    catalog: Option<Catalog>,
    storage: std::result::Result<StorageStats, String>,
    notes: Vec<String>,
}

/// The status of the jobs (or of `only`) at `now`.
fn gather(g: &GlobalArgs, config: &Config, only: Option<&str>, now: Timestamp) -> Result<Status> {
    if let Some(job) = only {
        if !config.jobs.contains_key(job) {
            return Err(
                UsageError(format!("no job named {job:?} in {}", config.path.display())).into(),
            );
        }
    }
    let mut names: Vec<&String> = config
        .jobs
        .values()
        .filter(|j| only.unwrap_or(&j.name) == j.name)
        .map(|j| &j.repository)
        .collect();
    names.sort();
    names.dedup();
    let mut gathered = Vec::new();
    for name in names {
        let spec = config.repositories.get(name).ok_or_else(|| {
            UsageError(format!(
                "no repository named {name:?} in {}",
                config.path.display()
            ))
        })?;
        gathered.push(examine(g, spec)?);
    }
    let sources: Vec<RepositorySource<'_>> = gathered
        .iter()
        .map(|x| RepositorySource {
            name: x.name.clone(),
            catalog: x.catalog.as_ref(),
            storage: x.storage.clone(),
            notes: x.notes.clone(),
        })
        .collect();
    Ok(status::build(
        config,
        only,
        &sources,
        now,
        &TimeZone::system(),
    )?)
}

/// Lists a repository's packs, finds its catalog, and syncs it if the
/// passphrase opens the repository. Only a broken catalog is an error.
fn examine(g: &GlobalArgs, spec: &RepositorySpec) -> Result<Gathered> {
    let mut out = Gathered {
        name: spec.name.clone(),
        catalog: None,
        storage: Err(String::new()),
        notes: Vec::new(),
    };
    let backend = match context::open_spec_backend(g, spec, None) {
        Ok(b) => b,
        Err(e) => {
            out.storage = Err(e.to_string());
            out.catalog = given_catalog(g, &mut out.notes)?;
            return Ok(out);
        }
    };
    let id = match Repository::peek_id(&*backend) {
        Ok(id) => id,
        Err(e) => {
            out.storage = Err(e.to_string());
            out.catalog = given_catalog(g, &mut out.notes)?;
            return Ok(out);
        }
    };
    out.storage = StorageStats::of(&*backend).map_err(|e| e.to_string());
    let path = context::catalog_path(g, &id);
    let pass = match g.password.given() {
        true => g.password.passphrase(),
        false => password::from_source(&spec.password),
    };
    let opened = pass.and_then(|p| {
        Repository::open_with_limits(backend, &p, context::open_options(g))
            .with_context(|| format!("opening repository {} at {}", spec.name, spec.location))
    });
    match opened {
        Ok(repo) => {
            let mut cat = Catalog::open(&path)?;
            match cat.sync(&repo) {
                Ok(report) => out.notes.extend(
                    report
                        .unreadable
                        .into_iter()
                        .map(|p| format!("{p} (left out of the catalog; run `backup check`)")),
                ),
                Err(e) => out.notes.push(format!("catalog not synced: {e}")),
            }
            out.catalog = Some(cat);
        }
        Err(e) => {
            out.notes.push(format!(
                "catalog not synced with the repository (it may be behind): {e:#}"
            ));
            if path.exists() {
                out.catalog = Some(Catalog::open(&path)?);
            } else {
                out.notes.push(format!("no catalog at {}", path.display()));
            }
        }
    }
    Ok(out)
}

/// The catalog --catalog names, when the repository cannot say where its
/// own is.
fn given_catalog(g: &GlobalArgs, notes: &mut Vec<String>) -> Result<Option<Catalog>> {
    match &g.catalog {
        Some(p) if p.exists() => Ok(Some(Catalog::open(p)?)),
        _ => {
            notes.push(
                "the catalog is found through the repository's id: give --catalog FILE to read it"
                    .into(),
            );
            Ok(None)
        }
    }
}
