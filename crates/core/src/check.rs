//! `check`: is the repository whole? Structure always; with `read_data`, every
//! (or a sample of) pack read back, every blob opened and verified.

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
    /// Temporary files left by interrupted writes (a warning, not damage).
    pub temporary_files: usize,
    /// Their bytes.
    pub temporary_bytes: u64,
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

    if let Some(p) = opts.read_data_percent {
        let packs = ReadPacks {
            indexed: &indexed,
            bad_trailers: &bad_trailers,
        };
        read_data(repo, &packs, p, &mut r, &mut bad_chunks, progress)?;
        for (id, m) in &manifests {
            let Some(files) = &m.files else { continue };
            if files.chunks.iter().any(|c| bad_chunks.contains(c)) {
                r.errors.push(format!(
                    "the file manifest of snapshot {} has damaged chunks",
                    label(id, m)
                ));
            } else if p >= 100.0 && files.chunks.iter().all(|c| repo.index().contains(c)) {
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

fn read_data(
    repo: &Repository,
    packs: &ReadPacks<'_>,
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
    let mut chosen: Vec<Id> = packs.indexed.keys().copied().collect();
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
    Ok(())
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::backend::{Backend, FileType};
    use crate::progress::NoProgress;

    use crate::test_support::{check_all_data, ship_test_stream, test_repo};
    use crate::test_support::{fake_stream, pseudo_random, restored};

    #[test]
    fn damaged_pack_is_found_by_check_and_fails_restore() {
        let (backend, mut repo) = test_repo();
        let data = fake_stream(&pseudo_random(600_000, 3));
        let id = ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
        let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
        backend.tamper(FileType::Pack, &pack, |b| b[100] ^= 0x20);

        let structure = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
        assert!(
            structure.ok(),
            "a flipped data byte is only visible when reading data"
        );
        let r = check_all_data(&repo);
        assert!(!r.ok());
        assert!(r.errors.iter().any(|e| e.contains(&pack)), "{:?}", r.errors);
        assert_eq!(r.damaged_snapshots.len(), 1);
        let e = restored(&repo, &id).unwrap_err();
        assert!(e.is_integrity(), "{e}");
        assert!(e.to_string().contains("pool/ds@a"), "{e}");
    }

    #[test]
    fn missing_pack_is_named() {
        let (backend, mut repo) = test_repo();
        let data = fake_stream(&pseudo_random(300_000, 4));
        let id = ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
        let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
        backend.remove(FileType::Pack, &pack).unwrap();
        let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
        assert!(r
            .errors
            .iter()
            .any(|e| e.contains(&pack) && e.contains("missing")));
        assert!(restored(&repo, &id).is_err());
    }

    /// Regression: a damaged pack trailer made `check` list the snapshots
    /// using that pack as unrestorable, although they restored identically.
    #[test]
    fn a_damaged_pack_trailer_is_named_but_does_not_make_snapshots_unrestorable() {
        let (backend, mut repo) = test_repo();
        let data = fake_stream(&pseudo_random(600_000, 9));
        let id = ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
        let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
        backend.tamper(FileType::Pack, &pack, |b| {
            let at = b.len() - 30;
            b[at] ^= 1;
        });

        let structure = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
        assert!(!structure.ok());
        assert!(
            structure
                .errors
                .iter()
                .any(|e| e.contains(&pack) && e.contains("damaged trailer")),
            "{:?}",
            structure.errors
        );
        assert_eq!(structure.damaged_snapshots, Vec::<String>::new());

        let r = check_all_data(&repo);
        assert!(!r.ok());
        assert!(r.errors.iter().any(|e| e.contains(&pack)), "{:?}", r.errors);
        assert!(
            !r.errors.iter().any(|e| e.contains("blob at offset")),
            "{:?}",
            r.errors
        );
        assert_eq!(r.damaged_snapshots, Vec::<String>::new());
        let blobs: usize = repo.index().len();
        assert_eq!(r.blobs_read, blobs, "every indexed blob is verified");
        assert_eq!(restored(&repo, &id).unwrap(), data);
    }

    #[test]
    fn a_truncated_pack_makes_only_the_snapshots_needing_its_lost_blobs_unrestorable() {
        let (backend, mut repo) = test_repo();
        let data = fake_stream(&pseudo_random(600_000, 10));
        ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
        let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
        backend.tamper(FileType::Pack, &pack, |b| b.truncate(b.len() - 20_000));
        for r in [
            check(&repo, CheckOptions::default(), &NoProgress).unwrap(),
            check_all_data(&repo),
        ] {
            assert!(
                r.errors
                    .iter()
                    .any(|e| e.contains(&pack) && e.contains("truncated")),
                "{:?}",
                r.errors
            );
            assert_eq!(r.damaged_snapshots.len(), 1, "{r:?}");
        }
    }
}
