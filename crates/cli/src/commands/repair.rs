//! `backup repair index|packs|snapshots [--dry-run] [--json]`.

use anyhow::Result;
use backup_core::repair::{
    plan_index_repair, plan_pack_repair, plan_snapshot_repair, repair_index, repair_packs,
    repair_snapshots, IndexRepair, PackRepair, SnapshotRepair,
};
use backup_core::{LockKind, Repository};

use crate::cli::{GlobalArgs, RepairArgs, RepairCommand};
use crate::context;
use crate::exit::ExitStatus;
use crate::format::bytes;
use crate::progress::CliProgress;

pub fn run(g: &GlobalArgs, c: &RepairCommand) -> Result<ExitStatus> {
    let mut repo = context::open_repo(g)?;
    let (what, a) = match c {
        RepairCommand::Index(a) => ("repair index", a),
        RepairCommand::Packs(p) => ("repair packs", &p.common),
        RepairCommand::Snapshots(a) => ("repair snapshots", a),
    };
    // A dry run only reads: a read lock, so ships go on meanwhile.
    let (_reading, exclusive) = if a.dry_run {
        (Some(context::read_lock(g, &repo, what)?), None)
    } else {
        (
            None,
            Some(context::lock(g, &repo, LockKind::Exclusive, what)?),
        )
    };
    // The index as it is now that the lock is held: a ship that finished
    // while the lock was awaited must not look like lost data.
    repo.reload_index()?;
    let lock = || {
        exclusive
            .as_ref()
            .expect("an exclusive lock unless a dry run")
    };
    let progress = CliProgress::new(g.quiet || a.json);
    let changed = match c {
        RepairCommand::Index(a) => {
            let plan = plan_index_repair(&repo, &progress)?;
            let needed = plan.report().needed();
            let r = if a.dry_run || !needed {
                plan.report().clone()
            } else {
                repair_index(&mut repo, plan, lock())?
            };
            emit(a, &r, |r| print_index(r, verb(a.dry_run, needed)))?;
            needed
        }
        RepairCommand::Packs(p) => {
            let plan = plan_pack_repair(&repo, &p.packs, &progress)?;
            let needed = plan.report().needed();
            let r = if p.common.dry_run || !needed {
                plan.report().clone()
            } else {
                repair_packs(&mut repo, plan, lock(), &progress)?
            };
            emit(&p.common, &r, |r| {
                print_packs(r, verb(p.common.dry_run, needed));
            })?;
            needed
        }
        RepairCommand::Snapshots(a) => {
            let plan = plan_snapshot_repair(&repo)?;
            let needed = plan.needed();
            let r = if a.dry_run || !needed {
                plan
            } else {
                repair_snapshots(&repo, plan, lock())?
            };
            emit(a, &r, |r| print_snapshots(r, verb(a.dry_run, needed)))?;
            needed
        }
    };
    if changed && !a.dry_run {
        sync_catalog(g, &repo);
    }
    Ok(ExitStatus::Success)
}

/// How the report speaks: what would be done, was done, or nothing.
#[derive(Clone, Copy)]
enum Verb {
    Would,
    Did,
    Sound,
}

fn verb(dry_run: bool, needed: bool) -> Verb {
    match (needed, dry_run) {
        (false, _) => Verb::Sound,
        (true, true) => Verb::Would,
        (true, false) => Verb::Did,
    }
}

impl Verb {
    fn say(self, would: &str, did: &str) -> String {
        match self {
            Verb::Would => format!("would {would}"),
            Verb::Did | Verb::Sound => did.to_owned(),
        }
    }
}

fn emit<T: serde::Serialize>(a: &RepairArgs, r: &T, text: impl FnOnce(&T)) -> Result<()> {
    if a.json {
        println!("{}", serde_json::to_string_pretty(r)?);
    } else {
        text(r);
    }
    Ok(())
}

fn sync_catalog(g: &GlobalArgs, repo: &Repository) {
    let synced = context::catalog(g, repo).and_then(|mut c| Ok(c.sync(repo)?));
    if let Err(e) = synced {
        crate::journal::warning!("backup: warning: the catalog was not updated ({e:#}); `backup catalog rebuild` does it");
    }
}

fn list(title: &str, items: &[String]) {
    if items.is_empty() {
        return;
    }
    println!("  {title}: {}", items.len());
    for i in items {
        println!("    {i}");
    }
}

fn print_index(r: &IndexRepair, v: Verb) {
    println!(
        "{} pack(s) in storage, {} blob(s) in their trailers and the index; {} index segment(s)",
        r.packs,
        r.blobs,
        r.segments.len()
    );
    list("index segments that cannot be read", &r.unreadable_segments);
    list("packs no index segment names", &r.added_packs);
    list("packs the index names that are gone", &r.dropped_packs);
    list(
        "packs whose trailer and index disagree (the trailer is taken)",
        &r.corrected_packs,
    );
    list(
        "packs whose trailer does not read, indexed as the old index says (run `backup repair packs`)",
        &r.kept_from_old_index,
    );
    list(
        "packs nothing can be located in (prune removes them)",
        &r.unusable_packs,
    );
    match v {
        Verb::Sound => println!("the index agrees with the packs: nothing to repair"),
        _ => println!(
            "{}",
            v.say(
                &format!(
                    "rewrite the index ({} segment(s) replaced)",
                    r.segments.len()
                ),
                "rewrote the index"
            )
        ),
    }
    if r.missing_chunks > 0 {
        println!(
            "{} chunk(s) that snapshots need are in no pack: run `backup repair snapshots` to remove the snapshots that cannot be restored",
            r.missing_chunks
        );
    }
}

fn print_packs(r: &PackRepair, v: Verb) {
    println!(
        "read {} pack(s), {}; {} damaged",
        r.packs_read,
        bytes(r.bytes_read),
        r.damaged.len()
    );
    for d in &r.damaged {
        println!(
            "  pack {}: {} blob(s) readable, {} lost",
            d.pack, d.salvaged, d.lost
        );
        for why in &d.damage {
            println!("    {why}");
        }
    }
    if let Verb::Sound = v {
        println!("every pack reads: nothing to repair");
        return;
    }
    println!(
        "{}",
        v.say(
            &format!(
                "copy {} of readable blobs into new packs and remove the damaged packs",
                bytes(r.salvaged_bytes)
            ),
            "copied the readable blobs into new packs and removed the damaged packs"
        )
    );
    if r.lost_chunks > 0 {
        println!(
            "{} chunk(s) are lost; the snapshots that need them cannot be restored (run `backup repair snapshots`; the next ship of the same data uploads them again):",
            r.lost_chunks
        );
        for s in &r.affected_snapshots {
            println!("    {s}");
        }
    }
}

fn print_snapshots(r: &SnapshotRepair, v: Verb) {
    println!("{} snapshot manifest(s)", r.snapshots);
    for x in &r.remove {
        let id = x.id.get(..8).unwrap_or(&x.id);
        let name = x.snapshot.as_deref().unwrap_or("(unreadable)");
        println!(
            "  {} {name} ({id}): {}",
            v.say("remove", "removed"),
            x.reason
        );
    }
    list(
        "kept, but their file manifest lost chunks (restores work; drills cannot compare files)",
        &r.file_manifests_damaged,
    );
    match v {
        Verb::Sound => println!("every snapshot can be restored: nothing to repair"),
        Verb::Would => println!("would remove {} manifest(s); their data stays until prune", r.remove.len()),
        Verb::Did => println!(
            "removed {} manifest(s); `backup prune` frees the data only they used, and the next run ships what is still on the source",
            r.remove.len()
        ),
    }
}
