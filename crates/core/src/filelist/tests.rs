//! Walking and comparing trees, on temporary directories; the fixtures
//! (`populate`, `sample`, `file`, `list`) serve the encoding and
//! file-manifest tests too.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::test_support::pseudo_random;

pub(crate) const NON_UTF8: &[u8] = b"caf\xe9 \xff";

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
pub(crate) fn populate(root: &Path) -> bool {
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

#[test]
fn a_file_changed_in_the_second_its_base_was_taken_lends_no_digest() {
    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    let (mut base, _) = walk_counted(tmp.path(), None).unwrap();
    let files = || base.entries.iter().filter(|e| e.kind == Kind::File);
    let (first, last) = (
        files().map(|e| e.ctime).min().unwrap(),
        files().map(|e| e.ctime).max().unwrap(),
    );
    // Taken in the second of the files' last change (or before): a change
    // after it in that second would keep the same (coarse) ctime.
    assert_eq!(forget_racy_digests(&mut base.clone(), first), 4);
    // Taken a second later: a later change would show; digests are lent.
    assert_eq!(forget_racy_digests(&mut base.clone(), last + 1), 0);
    forget_racy_digests(&mut base, first);
    let (_, s) = walk_counted(tmp.path(), Some(&base)).unwrap();
    assert_eq!((s.files_reused, s.files_read), (0, 4));
}

pub(crate) fn file(path: &str, content: &[u8]) -> Entry {
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

pub(crate) fn list(entries: Vec<Entry>) -> FileList {
    let mut entries = entries;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    FileList { entries }
}

pub(crate) fn sample() -> FileList {
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
