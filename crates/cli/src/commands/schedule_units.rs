//! `backup schedule install | show | remove`: the files come from
//! [`backup_ops::install`]; here are the options, the output and
//! `systemctl`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use backup_ops::config::{Config, Job};
use backup_ops::install::{self, ChangeKind, GeneratedFile, Options};

use crate::cli::{GlobalArgs, InstallArgs, PlaceArgs, RemoveArgs, ShowArgs};
use crate::exit::{ExitStatus, UsageError};

pub fn install(g: &GlobalArgs, a: &InstallArgs) -> Result<ExitStatus> {
    let config = config(g)?;
    let options = options(a)?;
    let jobs = selected(&config, &a.jobs)?;
    let files = generate(&config, &jobs, &options, a.cron)?;
    // Without a job list, the configuration is the whole truth: its
    // generated files that it no longer asks for go (units of a job gone
    // or unscheduled, and the other kind's files after a switch).
    let stale = match a.jobs.is_empty() {
        true => stale(&config.path, &options, &files)?,
        false => Vec::new(),
    };
    let live = systemd_live(&a.place);
    let stale_timers = timers_among(&stale);
    if live && !stale_timers.is_empty() {
        systemctl(&[&["disable", "--now"], &names(&stale_timers)[..]].concat())?;
    }
    let mut changes = install::write_files(&files)?;
    changes.extend(install::remove_files(&stale)?);
    for c in &changes {
        println!("{} {}", verb(c.kind), c.path.display());
    }
    let changed = changes.iter().any(|c| c.kind != ChangeKind::Unchanged);
    if !changed {
        println!("nothing changed");
    }
    let touched_units = changes
        .iter()
        .any(|c| c.kind != ChangeKind::Unchanged && c.path.starts_with(&options.unit_dir));
    let timers: Vec<String> = match a.cron {
        true => Vec::new(),
        false => files
            .iter()
            .filter(|f| f.path.extension().is_some_and(|e| e == "timer"))
            .filter_map(|f| Some(f.path.file_name()?.to_str()?.to_string()))
            .collect(),
    };
    if touched_units {
        let mut steps: Vec<Vec<&str>> = vec![vec!["daemon-reload"]];
        if !timers.is_empty() {
            steps.push(
                [
                    &["enable", "--now"],
                    &timers.iter().map(String::as_str).collect::<Vec<_>>()[..],
                ]
                .concat(),
            );
        }
        if live {
            for step in &steps {
                systemctl(step)?;
            }
        } else {
            println!("systemd is not running here (or --root/--unit-dir point elsewhere); run:");
            for step in &steps {
                println!("  systemctl {}", step.join(" "));
            }
        }
    }
    Ok(ExitStatus::Success)
}

pub fn show(g: &GlobalArgs, s: &ShowArgs) -> Result<ExitStatus> {
    let a = &s.install;
    let config = config(g)?;
    let options = options(a)?;
    let jobs = selected(&config, &a.jobs)?;
    let files = generate(&config, &jobs, &options, a.cron)?;
    if s.json {
        let v: Vec<_> = files
            .iter()
            .map(|f| serde_json::json!({"path": f.path, "content": f.content}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitStatus::Success);
    }
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("==> {} <==", f.path.display());
        print!("{}", f.content);
    }
    Ok(ExitStatus::Success)
}

pub fn remove(g: &GlobalArgs, a: &RemoveArgs) -> Result<ExitStatus> {
    // The configuration may be broken or gone: only its path matters.
    let config_path = absolute(&g.config)?;
    let unit_dir = unit_dir(&a.place);
    let wanted = |name: &str| match a.jobs.is_empty() {
        true => is_unit_name(name),
        false => a.jobs.iter().any(|j| {
            ["backup-", "backup-drill-"].iter().any(|base| {
                name == format!("{base}{j}.service") || name == format!("{base}{j}.timer")
            })
        }),
    };
    let mut paths = install::find_generated(&unit_dir, &config_path, wanted)?;
    if a.jobs.is_empty() {
        let cron = cron_file(&a.place);
        let dir = cron.parent().unwrap_or(Path::new("/"));
        let name = cron.file_name().unwrap_or_default();
        paths.extend(install::find_generated(dir, &config_path, |n| n == name)?);
    }
    let timers = timers_among(&paths);
    let live = systemd_live(&a.place);
    if live && !timers.is_empty() {
        systemctl(&[&["disable", "--now"], &names(&timers)[..]].concat())?;
    }
    let changes = install::remove_files(&paths)?;
    for c in &changes {
        println!("{} {}", verb(c.kind), c.path.display());
    }
    if changes.is_empty() {
        println!("nothing to remove");
    } else if changes.iter().any(|c| c.path.starts_with(&unit_dir)) {
        if live {
            systemctl(&["daemon-reload"])?;
        } else {
            println!("systemd is not running here (or --root/--unit-dir point elsewhere); run:");
            println!("  systemctl daemon-reload");
        }
    }
    Ok(ExitStatus::Success)
}

fn verb(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Created => "created",
        ChangeKind::Updated => "updated",
        ChangeKind::Unchanged => "unchanged",
        ChangeKind::Removed => "removed",
        _ => "changed",
    }
}

/// The configuration, loaded from its absolute path (which the units name).
fn config(g: &GlobalArgs) -> Result<Config> {
    let path = std::fs::canonicalize(&g.config)
        .with_context(|| format!("the configuration file {}", g.config.display()))?;
    backup_ops::config::load(&path).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        UsageError(lines.join("\n")).into()
    })
}

fn absolute(path: &Path) -> Result<PathBuf> {
    if let Ok(p) = std::fs::canonicalize(path) {
        return Ok(p);
    }
    Ok(std::env::current_dir()
        .context("the current directory")?
        .join(path))
}

/// The jobs named, each checked to exist and have a schedule, a drill or
/// `check_every` (which only cron can run without a schedule: systemd
/// units run a job's verification after the job); or every job with one.
fn selected<'c>(config: &'c Config, names: &[String]) -> Result<Vec<&'c Job>> {
    if names.is_empty() {
        return Ok(config
            .jobs
            .values()
            .filter(|j| j.schedule.is_some() || j.drill.is_some() || j.check_every.is_some())
            .collect());
    }
    let mut jobs = Vec::new();
    for name in names {
        let job = config.jobs.get(name).ok_or_else(|| {
            UsageError(format!(
                "no job named {name:?} in {}",
                config.path.display()
            ))
        })?;
        if job.schedule.is_none() && job.drill.is_none() && job.check_every.is_none() {
            return Err(UsageError(format!(
                "job {name} has no schedule, no drill and no check_every in {}: nothing to install",
                config.path.display()
            ))
            .into());
        }
        jobs.push(job);
    }
    Ok(jobs)
}

fn options(a: &InstallArgs) -> Result<Options> {
    let binary = match &a.binary {
        Some(b) => absolute(b)?,
        None => std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .context("finding this binary (use --binary)")?,
    };
    let randomized_delay = backup_ops::config::duration(&a.randomized_delay)
        .map_err(|e| UsageError(format!("--randomized-delay: {e}")))?;
    Ok(Options {
        binary,
        unit_dir: unit_dir(&a.place),
        cron_file: cron_file(&a.place),
        credential_dir: a.credential_dir.clone(),
        randomized_delay,
    })
}

fn generate(
    config: &Config,
    jobs: &[&Job],
    options: &Options,
    cron: bool,
) -> Result<Vec<GeneratedFile>> {
    Ok(match cron {
        true => vec![install::cron_file(config, jobs, options)?],
        false => install::systemd_units(config, jobs, options)?,
    })
}

/// Generated files of this configuration that `files` does not hold.
fn stale(config: &Path, options: &Options, files: &[GeneratedFile]) -> Result<Vec<PathBuf>> {
    let mut found = install::find_generated(&options.unit_dir, config, is_unit_name)?;
    let cron_dir = options.cron_file.parent().unwrap_or(Path::new("/"));
    let cron_name = options.cron_file.file_name().unwrap_or_default();
    found.extend(install::find_generated(cron_dir, config, |n| {
        n == cron_name
    })?);
    found.retain(|p| !files.iter().any(|f| &f.path == p));
    Ok(found)
}

// Unit names are ones `schedule install` writes itself, in lower case.
#[allow(clippy::case_sensitive_file_extension_comparisons)]
fn is_unit_name(name: &str) -> bool {
    name.starts_with("backup-") && (name.ends_with(".service") || name.ends_with(".timer"))
}

fn unit_dir(p: &PlaceArgs) -> PathBuf {
    p.unit_dir
        .clone()
        .unwrap_or_else(|| p.root.join(install::UNIT_DIR.trim_start_matches('/')))
}

fn cron_file(p: &PlaceArgs) -> PathBuf {
    p.root.join(install::CRON_FILE.trim_start_matches('/'))
}

fn timers_among(paths: &[PathBuf]) -> Vec<PathBuf> {
    let is_timer = |p: &&PathBuf| p.extension().is_some_and(|e| e == "timer");
    paths.iter().filter(is_timer).cloned().collect()
}

fn names(paths: &[PathBuf]) -> Vec<&str> {
    paths
        .iter()
        .filter_map(|p| p.file_name()?.to_str())
        .collect()
}

/// True when the files go to the running system's unit directory and
/// systemd manages this system: then install and remove call systemctl.
fn systemd_live(p: &PlaceArgs) -> bool {
    let system_dir = p.root == Path::new("/")
        && match p.unit_dir.as_deref() {
            None => true,
            Some(d) => d == Path::new(install::UNIT_DIR),
        };
    system_dir && Path::new("/run/systemd/system").is_dir() && on_path("systemctl")
}

fn on_path(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
}

fn systemctl(args: &[&str]) -> Result<()> {
    println!("systemctl {}", args.join(" "));
    let status = Command::new("systemctl")
        .args(args)
        .status()
        .with_context(|| format!("running systemctl {}", args.join(" ")))?;
    if !status.success() {
        bail!("systemctl {} failed ({status})", args.join(" "));
    }
    Ok(())
}
