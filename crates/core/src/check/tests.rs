//! Tests of `check`: structure, and data read back.

use super::*;
use crate::backend::{Backend, FileType};
use crate::progress::NoProgress;

use crate::test_support::{biggest_pack, check_all_data, ship_test_stream, test_repo};
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
    // Not the first listed: that can be a meta-lane pack under 20 kB.
    let pack = biggest_pack(&backend);
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

#[test]
fn a_rotation_reads_every_pack_once_per_pass_and_finds_damage_in_its_window() {
    let (backend, mut repo) = test_repo();
    let data = fake_stream(&pseudo_random(3_000_000, 11));
    ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
    let packs = backend.list(FileType::Pack).unwrap();
    assert!(packs.len() >= 4, "{} packs", packs.len());
    let portion = Portion::Percent(30.0);
    let mut after = None;
    let mut seen = 0;
    let runs = runs_per_pass(30.0);
    for run in 0..runs {
        let opts = CheckOptions {
            read_data: Some(ReadData::Rotation(Rotation { after, portion })),
        };
        let r = check(&repo, opts, &NoProgress).unwrap();
        assert!(r.ok(), "{:?}", r.errors);
        let step = r.rotation.expect("a rotation step");
        seen += r.packs_read;
        after = step.last;
        if step.completed_pass {
            assert!(run < runs);
            break;
        }
    }
    assert!(seen >= packs.len(), "{seen} of {} packs read", packs.len());
    // Damage the pack the next step reads first: that step finds it.
    let mut sorted: Vec<String> = packs.iter().map(|(n, _)| n.clone()).collect();
    sorted.sort();
    let last = after.expect("packs were read").to_hex();
    let next = sorted
        .iter()
        .find(|n| **n > last)
        .unwrap_or(&sorted[0])
        .clone();
    backend.tamper(FileType::Pack, &next, |b| {
        let mid = b.len() / 2;
        b[mid] ^= 1;
    });
    let opts = CheckOptions {
        read_data: Some(ReadData::Rotation(Rotation {
            after,
            portion: Portion::Bytes(1),
        })),
    };
    let r = check(&repo, opts, &NoProgress).unwrap();
    assert_eq!(r.packs_read, 1);
    assert!(!r.ok(), "{r:?}");
    assert!(r.errors.iter().any(|e| e.contains(&next)), "{:?}", r.errors);
}
