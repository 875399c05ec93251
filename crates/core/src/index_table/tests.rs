//! The index table: built, merged, read back, and refused when damaged; and
//! a repository opened with a cache keeping its index in one.

use std::fs;
use std::path::Path;

use super::{Builder, Table, FILE_NAME, HEADER_LEN, ROW_LEN};
use crate::check::{check, CheckOptions};
use crate::format::index::{Index, PackBlobs};
use crate::format::pack::Entry;
use crate::id::Id;
use crate::progress::NoProgress;
use crate::prune::{plan_prune, prune, PruneOptions};
use crate::repo_lock::{LockKind, LockOptions, RepoLock};
use crate::repository::{OpenOptions, Repository};
use crate::test_support::{fake_stream, pseudo_random, restored, ship_test_stream, test_repo};

const KEY: [u8; 32] = [7; 32];

fn id(n: u64, salt: u8) -> Id {
    let mut b = [0u8; 32];
    b[..8].copy_from_slice(&n.to_le_bytes());
    b[8] = salt;
    Id::of_bytes(&b)
}

/// `packs` packs of `per` blobs each, blob ids numbered from `first`.
fn segment(first: u64, packs: u64, per: u64, salt: u8) -> Vec<PackBlobs> {
    (0..packs)
        .map(|p| PackBlobs {
            pack: id(first + p, salt ^ 0xff),
            entries: (0..per)
                .map(|i| Entry {
                    id: id(first + p * per + i, salt),
                    offset: i as u32 * 100,
                    length: 100,
                    raw_len: (p * per + i) as u32,
                })
                .collect(),
        })
        .collect()
}

fn in_memory(segments: &[Vec<PackBlobs>]) -> Index {
    let mut idx = Index::new();
    for s in segments {
        for p in s {
            idx.add_pack(p);
        }
    }
    idx
}

/// Every blob of `want` is found in `table` at the same place (pack by id).
fn same(table: &Table, packs: &[Id], want: &Index, segments: &[Vec<PackBlobs>]) {
    for e in segments.iter().flatten().flat_map(|p| &p.entries) {
        let got = table.get(&e.id).unwrap().expect("every blob is found");
        let w = want.get(&e.id).unwrap();
        assert_eq!(packs[got.pack as usize], want.pack_id(w.pack));
        assert_eq!((got.offset, got.raw_len), (w.offset, w.raw_len));
    }
    assert_eq!(table.get(&id(u64::MAX, 9)).unwrap(), None);
}

fn build(dir: &Path, segments: &[Vec<PackBlobs>], run: usize) -> (Table, Vec<Id>) {
    let mut b = Builder::new(dir, Vec::new()).with_run_rows(run);
    for (i, s) in segments.iter().enumerate() {
        b.add(id(i as u64, 200), s).unwrap();
    }
    b.finish(None, &KEY, &dir.join(FILE_NAME)).unwrap()
}

#[test]
fn a_table_built_in_spilled_runs_finds_what_the_segments_hold() {
    let dir = tempfile::tempdir().unwrap();
    // A blob in two segments keeps its first place, as in memory.
    let mut segments = vec![segment(0, 30, 50, 1), segment(10_000, 20, 40, 1)];
    segments[1][0].entries[0].id = segments[0][3].entries[7].id;
    let (table, packs) = build(dir.path(), &segments, 333);
    assert_eq!(table.rows(), 30 * 50 + 20 * 40 - 1);
    assert_eq!(table.segments().len(), 2);
    same(&table, &packs, &in_memory(&segments), &segments);
    assert_eq!(table.scan().count(), table.rows() as usize);
    assert!(table.scan().all(|r| r.is_ok()));
    // No temporary file is left behind.
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 1, "{names:?}");
}

#[test]
fn a_table_merged_with_new_segments_keeps_the_old_places() {
    let dir = tempfile::tempdir().unwrap();
    let first = vec![segment(0, 10, 20, 2)];
    let (old, packs) = build(dir.path(), &first, 1 << 20);
    let mut later = segment(5_000, 5, 20, 2);
    later[0].entries[0].id = first[0][1].entries[1].id;
    let mut b = Builder::new(dir.path(), packs).with_run_rows(7);
    b.add(id(99, 200), &later).unwrap();
    let (table, packs) = b
        .finish(Some(&old), &KEY, &dir.path().join(FILE_NAME))
        .unwrap();
    let all = vec![first[0].clone(), later];
    assert_eq!(table.rows(), 300 - 1);
    assert_eq!(table.segments(), &[id(0, 200), id(99, 200)]);
    same(&table, &packs, &in_memory(&all), &all);
    // The old table's open file still reads its own rows.
    assert!(old.get(&first[0][0].entries[0].id).unwrap().is_some());
}

#[test]
fn an_empty_table_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (table, packs) = build(dir.path(), &[], 10);
    assert_eq!((table.rows(), packs.len()), (0, 0));
    assert_eq!(table.get(&id(1, 1)).unwrap(), None);
}

#[test]
fn a_damaged_or_foreign_table_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let segments = vec![segment(0, 8, 64, 3)];
    let path = dir.path().join(FILE_NAME);
    build(dir.path(), &segments, 1 << 20);
    let good = fs::read(&path).unwrap();
    assert!(Table::open(&path, &[8; 32]).is_err(), "another key");
    let rows_end = HEADER_LEN as usize + 8 * 64 * ROW_LEN;
    // Header and tail: refused at open.
    for at in [3, 9, 17, rows_end + 5, good.len() - 40, good.len() - 1] {
        let mut b = good.clone();
        b[at] ^= 1;
        fs::write(&path, &b).unwrap();
        assert!(Table::open(&path, &KEY).is_err(), "byte {at}");
    }
    fs::write(&path, &good[..good.len() - 1]).unwrap();
    assert!(Table::open(&path, &KEY).is_err(), "truncated");
    // A row: its bucket's lookups and the scan fail, others still answer.
    let victim = 100;
    let mut b = good.clone();
    b[HEADER_LEN as usize + victim * ROW_LEN + 40] ^= 1;
    fs::write(&path, &b).unwrap();
    let (table, _) = Table::open(&path, &KEY).unwrap();
    let rows: Vec<_> = Table::open(&dir.path().join(FILE_NAME), &KEY)
        .unwrap()
        .0
        .scan()
        .collect();
    assert!(rows.iter().any(Result::is_err), "the scan notices");
    let bad_id = Id::from_slice(&good[HEADER_LEN as usize + victim * ROW_LEN..][..32]).unwrap();
    assert!(table.get(&bad_id).is_err());
    let failures = segments[0]
        .iter()
        .flat_map(|p| &p.entries)
        .filter(|e| table.get(&e.id).is_err())
        .count();
    assert!((1..64).contains(&failures), "{failures} lookups failed");
}

fn opened_with_cache(backend: std::sync::Arc<crate::MemoryBackend>, cache: &Path) -> Repository {
    let options = OpenOptions {
        cache_dir: Some(cache.to_path_buf()),
        ..OpenOptions::default()
    };
    Repository::open_with_limits(backend, b"pw", options).unwrap()
}

#[test]
fn a_repository_opened_with_a_cache_keeps_its_index_in_a_table() {
    let cache = tempfile::tempdir().unwrap();
    let (backend, mut repo) = test_repo();
    let a = fake_stream(&pseudo_random(300_000, 11));
    let b = fake_stream(&pseudo_random(300_000, 12));
    let first = ship_test_stream(&mut repo, a.as_slice(), "a", 1, None);
    let second = ship_test_stream(&mut repo, b.as_slice(), "b", 2, None);
    let blobs = repo.index().len();

    // The first open builds the table; every blob is on disk.
    let repo = opened_with_cache(backend.clone(), cache.path());
    assert!(repo.index().has_table());
    assert_eq!((repo.index().len(), repo.index().in_memory()), (blobs, 0));
    assert_eq!(restored(&repo, &first).unwrap(), a);

    // A small ship's blobs stay in memory beside the table until the next
    // open; a ship as big as the rest is merged into a new table.
    let mut repo = opened_with_cache(backend.clone(), cache.path());
    let c = fake_stream(&pseudo_random(5_000, 13));
    let third = ship_test_stream(&mut repo, c.as_slice(), "c", 3, None);
    assert!(repo.index().in_memory() > 0);
    let repo = opened_with_cache(backend.clone(), cache.path());
    assert!(repo.index().in_memory() > 0, "under an eighth: an overlay");
    assert_eq!(restored(&repo, &third).unwrap(), c);
    let mut repo = opened_with_cache(backend.clone(), cache.path());
    let d = fake_stream(&pseudo_random(900_000, 14));
    let fourth = ship_test_stream(&mut repo, d.as_slice(), "d", 4, None);
    let repo = opened_with_cache(backend.clone(), cache.path());
    assert_eq!(repo.index().in_memory(), 0, "merged");
    for (snap, data) in [(&first, &a), (&second, &b), (&third, &c), (&fourth, &d)] {
        assert_eq!(&restored(&repo, snap).unwrap(), data);
    }
    let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert!(r.errors.is_empty(), "{r:?}");

    // A prune rewrites the index: the next open builds a new table, which
    // knows nothing of the pruned blobs.
    repo.remove_manifest(&second).unwrap();
    let mut repo = opened_with_cache(backend.clone(), cache.path());
    let lock =
        RepoLock::acquire(&repo, LockKind::Exclusive, "prune", LockOptions::default()).unwrap();
    let plan = plan_prune(&repo, PruneOptions::default()).unwrap();
    prune(&mut repo, plan, &lock, &NoProgress).unwrap();
    drop(lock);
    let repo = opened_with_cache(backend.clone(), cache.path());
    assert!(repo.index().has_table());
    let in_memory = Repository::open(backend, b"pw").unwrap();
    assert_eq!(repo.index().len(), in_memory.index().len());
    for (snap, data) in [(&first, &a), (&third, &c), (&fourth, &d)] {
        assert_eq!(&restored(&repo, snap).unwrap(), data);
    }
}

#[test]
fn a_table_damaged_on_disk_is_rebuilt_at_the_next_open() {
    let cache = tempfile::tempdir().unwrap();
    let (backend, mut repo) = test_repo();
    let a = fake_stream(&pseudo_random(400_000, 21));
    let first = ship_test_stream(&mut repo, a.as_slice(), "a", 1, None);
    let repo = opened_with_cache(backend.clone(), cache.path());
    drop(repo);
    let path = walk_for_table(cache.path());
    let mut b = fs::read(&path).unwrap();
    for i in 0..b.len().min(HEADER_LEN as usize + 5 * ROW_LEN) - HEADER_LEN as usize {
        b[HEADER_LEN as usize + i] ^= 0x55;
    }
    fs::write(&path, &b).unwrap();
    // The damaged rows' lookups fail: the table is removed and the blobs
    // count as absent for this process.
    let repo = opened_with_cache(backend.clone(), cache.path());
    let _ = restored(&repo, &first);
    assert!(repo.index().table_failure().is_some());
    assert!(!path.exists());
    let repo = opened_with_cache(backend, cache.path());
    assert_eq!(restored(&repo, &first).unwrap(), a);
    assert!(repo.index().table_failure().is_none());
}

fn walk_for_table(root: &Path) -> std::path::PathBuf {
    let index = root.join("index");
    let dir = fs::read_dir(&index)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    dir.join(FILE_NAME)
}
