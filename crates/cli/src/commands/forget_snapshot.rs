//! `backup forget --snapshot SNAPSHOT...`: remove named snapshots (one
//! shipped by mistake), not a job's retention. A snapshot that a kept one
//! is an incremental on is refused: removing it would break that chain.

use std::collections::BTreeSet;

use anyhow::Result;
use backup_core::{find_snapshot, resolve_chain, Id, LockKind, Manifest};

use crate::cli::{ForgetArgs, GlobalArgs};
use crate::commands::prune::prune_after_forget;
use crate::context;
use crate::exit::{ExitStatus, UsageError};

pub fn run(g: &GlobalArgs, a: &ForgetArgs) -> Result<ExitStatus> {
    let mut repo = context::open_repo(g)?;
    let lock = context::lock(g, &repo, LockKind::Exclusive, "forget")?;
    let all: Vec<(Id, Manifest)> = repo.manifests()?;
    let mut doomed = BTreeSet::new();
    for q in &a.snapshots {
        doomed.insert(find_snapshot(&all, q)?.0);
    }
    let dependents: Vec<String> = all
        .iter()
        .filter(|(id, _)| !doomed.contains(id))
        .filter(|(id, _)| {
            resolve_chain(&all, id).is_ok_and(|chain| chain.iter().any(|(c, _)| doomed.contains(c)))
        })
        .map(|(id, m)| format!("{} ({})", m.full_name(), id.short()))
        .collect();
    if !dependents.is_empty() {
        return Err(UsageError(format!(
            "kept snapshots are incrementals on what would be removed, and could no longer be restored: {}; forget them too (more --snapshot), or keep it",
            dependents.join(", ")
        ))
        .into());
    }
    let verb = if a.dry_run { "would remove" } else { "removed" };
    lock.check()?;
    let mut removed = Vec::new();
    for id in &doomed {
        let m = &all.iter().find(|(i, _)| i == id).expect("found above").1;
        if !a.dry_run {
            repo.remove_manifest(id)?;
        }
        if !a.json {
            println!("{verb} {} ({})", m.full_name(), id.short());
        }
        removed.push(serde_json::json!({"id": id.to_hex(), "name": m.full_name()}));
    }
    let mut pruned = None;
    if !a.dry_run {
        context::catalog(g, &repo)?.sync(&repo)?;
        drop(lock);
        if a.prune {
            pruned = Some(prune_after_forget(g, &mut repo, a.json)?);
        } else if !a.json {
            println!("`backup prune` frees the data only they used");
        }
    }
    if a.json {
        let v = serde_json::json!({
            "dry_run": a.dry_run,
            "removed": removed,
            "prune": pruned,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(ExitStatus::Success)
}
