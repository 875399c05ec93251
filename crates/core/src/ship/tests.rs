//! Ship: choosing the base, and round trips through ship and restore on the
//! in-memory backend (dedup, refused streams, blocks shared between fulls).

use std::sync::Arc;

use super::*;
use crate::backend::{Backend, FileType, MemoryBackend};
use crate::chain::resolve;
use crate::progress::NoProgress;
use crate::test_support::{check_all_data, ship_test_stream, test_repo};
use crate::test_support::{
    fake_stream, pool_ds_manifest as manifest, pseudo_random, restored, small_opts,
};

fn snap(n: &str, guid: u64, txg: u64) -> Snapshot {
    Snapshot {
        name: SnapshotName::parse(&format!("p/d@{n}")).unwrap(),
        guid,
        createtxg: txg,
        creation: 0,
    }
}

#[test]
fn base_is_newest_shipped_older_snapshot_by_guid() {
    let src = vec![
        snap("a", 1, 10),
        snap("b", 2, 20),
        snap("c", 3, 30),
        snap("d", 4, 40),
    ];
    let mut shipped = HashMap::new();
    assert!(choose_base(&src, &src[3], &shipped).is_none());
    shipped.insert(1, Id([1; 32]));
    shipped.insert(3, Id([3; 32]));
    assert_eq!(choose_base(&src, &src[3], &shipped).unwrap().guid, 3);
    assert_eq!(choose_base(&src, &src[2], &shipped).unwrap().guid, 1);
    // A snapshot with the same name but another guid is not a base.
    let renamed = vec![snap("c", 99, 30)];
    assert!(choose_base(&renamed, &src[3], &shipped).is_none());
}

#[test]
fn ship_restore_round_trip_with_dedup() {
    let (backend, mut repo) = test_repo();
    let data = fake_stream(&pseudo_random(2_000_000, 1));
    let id1 = ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
    assert_eq!(restored(&repo, &id1).unwrap(), data);

    // The same content again stores nothing new.
    let id2 = ship_test_stream(&mut repo, data.as_slice(), "b", 2, Some(1));
    let m2 = repo.read_manifest(&id2).unwrap();
    assert_eq!(m2.stats.new_chunks, 0);
    assert!(m2.stats.chunks > 50);

    // A fresh open (index from segments) restores both and checks clean.
    let repo = Repository::open(backend, b"pw").unwrap();
    assert_eq!(restored(&repo, &id2).unwrap(), data);
    let all = repo.manifests().unwrap();
    assert_eq!(resolve(&all, &id2).unwrap().len(), 2);
    let r = check_all_data(&repo);
    assert!(r.ok(), "{:?}", r.errors);
    assert_eq!(r.snapshots, 2);
}

#[test]
fn truncated_or_foreign_stream_records_nothing() {
    let (backend, mut repo) = test_repo();
    let data = fake_stream(&pseudo_random(100_000, 2));
    let cut = &data[..data.len() - 100];
    let e = ship_stream(&mut repo, cut, manifest("a", 1, None), &NoProgress).unwrap_err();
    assert!(matches!(e, Error::BadStream { .. }), "{e}");
    let e = ship_stream(
        &mut repo,
        &[1u8; 5000][..],
        manifest("a", 1, None),
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(e, Error::BadStream { .. }), "{e}");
    assert!(backend.list(FileType::Snapshot).unwrap().is_empty());
}

/// A stream shaped like a real full: BEGIN, then WRITE records of 128 KiB
/// blocks, then END; every header carries the snapshot's guid.
fn stream_with_blocks(toguid: u64, blocks: usize) -> Vec<u8> {
    let header = |ty: u32, len: u64| {
        let mut r = vec![0u8; 312];
        r[..4].copy_from_slice(&ty.to_le_bytes());
        r[32..40].copy_from_slice(&len.to_le_bytes());
        r[40..48].copy_from_slice(&toguid.to_le_bytes());
        r
    };
    let mut s = header(0, 0);
    s[8..16].copy_from_slice(&0x2F5B_ACBACu64.to_le_bytes());
    for b in 0..blocks {
        s.extend(header(3, 128 * 1024));
        s.extend(pseudo_random(128 * 1024, 1000 + b as u64));
    }
    s.extend(header(5, 0));
    s
}

#[test]
fn fulls_of_different_snapshots_share_their_blocks() {
    let backend = Arc::new(MemoryBackend::new());
    let mut repo = Repository::init(backend, b"pw", small_opts()).unwrap();
    let first = stream_with_blocks(111, 40);
    let id1 = ship_test_stream(&mut repo, first.as_slice(), "a", 1, None);
    let second = stream_with_blocks(222, 40);
    assert_ne!(first, second);
    let id2 = ship_test_stream(&mut repo, second.as_slice(), "b", 2, None);
    let (m1, m2) = (
        repo.read_manifest(&id1).unwrap(),
        repo.read_manifest(&id2).unwrap(),
    );
    assert_eq!(m1.data_chunks, m2.data_chunks);
    assert!(m2.stats.new_raw_bytes < 20_000, "{:?}", m2.stats);
    assert_eq!(restored(&repo, &id1).unwrap(), first);
    assert_eq!(restored(&repo, &id2).unwrap(), second);
}
