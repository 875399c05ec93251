//! Opening a repository: passphrases, damaged key slots, exported keys.

use std::sync::Arc;

use super::*;
use crate::backend::MemoryBackend;
use crate::test_support::{small_opts, CHEAP};

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
    let again = Repository::open_with_key(
        backend.clone(),
        "escrow.key",
        &exported,
        b"second",
        KdfLimits::DEFAULT,
    )
    .unwrap();
    assert_eq!(again.id(), repo.id());
    assert_eq!(again.key_name(), "escrow.key");
    assert!(matches!(
        Repository::open_with_key(
            backend,
            "escrow.key",
            &exported,
            b"first",
            KdfLimits::DEFAULT
        ),
        Err(Error::WrongPassphrase { .. })
    ));
}

/// Rewrites the costs stored in key slot `name`, as someone with write
/// access to the repository could.
fn tamper_costs(backend: &MemoryBackend, name: &str, memory_kib: u32, iterations: u32) {
    backend.tamper(FileType::Key, name, |bytes| {
        let mut slot: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        slot["params"]["memory_kib"] = memory_kib.into();
        slot["params"]["iterations"] = iterations.into();
        *bytes = serde_json::to_vec(&slot).unwrap();
    });
}

/// Regression: a slot with `memory_kib` 4294967295 aborted every command
/// (a 4 TiB allocation), and `iterations` 4294967295 hung it.
#[test]
fn a_key_slot_asking_for_absurd_costs_is_skipped_and_named() {
    let backend = Arc::new(MemoryBackend::new());
    let repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    let first = repo.key_name().to_string();
    let second = repo.add_key(b"pw", CHEAP).unwrap();
    tamper_costs(&backend, &first, u32::MAX, 1);
    // The good slot for the same passphrase still opens, quickly.
    let opened = Repository::open(backend.clone(), b"pw").unwrap();
    assert_eq!(opened.key_name(), second);

    tamper_costs(&backend, &second, 64, u32::MAX);
    let Err(e) = Repository::open(backend.clone(), b"pw") else {
        panic!("no slot may be tried");
    };
    assert!(matches!(e, Error::KdfTooCostly { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains(&format!("{first}: memory_kib 4294967295 (at most 1048576)")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{second}: iterations 4294967295 (at most 16)")),
        "{text}"
    );
    assert!(text.contains("--allow-expensive-kdf"), "{text}");
}

#[test]
fn slots_are_tried_cheapest_first() {
    let backend = Arc::new(MemoryBackend::new());
    let repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    let cheap = repo.add_key(b"pw", CHEAP).unwrap();
    let first = repo.key_name().to_string();
    // Within the limits, but far dearer than the other slot: not tried
    // first, whatever the listing order.
    tamper_costs(&backend, &first, 1024 * 1024, 16);
    let t = std::time::Instant::now();
    let opened = Repository::open(backend.clone(), b"pw").unwrap();
    assert_eq!(opened.key_name(), cheap);
    assert!(t.elapsed().as_secs() < 5, "the 1 GiB slot was tried first");
}

#[test]
fn kdf_limits_name_every_cost_over_them() {
    let p = KdfParams {
        memory_kib: 2 * 1024 * 1024,
        iterations: 17,
        parallelism: 1,
    };
    assert_eq!(
        KdfLimits::DEFAULT.check(&p),
        Err("memory_kib 2097152 (at most 1048576), iterations 17 (at most 16)".to_string())
    );
    assert_eq!(KdfLimits::NONE.check(&p), Ok(()));
    assert_eq!(KdfLimits::DEFAULT.check(&KdfParams::default()), Ok(()));
}

/// Regression: one byte of the config's repository id changed gave "wrong
/// passphrase" (exit 4), though the passphrase was right.
#[test]
fn a_damaged_repository_id_in_the_config_is_damage_not_a_wrong_passphrase() {
    let backend = Arc::new(MemoryBackend::new());
    let repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    repo.add_key(b"second", CHEAP).unwrap();
    backend.tamper(FileType::Config, "config", |b| b[8 + 5] ^= 1);
    let Err(e) = Repository::open(backend.clone(), b"pw") else {
        panic!("a damaged config must not open");
    };
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert!(e.is_integrity());
    let text = e.to_string();
    assert!(text.contains("config"), "{text}");
    assert!(text.contains(&repo.id().to_hex()), "{text}");
    assert!(text.contains("the header is damaged"), "{text}");
    assert!(
        text.contains("sealed body"),
        "the right passphrase proves it: {text}"
    );
    // A wrong passphrase cannot prove it, but the mismatch is still damage.
    let Err(e) = Repository::open(backend, b"neither") else {
        panic!("a damaged config must not open");
    };
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("config"), "{e}");
}

/// Regression: a damaged key slot for the passphrase in use gave only
/// "wrong passphrase", with nothing naming the damaged slot.
#[test]
fn a_damaged_key_slot_for_the_passphrase_in_use_is_named() {
    let backend = Arc::new(MemoryBackend::new());
    let repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    let first = repo.key_name().to_string();
    let second = repo.add_key(b"second", CHEAP).unwrap();
    backend.tamper(FileType::Key, &first, |b| b.truncate(b.len() / 2));
    let Err(e) = Repository::open(backend.clone(), b"pw") else {
        panic!("the damaged slot cannot open");
    };
    let Error::WrongPassphrase {
        slots, unusable, ..
    } = &e
    else {
        panic!("an intact slot was tried, so it may be the passphrase: {e}");
    };
    assert_eq!((*slots, unusable.len()), (2, 1), "{e}");
    let text = e.to_string();
    assert!(text.contains(&format!("key {first}")), "{text}");
    assert!(text.contains("damaged"), "{text}");
    assert!(Repository::open(backend.clone(), b"second").is_ok());

    // With no intact slot left, it is damage.
    backend.tamper(FileType::Key, &second, |b| {
        let mut slot: serde_json::Value = serde_json::from_slice(b).unwrap();
        slot["sealed_master"] = "zz".into();
        *b = serde_json::to_vec(&slot).unwrap();
    });
    let Err(e) = Repository::open(backend, b"pw") else {
        panic!("no slot is intact");
    };
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains(&first) && text.contains(&second), "{text}");
}

#[test]
fn manifests_damaged_or_gone_since_they_were_read_are_found_again() {
    let (backend, repo) = crate::test_support::test_repo();
    let ids: Vec<Id> = (1..=5)
        .map(|g| {
            repo.write_manifest(&crate::test_support::manifest(
                "p/d",
                &format!("s{g}"),
                g,
                None,
            ))
            .unwrap()
        })
        .collect();
    assert!(repo.unreadable_manifests(&ids).unwrap().is_empty());
    backend.tamper(FileType::Snapshot, &ids[1].to_hex(), |b| b[40] ^= 1);
    backend
        .remove(FileType::Snapshot, &ids[3].to_hex())
        .unwrap();
    let found = repo.unreadable_manifests(&ids).unwrap();
    let mut expected = vec![ids[1], ids[3]];
    expected.sort();
    assert_eq!(
        found.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        expected
    );
    for (id, e) in &found {
        let text = e.to_string();
        assert!(text.contains(&id.to_hex()), "{text}");
        assert!(
            matches!(e, Error::Corrupt { .. } | Error::Missing { .. }),
            "{e:?}"
        );
    }
}

/// Regression (issue 17): `list --dataset X` divided one dataset's streams
/// by the whole repository's packs (a ratio of 0.02x). The stored bytes of
/// a set of snapshots are those of the distinct blobs they reference.
#[test]
fn stored_bytes_of_snapshots_count_each_shared_blob_once() {
    use crate::test_support::{fake_stream, pseudo_random, ship_test_stream};
    let (_backend, mut repo) = crate::test_support::test_repo();
    let shared = pseudo_random(1_000_000, 2);
    let a = fake_stream(&[pseudo_random(1_500_000, 1).as_slice(), &shared].concat());
    let b = fake_stream(&[shared.as_slice(), &pseudo_random(700_000, 3)].concat());
    let ida = ship_test_stream(&mut repo, &a, "a", 1, None);
    let idb = ship_test_stream(&mut repo, &b, "b", 2, None);
    let sa = repo.stored_bytes_of(&[ida]).unwrap();
    let sb = repo.stored_bytes_of(&[idb]).unwrap();
    let both = repo.stored_bytes_of(&[ida, idb]).unwrap();
    let ratio = a.len() as f64 / sa as f64;
    assert!((0.9..1.1).contains(&ratio), "{} / {sa}", a.len());
    assert!(both < sa + sb && both > sa.max(sb), "{sa} + {sb} vs {both}");
    assert!(both <= repo.pack_usage().unwrap().bytes);
    assert_eq!(repo.stored_bytes_of(&[]).unwrap(), 0);
}
