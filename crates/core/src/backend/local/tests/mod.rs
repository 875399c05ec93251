//! Unit tests of the local backend: objects, temporary files, modes; and
//! (`power_cut`) the backend over simulated power cuts.

mod power_cut;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

#[test]
fn write_read_list_remove() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path().join("repo"));
    b.create().unwrap();
    b.write(FileType::Pack, "abcdef", b"pack").unwrap();
    b.write(FileType::Index, "i1", b"idx").unwrap();
    assert_eq!(b.read(FileType::Pack, "abcdef").unwrap(), b"pack");
    assert_eq!(b.read_range(FileType::Pack, "abcdef", 1, 2).unwrap(), b"ac");
    assert!(b.read_range(FileType::Pack, "abcdef", 3, 2).is_err());
    assert_eq!(b.list(FileType::Pack).unwrap(), vec![("abcdef".into(), 4)]);
    assert!(dir.path().join("repo/data/ab/abcdef").is_file());
    assert!(matches!(
        b.read(FileType::Index, "nope"),
        Err(Error::Missing { .. })
    ));
    b.remove(FileType::Pack, "abcdef").unwrap();
    b.remove(FileType::Pack, "abcdef").unwrap();
    assert!(b.list(FileType::Pack).unwrap().is_empty());
    b.write(FileType::Config, "config", b"c").unwrap();
    assert!(matches!(b.create(), Err(Error::AlreadyExists { .. })));
}

#[test]
fn temporary_files_are_listed_apart_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let b = LocalBackend::new(dir.path().join("repo"));
    b.create().unwrap();
    b.write(FileType::Pack, "abcdef", b"pack").unwrap();
    // What a SIGKILLed ship leaves.
    fs::write(
        dir.path().join("repo/data/ab/.tmp-99999-0123abcd"),
        b"partial",
    )
    .unwrap();
    fs::write(dir.path().join("repo/index/.tmp-99999-feedbeef"), b"xy").unwrap();
    assert_eq!(b.list(FileType::Pack).unwrap(), vec![("abcdef".into(), 4)]);
    let packs = b.list_temporary(FileType::Pack).unwrap();
    assert_eq!(packs.len(), 1);
    assert_eq!(packs[0].name, "ab/.tmp-99999-0123abcd");
    assert_eq!((packs[0].size, packs[0].pid()), (7, Some(99999)));
    assert!(packs[0].modified.is_some());
    let index = b.list_temporary(FileType::Index).unwrap();
    assert_eq!(index[0].name, ".tmp-99999-feedbeef");
    assert!(b.list_temporary(FileType::Snapshot).unwrap().is_empty());
    // Never an object, never outside the type's directory.
    for bad in [
        "ab/abcdef",
        "abcdef",
        "../config",
        "ab/../../config",
        ".tmp-",
    ] {
        assert!(matches!(
            b.remove_temporary(FileType::Pack, bad),
            Err(Error::Invalid { .. })
        ));
    }
    b.remove_temporary(FileType::Pack, &packs[0].name).unwrap();
    b.remove_temporary(FileType::Pack, &packs[0].name).unwrap();
    b.remove_temporary(FileType::Index, &index[0].name).unwrap();
    assert!(b.list_temporary(FileType::Pack).unwrap().is_empty());
    assert!(b.list_temporary(FileType::Index).unwrap().is_empty());
    assert_eq!(b.read(FileType::Pack, "abcdef").unwrap(), b"pack");
}

/// Modes are 0700 and 0600 under the test's umask (usually 022; the
/// e2e test `modes::` sets 022 explicitly).
#[test]
fn modes_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let b = LocalBackend::new(&root);
    b.create().unwrap();
    b.write(FileType::Pack, "abcdef", b"pack").unwrap();
    b.write(FileType::Key, "k1", b"key").unwrap();
    b.write(FileType::Config, "config", b"c").unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&root), 0o700);
    for d in ["data", "data/ab", "keys", "index", "snapshots", "locks"] {
        assert_eq!(mode(&root.join(d)), 0o700, "{d}");
    }
    for f in ["data/ab/abcdef", "keys/k1", "config"] {
        assert_eq!(mode(&root.join(f)), 0o600, "{f}");
    }
}
