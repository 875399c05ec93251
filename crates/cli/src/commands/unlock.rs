//! `backup unlock [--all]`.

use anyhow::Result;
use backup_core::remove_locks;

use crate::cli::{GlobalArgs, UnlockArgs};
use crate::context;
use crate::exit::ExitStatus;

pub fn run(g: &GlobalArgs, a: &UnlockArgs) -> Result<ExitStatus> {
    let repo = context::open_repo(g)?;
    let removed = remove_locks(&repo, a.all)?;
    if removed.is_empty() {
        println!("no {}lock to remove", if a.all { "" } else { "stale " });
    }
    for r in removed {
        println!("removed lock {r}");
    }
    Ok(ExitStatus::Success)
}
