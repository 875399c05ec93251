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
