//! Walk, compare, encoding and storage of file lists, on temporary
//! directories and the in-memory backend.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::backend::{Backend, FileType};
use crate::tests::{pseudo_random, test_repo};

const NON_UTF8: &[u8] = b"caf\xe9 \xff";

fn set_mtime(p: &Path, secs: u64, nanos: u32) {
    let t = UNIX_EPOCH + Duration::new(secs, nanos);
    fs::File::options()
        .write(true)
        .open(p)
        .or_else(|_| fs::File::open(p))
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// A tree with every kind the walker knows (devices only as root).
fn populate(root: &Path) -> bool {
    fs::create_dir_all(root.join("dir/sub")).unwrap();
    fs::write(root.join("dir/a.txt"), b"hello").unwrap();
    fs::write(root.join("big"), pseudo_random(3 << 20, 9)).unwrap();
    fs::write(root.join("empty"), b"").unwrap();
    fs::write(root.join(OsStr::from_bytes(NON_UTF8)), b"bytes").unwrap();
    symlink("dir/a.txt", root.join("link")).unwrap();
    symlink("/nowhere/at all", root.join("dangling")).unwrap();
    let ok = Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status()
        .unwrap();
    assert!(ok.success());
    drop(std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap());
    fs::set_permissions(root.join("dir/a.txt"), fs::Permissions::from_mode(0o4751)).unwrap();
    fs::set_permissions(root.join("dir/sub"), fs::Permissions::from_mode(0o1777)).unwrap();
    set_mtime(&root.join("dir/a.txt"), 1_600_000_000, 123_456_789);
    Command::new("mknod")
        .arg(root.join("null"))
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success())
}

fn entry<'a>(l: &'a FileList, p: &[u8]) -> &'a Entry {
    l.get(p)
        .unwrap_or_else(|| panic!("{:?} not listed", String::from_utf8_lossy(p)))
}

#[test]
fn walk_lists_every_kind_sorted_with_metadata_and_digests() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let devices = populate(root);
    let l = walk(root, None).unwrap();

    let paths: Vec<&[u8]> = l.entries.iter().map(|e| e.path.as_slice()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "sorted by path bytes");
    assert_eq!(l.entries[0].path, b"");
    assert_eq!(l.entries[0].kind, Kind::Dir);
    assert_eq!(l.entries[0].display_path(), "/");

    let a = entry(&l, b"dir/a.txt");
    assert_eq!((a.kind, a.size, a.mode), (Kind::File, 5, 0o4751));
    assert_eq!((a.mtime, a.mtime_nsec), (1_600_000_000, 123_456_789));
    assert_eq!(a.blake3, Some(*blake3::hash(b"hello").as_bytes()));
    assert!(a.ino != 0 && a.ctime > 0);
    assert_eq!((a.target.as_ref(), a.rdev), (None, None));
    let big = entry(&l, b"big");
    assert_eq!(
        big.blake3,
        Some(*blake3::hash(&pseudo_random(3 << 20, 9)).as_bytes())
    );
    assert_eq!(
        entry(&l, b"empty").blake3,
        Some(*blake3::hash(b"").as_bytes())
    );
    assert_eq!(
        entry(&l, NON_UTF8).blake3,
        Some(*blake3::hash(b"bytes").as_bytes())
    );
    let sub = entry(&l, b"dir/sub");
    assert_eq!((sub.kind, sub.mode, sub.size), (Kind::Dir, 0o1777, 0));
    let link = entry(&l, b"link");
    assert_eq!(link.kind, Kind::Symlink);
    assert_eq!(link.target.as_deref(), Some(&b"dir/a.txt"[..]));
    assert_eq!((link.size, link.blake3), (9, None));
    let dangling = entry(&l, b"dangling");
    assert_eq!(dangling.target.as_deref(), Some(&b"/nowhere/at all"[..]));
    assert_eq!(entry(&l, b"fifo").kind, Kind::Fifo);
    assert_eq!(entry(&l, b"sock").kind, Kind::Socket);
    if devices {
        let null = entry(&l, b"null");
        assert_eq!(null.kind, Kind::Char);
        assert_eq!(
            null.rdev,
            Some(
                fs::metadata("/dev/null")
                    .map(|m| {
                        use std::os::unix::fs::MetadataExt;
                        m.rdev()
                    })
                    .unwrap()
            )
        );
    }
    assert!(!entry(&l, NON_UTF8).display_path().is_empty());
    assert_eq!(l.file_bytes(), 5 + (3 << 20) + 5);
}

#[test]
fn walking_a_missing_root_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let gone = tmp.path().join("not here");
    let e = walk(&gone, None).unwrap_err();
    assert!(e.to_string().contains("not here"), "{e}");
}

#[test]
fn an_unchanged_file_takes_its_digest_from_the_previous_list() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    let (first, s1) = walk_counted(tmp.path(), None).unwrap();
    assert_eq!(s1.files_reused, 0);
    assert_eq!(s1.files_read, 4);
    assert_eq!(s1.bytes_read, 5 + (3 << 20) + 5);

    // A deliberately wrong digest in the previous list shows it was not read.
    let mut lent = first.clone();
    let planted = [7u8; 32];
    for e in lent.entries.iter_mut().filter(|e| e.kind == Kind::File) {
        e.blake3 = Some(planted);
    }
    // One file's ctime differs: it must be read again.
    let i = lent.entries.iter().position(|e| e.path == b"big").unwrap();
    lent.entries[i].ctime_nsec = (lent.entries[i].ctime_nsec + 1) % 1_000_000_000;
    let (second, s2) = walk_counted(tmp.path(), Some(&lent)).unwrap();
    assert_eq!((s2.files_reused, s2.files_read), (3, 1));
    assert_eq!(s2.bytes_read, 3 << 20);
    assert_eq!(entry(&second, b"dir/a.txt").blake3, Some(planted));
    assert_eq!(entry(&second, b"big").blake3, entry(&first, b"big").blake3);

    // A change of content (and so of ctime) is read again.
    fs::write(tmp.path().join("empty"), b"now full").unwrap();
    let (third, s3) = walk_counted(tmp.path(), Some(&first)).unwrap();
    assert_eq!((s3.files_reused, s3.files_read), (3, 1));
    assert_eq!(
        entry(&third, b"empty").blake3,
        Some(*blake3::hash(b"now full").as_bytes())
    );
}

fn file(path: &str, content: &[u8]) -> Entry {
    Entry {
        path: path.as_bytes().to_vec(),
        kind: Kind::File,
        size: content.len() as u64,
        mode: 0o644,
        uid: 1,
        gid: 2,
        mtime: 100,
        mtime_nsec: 5,
        ctime: 200,
        ctime_nsec: 6,
        ino: 9,
        target: None,
        rdev: None,
        blake3: Some(*blake3::hash(content).as_bytes()),
    }
}

fn list(entries: Vec<Entry>) -> FileList {
    let mut entries = entries;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    FileList { entries }
}

fn sample() -> FileList {
    let mut root = file("", b"");
    root.kind = Kind::Dir;
    root.size = 0;
    root.blake3 = None;
    let mut link = file("l", b"");
    link.kind = Kind::Symlink;
    link.blake3 = None;
    link.target = Some(b"a".to_vec());
    link.size = 1;
    let mut dev = file("d", b"");
    dev.kind = Kind::Block;
    dev.blake3 = None;
    dev.size = 0;
    dev.rdev = Some(0x0801);
    let mut odd = file("x", b"odd");
    odd.path = NON_UTF8.to_vec();
    list(vec![root, file("a", b"A"), file("b", b"B"), link, dev, odd])
}

#[test]
fn compare_finds_each_kind_of_difference() {
    let expected = sample();
    assert!(compare(&expected, &expected, 10).matches());

    let mut actual = expected.clone();
    let at = |l: &mut FileList, p: &[u8]| {
        let i = l.entries.iter().position(|e| e.path == p).unwrap();
        i
    };
    // ctime and ino are not compared.
    let i = at(&mut actual, b"a");
    actual.entries[i].ctime += 1;
    actual.entries[i].ino += 1;
    assert!(compare(&expected, &actual, 10).matches());

    let i = at(&mut actual, b"");
    actual.entries[i].mtime_nsec += 1;
    let i = at(&mut actual, b"a");
    actual.entries[i].mode = 0o600;
    actual.entries[i].gid = 0;
    let i = at(&mut actual, b"b");
    actual.entries[i] = file("b", b"BB");
    let i = at(&mut actual, b"l");
    actual.entries[i].target = Some(b"b".to_vec());
    let i = at(&mut actual, b"d");
    actual.entries[i].rdev = Some(0x0802);
    actual.entries[i].kind = Kind::Char;
    let i = at(&mut actual, NON_UTF8);
    actual.entries.remove(i);
    actual.entries.push(file("zz", b"new"));

    let c = compare(&expected, &actual, 10);
    assert!(!c.matches());
    assert_eq!((c.expected, c.actual), (6, 6));
    assert_eq!((c.missing, c.extra, c.changed), (1, 1, 5));
    assert_eq!(c.missing_paths, [String::from_utf8_lossy(NON_UTF8)]);
    assert_eq!(c.extra_paths, ["zz"]);
    let changed: Vec<(&str, Vec<&str>)> = c
        .changed_paths
        .iter()
        .map(|(p, d)| (p.as_str(), d.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        changed,
        [
            ("/", vec!["mtime"]),
            ("a", vec!["mode", "owner"]),
            ("b", vec!["size", "content"]),
            ("d", vec!["type", "rdev"]),
            ("l", vec!["target"]),
        ]
    );
}

#[test]
fn compare_counts_everything_but_lists_only_cap() {
    let expected = list((0..50).map(|i| file(&format!("e{i:02}"), b"x")).collect());
    let actual = list((0..30).map(|i| file(&format!("a{i:02}"), b"y")).collect());
    let c = compare(&expected, &actual, 3);
    assert_eq!((c.missing, c.extra, c.changed), (50, 30, 0));
    assert_eq!(c.missing_paths, ["e00", "e01", "e02"]);
    assert_eq!(c.extra_paths, ["a00", "a01", "a02"]);
    let changed = list((0..50).map(|i| file(&format!("e{i:02}"), b"z")).collect());
    let c = compare(&expected, &changed, 2);
    assert_eq!(c.changed, 50);
    assert_eq!(c.changed_paths.len(), 2);
    assert_eq!(compare(&expected, &changed, 0).changed_paths.len(), 0);
}

#[test]
fn encoding_round_trips_and_is_deterministic() {
    let l = sample();
    let bytes = encode(&l);
    assert_eq!(&bytes[..4], b"BKFL");
    assert_eq!(bytes[4], 1);
    assert_eq!(u64::from_le_bytes(bytes[8..16].try_into().unwrap()), 6);
    assert_eq!(decode(&bytes).unwrap(), l);
    assert_eq!(encode(&l.clone()), bytes);
    assert_eq!(
        decode(&encode(&FileList::default())).unwrap(),
        FileList::default()
    );

    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    let walked = walk(tmp.path(), None).unwrap();
    assert_eq!(decode(&encode(&walked)).unwrap(), walked);
}

#[test]
fn decoding_refuses_garbage_with_a_reason() {
    let good = encode(&sample());
    for cut in 0..good.len() {
        assert!(decode(&good[..cut]).is_err(), "cut at {cut} accepted");
    }
    let bad = |f: &dyn Fn(&mut Vec<u8>), why: &str| {
        let mut b = good.clone();
        f(&mut b);
        let e = decode(&b).unwrap_err();
        assert!(e.contains(why), "{e}");
    };
    bad(&|b| b[0] = b'X', "magic");
    bad(&|b| b[4] = 2, "version 2");
    bad(&|b| b[6] = 1, "reserved");
    bad(&|b| b.push(0), "trailing");
    bad(&|b| b[8] = 200, "cannot fit");
    // The root entry's kind byte, then its flags: a digest on a directory.
    bad(&|b| b[20] = 9, "unknown kind 9");
    bad(&|b| b[21] = 4, "do not fit");
    bad(&|b| b[21] = 0x80, "unknown flags");
    // Two entries out of order.
    let mut l = sample();
    l.entries.swap(1, 2);
    let e = decode(&encode(&l)).unwrap_err();
    assert!(e.contains("is not after"), "{e}");
    let mut l = sample();
    l.entries[1].mtime_nsec = 1_000_000_000;
    assert!(decode(&encode(&l)).unwrap_err().contains("nanoseconds"));
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
    let r = store(&mut repo, &big, "clone", 1.5).unwrap();
    assert!(r.chunks.len() > 3, "{} chunks", r.chunks.len());
    assert_eq!(
        (r.entries, r.bytes, r.view.as_str()),
        (3000, 3000 * 4, "clone")
    );
    assert_eq!(r.len, encode(&big).len() as u64);
    assert_eq!(load(&repo, &r, "p/d@s").unwrap(), big);

    // The same list again stores nothing.
    let packs = backend.list(FileType::Pack).unwrap().len();
    let again = store(&mut repo, &big, "clone", 2.0).unwrap();
    assert_eq!(again.chunks, r.chunks);
    assert_eq!(backend.list(FileType::Pack).unwrap().len(), packs);

    // From a fresh open: the index segments were written.
    let reopened = crate::Repository::open(backend.clone(), b"pw").unwrap();
    assert_eq!(load(&reopened, &r, "p/d@s").unwrap(), big);

    // A wrong digest in the reference is an integrity error naming the snapshot.
    let mut wrong = r.clone();
    wrong.digest = "00".repeat(32);
    let e = load(&repo, &wrong, "p/d@s").unwrap_err();
    assert!(e.is_integrity() && e.to_string().contains("p/d@s"), "{e}");

    // A flipped byte in a stored chunk.
    let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
    backend.tamper(FileType::Pack, &pack, |b| b[100] ^= 0x20);
    let e = load(&repo, &r, "p/d@s").unwrap_err();
    assert!(e.is_integrity(), "{e}");
    assert!(e.to_string().contains("p/d@s"), "{e}");
}
