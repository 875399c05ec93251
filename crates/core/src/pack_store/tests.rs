//! The pack store on the in-memory backend: loading the index.

use crate::backend::{Backend, FileType};
use crate::check::{check, CheckOptions};
use crate::progress::NoProgress;
use crate::repository::Repository;
use crate::test_support::{biggest_pack, ship_test_stream, test_repo};
use crate::test_support::{fake_stream, pseudo_random, restored};

#[test]
fn a_damaged_index_segment_leaves_the_repository_usable_and_is_reported() {
    let (backend, mut repo) = test_repo();
    let data = fake_stream(&pseudo_random(200_000, 5));
    ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
    let (seg, _) = backend.list(FileType::Index).unwrap().remove(0);
    backend.tamper(FileType::Index, &seg, |b| b[50] ^= 1);
    let repo = Repository::open(backend, b"pw").unwrap();
    assert_eq!(repo.index_problems().len(), 1);
    let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert!(r.errors.iter().any(|e| e.contains(&seg)), "{:?}", r.errors);
    assert_eq!(r.damaged_snapshots.len(), 1, "{r:?}");
}

/// Regression: a truncated pack made restore fail with "read range …:
/// failed to fill whole buffer" (exit 1), not naming the pack.
#[test]
fn a_truncated_pack_is_damage_naming_the_pack() {
    let (backend, mut repo) = test_repo();
    let data = fake_stream(&pseudo_random(600_000, 7));
    let id = ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
    // Not the first listed: that can be a meta-lane pack under 20 kB.
    let pack = biggest_pack(&backend);
    backend.tamper(FileType::Pack, &pack, |b| b.truncate(b.len() - 20_000));
    let e = restored(&repo, &id).unwrap_err();
    assert!(e.is_integrity(), "{e}");
    let text = e.to_string();
    assert!(text.contains(&format!("pack {pack}")), "{text}");
    assert!(text.contains("pool/ds@a"), "{text}");
    assert!(text.contains("truncated"), "{text}");
}

/// Regression: two packs of different sizes swapped made restore fail with
/// "the data lane holds bytes no record header accounts for" (exit 1).
#[test]
fn swapped_packs_are_damage_naming_a_pack() {
    let (backend, mut repo) = test_repo();
    let data = fake_stream(&pseudo_random(600_000, 8));
    let id = ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
    let mut packs = backend.list(FileType::Pack).unwrap();
    packs.sort_by_key(|(_, size)| *size);
    let (small, large) = (packs[0].0.clone(), packs.last().unwrap().0.clone());
    assert_ne!(packs[0].1, packs.last().unwrap().1, "{packs:?}");
    let small_bytes = backend.read(FileType::Pack, &small).unwrap();
    let large_bytes = backend.read(FileType::Pack, &large).unwrap();
    backend.tamper(FileType::Pack, &small, |b| *b = large_bytes);
    backend.tamper(FileType::Pack, &large, |b| *b = small_bytes);
    let e = restored(&repo, &id).unwrap_err();
    assert!(e.is_integrity(), "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("pack {small}")) || text.contains(&format!("pack {large}")),
        "{text}"
    );
    assert!(text.contains("pool/ds@a"), "{text}");
}
