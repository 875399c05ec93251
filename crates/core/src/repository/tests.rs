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
    let again =
        Repository::open_with_key(backend.clone(), "escrow.key", &exported, b"second").unwrap();
    assert_eq!(again.id(), repo.id());
    assert_eq!(again.key_name(), "escrow.key");
    assert!(matches!(
        Repository::open_with_key(backend, "escrow.key", &exported, b"first"),
        Err(Error::WrongPassphrase { .. })
    ));
}
