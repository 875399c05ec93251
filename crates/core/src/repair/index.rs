//! `repair index`: rebuild the index from the packs' own trailers.
//!
//! Every stored pack's trailer is read (two small range reads) and
//! authenticated; the new index names exactly the packs in storage, with
//! the blobs their trailers list. A pack whose trailer does not read keeps
//! the entries an old index segment gives it (its blobs are still
//! restorable; `repair packs` rewrites it with a sound trailer); one that
//! no segment names either cannot be used and is left alone. The new
//! segments are written before the old ones are removed.

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::format::index::PackBlobs;
use crate::format::pack::Entry;
use crate::id::Id;
use crate::progress::Progress;
use crate::repo_lock::RepoLock;
use crate::repository::Repository;
use crate::workers::map_parallel;

/// What `repair index` found, and does (or would do).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct IndexRepair {
    /// Packs in storage.
    pub packs: usize,
    /// Blobs the rebuilt index lists.
    pub blobs: usize,
    /// Index segments now (all replaced when the index is rewritten).
    pub segments: Vec<String>,
    /// Index segments that cannot be read, each with why.
    pub unreadable_segments: Vec<String>,
    /// Packs no readable segment names, indexed from their trailers.
    pub added_packs: Vec<String>,
    /// Packs a segment names that are not in storage: dropped.
    pub dropped_packs: Vec<String>,
    /// Packs whose trailer lists other blobs than the old index: the
    /// trailer is taken.
    pub corrected_packs: Vec<String>,
    /// Packs whose trailer does not read, indexed as an old segment says
    /// (run `repair packs`), each with why.
    pub kept_from_old_index: Vec<String>,
    /// Packs whose trailer does not read and that no segment names: left
    /// out (nothing in them can be located), each with why.
    pub unusable_packs: Vec<String>,
    /// Chunks some snapshot references that the rebuilt index still lacks.
    pub missing_chunks: usize,
}

impl IndexRepair {
    /// True if the index must be rewritten.
    pub fn needed(&self) -> bool {
        !(self.unreadable_segments.is_empty()
            && self.added_packs.is_empty()
            && self.dropped_packs.is_empty()
            && self.corrected_packs.is_empty())
    }
}

/// The report and the index to write.
pub struct IndexRepairPlan {
    report: IndexRepair,
    packs: Vec<PackBlobs>,
}

impl IndexRepairPlan {
    /// What was found and will be done.
    pub fn report(&self) -> &IndexRepair {
        &self.report
    }
}

/// Reads every index segment and every pack's trailer (as many at a time
/// as the backend's transfers) and works out the index the packs imply.
pub fn plan_index_repair(repo: &Repository, progress: &dyn Progress) -> Result<IndexRepairPlan> {
    let store = repo.packs();
    let mut r = IndexRepair::default();
    let mut old: HashMap<Id, Vec<Entry>> = HashMap::new();
    // The order the old index met its packs in: where a chunk is in two
    // packs, the index uses the first, so the rebuilt one keeps that order.
    let mut old_order: HashMap<Id, usize> = HashMap::new();
    for name in store.segment_names()? {
        match store.read_index_segment(&name) {
            Ok(packs) => {
                for p in packs {
                    let next = old_order.len();
                    old_order.entry(p.pack).or_insert(next);
                    old.entry(p.pack).or_insert(p.entries);
                }
            }
            Err(e) if !e.is_integrity() => return Err(e),
            Err(e) => r.unreadable_segments.push(e.to_string()),
        }
        r.segments.push(name);
    }
    let stored: Vec<(String, u64)> = store.list_packs()?;
    r.packs = stored.len();
    progress.begin_items("reading pack trailers", Some(stored.len() as u64), "packs");
    let trailers = map_parallel(&stored, repo.backend().transfers(), |(name, size)| {
        let t = store.read_trailer(name, *size);
        progress.advance(1);
        t
    });
    progress.end();
    let mut packs = Vec::new();
    let mut present = HashSet::new();
    for ((name, _), trailer) in stored.iter().zip(trailers) {
        let Ok(id) = name.parse::<Id>() else {
            r.unusable_packs
                .push(format!("pack {name}: its name is not an id"));
            continue;
        };
        present.insert(id);
        let before = old.get(&id);
        let entries = match (trailer, before) {
            (Ok(mut own), Some(listed)) => {
                let mut listed = listed.clone();
                own.sort_by_key(|e| e.offset);
                listed.sort_by_key(|e| e.offset);
                if own != listed {
                    r.corrected_packs.push(name.clone());
                }
                own
            }
            (Ok(own), None) => {
                r.added_packs.push(name.clone());
                own
            }
            (Err(why), Some(listed)) => {
                r.kept_from_old_index
                    .push(format!("pack {name}: its trailer does not read: {why}"));
                listed.clone()
            }
            (Err(why), None) => {
                r.unusable_packs.push(format!(
                    "pack {name}: its trailer does not read ({why}) and no index segment lists its blobs"
                ));
                continue;
            }
        };
        r.blobs += entries.len();
        packs.push(PackBlobs { pack: id, entries });
    }
    r.dropped_packs = old
        .keys()
        .filter(|id| !present.contains(id))
        .map(Id::to_hex)
        .collect();
    r.dropped_packs.sort();
    r.added_packs.sort();
    r.corrected_packs.sort();
    packs.sort_by_key(|p| {
        (
            old_order.get(&p.pack).copied().unwrap_or(usize::MAX),
            p.pack,
        )
    });
    let indexed: HashSet<Id> = packs
        .iter()
        .flat_map(|p| p.entries.iter().map(|e| e.id))
        .collect();
    let mut referenced = HashSet::new();
    for id in repo.manifest_ids()? {
        // Unreadable manifests are `repair snapshots`' business.
        if let Ok(m) = repo.read_manifest(&id) {
            referenced.extend(m.all_chunks().copied());
        }
    }
    r.missing_chunks = referenced.difference(&indexed).count();
    Ok(IndexRepairPlan { report: r, packs })
}

/// Writes the rebuilt index, then removes the old segments. The caller
/// holds `lock`, exclusive, taken before [`plan_index_repair`]. Packs keep
/// the order the old index gave them (the first copy of a chunk stays the
/// one used), new ones after.
pub fn repair_index(
    repo: &mut Repository,
    plan: IndexRepairPlan,
    lock: &RepoLock,
) -> Result<IndexRepair> {
    let IndexRepairPlan { report, packs } = plan;
    if !report.needed() {
        return Ok(report);
    }
    let written = repo.packs().write_index(&packs)?;
    lock.check()?;
    for name in &report.segments {
        if !written.contains(name) {
            repo.packs().remove_index_segment(name)?;
        }
    }
    repo.reload_index()?;
    Ok(report)
}
