//! `repair packs`: salvage what damaged packs still hold.
//!
//! Every indexed pack (or the ones named) is read back whole and each blob
//! the index places in it is opened, as `check --read-data` does. A pack
//! is damaged when its bytes do not hash to its name, its layout does not
//! parse, or a blob does not open. The blobs of a damaged pack that open
//! are copied into new packs; those that do not are dropped from the
//! index (unless another pack holds the same chunk), so the snapshots that
//! need them are named, and the next ship that meets the same data uploads
//! it again. Order: new packs, the new index, the old index removed, the
//! damaged packs removed.

use std::collections::{BTreeSet, HashSet};

use crate::error::{Error, Result};
use crate::format::index::PackBlobs;
use crate::format::pack::Entry;
use crate::id::Id;
use crate::pack_store::BlobVerdict;
use crate::progress::Progress;
use crate::repo_lock::RepoLock;
use crate::repository::Repository;

/// One damaged pack.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DamagedPack {
    /// Its name.
    pub pack: String,
    /// What is wrong with it.
    pub damage: Vec<String>,
    /// Blobs that open: copied into new packs.
    pub salvaged: usize,
    /// Blobs that do not: dropped.
    pub lost: usize,
}

/// What `repair packs` found, and does (or would do).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PackRepair {
    /// Packs read back.
    pub packs_read: usize,
    /// Their bytes.
    pub bytes_read: u64,
    /// The damaged ones.
    pub damaged: Vec<DamagedPack>,
    /// Bytes of blobs copied into new packs.
    pub salvaged_bytes: u64,
    /// Chunks no sound copy of which is left: dropped from the index.
    pub lost_chunks: usize,
    /// Snapshots that need a lost chunk (name and short id): they cannot
    /// be restored; `repair snapshots` removes them.
    pub affected_snapshots: Vec<String>,
}

impl PackRepair {
    /// True if anything must change.
    pub fn needed(&self) -> bool {
        !self.damaged.is_empty()
    }
}

/// The report and what carrying it out needs.
pub struct PackRepairPlan {
    report: PackRepair,
    /// Sound packs, as indexed.
    keep: Vec<PackBlobs>,
    /// Damaged packs and their blobs that open.
    salvage: Vec<(Id, Vec<Entry>)>,
    segments: Vec<String>,
}

impl PackRepairPlan {
    /// What was found and will be done.
    pub fn report(&self) -> &PackRepair {
        &self.report
    }
}

/// Reads back every indexed pack (only those named in `only`, if any) and
/// works out what to salvage. Refuses while an index segment cannot be
/// read (`repair index` first: the blobs it lists would be missed).
pub fn plan_pack_repair(
    repo: &Repository,
    only: &[String],
    progress: &dyn Progress,
) -> Result<PackRepairPlan> {
    let store = repo.packs();
    let mut segments = Vec::new();
    let mut indexed: Vec<PackBlobs> = Vec::new();
    let mut seen = HashSet::new();
    for name in store.segment_names()? {
        let packs = store.read_index_segment(&name).map_err(|e| {
            if e.is_integrity() {
                Error::Invalid {
                    what: "repair packs".into(),
                    reason: format!("{e}; run `backup repair index` first"),
                }
            } else {
                e
            }
        })?;
        for p in packs {
            if seen.insert(p.pack) {
                indexed.push(p);
            }
        }
        segments.push(name);
    }
    for name in only {
        if !indexed.iter().any(|p| p.pack.to_hex() == *name) {
            return Err(Error::Invalid {
                what: format!("pack {name}"),
                reason: "no index segment names it".into(),
            });
        }
    }
    let mut r = PackRepair::default();
    let (mut keep, mut salvage) = (Vec::new(), Vec::new());
    let mut lost: HashSet<Id> = HashSet::new();
    // Packs the index names that are gone: kept in the index (`repair
    // index` drops them) but no sound copy of anything.
    let mut gone: HashSet<Id> = HashSet::new();
    progress.begin("reading packs", None);
    for p in indexed {
        let name = p.pack.to_hex();
        if !only.is_empty() && !only.contains(&name) {
            keep.push(p);
            continue;
        }
        let back = match store.read_back(&name, &p.entries) {
            Ok(b) => b,
            Err(Error::Missing { .. }) => {
                // Gone altogether: `repair index` drops it.
                gone.insert(p.pack);
                keep.push(p);
                continue;
            }
            Err(e) => return Err(e),
        };
        r.packs_read += 1;
        r.bytes_read += back.len;
        progress.advance(back.len);
        let mut damage = Vec::new();
        if let Err(e) = back.name {
            damage.push(e.to_string());
        }
        if let Err(why) = back.layout {
            damage.push(why);
        }
        let mut good = Vec::new();
        let mut bad = 0;
        for BlobVerdict { entry, damage: d } in back.blobs {
            match d {
                None => good.push(entry),
                Some(why) => {
                    bad += 1;
                    lost.insert(entry.id);
                    damage.push(format!("blob at offset {}: {why}", entry.offset));
                }
            }
        }
        if damage.is_empty() {
            keep.push(p);
            continue;
        }
        r.salvaged_bytes += good.iter().map(|e| u64::from(e.length)).sum::<u64>();
        r.damaged.push(DamagedPack {
            pack: name,
            damage,
            salvaged: good.len(),
            lost: bad,
        });
        salvage.push((p.pack, good));
    }
    progress.end();
    // A chunk with a sound copy elsewhere is not lost.
    for p in keep.iter().filter(|p| !gone.contains(&p.pack)) {
        for e in &p.entries {
            lost.remove(&e.id);
        }
    }
    for (_, good) in &salvage {
        for e in good {
            lost.remove(&e.id);
        }
    }
    r.lost_chunks = lost.len();
    if !lost.is_empty() {
        let mut names = BTreeSet::new();
        for id in repo.manifest_ids()? {
            if let Ok(m) = repo.read_manifest(&id) {
                if m.all_chunks().any(|c| lost.contains(c)) {
                    names.insert(format!("{} ({})", m.full_name(), id.short()));
                }
            }
        }
        r.affected_snapshots = names.into_iter().collect();
    }
    Ok(PackRepairPlan {
        report: r,
        keep,
        salvage,
        segments,
    })
}

/// Carries out a plan. The caller holds `lock`, exclusive, taken before
/// [`plan_pack_repair`].
pub fn repair_packs(
    repo: &mut Repository,
    plan: PackRepairPlan,
    lock: &RepoLock,
    progress: &dyn Progress,
) -> Result<PackRepair> {
    let PackRepairPlan {
        report,
        keep,
        salvage,
        segments,
    } = plan;
    if !report.needed() {
        return Ok(report);
    }
    let store = repo.packs();
    progress.begin("copying salvaged blobs", Some(report.salvaged_bytes));
    let new_packs = store.repack(
        salvage.iter().map(|(id, good)| (*id, good.as_slice())),
        repo.config().pack_size as usize,
        progress,
    )?;
    progress.end();
    let all: Vec<PackBlobs> = keep.into_iter().chain(new_packs).collect();
    let written = store.write_index(&all)?;
    lock.check()?;
    for name in &segments {
        if !written.contains(name) {
            store.remove_index_segment(name)?;
        }
    }
    for (id, _) in &salvage {
        store.remove_pack(&id.to_hex())?;
    }
    repo.reload_index()?;
    Ok(report)
}
