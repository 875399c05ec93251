//! File lists in a repository with snapshots: prune keeps their chunks,
//! check verifies them, and their damage does not make a stream unrestorable.

use super::*;
use crate::backend::{Backend, FileType};
use crate::progress::NoProgress;
use crate::prune::{execute, plan, PruneOptions};
use crate::repo_lock::{LockKind, LockOptions, RepoLock};
use crate::tests::{fake_stream, manifest, pseudo_random, restored, test_repo};
use crate::{check, ship_stream, CheckOptions};

fn tree(n: u32) -> FileList {
    FileList {
        entries: (0..n)
            .map(|i| Entry {
                path: format!("f{i:06}").into_bytes(),
                kind: Kind::File,
                size: 4,
                mode: 0o644,
                uid: 0,
                gid: 0,
                mtime: i64::from(i),
                mtime_nsec: 0,
                ctime: i64::from(i),
                ctime_nsec: 0,
                ino: u64::from(i),
                target: None,
                rdev: None,
                blake3: Some(*blake3::hash(&i.to_le_bytes()).as_bytes()),
            })
            .collect(),
    }
}

const ALL: CheckOptions = CheckOptions {
    read_data_percent: Some(100.0),
};

#[test]
fn prune_keeps_file_list_chunks_and_check_verifies_them() {
    let (backend, mut repo) = test_repo();
    let list = tree(2000);
    let files = store(&mut repo, &list, "clone", 0.1).unwrap();
    // The stream is shipped after the list: the list's packs hold nothing else.
    let mut m = manifest("a", 1, None);
    m.files = Some(files.clone());
    let stream = fake_stream(&pseudo_random(300_000, 4));
    let id = ship_stream(&mut repo, stream.as_slice(), m, &NoProgress).unwrap();
    assert_eq!(repo.read_manifest(&id).unwrap().files, Some(files.clone()));

    let pruner = plan(&repo, PruneOptions::default()).unwrap();
    assert!(pruner.plan().is_empty(), "{:?}", pruner.plan());
    assert!(pruner.plan().referenced_blobs > files.chunks.len());

    // An orphan pack makes prune run; the list survives it.
    backend
        .write(FileType::Pack, &"ab".repeat(32), b"junk")
        .unwrap();
    let lock =
        RepoLock::acquire(&repo, LockKind::Exclusive, "prune", LockOptions::default()).unwrap();
    let pruner = plan(&repo, PruneOptions::default()).unwrap();
    assert_eq!(pruner.plan().orphan_packs.len(), 1);
    execute(&mut repo, pruner, &lock, &NoProgress).unwrap();
    drop(lock);
    assert_eq!(load(&repo, &files, "pool/ds@a").unwrap(), list);
    let r = check(&repo, ALL, &NoProgress).unwrap();
    assert!(r.ok(), "{:?}", r.errors);
    assert_eq!(r.file_manifests_read, 1);
}

#[test]
fn a_damaged_file_list_is_an_error_of_check_but_the_stream_still_restores() {
    let (backend, mut repo) = test_repo();
    let files = store(&mut repo, &tree(500), "snapdir", 0.1).unwrap();
    let list_packs = backend.list(FileType::Pack).unwrap();
    let mut m = manifest("a", 1, None);
    m.files = Some(files.clone());
    let stream = fake_stream(&pseudo_random(100_000, 5));
    let id = ship_stream(&mut repo, stream.as_slice(), m, &NoProgress).unwrap();

    let (pack, _) = &list_packs[0];
    backend.tamper(FileType::Pack, pack, |b| b[100] ^= 1);
    let r = check(&repo, ALL, &NoProgress).unwrap();
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("file manifest of snapshot pool/ds@a")),
        "{:?}",
        r.errors
    );
    assert!(r.damaged_snapshots.is_empty(), "{:?}", r.damaged_snapshots);
    assert_eq!(restored(&repo, &id).unwrap(), stream);

    // A file list chunk no index lists: found without reading data.
    backend.remove(FileType::Pack, pack).unwrap();
    for (name, _) in backend.list(FileType::Index).unwrap() {
        backend.remove(FileType::Index, &name).unwrap();
    }
    repo.reload_index().unwrap();
    let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert!(
        r.errors
            .iter()
            .any(|e| e.starts_with("the file manifest of snapshot pool/ds@a")
                && e.ends_with("that no index lists")),
        "{:?}",
        r.errors
    );
}
