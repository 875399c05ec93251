//! Unit tests of the pipelines on the in-memory backend, and pinned format
//! vectors: a change to any of these values changes format v1.

use std::sync::Arc;

use crate::backend::{Backend, FileType, MemoryBackend};
use crate::crypto::{seal_with_nonce, Keys, ObjectType};
use crate::format::blob;
use crate::format::manifest::Manifest;
use crate::progress::NoProgress;
use crate::repository::Repository;
use crate::{check, resolve_chain, restore_stream, ship_stream, CheckOptions, Error, Id};

pub(crate) use crate::test_support::{fake_stream, pseudo_random, small_opts, test_repo, CHEAP};

pub(crate) fn manifest(name: &str, guid: u64, base: Option<u64>) -> Manifest {
    crate::test_support::manifest("pool/ds", name, guid, base)
}

pub(crate) fn restored(repo: &Repository, id: &Id) -> crate::Result<Vec<u8>> {
    let m = repo.read_manifest(id)?;
    let mut out = Vec::new();
    restore_stream(repo, &m, &mut out, &NoProgress)?;
    Ok(out)
}

#[test]
fn ship_restore_round_trip_with_dedup() {
    let backend = Arc::new(MemoryBackend::new());
    let mut repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    let data = fake_stream(&pseudo_random(2_000_000, 1));
    let id1 = ship_stream(
        &mut repo,
        data.as_slice(),
        manifest("a", 1, None),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(restored(&repo, &id1).unwrap(), data);

    // The same content again stores nothing new.
    let id2 = ship_stream(
        &mut repo,
        data.as_slice(),
        manifest("b", 2, Some(1)),
        &NoProgress,
    )
    .unwrap();
    let m2 = repo.read_manifest(&id2).unwrap();
    assert_eq!(m2.stats.new_chunks, 0);
    assert!(m2.stats.chunks > 50);

    // A fresh open (index from segments) restores both and checks clean.
    let repo = Repository::open(backend, b"pw").unwrap();
    assert_eq!(restored(&repo, &id2).unwrap(), data);
    let all = repo.manifests().unwrap();
    assert_eq!(resolve_chain(&all, &id2).unwrap().len(), 2);
    let r = check(
        &repo,
        CheckOptions {
            read_data_percent: Some(100.0),
        },
        &NoProgress,
    )
    .unwrap();
    assert!(r.ok(), "{:?}", r.errors);
    assert_eq!(r.snapshots, 2);
}

#[test]
fn wrong_passphrase_is_typed() {
    let backend = Arc::new(MemoryBackend::new());
    Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    assert!(matches!(
        Repository::open(backend, b"nope"),
        Err(Error::WrongPassphrase { slots: 1, .. })
    ));
}

#[test]
fn truncated_or_foreign_stream_records_nothing() {
    let backend = Arc::new(MemoryBackend::new());
    let mut repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
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

#[test]
fn damaged_pack_is_found_by_check_and_fails_restore() {
    let backend = Arc::new(MemoryBackend::new());
    let mut repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    let data = fake_stream(&pseudo_random(600_000, 3));
    let id = ship_stream(
        &mut repo,
        data.as_slice(),
        manifest("a", 1, None),
        &NoProgress,
    )
    .unwrap();
    let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
    backend.tamper(FileType::Pack, &pack, |b| b[100] ^= 0x20);

    let structure = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert!(
        structure.ok(),
        "a flipped data byte is only visible when reading data"
    );
    let r = check(
        &repo,
        CheckOptions {
            read_data_percent: Some(100.0),
        },
        &NoProgress,
    )
    .unwrap();
    assert!(!r.ok());
    assert!(r.errors.iter().any(|e| e.contains(&pack)), "{:?}", r.errors);
    assert_eq!(r.damaged_snapshots.len(), 1);
    let e = restored(&repo, &id).unwrap_err();
    assert!(e.is_integrity(), "{e}");
    assert!(e.to_string().contains("pool/ds@a"), "{e}");
}

#[test]
fn missing_pack_is_named() {
    let backend = Arc::new(MemoryBackend::new());
    let mut repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    let data = fake_stream(&pseudo_random(300_000, 4));
    let id = ship_stream(
        &mut repo,
        data.as_slice(),
        manifest("a", 1, None),
        &NoProgress,
    )
    .unwrap();
    let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
    backend.remove(FileType::Pack, &pack).unwrap();
    let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert!(r
        .errors
        .iter()
        .any(|e| e.contains(&pack) && e.contains("missing")));
    assert!(restored(&repo, &id).is_err());
}

#[test]
fn chunker_boundaries_are_pinned() {
    // Seeded FastCDC boundaries for a fixed master key: changing the chunker,
    // its parameters or the seed derivation breaks deduplication against
    // every existing repository.
    let keys = Keys::from_master([42; 32]);
    let data = pseudo_random(300_000, 7);
    let cuts: Vec<u64> = fastcdc::v2020::StreamCDC::with_level_and_seed(
        data.as_slice(),
        4096,
        16384,
        65536,
        fastcdc::v2020::Normalization::Level1,
        keys.chunker_seed(),
    )
    .map(|c| c.unwrap().offset)
    .collect();
    assert_eq!(keys.chunker_seed(), PINNED_SEED, "seed derivation changed");
    assert_eq!(cuts, PINNED_CUTS, "chunk boundaries changed");
}

const PINNED_SEED: u64 = 947027800084956869;
const PINNED_CUTS: &[u64] = &[
    0, 48711, 79209, 108946, 128342, 133993, 153389, 161793, 169952, 188034, 220558, 251200,
    272048, 277591,
];

#[test]
fn sealed_blob_is_pinned() {
    let keys = Keys::from_master([1; 32]);
    let data = b"format v1 pinned blob".repeat(8);
    let id = keys.chunk_id(&data);
    assert_eq!(id.to_hex(), PINNED_CHUNK_ID);
    let header_and_box = {
        let b = blob::encode(&keys, id, &data, 3);
        // The nonce is random; re-seal the same header with a fixed nonce.
        let header = &b[..blob::HEADER_LEN];
        let payload = zstd::bulk::compress(&data, 3).unwrap();
        let mut v = header.to_vec();
        v.extend(seal_with_nonce(
            keys.encrypt_key(),
            &[9; 24],
            ObjectType::Blob,
            header,
            &payload,
        ));
        v
    };
    assert_eq!(
        blake3::hash(&header_and_box).to_hex().as_str(),
        PINNED_BLOB_DIGEST
    );
    assert_eq!(
        blob::decode(&keys, &header_and_box, Some(&id)).unwrap(),
        data
    );
}

const PINNED_CHUNK_ID: &str = "528490c91b4988748893251108f65db640f8b85bdd7bd28b84b6fe5afeabf58e";
const PINNED_BLOB_DIGEST: &str = "6e8e38ea882b47b89c11362b7d03a6502096d49efd87d012de80ed6b30caa216";

#[test]
fn a_damaged_key_slot_does_not_hide_a_good_one() {
    let backend = Arc::new(MemoryBackend::new());
    let repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    repo.add_key(b"second", CHEAP).unwrap();
    // A garbage slot that sorts first.
    backend.write(FileType::Key, "0000", b"{garbage").unwrap();
    assert!(Repository::open(backend.clone(), b"pw").is_ok());
    assert!(Repository::open(backend.clone(), b"second").is_ok());
    assert!(matches!(
        Repository::open(backend, b"neither"),
        Err(Error::WrongPassphrase { slots: 3, .. })
    ));
}

#[test]
fn a_damaged_index_segment_leaves_the_repository_usable_and_is_reported() {
    let backend = Arc::new(MemoryBackend::new());
    let mut repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    let data = fake_stream(&pseudo_random(200_000, 5));
    ship_stream(
        &mut repo,
        data.as_slice(),
        manifest("a", 1, None),
        &NoProgress,
    )
    .unwrap();
    let (seg, _) = backend.list(FileType::Index).unwrap().remove(0);
    backend.tamper(FileType::Index, &seg, |b| b[50] ^= 1);
    let repo = Repository::open(backend, b"pw").unwrap();
    assert_eq!(repo.index_problems().len(), 1);
    let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert!(r.errors.iter().any(|e| e.contains(&seg)), "{:?}", r.errors);
    assert_eq!(r.damaged_snapshots.len(), 1, "{r:?}");
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
    let id1 = ship_stream(
        &mut repo,
        first.as_slice(),
        manifest("a", 1, None),
        &NoProgress,
    )
    .unwrap();
    let second = stream_with_blocks(222, 40);
    assert_ne!(first, second);
    let id2 = ship_stream(
        &mut repo,
        second.as_slice(),
        manifest("b", 2, None),
        &NoProgress,
    )
    .unwrap();
    let (m1, m2) = (
        repo.read_manifest(&id1).unwrap(),
        repo.read_manifest(&id2).unwrap(),
    );
    assert_eq!(m1.data_chunks, m2.data_chunks);
    assert!(m2.stats.new_raw_bytes < 20_000, "{:?}", m2.stats);
    assert_eq!(restored(&repo, &id1).unwrap(), first);
    assert_eq!(restored(&repo, &id2).unwrap(), second);
}

#[test]
fn the_key_slot_that_opened_a_repository_is_an_exported_key() {
    let backend = Arc::new(MemoryBackend::new());
    let repo = Repository::init(backend.clone(), b"first", small_opts()).unwrap();
    let second = repo.add_key(b"second", CHEAP).unwrap();
    let slots = Repository::key_slots(&*backend).unwrap();
    assert_eq!(slots.len(), 2);
    assert!(slots.iter().any(|(n, _)| n == repo.key_name()));
    assert!(slots
        .iter()
        .all(|(_, s)| s.as_ref().unwrap().params == CHEAP));

    let opened = Repository::open(backend.clone(), b"second").unwrap();
    assert_eq!(opened.key_name(), second);
    let exported = opened.key_bytes().to_vec();
    assert_eq!(exported, backend.read(FileType::Key, &second).unwrap());

    // With every key slot gone, the exported key and its passphrase open it.
    for (name, _) in slots {
        backend.remove(FileType::Key, &name).unwrap();
    }
    assert!(Repository::open(backend.clone(), b"second").is_err());
    let again =
        Repository::open_with_key(backend.clone(), "escrow.key", &exported, b"second").unwrap();
    assert_eq!(again.id(), repo.id());
    assert_eq!(again.key_name(), "escrow.key");
    assert!(matches!(
        Repository::open_with_key(backend, "escrow.key", &exported, b"first"),
        Err(Error::WrongPassphrase { .. })
    ));
}

#[test]
fn packs_of_an_interrupted_ship_are_adopted_and_not_uploaded_again() {
    let backend = Arc::new(MemoryBackend::new());
    let mut repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    let data = fake_stream(&pseudo_random(3_000_000, 11));
    ship_stream(
        &mut repo,
        data.as_slice(),
        manifest("a", 1, None),
        &NoProgress,
    )
    .unwrap();
    let packs = backend.list(FileType::Pack).unwrap();
    assert!(packs.len() > 8, "several checkpoints: {}", packs.len());
    // As if the ship had died before any segment and its manifest: only
    // the packs are left, plus a junk pack that must be left alone.
    for (name, _) in backend.list(FileType::Index).unwrap() {
        backend.remove(FileType::Index, &name).unwrap();
    }
    for (name, _) in backend.list(FileType::Snapshot).unwrap() {
        backend.remove(FileType::Snapshot, &name).unwrap();
    }
    backend
        .write(FileType::Pack, &"ee".repeat(32), b"not a pack at all")
        .unwrap();
    let mut repo = Repository::open(backend.clone(), b"pw").unwrap();
    assert!(repo.index().is_empty());
    let adopted = crate::adopt::adopt_unindexed_packs(&mut repo).unwrap();
    assert_eq!(adopted.packs, packs.len());
    assert_eq!(adopted.unreadable.len(), 1, "{adopted:?}");
    assert!(adopted.unreadable[0].contains(&"ee".repeat(32)));
    // The same stream again stores nothing new.
    let before = backend.list(FileType::Pack).unwrap().len();
    ship_stream(
        &mut repo,
        data.as_slice(),
        manifest("a", 1, None),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(backend.list(FileType::Pack).unwrap().len(), before);
    // And a reopened repository sees the adopted packs in its index.
    let repo = Repository::open(backend, b"pw").unwrap();
    assert_eq!(repo.index().packs().len(), packs.len());
    let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert!(
        r.errors.iter().all(|e| e.contains(&"ee".repeat(32))),
        "{:?}",
        r.errors
    );
}
