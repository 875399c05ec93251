//! `backup prune`.

use anyhow::Result;
use backup_core::{plan_prune, prune, PruneOptions, PrunePlan};
use backup_core::{LockKind, Repository};

use crate::cli::{GlobalArgs, PruneArgs};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use crate::format::bytes;
use crate::progress::CliProgress;

pub fn run(g: &GlobalArgs, a: &PruneArgs) -> Result<ExitStatus> {
    if !(0.0..=100.0).contains(&a.repack_unused) {
        return Err(UsageError(format!(
            "--repack-unused {}: must be between 0 and 100",
            a.repack_unused
        ))
        .into());
    }
    let mut repo = context::open_repo(g)?;
    let opts = PruneOptions {
        repack_unused_percent: a.repack_unused,
    };
    let out = if a.json {
        PlanOutput::Json
    } else {
        PlanOutput::Text
    };
    prune_repo(g, &mut repo, opts, a.dry_run, out)?;
    Ok(ExitStatus::Success)
}

/// How [`prune_repo`] shows its plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanOutput {
    /// For people, with the bytes freed at the end.
    Text,
    /// The plan as one JSON document.
    Json,
    /// Nothing: the caller shows the returned plan (in its own JSON).
    Silent,
}

/// The prune `forget --prune` runs after removing snapshots: default
/// options, its plan printed unless the output is JSON.
pub fn prune_after_forget(g: &GlobalArgs, repo: &mut Repository, json: bool) -> Result<PrunePlan> {
    let out = if json {
        PlanOutput::Silent
    } else {
        PlanOutput::Text
    };
    prune_repo(g, repo, PruneOptions::default(), false, out)
}

/// Prunes one open repository under an exclusive lock, showing the plan
/// as `out` says; returns the plan.
pub fn prune_repo(
    g: &GlobalArgs,
    repo: &mut Repository,
    opts: PruneOptions,
    dry_run: bool,
    out: PlanOutput,
) -> Result<PrunePlan> {
    let lock = context::lock(g, repo, LockKind::Exclusive, "prune")?;
    let pruner = plan_prune(repo, opts)?;
    let plan = pruner.plan().clone();
    match out {
        PlanOutput::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        PlanOutput::Text => print_plan(&plan, dry_run),
        PlanOutput::Silent => {}
    }
    if dry_run || plan.is_empty() {
        return Ok(plan);
    }
    let progress = CliProgress::new(g.quiet || out != PlanOutput::Text);
    let done = prune(repo, pruner, &lock, &progress)?;
    let mut catalog = context::catalog(g, repo)?;
    catalog.sync(repo)?;
    if out == PlanOutput::Text {
        println!("pruned: {} freed", bytes(done.bytes_freed()));
    }
    Ok(done)
}

fn print_plan(p: &PrunePlan, dry_run: bool) {
    let verb = if dry_run { "would" } else { "will" };
    println!(
        "{} snapshot(s) reference {} chunk(s); {} pack(s), {}",
        p.snapshots,
        p.referenced_blobs,
        p.packs,
        bytes(p.pack_bytes)
    );
    if p.is_empty() {
        println!("nothing to prune");
        return;
    }
    println!(
        "  {verb} remove {} unused pack(s): {}",
        p.unused_packs.len(),
        bytes(p.unused_pack_bytes)
    );
    println!(
        "  {verb} rewrite {} partly used pack(s): {}, keeping {} of them",
        p.repack_packs.len(),
        bytes(p.repack_pack_bytes),
        bytes(p.repack_used_bytes)
    );
    println!(
        "  {verb} remove {} pack(s) left by interrupted ships: {}",
        p.orphan_packs.len(),
        bytes(p.orphan_pack_bytes)
    );
    println!(
        "  {verb} replace {} index segment(s)",
        if p.changes_packs() {
            p.index_segments.len()
        } else {
            0
        }
    );
    println!(
        "  {verb} remove {} temporary file(s) left by interrupted writes: {}{}",
        p.temporary_files.len(),
        bytes(p.temporary_bytes),
        if p.temporary_files_kept > 0 {
            format!(
                " ({} younger than {} min outside data/, index/, snapshots/ kept)",
                p.temporary_files_kept,
                backup_core::TEMP_FILE_SAFETY_AGE.as_secs() / 60
            )
        } else {
            String::new()
        }
    );
    println!(
        "  unused data left in partly used packs (under the rewrite threshold): {}",
        bytes(p.unused_bytes_kept)
    );
    println!(
        "  repository after: about {} ({} freed)",
        bytes(p.bytes_after),
        bytes(p.bytes_freed())
    );
}
