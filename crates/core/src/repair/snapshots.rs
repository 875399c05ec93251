//! `repair snapshots`: remove the manifests of snapshots that cannot be
//! restored, with the reason for each.
//!
//! A manifest goes if it cannot be read or authenticated, if its stream
//! needs a chunk no index lists (the data is gone; `repair packs` drops
//! what it cannot salvage), or if its chain is broken: a base that is gone
//! or goes too. A snapshot whose stream is whole but whose file manifest
//! has lost a chunk stays (it restores; only drills' file comparison and
//! browsing lose it): it is reported. Removing a manifest removes no data:
//! prune frees what only it used. A snapshot still on the source is then
//! shipped again by the next run (as a full, or onto a sound base).

use crate::chain;
use crate::error::{Error, Result};
use crate::format::manifest::Manifest;
use crate::id::Id;
use crate::repo_lock::RepoLock;
use crate::repository::Repository;

/// One manifest to remove.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Removal {
    /// Its id.
    pub id: String,
    /// The snapshot's name, when the manifest reads.
    pub snapshot: Option<String>,
    /// Why it goes.
    pub reason: String,
}

/// What `repair snapshots` found, and does (or would do).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SnapshotRepair {
    /// Manifests in the repository.
    pub snapshots: usize,
    /// The ones removed, with why.
    pub remove: Vec<Removal>,
    /// Snapshots kept whose file manifest has lost chunks (name, short id).
    pub file_manifests_damaged: Vec<String>,
}

impl SnapshotRepair {
    /// True if anything must change.
    pub fn needed(&self) -> bool {
        !self.remove.is_empty()
    }
}

/// Reads every manifest and judges it against the index, which the caller
/// loaded (or reloaded) after taking the exclusive lock: an index older than
/// the lock would not know the chunks of a ship that finished meanwhile.
/// Refuses while an index segment cannot be read: a chunk it lists would
/// look lost. A storage failure is returned, never taken for damage.
pub fn plan_snapshot_repair(repo: &Repository) -> Result<SnapshotRepair> {
    if let Some(p) = repo.index_problems().first() {
        return Err(Error::Invalid {
            what: "repair snapshots".into(),
            reason: format!(
                "{p}; run `backup repair index` first, or snapshots whose data is intact would look lost"
            ),
        });
    }
    let mut r = SnapshotRepair::default();
    let mut whole: Vec<(Id, Manifest)> = Vec::new();
    for id in repo.manifest_ids()? {
        r.snapshots += 1;
        let m = match repo.read_manifest(&id) {
            Ok(m) => m,
            // Only damage is judged: an unreachable storage (a backend
            // error, or retries given up) proves nothing about a manifest.
            Err(e) if !e.is_integrity() => return Err(e),
            Err(e) => {
                r.remove.push(Removal {
                    id: id.to_hex(),
                    snapshot: None,
                    reason: format!("it cannot be read: {e}"),
                });
                continue;
            }
        };
        let missing = m.all_chunks().filter(|c| !repo.index().contains(c)).count();
        if missing > 0 {
            r.remove.push(Removal {
                id: id.to_hex(),
                snapshot: Some(m.full_name()),
                reason: format!(
                    "its stream needs {missing} chunk(s) that no pack holds any more: it cannot be restored"
                ),
            });
            continue;
        }
        if m.file_list_chunks().any(|c| !repo.index().contains(c)) {
            r.file_manifests_damaged
                .push(format!("{} ({})", m.full_name(), id.short()));
        }
        whole.push((id, m));
    }
    for (id, m) in &whole {
        if let Err(e) = chain::resolve(&whole, id) {
            r.remove.push(Removal {
                id: id.to_hex(),
                snapshot: Some(m.full_name()),
                reason: format!("its chain is broken ({e}): it cannot be restored"),
            });
        }
    }
    r.remove
        .sort_by(|a, b| (&a.snapshot, &a.id).cmp(&(&b.snapshot, &b.id)));
    r.file_manifests_damaged.sort();
    Ok(r)
}

/// Removes the manifests of a plan. The caller holds `lock`, exclusive,
/// taken before [`plan_snapshot_repair`].
pub fn repair_snapshots(
    repo: &Repository,
    plan: SnapshotRepair,
    lock: &RepoLock,
) -> Result<SnapshotRepair> {
    lock.check()?;
    for r in &plan.remove {
        let id: Id =
            r.id.parse()
                .map_err(|_| Error::corrupt(format!("snapshots/{}", r.id), "name is not an id"))?;
        repo.remove_manifest(&id)?;
    }
    Ok(plan)
}
