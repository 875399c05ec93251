//! Ship full and incremental, restore both, compare every file.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::harness::{assert_ok, assert_same_tree, noise, run_ok, Env};

fn touch(path: &Path, when: &str) {
    run_ok("touch", ["-h", "-m", "-d", when, path.to_str().unwrap()]);
}

/// Text, random data, a large sparse file, names with spaces and non-ASCII,
/// a symlink, odd modes and owners, fixed mtimes.
fn populate(root: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    fs::write(root.join("readme.txt"), "hello, restore\n".repeat(1000)).unwrap();
    fs::write(root.join("random.bin"), noise(6 << 20, 1)).unwrap();
    let sparse = fs::File::create(root.join("sparse.img")).unwrap();
    sparse.set_len(3 << 30).unwrap();
    drop(sparse);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(root.join("sparse.img"))
        .unwrap();
    f.seek(SeekFrom::Start(1 << 30)).unwrap();
    f.write_all(&noise(64 * 1024, 2)).unwrap();
    drop(f);
    fs::create_dir_all(root.join("dir with space/ünïcødé — 日本")).unwrap();
    fs::write(
        root.join("dir with space/ünïcødé — 日本/naïve file.txt"),
        "ça marche\n",
    )
    .unwrap();
    fs::write(root.join("dir with space/empty"), "").unwrap();
    symlink("../readme.txt", root.join("dir with space/link")).unwrap();
    fs::set_permissions(
        root.join("dir with space/empty"),
        fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    fs::create_dir(root.join("private")).unwrap();
    fs::set_permissions(root.join("private"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(root.join("private/owned"), "not root's").unwrap();
    std::os::unix::fs::chown(root.join("private/owned"), Some(1234), Some(5678)).unwrap();
    touch(&root.join("readme.txt"), "2001-02-03 04:05:06.123456789");
    touch(&root.join("dir with space/link"), "2002-03-04 05:06:07");
}

/// Changes of every kind, most of the random file untouched (dedup).
fn modify(root: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let mut text = fs::read_to_string(root.join("readme.txt")).unwrap();
    text.push_str("one more line\n");
    fs::write(root.join("readme.txt"), text).unwrap();
    fs::remove_file(root.join("dir with space/empty")).unwrap();
    fs::rename(root.join("private/owned"), root.join("private/renamed")).unwrap();
    fs::write(root.join("new file.bin"), noise(1 << 20, 3)).unwrap();
    // In place: only the blocks touched change (fs::write would rewrite all).
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(root.join("random.bin"))
        .unwrap();
    f.seek(SeekFrom::Start(3 << 20)).unwrap();
    f.write_all(&noise(4096, 4)).unwrap();
}

#[test]
fn full_then_incremental_restore_both_and_compare() {
    let env = Env::new();
    let ds = env.dataset("data set");
    let mnt = env.mountpoint(&ds);
    populate(&mnt);
    let s1 = env.snapshot(&ds, "one");
    assert_ok(&env.backup(["send", &s1.to_string()]), "send full");

    modify(&mnt);
    let out = env.backup(["send", "--json", ds.as_str()]);
    assert_ok(&out, "send incremental");
    let shipped: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shipped["base_snapshot"], s1.to_string());
    let s2 = backup_zfs::SnapshotName::parse(shipped["snapshot"].as_str().unwrap()).unwrap();
    assert!(s2.snap().starts_with("backup-"), "{s2}");

    let list = env.list();
    assert_eq!(list.len(), 2);
    let (full, incr) = (&list[0], &list[1]);
    assert_eq!(full["kind"], "full");
    assert_eq!(full["name"], s1.to_string());
    assert_eq!(incr["kind"], "incremental");
    assert_eq!(incr["base_guid"], full["guid"]);
    let full_guid = env.pool.zfs().snapshot_info(&s1).unwrap().guid;
    assert_eq!(full["guid"], full_guid.to_string());
    // The incremental stored far less than the full.
    assert!(
        incr["new_stored_bytes"].as_u64().unwrap() * 3 < full["new_stored_bytes"].as_u64().unwrap()
    );

    // Restore each into a new dataset and compare with a clone of the source.
    let id1 = full["id"].as_str().unwrap();
    let id2 = &incr["id"].as_str().unwrap()[..12];
    let r1 = env.pool.root().child("r1").unwrap();
    let r2 = env.pool.root().child("r2").unwrap();
    assert_ok(
        &env.backup(["restore", id1, "--to", r1.as_str()]),
        "restore full",
    );
    assert_ok(
        &env.backup(["restore", id2, "--to", r2.as_str()]),
        "restore incremental",
    );
    assert_same_tree(&env.clone_of(&s1, "c1"), &env.mountpoint(&r1));
    assert_same_tree(&env.clone_of(&s2, "c2"), &env.mountpoint(&r2));
    // The restored snapshots carry the source's identity.
    let restored = env.pool.zfs().list_snapshots(&r2).unwrap();
    let guids: Vec<u64> = restored.iter().map(|s| s.guid).collect();
    assert_eq!(
        guids,
        [full_guid, env.pool.zfs().snapshot_info(&s2).unwrap().guid]
    );

    let out = env.backup(["check", "--read-data"]);
    assert_ok(&out, "check --read-data");
    assert!(String::from_utf8_lossy(&out.stdout).contains("no errors"));
}

#[test]
fn restore_to_file_and_receive_by_hand() {
    let env = Env::new();
    let ds = env.dataset("src");
    fs::write(env.mountpoint(&ds).join("a file"), noise(300_000, 9)).unwrap();
    let s1 = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s1.to_string()]), "send");

    let file = env.tmp.path().join("stream.zfs");
    let out = env.backup([
        "restore",
        &s1.to_string(),
        "--to-file",
        file.to_str().unwrap(),
    ]);
    assert_ok(&out, "restore --to-file");
    let to_stdout = env.backup(["restore", &s1.to_string(), "--to-file", "-"]);
    assert_ok(&to_stdout, "restore --to-file -");
    assert_eq!(to_stdout.stdout, fs::read(&file).unwrap());
    let list = env.list();
    let digest = blake3::hash(&to_stdout.stdout).to_hex().to_string();
    assert_eq!(list[0]["stream_digest"], digest);

    let target = env.pool.root().child("by hand").unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg("zfs receive \"$1\" < \"$2\"")
        .args(["sh", target.as_str(), file.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_same_tree(&env.mountpoint(&ds), &env.mountpoint(&target));
}

#[test]
fn second_send_is_a_no_op_and_a_forced_full_of_unchanged_data_stores_almost_nothing() {
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("f"), noise(3 << 20, 5)).unwrap();
    let s1 = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s1.to_string()]), "send");
    let again = env.backup(["send", &s1.to_string()]);
    assert_ok(&again, "send again");
    assert!(String::from_utf8_lossy(&again.stdout).contains("already in the repository"));
    let s2 = env.snapshot(&ds, "s2");
    let out = env.backup(["send", "--full", "--json", &s2.to_string()]);
    assert_ok(&out, "send --full");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["base_guid"].is_null(), "{v}");
    // Same files as s1: the blocks are stored already; only the record
    // headers (which name the snapshot) are new.
    let stored = v["new_stored_bytes"].as_u64().unwrap();
    assert!(
        stored < 64 * 1024,
        "a full of unchanged data stored {stored} bytes"
    );
    let r = env.pool.root().child("r").unwrap();
    assert_ok(
        &env.backup(["restore", &s2.to_string(), "--to", r.as_str()]),
        "restore",
    );
    assert_eq!(
        fs::read(env.mountpoint(&r).join("f")).unwrap(),
        noise(3 << 20, 5)
    );
}

/// Regression: `--to-file /dev/null` once renamed a temporary file over the
/// device, turning /dev/null into a regular file. A FIFO stands in for it.
#[test]
fn restore_to_a_device_or_fifo_writes_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("f"), noise(100_000, 3)).unwrap();
    let s1 = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s1.to_string()]), "send");
    let fifo = env.tmp.path().join("fifo");
    run_ok("mkfifo", [fifo.to_str().unwrap()]);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    let out = env.backup([
        "restore",
        &s1.to_string(),
        "--to-file",
        fifo.to_str().unwrap(),
    ]);
    assert_ok(&out, "restore into a fifo");
    let got = reader.join().unwrap();
    assert!(
        fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(),
        "the fifo was replaced"
    );
    assert_eq!(
        blake3::hash(&got).to_hex().to_string(),
        env.list()[0]["stream_digest"]
    );
}

/// Regression: `restore --to-file` once replaced an existing file without
/// asking. It is refused (exit 2, naming the file) unless --force.
#[test]
fn restore_to_file_refuses_an_existing_file_unless_forced() {
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("f"), noise(100_000, 6)).unwrap();
    let s1 = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s1.to_string()]), "send");
    let file = env.tmp.path().join("precious");
    fs::write(&file, "not a stream").unwrap();
    let path = file.to_str().unwrap();

    let out = env.backup(["restore", &s1.to_string(), "--to-file", path]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        crate::harness::stderr(&out)
    );
    let err = crate::harness::stderr(&out);
    assert!(err.contains(path) && err.contains("--force"), "{err}");
    assert_eq!(fs::read(&file).unwrap(), b"not a stream");
    assert!(!env.tmp.path().join("precious.partial").exists());

    let out = env.backup(["restore", &s1.to_string(), "--to-file", path, "--force"]);
    assert_ok(&out, "restore --to-file --force");
    assert_eq!(
        blake3::hash(&fs::read(&file).unwrap()).to_hex().to_string(),
        env.list()[0]["stream_digest"]
    );
}
