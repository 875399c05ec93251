//! File lists in a repository: stored and loaded back, kept by prune,
//! verified by check, and their damage does not make a stream unrestorable.

use super::*;
use crate::backend::{Backend, FileType};
use crate::check::{check, CheckOptions};
use crate::filelist::tests::{file, list};
use crate::format::file_list::{Entry, Kind};
use crate::progress::NoProgress;
use crate::prune::{plan_prune, prune, PruneOptions};
use crate::repo_lock::{LockKind, LockOptions, RepoLock};
use crate::ship::ship_stream;
use crate::test_support::{
    fake_stream, pool_ds_manifest as manifest, pseudo_random, restored, test_repo,
};

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
    read_data: Some(crate::check::ReadData::Sample(100.0)),
};

#[test]
fn prune_keeps_file_list_chunks_and_check_verifies_them() {
    let (backend, mut repo) = test_repo();
    let list = tree(2000);
    let files = store_file_list(&mut repo, &list, "clone", 0.1).unwrap();
    // The stream is shipped after the list: the list's packs hold nothing else.
    let mut m = manifest("a", 1, None);
    m.files = Some(files.clone());
    let stream = fake_stream(&pseudo_random(300_000, 4));
    let id = ship_stream(&mut repo, stream.as_slice(), m, &NoProgress).unwrap();
    assert_eq!(repo.read_manifest(&id).unwrap().files, Some(files.clone()));

    let pruner = plan_prune(&repo, PruneOptions::default()).unwrap();
    assert!(pruner.plan().is_empty(), "{:?}", pruner.plan());
    assert!(pruner.plan().referenced_blobs > files.chunks.len());

    // An orphan pack makes prune run; the list survives it.
    backend
        .write(FileType::Pack, &"ab".repeat(32), b"junk")
        .unwrap();
    let lock =
        RepoLock::acquire(&repo, LockKind::Exclusive, "prune", LockOptions::default()).unwrap();
    let pruner = plan_prune(&repo, PruneOptions::default()).unwrap();
    assert_eq!(pruner.plan().orphan_packs.len(), 1);
    prune(&mut repo, pruner, &lock, &NoProgress).unwrap();
    drop(lock);
    assert_eq!(load_file_list(&repo, &files, "pool/ds@a").unwrap(), list);
    let r = check(&repo, ALL, &NoProgress).unwrap();
    assert!(r.ok(), "{:?}", r.errors);
    assert_eq!(r.file_manifests_read, 1);
}

#[test]
fn a_damaged_file_list_is_an_error_of_check_but_the_stream_still_restores() {
    let (backend, mut repo) = test_repo();
    let files = store_file_list(&mut repo, &tree(500), "snapdir", 0.1).unwrap();
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

#[test]
fn store_and_load_round_trip_dedup_and_detect_damage() {
    let (backend, mut repo) = test_repo();
    // A list big enough for several chunks (16 KiB average in tests).
    let big = list(
        (0..3000u32)
            .map(|i| file(&format!("dir/file number {i:05}"), &i.to_le_bytes()))
            .collect(),
    );
    let r = store_file_list(&mut repo, &big, "clone", 1.5).unwrap();
    assert!(r.chunks.len() > 3, "{} chunks", r.chunks.len());
    assert_eq!(
        (r.entries, r.bytes, r.view.as_str()),
        (3000, 3000 * 4, "clone")
    );
    assert_eq!(r.len, encode(&big).len() as u64);
    assert_eq!(load_file_list(&repo, &r, "p/d@s").unwrap(), big);

    // The same list again stores nothing.
    let packs = backend.list(FileType::Pack).unwrap().len();
    let again = store_file_list(&mut repo, &big, "clone", 2.0).unwrap();
    assert_eq!(again.chunks, r.chunks);
    assert_eq!(backend.list(FileType::Pack).unwrap().len(), packs);

    // From a fresh open: the index segments were written.
    let reopened = crate::repository::Repository::open(backend.clone(), b"pw").unwrap();
    assert_eq!(load_file_list(&reopened, &r, "p/d@s").unwrap(), big);

    // A wrong digest in the reference is an integrity error naming the snapshot.
    let mut wrong = r.clone();
    wrong.digest = "00".repeat(32);
    let e = load_file_list(&repo, &wrong, "p/d@s").unwrap_err();
    assert!(e.is_integrity() && e.to_string().contains("p/d@s"), "{e}");

    // A flipped byte in a stored chunk.
    let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
    backend.tamper(FileType::Pack, &pack, |b| b[100] ^= 0x20);
    let e = load_file_list(&repo, &r, "p/d@s").unwrap_err();
    assert!(e.is_integrity(), "{e}");
    assert!(e.to_string().contains("p/d@s"), "{e}");
}
