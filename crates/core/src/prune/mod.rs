//! `prune`: remove what no snapshot needs any more.
//!
//! Runs under the exclusive repository lock. The plan is computed from the
//! manifests and index segments as they are; the work then goes in an order
//! that keeps the repository whole if it stops at any point:
//!
//! 1. repack: the still-used blobs of partly used packs are copied (each
//!    one authenticated first) into new packs;
//! 2. one new set of index segments is written, naming every pack that
//!    stays and every new pack;
//! 3. the old index segments are removed;
//! 4. the packs nobody needs are removed: fully unused ones, repacked ones,
//!    and packs no index names (left by interrupted ships);
//! 5. temporary files left by killed writers are removed ([`temporary`]).
//!
//! Before 2, the new packs are unindexed extras; between 2 and 3 both
//! indexes list every needed blob; after 3, the packs still to go are in no
//! index, which `check` reports as a warning. A referenced blob is always
//! reachable. Prune refuses to start if anything it reads is damaged (an
//! unreadable manifest or index segment, a referenced blob no index lists):
//! it would otherwise take still-needed data for garbage.

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use crate::backend::FileType;
use crate::error::{Error, Result};
use crate::format::index::PackBlobs;
use crate::format::pack::{self, Entry};
use crate::id::Id;
use crate::pause::pause_point;
use crate::progress::Progress;
use crate::repo_lock::RepoLock;
use crate::repository::Repository;

pub(crate) mod temporary;

pub use temporary::TEMP_FILE_SAFETY_AGE;

/// Prune's choices.
#[derive(Clone, Copy, Debug)]
pub struct PruneOptions {
    /// Rewrite a partly used pack when at least this share of its bytes is
    /// unused (0 rewrites every partly used pack; 100 none).
    pub repack_unused_percent: f64,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            repack_unused_percent: 20.0,
        }
    }
}

/// What prune will do (or did), with sizes.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PrunePlan {
    /// Snapshots whose chunks are kept.
    pub snapshots: usize,
    /// Distinct chunks they reference.
    pub referenced_blobs: usize,
    /// Packs in the repository, and their bytes.
    pub packs: usize,
    /// The bytes of those packs.
    pub pack_bytes: u64,
    /// Packs with no used blob: removed.
    pub unused_packs: Vec<Id>,
    /// The bytes of the unused packs.
    pub unused_pack_bytes: u64,
    /// Packs rewritten: their used blobs move to new packs.
    pub repack_packs: Vec<Id>,
    /// The bytes of the packs rewritten.
    pub repack_pack_bytes: u64,
    /// Bytes the repack copies.
    pub repack_used_bytes: u64,
    /// Packs that no index segment names: removed.
    pub orphan_packs: Vec<String>,
    /// The bytes of the orphan packs.
    pub orphan_pack_bytes: u64,
    /// Unused bytes left in partly used packs under the repack threshold.
    pub unused_bytes_kept: u64,
    /// Index segments replaced.
    pub index_segments: Vec<String>,
    /// Bytes the repository will hold afterwards (about).
    pub bytes_after: u64,
    /// Temporary files left by killed writers: removed. Paths relative to
    /// the repository root, e.g. `data/ab/.tmp-1234-89abcdef`.
    pub temporary_files: Vec<String>,
    /// The bytes of those temporary files.
    pub temporary_bytes: u64,
    /// Temporary files kept: in `keys/`, `locks/` or the root, and younger
    /// than [`TEMP_FILE_SAFETY_AGE`] (their writer may be alive).
    pub temporary_files_kept: usize,
}

impl PrunePlan {
    /// True if prune has nothing to do.
    pub fn is_empty(&self) -> bool {
        !self.changes_packs() && self.temporary_files.is_empty()
    }

    /// True if prune removes or rewrites packs (and so writes a new index);
    /// false if it removes only temporary files.
    pub fn changes_packs(&self) -> bool {
        !(self.unused_packs.is_empty()
            && self.repack_packs.is_empty()
            && self.orphan_packs.is_empty())
    }

    /// Bytes the prune frees.
    pub fn bytes_freed(&self) -> u64 {
        self.pack_bytes - self.bytes_after
    }
}

/// One pack as the plan sees it.
struct PackUse {
    seg: PackBlobs,
    size: u64,
    /// Entries of blobs some snapshot needs, this pack holding the copy used.
    used: Vec<Entry>,
}

/// The plan and what executing it needs.
pub struct Pruner {
    plan: PrunePlan,
    keep: Vec<PackUse>,
    repack: Vec<PackUse>,
    /// The temporary files to remove, as the backend names them.
    temporary: Vec<(FileType, String)>,
}

impl Pruner {
    /// The plan.
    pub fn plan(&self) -> &PrunePlan {
        &self.plan
    }
}

/// Computes what prune would do. Reads every manifest and index segment;
/// fails, naming the object, if one is unreadable or a referenced chunk is
/// in no index.
pub fn plan_prune(repo: &Repository, opts: PruneOptions) -> Result<Pruner> {
    let refuse = |why: String| {
        Error::Invalid {
        what: "prune".into(),
        reason: format!(
            "{why}; run `backup check`, then `backup repair` (index, packs, snapshots) as it says: prune would take needed data for garbage"
        ),
    }
    };
    let mut referenced: HashSet<Id> = HashSet::new();
    let mut snapshots = 0;
    for id in repo.manifest_ids()? {
        let m = repo.read_manifest(&id).map_err(|e| refuse(e.to_string()))?;
        referenced.extend(m.referenced_chunks().copied());
        snapshots += 1;
    }
    let mut segments = Vec::new();
    let mut packs: Vec<PackBlobs> = Vec::new();
    let mut seen: HashSet<Id> = HashSet::new();
    for name in repo.packs().segment_names()? {
        let s = repo
            .packs()
            .read_index_segment(&name)
            .map_err(|e| refuse(e.to_string()))?;
        for p in s {
            if seen.insert(p.pack) {
                packs.push(p);
            }
        }
        segments.push(name);
    }
    let sizes: HashMap<String, u64> = repo.packs().list_packs()?.into_iter().collect();

    let mut plan = PrunePlan {
        snapshots,
        referenced_blobs: referenced.len(),
        index_segments: segments,
        ..PrunePlan::default()
    };
    // Which copy of each referenced blob is used: the first one met.
    let mut placed: HashSet<Id> = HashSet::new();
    let (mut keep, mut repack) = (Vec::new(), Vec::new());
    for seg in packs {
        let name = seg.pack.to_hex();
        let Some(&size) = sizes.get(&name) else {
            // Named by the index but gone: its blobs are not placed here;
            // if one is needed, the check below refuses.
            continue;
        };
        let used: Vec<Entry> = seg
            .entries
            .iter()
            .filter(|e| referenced.contains(&e.id) && placed.insert(e.id))
            .copied()
            .collect();
        let used_bytes: u64 = used.iter().map(|e| u64::from(e.length)).sum();
        let blob_bytes: u64 = seg.entries.iter().map(|e| u64::from(e.length)).sum();
        let unused_bytes = blob_bytes - used_bytes;
        let p = PackUse { seg, size, used };
        if p.used.is_empty() {
            plan.unused_packs.push(p.seg.pack);
            plan.unused_pack_bytes += size;
        } else if unused_bytes > 0
            && unused_bytes as f64 >= blob_bytes as f64 * opts.repack_unused_percent / 100.0
        {
            plan.repack_packs.push(p.seg.pack);
            plan.repack_pack_bytes += size;
            plan.repack_used_bytes += used_bytes;
            repack.push(p);
        } else {
            plan.unused_bytes_kept += unused_bytes;
            keep.push(p);
        }
    }
    if let Some(missing) = referenced.iter().find(|c| !placed.contains(c)) {
        return Err(refuse(format!(
            "chunk {missing} is needed by a snapshot but no stored pack holds it"
        )));
    }
    let indexed: HashSet<String> = keep
        .iter()
        .chain(&repack)
        .map(|p| p.seg.pack.to_hex())
        .chain(plan.unused_packs.iter().map(Id::to_hex))
        .collect();
    for (name, size) in &sizes {
        if !indexed.contains(name) {
            plan.orphan_packs.push(name.clone());
            plan.orphan_pack_bytes += size;
        }
    }
    plan.orphan_packs.sort();
    plan.packs = sizes.len();
    plan.pack_bytes = sizes.values().sum();
    let overhead = (pack::HEADER_LEN + pack::FOOTER_LEN + 64) as u64;
    let new_packs = plan
        .repack_used_bytes
        .div_ceil(u64::from(repo.config().pack_size).max(1));
    plan.bytes_after =
        keep.iter().map(|p| p.size).sum::<u64>() + plan.repack_used_bytes + new_packs * overhead;
    let now = SystemTime::now();
    let mut doomed_temporary = Vec::new();
    for (ty, t) in temporary::list_all(repo.backend().as_ref())? {
        if temporary::removable(ty, &t, now) {
            plan.temporary_files.push(temporary::path(ty, &t));
            plan.temporary_bytes += t.size;
            doomed_temporary.push((ty, t.name));
        } else {
            plan.temporary_files_kept += 1;
        }
    }
    plan.temporary_files.sort();
    Ok(Pruner {
        plan,
        keep,
        repack,
        temporary: doomed_temporary,
    })
}

/// Carries out a plan. The caller holds `lock`, an exclusive lock taken
/// before [`plan_prune`]; it is checked before every step that removes anything.
pub fn prune(
    repo: &mut Repository,
    pruner: Pruner,
    lock: &RepoLock,
    progress: &dyn Progress,
) -> Result<PrunePlan> {
    let Pruner {
        plan,
        keep,
        repack,
        temporary,
    } = pruner;
    if plan.changes_packs() {
        prune_packs(repo, &plan, keep, &repack, lock, progress)?;
    }

    // 5. Temporary files of dead writers.
    if !temporary.is_empty() {
        lock.check()?;
        for (ty, name) in &temporary {
            repo.backend().remove_temporary(*ty, name)?;
        }
    }
    Ok(plan)
}

/// Steps 1 to 4.
fn prune_packs(
    repo: &mut Repository,
    plan: &PrunePlan,
    keep: Vec<PackUse>,
    repack: &[PackUse],
    lock: &RepoLock,
    progress: &dyn Progress,
) -> Result<()> {
    let store = repo.packs();

    // 1. Repack.
    progress.begin("repacking", Some(plan.repack_used_bytes));
    let new_packs = store.repack(
        repack.iter().map(|p| (p.seg.pack, p.used.as_slice())),
        repo.config().pack_size as usize,
        progress,
    )?;
    progress.end();
    pause_point("prune:repacked");

    // 2. The new index: every pack that stays, and the new ones.
    let all: Vec<PackBlobs> = keep.into_iter().map(|p| p.seg).chain(new_packs).collect();
    let written = store.write_index(&all)?;
    pause_point("prune:indexed");

    // 3. The old index.
    lock.check()?;
    for name in &plan.index_segments {
        if !written.contains(name) {
            store.remove_index_segment(name)?;
        }
    }
    pause_point("prune:old-index-removed");

    // 4. The packs.
    let doomed: Vec<String> = plan
        .unused_packs
        .iter()
        .chain(&plan.repack_packs)
        .map(Id::to_hex)
        .chain(plan.orphan_packs.iter().cloned())
        .collect();
    progress.begin_items("removing packs", Some(doomed.len() as u64), "packs");
    for (i, name) in doomed.iter().enumerate() {
        if i == doomed.len() / 2 {
            pause_point("prune:half-removed");
            lock.check()?;
        }
        store.remove_pack(name)?;
        progress.advance(1);
    }
    progress.end();
    repo.reload_index()
}

#[cfg(test)]
mod tests;
