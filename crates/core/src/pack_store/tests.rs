//! The pack store on the in-memory backend: loading the index.

use crate::backend::{Backend, FileType};
use crate::check::{check, CheckOptions};
use crate::progress::NoProgress;
use crate::repository::Repository;
use crate::test_support::{fake_stream, pseudo_random};
use crate::test_support::{ship_test_stream, test_repo};

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
