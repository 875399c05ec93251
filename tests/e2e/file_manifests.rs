//! File manifests recorded at ship time, on real ZFS: they match the
//! snapshot's files, an incremental borrows the base's digests, they can
//! be turned off, the view clone never outlives the ship (not even a
//! killed one, past the next ship), and prune and check know their chunks.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Child, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backup_core::filelist::{compare, walk, FileList};
use backup_core::load_file_list;
use backup_core::{LocalBackend, Manifest, Repository};
use backup_zfs::{DatasetName, SnapshotName};

use crate::harness::{assert_ok, noise, run_ok, stderr, Env};

fn open_repo(env: &Env) -> Repository {
    let backend = Arc::new(LocalBackend::new(&env.repo));
    Repository::open(backend, b"correct horse battery staple").unwrap()
}

fn manifest_of(repo: &Repository, snap: &SnapshotName) -> Manifest {
    let full = snap.to_string();
    repo.manifests()
        .unwrap()
        .into_iter()
        .map(|(_, m)| m)
        .find(|m| m.full_name() == full)
        .unwrap_or_else(|| panic!("{full} is not in the repository"))
}

fn file_list_of(repo: &Repository, snap: &SnapshotName) -> FileList {
    let m = manifest_of(repo, snap);
    let files = m.files.as_ref().expect("a file manifest was recorded");
    load_file_list(repo, files, &m.full_name()).unwrap()
}

/// What the snapshot holds, walked through a clone of our own.
fn walk_snapshot(env: &Env, snap: &SnapshotName, clone: &str) -> FileList {
    let dir = env.clone_of(snap, clone);
    walk(&dir, None).unwrap()
}

fn populate(root: &Path) {
    fs::create_dir_all(root.join("etc/conf.d")).unwrap();
    fs::write(root.join("etc/conf.d/app.conf"), "port = 80\n").unwrap();
    fs::write(root.join("big"), noise(3 << 20, 7)).unwrap();
    fs::write(root.join(OsStr::from_bytes(b"latin1 caf\xe9")), "x").unwrap();
    symlink("etc/conf.d/app.conf", root.join("link")).unwrap();
    run_ok("mkfifo", [root.join("fifo")]);
    fs::set_permissions(root.join("big"), fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::chown(root.join("big"), Some(1234), Some(5678)).unwrap();
}

/// The view clones left in the pool.
fn view_clones(env: &Env) -> Vec<String> {
    let out = run_ok("zfs", ["list", "-H", "-o", "name", "-r", env.pool.name()]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("backup-view-"))
        .map(str::to_owned)
        .collect()
}

fn send_json(env: &Env, target: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["send", target, "--json"];
    args.extend_from_slice(extra);
    let out = env.backup(args);
    assert_ok(&out, &format!("send {target}"));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_ship_records_a_file_manifest_of_the_snapshot_and_an_incremental_reuses_digests() {
    let env = Env::new();
    let ds = env.dataset("files");
    let dir = env.mountpoint(&ds);
    populate(&dir);
    for i in 0..20 {
        fs::write(dir.join(format!("file{i}")), noise(10_000, i)).unwrap();
    }
    // A second later: files changed in the second their base snapshot was
    // taken lend no digest (design §17.1), and s2 is to reuse them.
    std::thread::sleep(Duration::from_millis(1100));
    let s1 = env.snapshot(&ds, "s1");
    // Changes after the snapshot must not show.
    fs::write(dir.join("after"), "later").unwrap();
    let j = send_json(&env, &s1.to_string(), &[]);
    let fm = &j["file_manifest"];
    assert_eq!(
        fm["view"],
        if is_fuse() { "clone" } else { "snapdir" },
        "{j}"
    );
    assert_eq!(fm["files_reused"], 0, "{j}");
    assert!(view_clones(&env).is_empty(), "{:?}", view_clones(&env));

    let repo = open_repo(&env);
    let recorded = file_list_of(&repo, &s1);
    let truth = walk_snapshot(&env, &s1, "truth1");
    let c = compare(&recorded, &truth, 10);
    assert!(c.matches(), "{c:?}");
    assert_eq!(fm["entries"], recorded.entries.len() as u64);
    let big = recorded.get(b"big").unwrap();
    assert_eq!((big.mode, big.uid, big.gid), (0o640, 1234, 5678));
    assert_eq!(
        big.blake3,
        Some(*blake3::hash(&noise(3 << 20, 7)).as_bytes())
    );
    assert!(recorded.get(b"latin1 caf\xe9").is_some());
    assert!(recorded.get(b"after").is_none());
    assert_eq!(
        recorded.get(b"link").unwrap().target.as_deref(),
        Some(&b"etc/conf.d/app.conf"[..])
    );

    // One file changes: only it is read again.
    fs::write(dir.join("file3"), "changed").unwrap();
    let s2 = env.snapshot(&ds, "s2");
    let j = send_json(&env, &s2.to_string(), &[]);
    assert!(j["base_guid"].is_string(), "an incremental: {j}");
    let fm = &j["file_manifest"];
    let regular = recorded
        .entries
        .iter()
        .filter(|e| e.kind == backup_core::filelist::Kind::File)
        .count() as u64;
    assert_eq!(fm["files_read"], 2, "file3 and `after`: {j}");
    assert_eq!(fm["files_reused"], regular - 1, "{j}");
    let repo = open_repo(&env);
    let c = compare(
        &file_list_of(&repo, &s2),
        &walk_snapshot(&env, &s2, "truth2"),
        10,
    );
    assert!(c.matches(), "{c:?}");
    assert!(view_clones(&env).is_empty(), "{:?}", view_clones(&env));
}

/// Issue 16: a full reads the data once. Its files' digests come from the
/// stream the ship reads anyway (holes, a tail past the last block, empty
/// and all-zero files, hard links), and a later full borrows those of
/// unchanged files from the previous manifest: neither reads a file.
#[test]
fn a_full_takes_its_digests_from_the_stream_and_a_later_full_from_the_last_manifest() {
    use std::io::{Seek, SeekFrom, Write as _};
    let env = Env::new();
    let ds = env.dataset("fulls");
    let dir = env.mountpoint(&ds);
    populate(&dir);
    fs::write(dir.join("empty"), "").unwrap();
    fs::write(dir.join("one"), "1").unwrap();
    fs::write(dir.join("zeros"), vec![0u8; 300_000]).unwrap();
    fs::write(dir.join("blocks"), noise(4 << 17, 3)).unwrap();
    fs::hard_link(dir.join("blocks"), dir.join("blocks-link")).unwrap();
    // Holes: one in the middle, one at the end.
    let mut sparse = fs::File::create(dir.join("sparse")).unwrap();
    sparse.write_all(&noise(70_000, 4)).unwrap();
    sparse.seek(SeekFrom::Start(5 << 20)).unwrap();
    sparse.write_all(&noise(1000, 5)).unwrap();
    sparse.set_len((9 << 20) + 17).unwrap();
    drop(sparse);
    std::thread::sleep(Duration::from_millis(1100));
    let s1 = env.snapshot(&ds, "s1");
    let j = send_json(&env, &s1.to_string(), &[]);
    assert!(j["base_guid"].is_null(), "a full: {j}");
    let fm = &j["file_manifest"];
    let repo = open_repo(&env);
    let recorded = file_list_of(&repo, &s1);
    let c = compare(&recorded, &walk_snapshot(&env, &s1, "truth1"), 10);
    assert!(c.matches(), "{c:?}");
    let regular = recorded
        .entries
        .iter()
        .filter(|e| e.kind == backup_core::filelist::Kind::File)
        .count() as u64;
    assert_eq!(fm["files_from_stream"], regular, "{j}");
    assert_eq!(
        (fm["files_read"].as_u64(), fm["bytes_read"].as_u64()),
        (Some(0), Some(0)),
        "{j}"
    );

    // A second full: nothing changed, every digest borrowed from s1's list.
    let s2 = env.snapshot(&ds, "s2");
    let j = send_json(&env, &s2.to_string(), &["--full"]);
    assert!(j["base_guid"].is_null(), "a full: {j}");
    let fm = &j["file_manifest"];
    assert_eq!(fm["files_reused"], regular, "{j}");
    assert_eq!(fm["files_read"], 0, "{j}");

    // A third: one file changed, its digest from the stream.
    std::thread::sleep(Duration::from_millis(1100));
    fs::write(dir.join("one"), "2").unwrap();
    let s3 = env.snapshot(&ds, "s3");
    let j = send_json(&env, &s3.to_string(), &["--full"]);
    let fm = &j["file_manifest"];
    assert_eq!(
        (
            fm["files_reused"].as_u64(),
            fm["files_from_stream"].as_u64(),
            fm["files_read"].as_u64()
        ),
        (Some(regular - 1), Some(1), Some(0)),
        "{j}"
    );
    let repo = open_repo(&env);
    let c = compare(
        &file_list_of(&repo, &s3),
        &walk_snapshot(&env, &s3, "truth3"),
        10,
    );
    assert!(c.matches(), "{c:?}");
    assert!(view_clones(&env).is_empty(), "{:?}", view_clones(&env));
}

pub(crate) fn is_fuse() -> bool {
    backup_zfs::Zfs::new()
        .features()
        .map_or(true, |f| !f.snapshot_dir)
}

#[test]
fn no_file_manifest_when_turned_off_by_flag_or_job() {
    let env = Env::new();
    let ds = env.dataset("big one");
    fs::write(env.mountpoint(&ds).join("f"), "x").unwrap();
    let s1 = env.snapshot(&ds, "s1");
    let j = send_json(&env, &s1.to_string(), &["--no-file-manifest"]);
    assert!(j["file_manifest"].is_null(), "{j}");
    assert!(manifest_of(&open_repo(&env), &s1).files.is_none());

    let config = env.job_config("big", &ds, "file_manifest = false\n");
    let out = env.backup(["run", "big", "--config", config.to_str().unwrap()]);
    assert_ok(&out, "run big");
    let repo = open_repo(&env);
    let shipped = repo.manifests().unwrap();
    assert_eq!(shipped.len(), 2);
    assert!(shipped.iter().all(|(_, m)| m.files.is_none()));
}

/// Starts `backup send TARGET` that stops once its view is open; returns
/// the child and the marker's lines (view path, clone name).
pub(crate) fn send_paused(env: &Env, target: &str) -> (Child, std::path::PathBuf, Vec<String>) {
    start_paused(env, &["send", target])
}

/// Starts `backup ARGS` that stops once a view is open.
fn start_paused(env: &Env, args: &[&str]) -> (Child, std::path::PathBuf, Vec<String>) {
    let marker = env.tmp.path().join("paused");
    let _ = fs::remove_file(&marker);
    let mut child = env
        .command(args)
        .env("BACKUP_TEST_PAUSE_AT", "file-manifest")
        .env("BACKUP_TEST_PAUSE_MARKER", &marker)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(text) = fs::read_to_string(&marker) {
            if text.ends_with('\n') {
                let lines = text.lines().map(str::to_owned).collect();
                return (child, marker, lines);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("send exited ({status}) before its view opened");
        }
        assert!(Instant::now() < deadline, "send never paused");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub(crate) fn release(child: Child, marker: &Path) -> Output {
    fs::remove_file(marker).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_failed_walk_still_ships_the_stream_and_leaves_no_clone() {
    if !is_fuse() {
        return; // the sabotage below needs a clone view
    }
    let env = Env::new();
    let ds = env.dataset("data");
    fs::write(env.mountpoint(&ds).join("f"), noise(100_000, 1)).unwrap();
    let s1 = env.snapshot(&ds, "s1");
    let (child, marker, lines) = send_paused(&env, &s1.to_string());
    let (view, clone) = (&lines[0], &lines[1]);
    assert!(!clone.is_empty());
    // The view vanishes under the walk.
    run_ok("zfs", ["unmount", clone]);
    fs::remove_dir(view).unwrap();
    let out = release(child, &marker);
    assert_ok(&out, "send with a failed walk");
    let err = stderr(&out);
    assert!(
        err.contains("warning: file manifest of") && err.contains(view),
        "{err}"
    );
    assert!(view_clones(&env).is_empty(), "{:?}", view_clones(&env));
    let m = manifest_of(&open_repo(&env), &s1);
    assert!(m.files.is_none());
    // The stream is whole: it restores.
    let target = format!("{}/restored", env.pool.name());
    assert_ok(
        &env.backup(["restore", &s1.to_string(), "--to", &target]),
        "restore",
    );

    // In a job run the same failure fails the run, the stream still shipped.
    let config = env.job_config("data", &ds, "");
    let (child, marker, lines) =
        start_paused(&env, &["run", "data", "--config", config.to_str().unwrap()]);
    run_ok("zfs", ["unmount", &lines[1]]);
    fs::remove_dir(&lines[0]).unwrap();
    let out = release(child, &marker);
    assert!(!out.status.success(), "the run must fail visibly");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("error: ") && text.contains("file manifest of"),
        "{text}"
    );
    assert!(view_clones(&env).is_empty(), "{:?}", view_clones(&env));
    assert_eq!(
        open_repo(&env).manifests().unwrap().len(),
        2,
        "the run's stream is shipped"
    );
}

#[test]
fn a_view_changed_during_the_walk_is_what_an_incremental_records_but_not_a_full() {
    // The drill's tamper tests rely on this hook: where a file is read from
    // the view (an incremental's changed file), the recorded manifest then
    // disagrees with the shipped data. A full's digests come from its
    // stream: the view's content does not count.
    let env = Env::new();
    let ds = env.dataset("data");
    fs::write(env.mountpoint(&ds).join("f"), "original").unwrap();
    let tamper = |snap: &backup_zfs::SnapshotName| -> bool {
        let (child, marker, lines) = send_paused(&env, &snap.to_string());
        let (view, clone) = (&lines[0], &lines[1]);
        if clone.is_empty() {
            release(child, &marker);
            return false; // a .zfs/snapshot view cannot be changed
        }
        run_ok("zfs", ["set", "readonly=off", clone]);
        fs::write(Path::new(view).join("f"), "tampered").unwrap();
        assert_ok(&release(child, &marker), "send");
        true
    };
    let s1 = env.snapshot(&ds, "s1");
    if !tamper(&s1) {
        return;
    }
    let repo = open_repo(&env);
    let c = compare(
        &file_list_of(&repo, &s1),
        &walk_snapshot(&env, &s1, "truth1"),
        10,
    );
    // Same length; only the ctime (and maybe the mtime) of the view's f
    // changed: the stream's digest is the snapshot's.
    assert_eq!((c.missing, c.extra), (0, 0), "{c:?}");
    assert!(
        c.changed_paths
            .iter()
            .all(|(_, d)| !d.contains(&"content".to_owned())),
        "{c:?}"
    );

    std::thread::sleep(Duration::from_millis(1100));
    fs::write(env.mountpoint(&ds).join("f"), "changed!").unwrap();
    let s2 = env.snapshot(&ds, "s2");
    assert!(tamper(&s2));
    let repo = open_repo(&env);
    let c = compare(
        &file_list_of(&repo, &s2),
        &walk_snapshot(&env, &s2, "truth2"),
        10,
    );
    assert_eq!((c.missing, c.extra, c.changed), (0, 0, 1), "{c:?}");
    // Same length; zfs-fuse may even keep the mtime: the content differs.
    let (path, diffs) = &c.changed_paths[0];
    assert!(
        path == "f" && diffs.contains(&"content".to_owned()),
        "{c:?}"
    );
    assert!(view_clones(&env).is_empty());
}

/// Ships a snapshot of a new dataset and SIGKILLs the send once its view
/// is open: returns the snapshot, the clone left behind and its directory.
fn killed_during_the_walk(env: &Env) -> (backup_zfs::SnapshotName, DatasetName, String) {
    let ds = env.dataset("data");
    fs::write(env.mountpoint(&ds).join("f"), "x").unwrap();
    let s1 = env.snapshot(&ds, "s1");
    let (mut child, marker, lines) = send_paused(env, &s1.to_string());
    child.kill().unwrap();
    child.wait().unwrap();
    fs::remove_file(&marker).unwrap();
    let clone = DatasetName::parse(&lines[1]).unwrap();
    (s1, clone, lines[0].clone())
}

#[test]
fn a_view_clone_left_by_a_killed_ship_is_removed_by_the_next() {
    if !is_fuse() {
        return;
    }
    let env = Env::new();
    let (s1, clone, view) = killed_during_the_walk(&env);
    assert!(env.pool.zfs().dataset_exists(&clone).unwrap());
    assert_eq!(view_clones(&env), [clone.to_string()]);

    let out = env.backup(["send", &s1.to_string(), "--json"]);
    assert_ok(&out, "send after the kill");
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(j["file_manifest"].is_object(), "{j}");
    // It says what it removed, and what the clone held.
    assert_eq!(j["stale_views_removed"].as_array().unwrap().len(), 1, "{j}");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("note: removed view clone {clone} of {s1}")),
        "{err}"
    );
    assert!(view_clones(&env).is_empty(), "{:?}", view_clones(&env));
    assert!(!Path::new(&view).exists(), "{view} left behind");
    // Nothing holds the snapshot any more.
    env.pool.zfs().destroy_snapshot(&s1).unwrap();
}

#[test]
fn unlock_removes_a_view_clone_left_by_a_killed_ship_at_once() {
    if !is_fuse() {
        return;
    }
    let env = Env::new();
    let (s1, clone, view) = killed_during_the_walk(&env);
    // The clone holds the snapshot.
    assert!(env.pool.zfs().destroy_snapshot(&s1).is_err());

    // --pool: the other tests' pools (and their killed ships) are theirs.
    let out = env.backup(["unlock", "--pool", env.pool.name()]);
    assert_ok(&out, "unlock");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("removed view clone {clone} of {s1}")),
        "{text}"
    );
    assert!(view_clones(&env).is_empty(), "{:?}", view_clones(&env));
    assert!(!Path::new(&view).exists(), "{view} left behind");

    // A view clone of a live process is not touched.
    let (live, live_marker, live_lines) = send_paused(&env, &s1.to_string());
    assert_ok(
        &env.backup(["unlock", "--pool", env.pool.name()]),
        "unlock beside a live ship",
    );
    assert_eq!(view_clones(&env), [live_lines[1].clone()]);
    assert_ok(&release(live, &live_marker), "the live send");
    assert!(view_clones(&env).is_empty(), "{:?}", view_clones(&env));
    env.pool.zfs().destroy_snapshot(&s1).unwrap();
}

#[test]
fn prune_keeps_file_manifests_and_check_reads_them() {
    let env = Env::new();
    let ds = env.dataset("data");
    let dir = env.mountpoint(&ds);
    let config = env.job_config(
        "data",
        &ds,
        "full_every = 1\nkeep_repository = { keep_last = 1 }\n",
    );
    let cfg = config.to_str().unwrap();
    for (i, now) in [
        "2026-11-02T10:00:00Z",
        "2026-11-02T11:00:00Z",
        "2026-11-02T12:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        for k in 0..50 {
            fs::write(
                dir.join(format!("run{i}-{k}")),
                noise(2000, (i * 100 + k) as u64),
            )
            .unwrap();
        }
        assert_ok(
            &env.backup(["run", "data", "--config", cfg, "--now", now]),
            "run",
        );
    }
    let out = env.backup(["prune", "--config", cfg, "--repack-unused", "0"]);
    assert_ok(&out, "prune");
    let repo = open_repo(&env);
    let kept = repo.manifests().unwrap();
    assert!(!kept.is_empty());
    for (_, m) in &kept {
        let files = m.files.as_ref().expect("recorded");
        let list = load_file_list(&repo, files, &m.full_name()).unwrap();
        assert!(list.get(b"run2-49").is_some());
    }
    let out = env.backup(["check", "--read-data", "--json"]);
    assert_ok(&out, "check --read-data");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["file_manifests_read"], kept.len(), "{r}");
}
