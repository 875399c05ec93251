//! `backup drill run`, and the dispatch of `backup drill`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use backup_core::{Id, Manifest};
use backup_ops::config::{Config, DrillPick, DrillSpec, PasswordSource, Scratch};
use backup_ops::drill::{self, Access, DrillReport, DrillRequest, Outcome};
use backup_ops::job::JobLock;
use backup_ops::notify;
use backup_zfs::Zfs;
use jiff::Timestamp;

use crate::cli::{DrillCommand, DrillRunArgs, GlobalArgs};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::hook_output::{notifier_warnings, HookLines};
use crate::progress::CliProgress;

pub fn run(g: &GlobalArgs, c: &DrillCommand) -> Result<ExitStatus> {
    match c {
        DrillCommand::Run(a) => drill_run(g, a),
        DrillCommand::History(a) => super::drill_history::history(g, a),
        DrillCommand::Show(a) => super::drill_history::show(g, a),
    }
}

fn drill_run(g: &GlobalArgs, a: &DrillRunArgs) -> Result<ExitStatus> {
    let config = context::config(g)?;
    let now = match &a.now {
        Some(t) => Some(
            t.parse::<Timestamp>()
                .map_err(|e| UsageError(format!("--now {t:?}: {e}")))?,
        ),
        None => None,
    };
    let opts = DrillRunOpts {
        snapshot: a.snapshot.clone(),
        key_file: g.key_file.clone(),
        keep_on_failure: a.keep_on_failure,
        report_dir: a.report_dir.clone(),
        json: a.json,
        now,
    };
    let jobs: Vec<String> = match (&a.job, a.all) {
        (Some(j), _) => vec![j.clone()],
        (None, true) => config
            .jobs
            .values()
            .filter(|j| j.drill.is_some())
            .map(|j| j.name.clone())
            .collect(),
        (None, false) => {
            return Err(UsageError("name a JOB to drill, or --all".into()).into());
        }
    };
    if jobs.is_empty() {
        eprintln!(
            "no job in {} has a [jobs.NAME.drill] table",
            config.path.display()
        );
        return Ok(ExitStatus::Success);
    }
    let mut worst = ExitStatus::Success;
    for job in &jobs {
        let status = match drill_job(g, &config, job, &opts) {
            Ok((_, s)) => s,
            Err(e) => {
                crate::journal::error!("backup: drill of job {job}: {e:#}");
                ExitStatus::of(&e)
            }
        };
        worst = worst.worse(status);
    }
    Ok(worst)
}

/// Options of one drill, from `drill run` or from `run --due`.
#[derive(Debug, Default, Clone)]
pub struct DrillRunOpts {
    /// `--snapshot`: latest, random, or an id / DATASET@SNAP.
    pub snapshot: Option<String>,
    /// `--key-file`.
    pub key_file: Option<PathBuf>,
    /// `--keep-on-failure`.
    pub keep_on_failure: bool,
    /// `--report-dir`.
    pub report_dir: Option<PathBuf>,
    /// Print the report as JSON instead of the summary.
    pub json: bool,
    /// The drill's clock (`--now`), else the wall clock.
    pub now: Option<Timestamp>,
}

/// Raised by SIGINT and SIGTERM while a drill runs: it stops, cleans up
/// its scratch space and records itself as interrupted.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Catches SIGINT and SIGTERM (`true`), or restores their default action.
fn catch_signals(catch: bool) {
    let handler = if catch {
        on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t
    } else {
        libc::SIG_DFL
    };
    #[allow(unsafe_code)]
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// Runs the drill of `job` (its `[jobs.NAME.drill]` table, or the defaults),
/// records it in the catalog and writes its reports; prints a summary;
/// a drill that does not pass, or cannot run, is told to the job's
/// notifiers (`notify`, `BACKUP_EVENT=drill`). `drill run` and `run
/// --due` both use it. The status is Success, DrillFailed, or Failure
/// when the drill could not run.
pub fn drill_job(
    g: &GlobalArgs,
    config: &Config,
    job: &str,
    opts: &DrillRunOpts,
) -> Result<(DrillReport, ExitStatus)> {
    let result = drill_job_quietly(g, config, job, opts);
    let Some(j) = config.jobs.get(job) else {
        return result;
    };
    let error = match &result {
        Ok((r, _)) if r.outcome == Outcome::Pass => None,
        Ok((r, _)) => Some(format!(
            "drill {} {}: {}",
            r.id,
            match r.outcome {
                Outcome::Fail => "failed",
                _ => "could not run",
            },
            r.reason.as_deref().unwrap_or("see its report")
        )),
        Err(e) => Some(format!("{e:#}")),
    };
    let outcome = notify::Outcome {
        event: notify::Event::Drill,
        error: error.as_deref(),
        snapshot: None,
    };
    notifier_warnings(notify::finished(j, &outcome, &HookLines { quiet: g.quiet }));
    result
}

/// [`drill_job`] without the notifications.
fn drill_job_quietly(
    g: &GlobalArgs,
    config: &Config,
    job: &str,
    opts: &DrillRunOpts,
) -> Result<(DrillReport, ExitStatus)> {
    let job = config
        .jobs
        .get(job)
        .ok_or_else(|| UsageError(format!("no job named {job:?} in {}", config.path.display())))?;
    let spec = job.drill.clone().unwrap_or_else(DrillSpec::default_spec);
    let pick = match opts.snapshot.as_deref() {
        None => spec.pick.clone(),
        Some("latest") => DrillPick::Latest,
        Some("random") => DrillPick::Random,
        Some(q) => DrillPick::Given(q.to_string()),
    };
    let state = context::state_dir(g, config);
    let work_dir = match &spec.scratch {
        Scratch::PoolIn(Some(dir)) => dir.clone(),
        _ => state.join("drill"),
    };
    let _drills = JobLock::acquire_file(
        &state.join("locks"),
        "drills.lock",
        "the restore drills of this host",
    )?;
    let repo_spec = &config.repositories[&job.repository];
    let repo = match &opts.key_file {
        Some(file) => context::open_with_key_file(g, &repo_spec.location, file)?,
        None => context::open_named(g, config, &job.repository)?,
    };
    let _lock = context::read_lock(g, &repo, &format!("drill {}", job.name))?;
    let catalog = context::synced_catalog(g, &repo)?;
    let all: Vec<(Id, Manifest)> = catalog
        .snapshots()?
        .into_iter()
        .map(|e| (e.id, e.manifest))
        .collect();
    STOP.store(false, Ordering::Relaxed);
    catch_signals(true);
    let req = DrillRequest {
        job,
        spec: &spec,
        pick,
        work_dir,
        keep_on_failure: opts.keep_on_failure,
        now: opts.now.unwrap_or_else(Timestamp::now),
        key_file: opts.key_file.as_ref().map(|f| f.display().to_string()),
        access: access(config, &job.repository, &repo_spec.password),
        stop: &STOP,
    };
    let progress = CliProgress::new(g.quiet || opts.json);
    let report = drill::run(&req, &repo, &all, &Zfs::new(), &progress);
    // After the drill, a signal stops the process again (`run --due`).
    catch_signals(false);
    let recorded = catalog.record_drill(&report);
    drop(catalog);
    super::status::write_metrics(g, config, req.now);
    let report_dir = opts
        .report_dir
        .clone()
        .unwrap_or_else(|| context::drill_report_dir(g, config));
    let written = write_reports(&report, &report_dir);
    if opts.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        super::drill_show_text::print(&report);
    }
    if let Err(e) = recorded {
        eprintln!(
            "backup: drill {}: recording it in the catalog: {e}",
            report.id
        );
    }
    match written {
        Ok((json, md)) if !opts.json => {
            println!("reports: {} and {}", json.display(), md.display());
        }
        Ok(_) => {}
        Err(e) => crate::journal::error!("backup: drill {}: {e:#}", report.id),
    }
    let status = match report.outcome {
        Outcome::Pass => ExitStatus::Success,
        Outcome::Fail => ExitStatus::DrillFailed,
        Outcome::Error => ExitStatus::Failure,
    };
    Ok((report, status))
}

/// What the runbook tells an operator about reaching the repository.
pub(crate) fn access(config: &Config, name: &str, source: &PasswordSource) -> Access {
    let (password_source, password_env) = match source {
        PasswordSource::File(f) => (
            format!("password_file = {:?}", f.display().to_string()),
            format!("export BACKUP_PASSWORD_FILE={}", drill::sh(&f.display().to_string())),
        ),
        PasswordSource::Command(c) => (
            format!("password_command = {c:?}"),
            format!("export BACKUP_PASSWORD_COMMAND={}", drill::sh(c)),
        ),
        PasswordSource::Credential(n) => (
            format!("password_credential = {n:?} (a systemd credential)"),
            format!(
                "export BACKUP_PASSWORD_FILE=/path/to/the/escrowed/passphrase  # systemd credential {n:?} on the old host"
            ),
        ),
    };
    Access {
        config_file: config.path.display().to_string(),
        repository_name: name.to_string(),
        password_source,
        password_env,
    }
}

/// Writes `<id>.json` and `<id>.md` into `dir`.
fn write_reports(report: &DrillReport, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = dir.join(format!("{}.json", report.id));
    let md = dir.join(format!("{}.md", report.id));
    std::fs::write(&json, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    std::fs::write(&md, drill::markdown(report))
        .with_context(|| format!("writing {}", md.display()))?;
    Ok((json, md))
}
