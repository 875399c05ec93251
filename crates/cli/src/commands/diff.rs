//! `backup diff SNAP_A SNAP_B [PATH] [--json]`: one line per changed path,
//! as `git diff --name-status` reads (A, D, M, and m for metadata only).
//! One pass over both manifests, each read chunk by chunk, neither held.

use anyhow::Result;
use backup_core::filelist::diff_sorted;

use super::browse::{recorded_path, Browse};
use crate::cli::{DiffArgs, GlobalArgs};
use crate::exit::ExitStatus;

pub fn run(g: &GlobalArgs, a: &DiffArgs) -> Result<ExitStatus> {
    let b = Browse::open(g, "diff")?;
    let (ida, ma) = b.find(&a.from)?;
    let (idb, mb) = b.find(&a.to)?;
    // Both lists are read chunk by chunk as the comparison goes: only the
    // changes are held.
    let changes = diff_sorted(
        b.entries(&ida, &ma)?,
        b.entries(&idb, &mb)?,
        &recorded_path(&a.path),
    )?;
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
