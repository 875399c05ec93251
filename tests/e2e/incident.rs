//! Incident ergonomics: a restore into a job's tree is refused (its next
//! run would ship it), and a snapshot shipped by mistake can be forgotten
//! on its own, but not from under an incremental that needs it.

use std::fs;

use crate::harness::{assert_ok, stderr, Env};

#[test]
fn a_restore_into_a_recursive_jobs_tree_is_refused_unless_forced() {
    let env = Env::new();
    let ds = env.dataset("vm");
    fs::write(env.mountpoint(&ds).join("f"), "x").unwrap();
    let config = env.job_config("vms", &ds, "recursive = true\n");
    let cfg = config.to_str().unwrap();
    assert_ok(&env.backup(["run", "vms", "--config", cfg]), "run");
    let snap = env.list()[0]["name"].as_str().unwrap().to_owned();

    let inside = ds.child("restored").unwrap();
    let out = env.backup(["restore", &snap, "--to", inside.as_str(), "--config", cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("vms") && stderr(&out).contains("--force"),
        "{}",
        stderr(&out)
    );
    assert!(
        !env.pool.zfs().dataset_exists(&inside).unwrap(),
        "nothing received"
    );

    // Outside the tree it goes ahead; inside with --force, with a warning.
    let outside = env.pool.root().child("restored").unwrap();
    assert_ok(
        &env.backup(["restore", &snap, "--to", outside.as_str(), "--config", cfg]),
        "restore outside the job's tree",
    );
    let out = env.backup([
        "restore",
        &snap,
        "--to",
        inside.as_str(),
        "--config",
        cfg,
        "--force",
    ]);
    assert_ok(&out, "restore --force into the tree");
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn forget_snapshot_removes_one_snapshot_but_not_the_base_of_a_kept_one() {
    let env = Env::new();
    let ds = env.dataset("d");
    let mnt = env.mountpoint(&ds);
    for (i, s) in ["s1", "s2"].iter().enumerate() {
        fs::write(mnt.join(format!("f{i}")), vec![i as u8; 100_000]).unwrap();
        let snap = env.snapshot(&ds, s);
        assert_ok(&env.backup(["send", &snap.to_string()]), s);
    }
    let s1 = format!("{ds}@s1");
    let s2 = format!("{ds}@s2");
    let out = env.backup(["forget", "--snapshot", &s1]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&s2),
        "names the dependent: {}",
        stderr(&out)
    );
    assert_eq!(env.list().len(), 2, "nothing removed");

    let out = env.backup(["forget", "--snapshot", &s2, "--dry-run", "--json"]);
    assert_ok(&out, "forget --dry-run --json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["dry_run"], true, "{v:#}");
    assert_eq!(v["removed"][0]["name"], s2.as_str(), "{v:#}");
    assert_eq!(env.list().len(), 2);
    let out = env.backup(["forget", "--snapshot", &s2, "--prune"]);
    assert_ok(&out, "forget --snapshot --prune");
    let left = env.list();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["name"], s1.as_str());
    assert_ok(&env.backup(["check", "--read-data"]), "check");
    // Both at once is fine: nothing kept depends on them.
    assert_ok(
        &env.backup(["forget", "--snapshot", &s1]),
        "forget the last",
    );
    assert!(env.list().is_empty());
}
