//! `backup drill run`, and the dispatch of `backup drill`.

use anyhow::Result;

use crate::cli::{DrillCommand, DrillRunArgs, GlobalArgs};
use crate::exit::ExitStatus;

pub fn run(g: &GlobalArgs, c: &DrillCommand) -> Result<ExitStatus> {
    match c {
        DrillCommand::Run(a) => drill_run(g, a),
        DrillCommand::History(a) => super::drill_history::history(g, a),
        DrillCommand::Show(a) => super::drill_history::show(g, a),
    }
}

fn drill_run(_g: &GlobalArgs, _a: &DrillRunArgs) -> Result<ExitStatus> {
    anyhow::bail!("drill run: being written")
}

/// Options of one drill, from `drill run` or from `run --due`.
#[derive(Debug, Default, Clone)]
pub struct DrillRunOpts {
    /// `--snapshot`: latest, random, or an id / DATASET@SNAP.
    pub snapshot: Option<String>,
    /// `--key-file`.
    pub key_file: Option<std::path::PathBuf>,
    /// `--keep-on-failure`.
    pub keep_on_failure: bool,
    /// `--report-dir`.
    pub report_dir: Option<std::path::PathBuf>,
    /// Print the report as JSON instead of the summary.
    pub json: bool,
    /// The drill's clock (`--now`), else the wall clock.
    pub now: Option<jiff::Timestamp>,
}

/// Runs the drill of `job` (its `[jobs.NAME.drill]` table, or the defaults),
/// records it in the catalog and writes its reports; prints a summary.
/// `drill run` and `run --due` both use it. The status is Success,
/// DrillFailed, or Failure when the drill could not run.
pub fn drill_job(
    _g: &GlobalArgs,
    _config: &backup_core::config::Config,
    _job: &str,
    _opts: &DrillRunOpts,
) -> Result<(backup_core::drill::DrillReport, ExitStatus)> {
    anyhow::bail!("drill run: being written")
}
