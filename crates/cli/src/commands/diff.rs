//! `backup diff SNAP_A SNAP_B [PATH] [--json]`: one line per changed path,
//! as `git diff --name-status` reads (A, D, M, and m for metadata only).

use anyhow::Result;
use backup_core::filelist::diff;

use super::browse::{recorded_path, Browse};
use crate::cli::{DiffArgs, GlobalArgs};
use crate::exit::ExitStatus;

pub fn run(g: &GlobalArgs, a: &DiffArgs) -> Result<ExitStatus> {
    let b = Browse::open(g, "diff")?;
    let (ida, ma) = b.find(&a.from)?;
    let (idb, mb) = b.find(&a.to)?;
    let (la, lb) = (b.file_list(&ida, &ma)?, b.file_list(&idb, &mb)?);
    let changes = diff(&la, &lb, &recorded_path(&a.path));
    if a.json {
        println!("{}", serde_json::to_string_pretty(&changes)?);
        return Ok(ExitStatus::Success);
    }
    for c in &changes {
        if c.what.is_empty() {
            println!("{}\t{}", c.status.letter(), c.path);
        } else {
            println!("{}\t{}\t({})", c.status.letter(), c.path, c.what.join(", "));
        }
    }
    eprintln!(
        "{} path(s) differ between {} and {}",
        changes.len(),
        ma.full_name(),
        mb.full_name()
    );
    Ok(ExitStatus::Success)
}
