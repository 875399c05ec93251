//! `restore --path --into`: files and subtrees back from a chain, by the
//! fast path (only their blocks fetched) and the slow path (a scratch
//! receive), each file compared byte for byte with what the snapshot held.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::harness::{assert_ok, damage_the_biggest_pack, noise, run_ok, stderr, Env};

/// What each snapshot held, path -> bytes (regular files only).
type Held = HashMap<&'static [u8], Vec<u8>>;

/// s1: a 3 MiB file, a sparse file, a file to delete and one whose object
/// is reused, names with a space and a non-UTF-8 byte, a hard link, a
/// symlink. s2: the big file changed in its middle, `re` deleted, `old`
/// deleted and its object number reused by `reused` (after a remount,
/// zfs-fuse's allocator starts from the first free object). s3: `re`
/// back with other contents.
fn chain(env: &Env) -> (backup_zfs::DatasetName, [Held; 3]) {
    let ds = env.dataset("srv");
    let root = env.mountpoint(&ds);
    let big = noise(3 << 20, 1);
    fs::create_dir_all(root.join("etc/nginx")).unwrap();
    fs::write(root.join("etc/nginx/nginx.conf"), "worker_processes 1;\n").unwrap();
    fs::write(root.join("big"), &big).unwrap();
    let sparse = fs::File::create(root.join("sparse")).unwrap();
    sparse.write_all_at(b"end", 10 << 20).unwrap();
    drop(sparse);
    fs::write(root.join("re"), "first\n").unwrap();
    fs::write(root.join("old"), noise(300 << 10, 2)).unwrap();
    fs::create_dir(root.join("dir with space")).unwrap();
    fs::write(root.join("dir with space/a b"), "spaced\n").unwrap();
    fs::write(root.join(OsStr::from_bytes(b"caf\xe9")), "latin-1\n").unwrap();
    fs::hard_link(root.join("etc/nginx/nginx.conf"), root.join("etc/linked")).unwrap();
    std::os::unix::fs::symlink("nginx/nginx.conf", root.join("etc/conf-link")).unwrap();
    let mut s1: Held = HashMap::new();
    s1.insert(b"big", big.clone());
    s1.insert(b"re", b"first\n".to_vec());
    s1.insert(b"etc/nginx/nginx.conf", b"worker_processes 1;\n".to_vec());
    let mut sp = vec![0u8; (10 << 20) + 3];
    sp[10 << 20..].copy_from_slice(b"end");
    s1.insert(b"sparse", sp);
    s1.insert(b"caf\xe9", b"latin-1\n".to_vec());
    let snap = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &snap.to_string()]), "send s1");

    let old_ino = fs::metadata(root.join("old")).unwrap().ino();
    let mut big2 = big.clone();
    big2[1 << 20..(1 << 20) + 200_000].copy_from_slice(&noise(200_000, 3));
    fs::File::options()
        .write(true)
        .open(root.join("big"))
        .unwrap()
        .write_all_at(&big2[1 << 20..(1 << 20) + 200_000], 1 << 20)
        .unwrap();
    fs::remove_file(root.join("re")).unwrap();
    fs::remove_file(root.join("old")).unwrap();
    env.snapshot(&ds, "between");
    run_ok("zfs", ["umount", ds.as_str()]);
    run_ok("zfs", ["mount", ds.as_str()]);
    fs::write(root.join("reused"), "a new file in an old object\n").unwrap();
    let reused_ino = fs::metadata(root.join("reused")).unwrap().ino();
    eprintln!("old was object {old_ino}, reused is object {reused_ino}");
    let mut s2 = s1.clone();
    s2.insert(b"big", big2.clone());
    s2.remove(b"re".as_slice());
    s2.insert(b"reused", b"a new file in an old object\n".to_vec());
    let snap = env.snapshot(&ds, "s2");
    assert_ok(&env.backup(["send", &snap.to_string()]), "send s2");

    fs::write(root.join("re"), "second, longer than the first\n").unwrap();
    let mut s3 = s2.clone();
    s3.insert(b"re", b"second, longer than the first\n".to_vec());
    let snap = env.snapshot(&ds, "s3");
    assert_ok(&env.backup(["send", &snap.to_string()]), "send s3");
    (ds, [s1, s2, s3])
}

fn restore(
    env: &Env,
    snap: &str,
    paths: &[&[u8]],
    into: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let mut args: Vec<&OsStr> = vec![OsStr::new("restore"), OsStr::new(snap)];
    for p in paths {
        args.push(OsStr::new("--path"));
        args.push(OsStr::from_bytes(p));
    }
    args.extend([OsStr::new("--into"), into.as_os_str(), OsStr::new("--json")]);
    args.extend(extra.iter().map(OsStr::new));
    let out = env.backup(&args);
    assert_ok(&out, &format!("restore {snap} --path ..."));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn how<'a>(v: &'a serde_json::Value, path: &str) -> &'a str {
    v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == path)
        .unwrap_or_else(|| panic!("{path} not restored: {v}"))["how"]
        .as_str()
        .unwrap()
}

fn at(dir: &Path, p: &[u8]) -> PathBuf {
    dir.join(OsStr::from_bytes(p))
}

#[test]
fn files_come_back_from_the_middle_and_the_end_of_a_chain_by_their_blocks_alone() {
    let env = Env::new();
    let (ds, held) = chain(&env);
    for (i, h) in held.iter().enumerate() {
        let snap = format!("{ds}@s{}", i + 1);
        let into = env.tmp.path().join(format!("r{}", i + 1));
        let paths: Vec<&[u8]> = h.keys().copied().collect();
        let v = restore(&env, &snap, &paths, &into, &["--fast-only"]);
        for (p, want) in h {
            let got = fs::read(at(&into, p)).unwrap();
            assert!(
                got == *want,
                "{snap}: {} differs",
                String::from_utf8_lossy(p)
            );
        }
        assert_eq!(how(&v, "big"), "fast", "{v}");
        let fetched = v["data_fetched"].as_u64().unwrap();
        assert!(fetched < 3 * (4 << 20), "{snap}: fetched {fetched} bytes");
    }
    // The sparse file stays sparse.
    let sparse = fs::metadata(env.tmp.path().join("r1/sparse")).unwrap();
    assert!(
        sparse.blocks() * 512 < 1 << 20,
        "{} blocks",
        sparse.blocks()
    );

    // A subtree: directories, a hard link, a symlink, with their metadata.
    let into = env.tmp.path().join("tree");
    let v = restore(&env, &format!("{ds}@s3"), &[b"/etc/"], &into, &[]);
    let conf = into.join("etc/nginx/nginx.conf");
    assert_eq!(fs::read(&conf).unwrap(), b"worker_processes 1;\n");
    assert_eq!(
        fs::metadata(&conf).unwrap().ino(),
        fs::metadata(into.join("etc/linked")).unwrap().ino(),
        "the hard link is one"
    );
    // Paths sort "etc/linked" first: the manifest's later path is the link.
    assert_eq!(how(&v, "etc/nginx/nginx.conf"), "link");
    assert_eq!(
        fs::read_link(into.join("etc/conf-link")).unwrap(),
        Path::new("nginx/nginx.conf")
    );
    let src = env.mountpoint(&ds).join("etc/nginx/nginx.conf");
    assert_eq!(
        fs::metadata(&conf).unwrap().mtime(),
        fs::metadata(&src).unwrap().mtime()
    );
    assert!(
        !fs::read_dir(&into).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".backup-restore")),
        "the stage directory is gone"
    );

    // An existing file is not replaced without --overwrite; nothing is made.
    let out = env.backup([
        "restore",
        &format!("{ds}@s1"),
        "--path",
        "etc",
        "--into",
        into.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nginx.conf exists"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(&conf).unwrap(), b"worker_processes 1;\n");
    let v = restore(&env, &format!("{ds}@s1"), &[b"re"], &into, &[]);
    assert_eq!(how(&v, "re"), "fast");
    let v = restore(&env, &format!("{ds}@s3"), &[b"re"], &into, &["--overwrite"]);
    assert_eq!(how(&v, "re"), "fast");
    assert_eq!(
        fs::read(into.join("re")).unwrap(),
        held[2][b"re".as_slice()]
    );

    // A path the snapshot does not have is named.
    let out = env.backup([
        "restore",
        &format!("{ds}@s2"),
        "--path",
        "re",
        "--into",
        into.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--path re"), "{}", stderr(&out));

    // The slow path gives the same files, and leaves no scratch pool.
    let into = env.tmp.path().join("slow");
    let v = restore(
        &env,
        &format!("{ds}@s2"),
        &[b"big", b"reused"],
        &into,
        &["--slow-path"],
    );
    assert_eq!(how(&v, "big"), "slow");
    assert_eq!(
        fs::read(into.join("big")).unwrap(),
        held[1][b"big".as_slice()]
    );
    assert_eq!(
        fs::read(into.join("reused")).unwrap(),
        held[1][b"reused".as_slice()]
    );
    let pools = run_ok("zpool", ["list", "-H", "-o", "name"]);
    assert!(
        !String::from_utf8_lossy(&pools.stdout).contains("backupdrill"),
        "a scratch pool is left"
    );
}

#[test]
fn a_damaged_chunk_fails_the_file_naming_it_and_leaves_nothing_in_the_directory() {
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("f"), noise(4 << 20, 7)).unwrap();
    let snap = env.snapshot(&ds, "s");
    assert_ok(&env.backup(["send", &snap.to_string()]), "send");
    damage_the_biggest_pack(&env);

    let into = env.tmp.path().join("out");
    let out = env.backup([
        "restore",
        &snap.to_string(),
        "--path",
        "f",
        "--into",
        into.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let ino = fs::metadata(env.mountpoint(&ds).join("f")).unwrap().ino();
    assert!(
        stderr(&out).contains(&format!("restoring f (object {ino})")),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_dir(&into).unwrap().count(), 0, "DIR is left empty");
}

/// A snapshot `d@s2` (an incremental on `d@s1`) whose file manifest
/// records for `f` (of `size` bytes) a BLAKE3 its stream does not have:
/// an incremental's walk reads the changed files from a clone, and `f` is
/// changed there while the send waits. `g` is untouched. `None` where
/// the view is `.zfs/snapshot` (OpenZFS), which cannot be changed.
pub(crate) fn sabotaged(env: &Env, size: usize) -> Option<String> {
    if !crate::file_manifests::is_fuse() {
        return None;
    }
    let ds = env.dataset("d");
    let root = env.mountpoint(&ds);
    fs::write(root.join("f"), noise(size, 3)).unwrap();
    fs::write(root.join("g"), "untouched\n").unwrap();
    let s1 = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s1.to_string()]), "send s1");
    let mut data = noise(size, 4);
    fs::write(root.join("f"), &data).unwrap();
    let snap = env.snapshot(&ds, "s2");
    let (child, marker, lines) = crate::file_manifests::send_paused(env, &snap.to_string());
    data[1000] ^= 0xff;
    run_ok("zfs", ["set", "readonly=off", &lines[1]]);
    fs::write(Path::new(&lines[0]).join("f"), &data).unwrap();
    let out = crate::file_manifests::release(child, &marker);
    assert_ok(&out, "send");
    Some(snap.to_string())
}

#[test]
fn a_file_whose_blocks_do_not_hash_to_the_manifest_falls_back_then_fails_naming_it() {
    let env = Env::new();
    let Some(s) = sabotaged(&env, 200_000) else {
        return; // the sabotage needs a clone view
    };

    // The fast path rebuilds the snapshot's bytes, sees the mismatch, and
    // hands the file to the slow path, which receives the same bytes and
    // fails: exit 3, naming the file; nothing is left in DIR.
    let into = env.tmp.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "restore",
            &s,
            "--path",
            "f",
            "--into",
            into.to_str().unwrap(),
        ];
        args.extend(extra);
        env.backup(args)
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("f as received from the repository"), "{err}");
    assert!(
        err.contains("the stream and the manifest disagree"),
        "{err}"
    );
    assert_eq!(fs::read_dir(&into).unwrap().count(), 0, "DIR is left empty");
    // --fast-only says what the fast path found, and that the slow path
    // would try.
    let out = run(&["--fast-only"]);
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("do not hash to the manifest's BLAKE3") && err.contains("slow path"),
        "{err}"
    );
    assert_eq!(fs::read_dir(&into).unwrap().count(), 0, "DIR is left empty");
    // The other file of the snapshot comes back.
    let v = restore(&env, &s, &[b"g"], &into, &[]);
    assert_eq!(how(&v, "g"), "fast");
    assert_eq!(fs::read(into.join("g")).unwrap(), b"untouched\n");
}
