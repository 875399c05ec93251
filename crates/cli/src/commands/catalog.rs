//! `backup catalog rebuild`.

use anyhow::Result;

use crate::cli::{CatalogCommand, GlobalArgs};
use crate::context;
use crate::exit::ExitStatus;

pub fn run(g: &GlobalArgs, c: &CatalogCommand) -> Result<ExitStatus> {
    match c {
        CatalogCommand::Rebuild => {
            let repo = context::open_repo(g)?;
            let mut cat = context::catalog(g, &repo)?;
            let report = cat.rebuild(&repo)?;
            for problem in &report.unreadable {
                crate::journal::warning!("warning: {problem} (left out of the catalog)");
            }
            println!("catalog rebuilt: {} snapshot(s)", report.stats.added);
        }
    }
    Ok(ExitStatus::Success)
}
