//! `backup unlock [--all]`: what killed processes left behind. First the
//! view clones of this host's pools (each holds its snapshot against `zfs
//! destroy`), then the repository's stale locks (or, with `--all`, every
//! lock).

use anyhow::Result;
use backup_core::remove_locks;
use backup_zfs::{Zfs, ZfsError};

use crate::cli::{GlobalArgs, UnlockArgs};
use crate::context;
use crate::exit::ExitStatus;

pub fn run(g: &GlobalArgs, a: &UnlockArgs) -> Result<ExitStatus> {
    let views = remove_stale_views(&Zfs::new(), &a.pools);
    let repo = context::open_repo(g)?;
    let removed = remove_locks(&repo, a.all)?;
    if removed.is_empty() {
        println!("no {}lock to remove", if a.all { "" } else { "stale " });
    }
    for r in removed {
        println!("removed lock {r}");
    }
    Ok(views)
}

/// Removes the stale view clones of `pools` (none given: every imported
/// pool), saying what it removed. No ZFS on this host (a repository host):
/// nothing to do. A failure is reported and makes the command fail, after
/// the locks.
fn remove_stale_views(zfs: &Zfs, pools: &[String]) -> ExitStatus {
    let listed = if pools.is_empty() {
        zfs.list_pools()
    } else {
        Ok(pools.to_vec())
    };
    let pools = match listed {
        Ok(p) => p,
        Err(ZfsError::Spawn { .. } | ZfsError::Unavailable { .. }) => return ExitStatus::Success,
        Err(e) => {
            crate::journal::warning!(
                "backup: warning: cannot list the pools to look for view clones: {e}"
            );
            return ExitStatus::Failure;
        }
    };
    let mut status = ExitStatus::Success;
    for pool in pools {
        match zfs.remove_stale_views(&pool) {
            Ok(removed) => {
                for v in removed {
                    println!("removed {v}");
                }
            }
            Err(e) => {
                crate::journal::warning!(
                    "backup: warning: cannot remove the stale view clones of pool {pool}: {e}"
                );
                status = ExitStatus::Failure;
            }
        }
    }
    status
}
