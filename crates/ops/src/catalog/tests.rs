//! Tests of the catalog against a real (in-memory) repository.

use backup_core::test_support::{fake_stream, pseudo_random};
use backup_core::test_support::{ship_test_stream, test_repo};
use backup_core::FileType;

use super::drills::DrillRow;
use super::Catalog;

#[test]
fn a_damaged_manifest_is_left_out_of_the_catalog_not_fatal() {
    let (backend, mut repo) = test_repo();
    let data = fake_stream(&pseudo_random(50_000, 6));
    ship_test_stream(&mut repo, data.as_slice(), "a", 1, None);
    let good = ship_test_stream(&mut repo, data.as_slice(), "b", 2, None);
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

#[test]
fn a_version_3_catalog_is_migrated_keeping_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('schema_version', '0');",
        )
        .unwrap();
        for step in &super::MIGRATIONS[..3] {
            conn.execute_batch(step).unwrap();
        }
        conn.execute_batch(
            "UPDATE meta SET value = '3' WHERE key = 'schema_version';
             INSERT INTO job_runs (job, started, finished, ok, shipped, stream_bytes, stored_bytes, run_at)
             VALUES ('web', 10, 20, 1, 1, 5, 5, 10);",
        )
        .unwrap();
    }
    let c = Catalog::open(&path).unwrap();
    assert_eq!(c.last_run_at("web").unwrap(), Some(10));
    c.put_drill(&DrillRow {
        id: "web-19700101T001640Z-0001",
        job: "web",
        started: 1000,
        finished: 1300,
        outcome: "pass",
        report: "{}",
    })
    .unwrap();
    assert_eq!(c.last_drill_at("web").unwrap(), Some(1000));
    drop(c);
    let version: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(version, "6");
}

#[test]
fn a_version_5_catalog_gains_verification_history_and_keeps_its_runs() {
    use super::Verification;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            .unwrap();
        for step in &super::MIGRATIONS[..5] {
            conn.execute_batch(step).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO meta VALUES ('schema_version', '5');
             INSERT INTO job_runs (job, started, finished, ok, shipped, stream_bytes, stored_bytes, run_at, damaged)
             VALUES ('web', 10, 20, 0, 1, 5, 5, 10, 1);",
        )
        .unwrap();
    }
    let c = Catalog::open(&path).unwrap();
    assert!(c.last_run_with("web", false).unwrap().unwrap().damaged);
    assert_eq!(c.last_verification("web", None).unwrap(), None);
    assert_eq!(c.verification_cursor("web").unwrap(), None);
    let cursor = backup_core::Id([7; 32]);
    let mut v = Verification {
        job: "web".into(),
        started: 100,
        finished: 110,
        ok: true,
        portion: Some("5%".into()),
        packs: 40,
        pack_bytes: 4000,
        packs_read: 2,
        bytes_read: 200,
        blobs_read: 9,
        problems: Vec::new(),
        damaged_snapshots: Vec::new(),
        cursor: Some(cursor),
        completed_pass: false,
    };
    c.record_verification(&v).unwrap();
    v.started = 200;
    v.ok = false;
    v.problems = vec!["pack ab: blob at offset 0: damaged".into()];
    v.cursor = None;
    c.record_verification(&v).unwrap();
    assert_eq!(c.last_verification("web", None).unwrap(), Some(v.clone()));
    assert_eq!(
        c.last_verification("web", Some(true))
            .unwrap()
            .unwrap()
            .started,
        100
    );
    // A verification that read nothing keeps the rotation where it was.
    assert_eq!(c.verification_cursor("web").unwrap(), Some(cursor));
    assert_eq!(c.last_verification("db", None).unwrap(), None);
}

#[test]
fn the_catalog_and_its_directory_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (_backend, mut repo) = test_repo();
    ship_test_stream(
        &mut repo,
        fake_stream(&pseudo_random(5_000, 7)).as_slice(),
        "a",
        1,
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/c.sqlite");
    let mut cat = Catalog::open(&path).unwrap();
    cat.sync(&repo).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("new")), 0o700);
    assert_eq!(mode(&path), 0o600);
    // SQLite gives its WAL and shared-memory files the database's mode.
    for side in ["c.sqlite-wal", "c.sqlite-shm"] {
        let p = dir.path().join("new").join(side);
        assert!(p.exists(), "{side}");
        assert_eq!(mode(&p), 0o600, "{side}");
    }
}

fn run(job: &str, started: i64, ok: bool) -> super::JobRun {
    super::JobRun {
        job: job.into(),
        started,
        run_at: started,
        finished: started + 5,
        ok,
        error: (!ok).then(|| "boom".into()),
        damaged: false,
        snapshot: Some(format!("job-{started}")),
        shipped: 1,
        stream_bytes: 10,
        stored_bytes: 5,
    }
}

/// Regression (issue 17, two histories): the catalog of a timer's runs sat
/// in the cache directory; the first command of the new layout moves it
/// into the state directory, history and all, and leaves nothing behind.
#[test]
fn a_catalog_in_the_old_cache_directory_is_moved_once() {
    use super::{adopt, Adoption};
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("cache/r.sqlite");
    let new = dir.path().join("state/r.sqlite");
    {
        let c = Catalog::open(&old).unwrap();
        c.record_run(&run("www", 100, true)).unwrap();
        c.record_prune(150).unwrap();
    }
    assert_eq!(
        adopt(&old, &new).unwrap(),
        Adoption::Moved {
            from: old.clone(),
            to: new.clone()
        }
    );
    for leftover in ["r.sqlite", "r.sqlite-wal", "r.sqlite-shm"] {
        assert!(
            !dir.path().join("cache").join(leftover).exists(),
            "{leftover}"
        );
    }
    let c = Catalog::open(&new).unwrap();
    assert_eq!(c.runs("www", 10).unwrap(), [run("www", 100, true)]);
    assert_eq!(c.last_prune().unwrap(), Some(150));
    drop(c);
    // Once: nothing is left to adopt.
    assert_eq!(adopt(&old, &new).unwrap(), Adoption::Nothing);
}

/// Two old catalogs (a unit's and a root shell's) end in one history: the
/// second is merged into the first, without duplicates when a row is in
/// both, and removed.
#[test]
fn a_second_old_catalog_is_merged_into_the_state_directory_one() {
    use super::{adopt, Adoption};
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("state/r.sqlite");
    let shell = dir.path().join("home/r.sqlite");
    {
        let c = Catalog::open(&new).unwrap();
        c.record_run(&run("www", 100, true)).unwrap();
        c.record_prune(300).unwrap();
        let s = Catalog::open(&shell).unwrap();
        s.record_run(&run("www", 100, true)).unwrap();
        s.record_run(&run("www", 50, false)).unwrap();
        s.record_run(&run("db", 70, true)).unwrap();
        s.record_prune(200).unwrap();
    }
    let got = adopt(&shell, &new).unwrap();
    assert_eq!(
        got,
        Adoption::Merged {
            from: shell.clone(),
            into: new.clone(),
            runs: 2,
            drills: 0,
            verifications: 0
        }
    );
    assert!(!shell.exists());
    let c = Catalog::open(&new).unwrap();
    assert_eq!(
        c.runs("www", 10).unwrap(),
        [run("www", 100, true), run("www", 50, false)]
    );
    assert_eq!(c.runs("db", 10).unwrap(), [run("db", 70, true)]);
    assert_eq!(c.last_prune().unwrap(), Some(300));
}

/// Across file systems (no hard link) the catalog is copied with
/// `VACUUM INTO`: private, whole, and never over a catalog that appeared
/// meanwhile.
#[test]
fn the_copy_for_another_file_system_is_whole_private_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("cache/r.sqlite");
    let new = dir.path().join("state/r.sqlite");
    Catalog::open(&old)
        .unwrap()
        .record_run(&run("www", 100, true))
        .unwrap();
    Catalog::ensure_dir(&new).unwrap();
    assert!(super::adopt::copy_into(&old, &new).unwrap());
    let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        Catalog::open(&new).unwrap().runs("www", 10).unwrap(),
        [run("www", 100, true)]
    );
    // A second copy finds it there and leaves it alone.
    assert!(!super::adopt::copy_into(&old, &new).unwrap());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("state"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("adopting"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
