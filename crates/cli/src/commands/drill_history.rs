//! `backup drill history` and `backup drill show`.
//!
//! Drills are recorded in the catalog of the job's repository. With
//! `--catalog`, that catalog is read; with `--repo` (or
//! `$BACKUP_REPOSITORY`), that repository's; otherwise those of the
//! configuration's repositories (only the job's with a JOB). No passphrase
//! is needed: a repository's public id names its catalog.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use backup_core::Repository;
use backup_ops::drill::DrillReport;
use backup_ops::{Catalog, Error};

use super::drill_show_text::{self, target};
use crate::cli::{DrillHistoryArgs, DrillShowArgs, GlobalArgs};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::format::{bytes, local_time};

pub fn history(g: &GlobalArgs, a: &DrillHistoryArgs) -> Result<ExitStatus> {
    let mut reports = Vec::new();
    for c in catalogs(g, a.job.as_deref())? {
        reports.extend(
            c.catalog
                .drills(a.job.as_deref(), a.limit)
                .with_context(|| format!("drills of repository {}", c.repository))?,
        );
    }
    reports.sort_by(|x, y| (y.started, &y.id).cmp(&(x.started, &x.id)));
    reports.dedup_by(|x, y| x.id == y.id);
    reports.truncate(a.limit);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else if reports.is_empty() {
        match &a.job {
            Some(job) => println!("no drills of job {job} recorded"),
            None => println!("no drills recorded"),
        }
    } else {
        print_table(&reports);
    }
    Ok(ExitStatus::Success)
}

pub fn show(g: &GlobalArgs, a: &DrillShowArgs) -> Result<ExitStatus> {
    let mut found: Vec<DrillReport> = Vec::new();
    for c in catalogs(g, None)? {
        match c.catalog.drill(&a.id) {
            Ok(r) if !found.iter().any(|f| f.id == r.id) => found.push(r),
            Ok(_) | Err(Error::DrillNotFound { .. }) => {}
            Err(e) => {
                return Err(e).with_context(|| format!("drills of repository {}", c.repository))
            }
        }
    }
    let report = match found.len() {
        0 => {
            return Err(anyhow::anyhow!(
                "no drill {:?} recorded (in the catalogs of {}); `backup drill history` lists them",
                a.id,
                where_looked(g)
            ))
        }
        1 => found.remove(0),
        _ => {
            let ids: Vec<&str> = found.iter().map(|r| r.id.as_str()).collect();
            return Err(UsageError(format!(
                "{:?} matches drills in several repositories ({}); give a longer id",
                a.id,
                ids.join(", ")
            ))
            .into());
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if a.markdown {
        print!("{}", backup_ops::drill::markdown(&report));
    } else {
        drill_show_text::print(&report);
        drill_show_text::print_report_places(&report, &report_dir(g));
    }
    Ok(ExitStatus::Success)
}

/// A catalog to read drills from, and the repository it belongs to.
struct DrillCatalog {
    repository: String,
    catalog: Catalog,
}

/// The catalogs to read (see the module documentation). A repository that
/// cannot be reached is skipped with a warning; a catalog that does not
/// exist yet holds no drills and is not created.
fn catalogs(g: &GlobalArgs, job: Option<&str>) -> Result<Vec<DrillCatalog>> {
    if let Some(path) = &g.catalog {
        return Ok(existing(path, path.display().to_string())?
            .into_iter()
            .collect());
    }
    if g.repo.is_some() {
        let backend = context::backend(g)?;
        let id = Repository::peek_id(&*backend)?;
        let name = backend.location();
        return Ok(existing(&context::catalog_path(g, &id), name)?
            .into_iter()
            .collect());
    }
    let config = context::config(g)?;
    let names: Vec<&String> = match job {
        Some(name) => vec![
            &config
                .jobs
                .get(name)
                .ok_or_else(|| {
                    UsageError(format!(
                        "no job named {name:?} in {}",
                        config.path.display()
                    ))
                })?
                .repository,
        ],
        None => config.repositories.keys().collect(),
    };
    let mut out = Vec::new();
    for name in names {
        let spec = &config.repositories[name];
        let id =
            context::open_spec_backend(g, spec, None).and_then(|b| Ok(Repository::peek_id(&*b)?));
        match id {
            Ok(id) => out.extend(existing(&context::catalog_path(g, &id), name.clone())?),
            Err(e) => crate::journal::warning!(
                "backup: warning: repository {name} at {}: {e}; its drills are not listed",
                spec.location
            ),
        }
    }
    Ok(out)
}

fn existing(path: &Path, repository: String) -> Result<Option<DrillCatalog>> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(DrillCatalog {
        repository,
        catalog: Catalog::open(path)?,
    }))
}

/// Where `show` looked, for its error.
fn where_looked(g: &GlobalArgs) -> String {
    if let Some(p) = &g.catalog {
        format!("catalog {}", p.display())
    } else if let Some(r) = &g.repo {
        format!("repository {r}")
    } else {
        format!(
            "every repository of {}, under {}",
            g.config.display(),
            context::state_dir_anyway(g).display()
        )
    }
}

/// Where `drill run` writes its reports unless told otherwise.
fn report_dir(g: &GlobalArgs) -> PathBuf {
    match context::config(g) {
        Ok(config) => context::drill_report_dir(g, &config),
        Err(_) => context::state_dir_anyway(g).join("drills"),
    }
}

fn print_table(reports: &[DrillReport]) {
    let rows: Vec<[String; 9]> = reports
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.job.clone(),
                local_time(r.started),
                r.outcome.as_str().to_string(),
                target(&r.rto),
                target(&r.rpo),
                bytes(r.restored_bytes),
                r.mismatches.to_string(),
                r.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let head = [
        "ID",
        "JOB",
        "STARTED",
        "OUTCOME",
        "RTO",
        "RPO",
        "RESTORED",
        "MISMATCHES",
        "REASON",
    ];
    let mut widths = head.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            match i {
                0 => out.push_str(&format!("{cell:<w$}")),
                6 | 7 => out.push_str(&format!("  {cell:>w$}")),
                8 => out.push_str(&format!("  {cell}")),
                _ => out.push_str(&format!("  {cell:<w$}")),
            }
        }
        println!("{}", out.trim_end());
    };
    line(head.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
}
