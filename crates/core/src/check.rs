//! `check`: is the repository whole? Structure always; with `read_data`, every
//! (or a sample of) pack read back, every blob opened and verified.

use std::collections::{HashMap, HashSet};

use crate::backend::FileType;
use crate::chain;
use crate::error::{Error, Result};
use crate::filelist::load;
use crate::format::pack;
use crate::format::{blob, index::PackBlobs};
use crate::id::Id;
use crate::keyslot::KeySlot;
use crate::progress::Progress;
use crate::repository::{check_name, Repository};

/// What to check.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions {
    /// Read back this percentage of packs (0 < p <= 100); `None` reads none.
    pub read_data_percent: Option<f64>,
}

/// The findings.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CheckReport {
    /// Problems: the repository is damaged.
    pub errors: Vec<String>,
    /// Not damage, but worth knowing (unreferenced packs, ...).
    pub warnings: Vec<String>,
    /// Snapshot manifests read.
    pub snapshots: usize,
    /// Packs in the index.
    pub packs: usize,
    /// Packs whose data was read back.
    pub packs_read: usize,
    /// Blobs opened and verified.
    pub blobs_read: usize,
    /// Bytes read back.
    pub bytes_read: u64,
    /// Snapshots that a damaged or missing object makes unrestorable.
    pub damaged_snapshots: Vec<String>,
    /// File manifests loaded whole and verified (with `--read-data` of
    /// every pack).
    pub file_manifests_read: usize,
}

impl CheckReport {
    /// True if no error was found.
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks the repository.
pub fn check(
    repo: &Repository,
    opts: CheckOptions,
    progress: &dyn Progress,
) -> Result<CheckReport> {
    let mut r = CheckReport::default();
    let backend = repo.backend();
    for (name, _) in backend.list(FileType::Key)? {
        if let Err(e) = backend
            .read(FileType::Key, &name)
            .and_then(|b| KeySlot::from_bytes(&name, &b))
        {
            r.errors.push(e.to_string());
        }
    }

    // Index segments, and the packs they name.
    let mut segments: Vec<PackBlobs> = Vec::new();
    for (name, _) in backend.list(FileType::Index)? {
        match repo.read_index_segment(&name) {
            Ok(s) => segments.extend(s),
            Err(e) => r.errors.push(e.to_string()),
        }
    }
    let stored: HashMap<String, u64> = backend.list(FileType::Pack)?.into_iter().collect();
    let mut bad_chunks: HashSet<Id> = HashSet::new();
    let mut indexed: HashSet<Id> = HashSet::new();
    for seg in &segments {
        if !indexed.insert(seg.pack) {
            continue;
        }
        let name = seg.pack.to_hex();
        let Some(&size) = stored.get(&name) else {
            r.errors
                .push(format!("pack {name} is missing (named by the index)"));
            bad_chunks.extend(seg.entries.iter().map(|e| e.id));
            continue;
        };
        if let Err(reason) = check_trailer(repo, &name, size, seg) {
            r.errors.push(format!("pack {name}: {reason}"));
            bad_chunks.extend(seg.entries.iter().map(|e| e.id));
        }
    }
    r.packs = indexed.len();
    for name in stored.keys() {
        if !name.parse::<Id>().is_ok_and(|id| indexed.contains(&id)) {
            r.warnings.push(format!(
                "pack {name} is in no index segment (left by an interrupted ship; prune removes it)"
            ));
        }
    }

    // Manifests and their chains.
    let mut manifests = Vec::new();
    for id in repo.manifest_ids()? {
        match repo.read_manifest(&id) {
            Ok(m) => manifests.push((id, m)),
            Err(e) => r.errors.push(e.to_string()),
        }
    }
    r.snapshots = manifests.len();
    let label = |id: &Id, m: &crate::Manifest| format!("{} ({})", m.full_name(), id.short());
    for (id, m) in &manifests {
        let missing = m.all_chunks().filter(|c| !repo.index().contains(c)).count();
        if missing > 0 {
            r.errors.push(format!(
                "snapshot {} names {missing} chunk(s) that no index lists",
                label(id, m)
            ));
        }
        // A file manifest's damage does not stop a restore, only a drill's
        // comparison: an error, but the snapshot is not "damaged".
        let missing = m
            .file_list_chunks()
            .filter(|c| !repo.index().contains(c))
            .count();
        if missing > 0 {
            r.errors.push(format!(
                "the file manifest of snapshot {} names {missing} chunk(s) that no index lists",
                label(id, m)
            ));
        }
        if let Err(e) = chain::resolve(&manifests, id) {
            r.errors.push(e.to_string());
            r.damaged_snapshots.push(label(id, m));
        }
    }

    if let Some(p) = opts.read_data_percent {
        read_data(repo, &indexed, p, &mut r, &mut bad_chunks, progress)?;
        for (id, m) in &manifests {
            let Some(files) = &m.files else { continue };
            if files.chunks.iter().any(|c| bad_chunks.contains(c)) {
                r.errors.push(format!(
                    "the file manifest of snapshot {} has damaged chunks",
                    label(id, m)
                ));
            } else if p >= 100.0 && files.chunks.iter().all(|c| repo.index().contains(c)) {
                // Every blob was read; also check the whole: length, digest, decoding.
                match load(repo, files, &label(id, m)) {
                    Ok(_) => r.file_manifests_read += 1,
                    Err(e) => r.errors.push(e.to_string()),
                }
            }
        }
    }

    // A snapshot is damaged if any stream of its chain has a bad or
    // unindexed chunk: incrementals on a damaged base are damaged too.
    let unusable = |c: &Id| bad_chunks.contains(c) || !repo.index().contains(c);
    for (id, m) in &manifests {
        if let Ok(c) = chain::resolve(&manifests, id) {
            if c.iter().any(|(_, b)| b.all_chunks().any(unusable)) {
                r.damaged_snapshots.push(label(id, m));
            }
        }
    }
    r.damaged_snapshots.sort();
    r.damaged_snapshots.dedup();
    Ok(r)
}

/// Compares a pack's own trailer with what the index says it holds.
fn check_trailer(repo: &Repository, name: &str, size: u64, seg: &PackBlobs) -> Result<(), String> {
    let entries = crate::adopt::read_trailer(repo, name, size)?;
    let mut listed: Vec<_> = seg.entries.clone();
    let mut own = entries;
    listed.sort_by_key(|e| e.offset);
    own.sort_by_key(|e| e.offset);
    if listed != own {
        return Err("its trailer and the index disagree about its blobs".into());
    }
    Ok(())
}

fn read_data(
    repo: &Repository,
    packs: &HashSet<Id>,
    percent: f64,
    r: &mut CheckReport,
    bad_chunks: &mut HashSet<Id>,
    progress: &dyn Progress,
) -> Result<()> {
    if !(percent > 0.0 && percent <= 100.0) {
        return Err(Error::Invalid {
            what: "--read-data percentage".into(),
            reason: format!("{percent} is not in (0, 100]"),
        });
    }
    let mut chosen: Vec<Id> = packs.iter().copied().collect();
    chosen.sort();
    if percent < 100.0 {
        use rand::seq::SliceRandom;
        chosen.shuffle(&mut rand::thread_rng());
        let n = ((chosen.len() as f64) * percent / 100.0).ceil() as usize;
        chosen.truncate(n.max(1).min(chosen.len()));
    }
    progress.begin("read data", None);
    for pack_id in chosen {
        let name = pack_id.to_hex();
        let bytes = match repo.backend().read(FileType::Pack, &name) {
            Ok(b) => b,
            Err(e) => {
                r.errors.push(e.to_string());
                continue;
            }
        };
        r.packs_read += 1;
        r.bytes_read += bytes.len() as u64;
        progress.advance(bytes.len() as u64);
        if let Err(e) = check_name("pack", &name, &bytes) {
            r.errors.push(e.to_string());
        }
        let entries = match pack::parse(repo.keys(), &bytes) {
            Ok(e) => e,
            Err(reason) => {
                r.errors.push(format!("pack {name}: {reason}"));
                continue;
            }
        };
        for e in entries {
            let b = &bytes[e.offset as usize..(e.offset + e.length) as usize];
            r.blobs_read += 1;
            if let Err(reason) = blob::decode(repo.keys(), b, Some(&e.id)) {
                r.errors.push(format!(
                    "pack {name}: blob at offset {}: {reason}",
                    e.offset
                ));
                bad_chunks.insert(e.id);
            }
        }
    }
    progress.end();
    Ok(())
}
