//! Tests of the catalog against a real (in-memory) repository.

use std::sync::Arc;

use backup_core::test_support::{fake_stream, pseudo_random, small_opts};
use backup_core::{ship_stream, FileType, Manifest, MemoryBackend, NoProgress, Repository};

use super::Catalog;

fn manifest(name: &str, guid: u64, base: Option<u64>) -> Manifest {
    backup_core::test_support::manifest("pool/ds", name, guid, base)
}

#[test]
fn a_damaged_manifest_is_left_out_of_the_catalog_not_fatal() {
    let backend = Arc::new(MemoryBackend::new());
    let mut repo = Repository::init(backend.clone(), b"pw", small_opts()).unwrap();
    let data = fake_stream(&pseudo_random(50_000, 6));
    ship_stream(
        &mut repo,
        data.as_slice(),
        manifest("a", 1, None),
        &NoProgress,
    )
    .unwrap();
    let good = ship_stream(
        &mut repo,
        data.as_slice(),
        manifest("b", 2, None),
        &NoProgress,
    )
    .unwrap();
    let bad = repo
        .manifest_ids()
        .unwrap()
        .into_iter()
        .find(|i| *i != good)
        .unwrap();
    backend.tamper(FileType::Snapshot, &bad.to_hex(), |b| b[40] ^= 1);
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
    let report = cat.sync(&repo).unwrap();
    assert_eq!(report.stats.added, 1);
    assert!(report.unreadable[0].contains(&bad.to_hex()));
    assert_eq!(cat.snapshots().unwrap()[0].id, good);
}
