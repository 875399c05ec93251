//! Repair, on the damage `check` finds: a lost or damaged index, damaged
//! packs and trailers, unreadable manifests and broken chains.

use std::sync::Arc;

use super::*;
use crate::backend::{Backend, FileType, MemoryBackend};
use crate::error::Error;
use crate::id::Id;
use crate::progress::NoProgress;
use crate::repo_lock::{LockKind, LockOptions, RepoLock};
use crate::repository::Repository;
use crate::test_support::{check_all_data, fake_stream, pseudo_random, restored};
use crate::test_support::{ship_test_stream, test_repo};

fn lock(repo: &Repository) -> RepoLock {
    RepoLock::acquire(repo, LockKind::Exclusive, "repair", LockOptions::default()).unwrap()
}

/// A repository with a chain s1 <- s2 <- s3 of different streams; returns
/// the streams and the manifest ids.
fn chain_repo() -> (Arc<MemoryBackend>, Repository, Vec<Vec<u8>>, Vec<Id>) {
    let (backend, mut repo) = test_repo();
    let mut streams = Vec::new();
    let mut ids = Vec::new();
    for g in 1..=3u64 {
        let s = fake_stream(&pseudo_random(400_000, g));
        ids.push(ship_test_stream(
            &mut repo,
            &s,
            &format!("s{g}"),
            g,
            (g > 1).then(|| g - 1),
        ));
        streams.push(s);
    }
    (backend, repo, streams, ids)
}

fn reopen(backend: &Arc<MemoryBackend>) -> Repository {
    Repository::open(backend.clone(), b"pw").unwrap()
}

fn all_restore(repo: &Repository, streams: &[Vec<u8>], ids: &[Id]) {
    for (s, id) in streams.iter().zip(ids) {
        assert_eq!(&restored(repo, id).unwrap(), s, "{id}");
    }
}

#[test]
fn a_lost_index_is_rebuilt_from_the_packs_and_loses_nothing() {
    let (backend, _, streams, ids) = chain_repo();
    let segments = backend.list(FileType::Index).unwrap();
    for (name, _) in &segments {
        backend.remove(FileType::Index, name).unwrap();
    }
    let mut repo = reopen(&backend);
    assert!(restored(&repo, &ids[0]).is_err(), "nothing is indexed");
    let plan = plan_index_repair(&repo, &NoProgress).unwrap();
    let r = plan.report().clone();
    assert!(r.needed());
    assert_eq!(
        r.added_packs.len(),
        backend.list(FileType::Pack).unwrap().len()
    );
    assert!(r.missing_chunks == 0, "{r:?}");
    let l = lock(&repo);
    repair_index(&mut repo, plan, &l).unwrap();
    all_restore(&reopen(&backend), &streams, &ids);
    assert!(check_all_data(&reopen(&backend)).ok());
    // Once sound, there is nothing to do.
    let again = plan_index_repair(&reopen(&backend), &NoProgress).unwrap();
    assert!(!again.report().needed(), "{:?}", again.report());
}

#[test]
fn a_damaged_index_segment_is_replaced() {
    let (backend, _, streams, ids) = chain_repo();
    let (seg, _) = backend.list(FileType::Index).unwrap()[0].clone();
    backend.tamper(FileType::Index, &seg, |b| b[20] ^= 1);
    let mut repo = reopen(&backend);
    assert_eq!(repo.index_problems().len(), 1);
    let plan = plan_index_repair(&repo, &NoProgress).unwrap();
    assert_eq!(plan.report().unreadable_segments.len(), 1);
    assert!(plan.report().unreadable_segments[0].contains(&seg));
    let l = lock(&repo);
    let done = repair_index(&mut repo, plan, &l).unwrap();
    assert!(done.segments.contains(&seg));
    let repo = reopen(&backend);
    assert!(repo.index_problems().is_empty());
    assert!(backend.read(FileType::Index, &seg).is_err(), "replaced");
    all_restore(&repo, &streams, &ids);
    assert!(check_all_data(&repo).ok());
}

/// Flips a byte inside the first blob of the biggest pack; returns its name.
fn damage_a_blob(backend: &MemoryBackend) -> String {
    let name = crate::test_support::biggest_pack(backend);
    backend.tamper(FileType::Pack, &name, |b| {
        b[crate::format::pack::HEADER_LEN + 40] ^= 1;
    });
    name
}

#[test]
fn a_damaged_pack_keeps_its_sound_blobs_and_the_snapshots_that_lost_one_are_named() {
    let (backend, _, streams, ids) = chain_repo();
    let bad = damage_a_blob(&backend);
    let mut repo = reopen(&backend);
    let plan = plan_pack_repair(&repo, &[], &NoProgress).unwrap();
    let r = plan.report().clone();
    assert_eq!(r.damaged.len(), 1, "{r:?}");
    assert_eq!(r.damaged[0].pack, bad);
    assert_eq!(r.damaged[0].lost, 1);
    assert!(r.damaged[0].salvaged > 0);
    assert_eq!(r.lost_chunks, 1);
    assert!(!r.affected_snapshots.is_empty());
    let l = lock(&repo);
    repair_packs(&mut repo, plan, &l, &NoProgress).unwrap();
    drop(l);
    assert!(
        backend.read(FileType::Pack, &bad).is_err(),
        "the damaged pack is gone"
    );

    // Packs are sound now; the snapshots that need the lost chunk are not,
    // and `repair snapshots` removes them (and what is built on them).
    let repo = reopen(&backend);
    let report = check_all_data(&repo);
    assert!(
        report.errors.iter().all(|e| e.contains("no index lists")),
        "{report:?}"
    );
    let plan = plan_snapshot_repair(&repo).unwrap();
    let gone: Vec<&str> = plan.remove.iter().map(|r| r.id.as_str()).collect();
    assert!(!gone.is_empty());
    let l = lock(&repo);
    repair_snapshots(&repo, plan.clone(), &l).unwrap();
    drop(l);
    let mut repo = reopen(&backend);
    assert!(check_all_data(&repo).ok(), "{:?}", check_all_data(&repo));
    for (s, id) in streams.iter().zip(&ids) {
        if !gone.contains(&id.to_hex().as_str()) {
            assert_eq!(&restored(&repo, id).unwrap(), s);
        }
    }
    // Shipping the same data again uploads the lost chunk, and restores.
    let again = ship_test_stream(&mut repo, &streams[0], "s1-again", 11, None);
    assert_eq!(restored(&reopen(&backend), &again).unwrap(), streams[0]);
    assert!(check_all_data(&reopen(&backend)).ok());
}

#[test]
fn a_damaged_trailer_is_indexed_from_the_old_index_then_rewritten_by_repair_packs() {
    let (backend, _, streams, ids) = chain_repo();
    let mut packs = backend.list(FileType::Pack).unwrap();
    packs.sort();
    let (name, size) = packs[0].clone();
    // The last bytes before the footer belong to the sealed trailer.
    let at = usize::try_from(size).unwrap() - crate::format::pack::FOOTER_LEN - 3;
    backend.tamper(FileType::Pack, &name, |b| b[at] ^= 1);
    let mut repo = reopen(&backend);
    let plan = plan_index_repair(&repo, &NoProgress).unwrap();
    assert_eq!(
        plan.report().kept_from_old_index.len(),
        1,
        "{:?}",
        plan.report()
    );
    assert!(
        !plan.report().needed(),
        "the index already locates its blobs"
    );
    let l = lock(&repo);
    repair_index(&mut repo, plan, &l).unwrap();

    let plan = plan_pack_repair(&repo, std::slice::from_ref(&name), &NoProgress).unwrap();
    assert_eq!(plan.report().damaged.len(), 1);
    assert_eq!(plan.report().damaged[0].lost, 0, "every blob still opens");
    assert_eq!(plan.report().lost_chunks, 0);
    repair_packs(&mut repo, plan, &l, &NoProgress).unwrap();
    drop(l);
    let repo = reopen(&backend);
    assert!(check_all_data(&repo).ok(), "{:?}", check_all_data(&repo));
    all_restore(&repo, &streams, &ids);
    // The rewritten packs have sound trailers: an index rebuilt from them
    // alone is complete.
    for (seg, _) in backend.list(FileType::Index).unwrap() {
        backend.remove(FileType::Index, &seg).unwrap();
    }
    let mut repo = reopen(&backend);
    let plan = plan_index_repair(&repo, &NoProgress).unwrap();
    assert!(plan.report().kept_from_old_index.is_empty());
    assert!(plan.report().unusable_packs.is_empty());
    let l = lock(&repo);
    repair_index(&mut repo, plan, &l).unwrap();
    all_restore(&reopen(&backend), &streams, &ids);
}

#[test]
fn an_unreadable_manifest_goes_with_the_chain_built_on_it() {
    let (backend, _, streams, ids) = chain_repo();
    backend.tamper(FileType::Snapshot, &ids[1].to_hex(), |b| b[30] ^= 1);
    let repo = reopen(&backend);
    let plan = plan_snapshot_repair(&repo).unwrap();
    assert_eq!(plan.snapshots, 3);
    let mut gone: Vec<(String, bool)> = plan
        .remove
        .iter()
        .map(|r| (r.id.clone(), r.reason.contains("chain is broken")))
        .collect();
    gone.sort();
    let mut expected = vec![(ids[1].to_hex(), false), (ids[2].to_hex(), true)];
    expected.sort();
    assert_eq!(gone, expected, "{plan:?}");
    let l = lock(&repo);
    repair_snapshots(&repo, plan, &l).unwrap();
    let repo = reopen(&backend);
    assert_eq!(repo.manifest_ids().unwrap(), [ids[0]]);
    assert_eq!(restored(&repo, &ids[0]).unwrap(), streams[0]);
    assert!(check_all_data(&repo).ok());
}

#[test]
fn snapshot_repair_refuses_while_an_index_segment_is_unreadable() {
    let (backend, _, _, _) = chain_repo();
    let (seg, _) = backend.list(FileType::Index).unwrap()[0].clone();
    backend.tamper(FileType::Index, &seg, |b| b[20] ^= 1);
    let repo = reopen(&backend);
    match plan_snapshot_repair(&repo) {
        Err(Error::Invalid { reason, .. }) => {
            assert!(reason.contains("repair index"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        plan_pack_repair(&repo, &[], &NoProgress),
        Err(Error::Invalid { .. })
    ));
}

#[test]
fn a_pack_gone_from_storage_is_dropped_and_its_chunks_counted_missing() {
    let (backend, _, _, _) = chain_repo();
    let (gone, _) = backend.list(FileType::Pack).unwrap()[0].clone();
    backend.remove(FileType::Pack, &gone).unwrap();
    let mut repo = reopen(&backend);
    let plan = plan_index_repair(&repo, &NoProgress).unwrap();
    assert_eq!(plan.report().dropped_packs, std::slice::from_ref(&gone));
    assert!(plan.report().missing_chunks > 0);
    let l = lock(&repo);
    repair_index(&mut repo, plan, &l).unwrap();
    drop(l);
    let repo = reopen(&backend);
    let r = check_all_data(&repo);
    assert!(
        r.errors
            .iter()
            .all(|e| !e.contains("is missing (named by the index)")),
        "{r:?}"
    );
    assert!(!plan_snapshot_repair(&repo).unwrap().remove.is_empty());
}
