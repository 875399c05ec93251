//! `check`: is the repository whole? Structure always; with `read_data`, every
//! pack (or a random sample, or the next step of a [`rotation`]) read back,
//! every blob opened and verified.

mod rotation;

use std::collections::{HashMap, HashSet};

use crate::backend::FileType;
use crate::chain;
use crate::error::{Error, Result};
use crate::file_manifest::load_file_list;
use crate::format::index::PackBlobs;
use crate::format::manifest::Manifest;
use crate::format::pack;
use crate::id::Id;
use crate::keyslot::KeySlot;
use crate::pack_store::BlobVerdict;
use crate::progress::Progress;
use crate::prune::temporary;
use crate::repository::Repository;

pub use rotation::{rotation_step, runs_per_pass, Portion, Rotation, RotationStep};

/// What to check.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckOptions {
    /// Which packs to read back; `None` reads none (structure only).
    pub read_data: Option<ReadData>,
}

/// Which packs `check` reads back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReadData {
    /// A random sample of this percentage of the packs (0 < p <= 100; 100
    /// reads every pack).
    Sample(f64),
    /// The next step of a rotation ([`rotation_step`]): deterministic, so
    /// successive runs read every pack.
    Rotation(Rotation),
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
    /// Temporary files left by interrupted writes (a warning, not damage).
    pub temporary_files: usize,
    /// Their bytes.
    pub temporary_bytes: u64,
    /// Bytes of every indexed pack (as listed), what a full read would read.
    pub pack_bytes: u64,
    /// With [`ReadData::Rotation`]: where this step ended.
    pub rotation: Option<RotationStep>,
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
    let store = repo.packs();
    let mut segments: Vec<PackBlobs> = Vec::new();
    for name in store.segment_names()? {
        match store.read_index_segment(&name) {
            Ok(s) => segments.extend(s),
            Err(e) => r.errors.push(e.to_string()),
        }
    }
    let stored: HashMap<String, u64> = store.list_packs()?.into_iter().collect();
    let mut bad_chunks: HashSet<Id> = HashSet::new();
    let mut indexed: HashMap<Id, &PackBlobs> = HashMap::new();
    // Packs whose trailer alone is damaged: reported once, here.
    let mut bad_trailers: HashSet<Id> = HashSet::new();
    for seg in &segments {
        if indexed.contains_key(&seg.pack) {
            continue;
        }
        indexed.insert(seg.pack, seg);
        let name = seg.pack.to_hex();
        let Some(&size) = stored.get(&name) else {
            r.errors
                .push(format!("pack {name} is missing (named by the index)"));
            bad_chunks.extend(seg.entries.iter().map(|e| e.id));
            continue;
        };
        let implied = pack::implied_len(&seg.entries);
        match check_trailer(repo, &name, size, seg) {
            Ok(()) => {}
            // The index, not the trailer, locates blobs for a restore: a
            // pack of the size the index implies whose trailer alone does
            // not read keeps its blobs restorable.
            Err(Trailer::Unreadable(reason)) if size == implied => {
                r.errors.push(format!(
                    "pack {name}: damaged trailer: {reason} (the index still locates its blobs, \
                     so restores are not affected; only rebuilding the index from packs needs it)"
                ));
                bad_trailers.insert(seg.pack);
            }
            Err(Trailer::Unreadable(reason)) if size < implied => {
                r.errors.push(format!(
                    "pack {name}: {reason}: it is {size} bytes, where the index implies \
                     {implied}: truncated"
                ));
                bad_chunks.extend(
                    seg.entries
                        .iter()
                        .filter(|e| u64::from(e.offset) + u64::from(e.length) > size)
                        .map(|e| e.id),
                );
                bad_trailers.insert(seg.pack);
            }
            Err(Trailer::Unreadable(reason) | Trailer::Disagrees(reason)) => {
                r.errors.push(format!("pack {name}: {reason}"));
                bad_chunks.extend(seg.entries.iter().map(|e| e.id));
            }
        }
    }
    r.packs = indexed.len();
    for name in stored.keys() {
        if !name.parse::<Id>().is_ok_and(|id| indexed.contains_key(&id)) {
            r.warnings.push(format!(
                "pack {name} is in no index segment (left by an interrupted ship; prune removes it)"
            ));
        }
    }

    // Temporary files of killed writers: harmless, but they take space.
    let leftovers = temporary::list_all(backend.as_ref())?;
    r.temporary_files = leftovers.len();
    r.temporary_bytes = leftovers.iter().map(|(_, t)| t.size).sum();
    if r.temporary_files > 0 {
        r.warnings.push(format!(
            "{} temporary file(s), {} bytes, left by interrupted writes (harmless; prune removes them), e.g. {}",
            r.temporary_files,
            r.temporary_bytes,
            temporary::path(leftovers[0].0, &leftovers[0].1)
        ));
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
    let label = |id: &Id, m: &Manifest| format!("{} ({})", m.full_name(), id.short());
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

    r.pack_bytes = indexed
        .keys()
        .filter_map(|id| stored.get(&id.to_hex()))
        .sum();
    if let Some(how) = opts.read_data {
        let packs = ReadPacks {
            indexed: &indexed,
            bad_trailers: &bad_trailers,
        };
        let chosen = choose(&indexed, &stored, how, &mut r)?;
        let read_all = chosen.len() == indexed.len();
        read_data(repo, &packs, chosen, &mut r, &mut bad_chunks, progress);
        for (id, m) in &manifests {
            let Some(files) = &m.files else { continue };
            if files.chunks.iter().any(|c| bad_chunks.contains(c)) {
                r.errors.push(format!(
                    "the file manifest of snapshot {} has damaged chunks",
                    label(id, m)
                ));
            } else if read_all && files.chunks.iter().all(|c| repo.index().contains(c)) {
                // Every blob was read; also check the whole: length, digest, decoding.
                match load_file_list(repo, files, &label(id, m)) {
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

/// Why a pack's own trailer does not confirm the index.
enum Trailer {
    /// The footer or trailer cannot be read, parsed or authenticated.
    Unreadable(String),
    /// It reads, but lists other blobs than the index.
    Disagrees(String),
}

/// Compares a pack's own trailer with what the index says it holds.
fn check_trailer(repo: &Repository, name: &str, size: u64, seg: &PackBlobs) -> Result<(), Trailer> {
    let entries = repo
        .packs()
        .read_trailer(name, size)
        .map_err(Trailer::Unreadable)?;
    let mut listed: Vec<_> = seg.entries.clone();
    let mut own = entries;
    listed.sort_by_key(|e| e.offset);
    own.sort_by_key(|e| e.offset);
    if listed != own {
        return Err(Trailer::Disagrees(
            "its trailer and the index disagree about its blobs".into(),
        ));
    }
    Ok(())
}

/// The packs `read_data` chooses from.
struct ReadPacks<'a> {
    /// Every indexed pack, with the blobs the index places in it.
    indexed: &'a HashMap<Id, &'a PackBlobs>,
    /// Packs whose trailer the structure check already reported.
    bad_trailers: &'a HashSet<Id>,
}

/// The packs to read: a random sample, or the rotation's next step (which
/// is also recorded in the report).
fn choose(
    indexed: &HashMap<Id, &PackBlobs>,
    stored: &HashMap<String, u64>,
    how: ReadData,
    r: &mut CheckReport,
) -> Result<Vec<Id>> {
    let valid = |p: f64| p > 0.0 && p <= 100.0;
    let invalid = |p: f64| Error::Invalid {
        what: "read-data percentage".into(),
        reason: format!("{p} is not in (0, 100]"),
    };
    let mut chosen: Vec<Id> = indexed.keys().copied().collect();
    chosen.sort();
    match how {
        ReadData::Sample(p) if !valid(p) => return Err(invalid(p)),
        ReadData::Sample(p) if p < 100.0 => {
            use rand::seq::SliceRandom;
            chosen.shuffle(&mut rand::thread_rng());
            let n = ((chosen.len() as f64) * p / 100.0).ceil() as usize;
            chosen.truncate(n.max(1).min(chosen.len()));
        }
        ReadData::Sample(_) => {}
        ReadData::Rotation(rot) => {
            match rot.portion {
                Portion::Percent(p) if !valid(p) => return Err(invalid(p)),
                Portion::Bytes(0) => {
                    return Err(Error::Invalid {
                        what: "read-data size".into(),
                        reason: "must be at least one byte".into(),
                    })
                }
                _ => {}
            }
            // A missing pack is read as size 0: reading it fails, and is named.
            let sizes: Vec<(Id, u64)> = chosen
                .iter()
                .map(|id| (*id, stored.get(&id.to_hex()).copied().unwrap_or(0)))
                .collect();
            let step = rotation_step(&sizes, rot);
            chosen.clone_from(&step.packs);
            r.rotation = Some(step);
        }
    }
    Ok(chosen)
}

fn read_data(
    repo: &Repository,
    packs: &ReadPacks<'_>,
    chosen: Vec<Id>,
    r: &mut CheckReport,
    bad_chunks: &mut HashSet<Id>,
    progress: &dyn Progress,
) {
    progress.begin("read data", None);
    for pack_id in chosen {
        let name = pack_id.to_hex();
        let back = match repo
            .packs()
            .read_back(&name, &packs.indexed[&pack_id].entries)
        {
            Ok(b) => b,
            Err(e) => {
                r.errors.push(e.to_string());
                continue;
            }
        };
        r.packs_read += 1;
        r.bytes_read += back.len;
        progress.advance(back.len);
        if let Err(e) = back.name {
            r.errors.push(e.to_string());
        }
        if let Err(reason) = back.layout {
            if !packs.bad_trailers.contains(&pack_id) {
                r.errors.push(format!("pack {name}: {reason}"));
            }
        }
        for BlobVerdict { entry: e, damage } in back.blobs {
            r.blobs_read += 1;
            if let Some(reason) = damage {
                r.errors.push(format!(
                    "pack {name}: blob at offset {}: {reason}",
                    e.offset
                ));
                bad_chunks.insert(e.id);
            }
        }
    }
    progress.end();
}

#[cfg(test)]
mod tests;
