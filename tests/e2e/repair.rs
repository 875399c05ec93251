//! `backup repair` on real damage: a lost index, a damaged blob, and the
//! snapshots that can no longer be restored; afterwards `check --read-data`
//! is clean, what survived restores identically, and the next ship heals.

use std::fs;

use crate::harness::{assert_ok, assert_same_tree, files_under, noise, pack_files, Env};

const EXIT_DAMAGED: i32 = 3;

fn fill(env: &Env, ds: &backup_zfs::DatasetName, i: u64) {
    fs::write(
        env.mountpoint(ds).join(format!("file{i}")),
        noise(300_000, i),
    )
    .unwrap();
}

#[test]
fn repair_index_rebuilds_a_lost_index_and_loses_nothing() {
    let env = Env::new();
    let ds = env.dataset("d");
    for (i, s) in ["s1", "s2"].iter().enumerate() {
        fill(&env, &ds, i as u64);
        let snap = env.snapshot(&ds, s);
        assert_ok(&env.backup(["send", &snap.to_string()]), s);
    }
    let index = env.repo.join("index");
    for f in files_under(&index) {
        fs::remove_file(f).unwrap();
    }
    let out = env.backup(["check"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED));
    assert!(String::from_utf8_lossy(&out.stdout).contains("backup repair index"));

    // A dry run changes nothing.
    let out = env.backup(["repair", "index", "--dry-run"]);
    assert_ok(&out, "repair index --dry-run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("would rewrite the index"), "{text}");
    assert!(files_under(&index).is_empty());

    let out = env.backup(["repair", "index", "--json"]);
    assert_ok(&out, "repair index");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["added_packs"].as_array().unwrap().len(),
        pack_files(&env).len(),
        "{r}"
    );
    assert_eq!(r["missing_chunks"], 0, "{r}");
    assert_ok(&env.backup(["check", "--read-data"]), "check after repair");
    let out = env.backup(["repair", "index"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to repair"));

    let target = env.pool.root().child("back").unwrap();
    assert_ok(
        &env.backup(["restore", &format!("{ds}@s2"), "--to", target.as_str()]),
        "restore after the index was rebuilt",
    );
    let s2 = format!("{ds}@s2").parse().unwrap();
    assert_same_tree(&env.clone_of(&s2, "orig"), &env.mountpoint(&target));
}

#[test]
fn a_damaged_blob_is_repaired_down_to_the_snapshots_it_cost_and_the_next_ship_heals() {
    let env = Env::new();
    let ds = env.dataset("d");
    for (i, s) in ["s1", "s2"].iter().enumerate() {
        fill(&env, &ds, i as u64);
        let snap = env.snapshot(&ds, s);
        assert_ok(&env.backup(["send", &snap.to_string()]), s);
    }
    // One byte in the middle of the biggest pack: one blob lost.
    let pack = pack_files(&env).pop().unwrap();
    let mut bytes = fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    fs::write(&pack, bytes).unwrap();
    let out = env.backup(["check", "--read-data"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED));

    let out = env.backup(["repair", "packs", "--json"]);
    assert_ok(&out, "repair packs");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["damaged"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["lost_chunks"], 1, "{r}");
    let affected = r["affected_snapshots"].as_array().unwrap().clone();
    assert!(!affected.is_empty(), "{r}");
    assert!(!pack.exists(), "the damaged pack is removed");

    // The snapshots that need the lost chunk go, with their reason.
    let out = env.backup(["repair", "snapshots", "--dry-run"]);
    assert_ok(&out, "repair snapshots --dry-run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("would remove") && text.contains("no pack holds"),
        "{text}"
    );
    let before = env.list().len();
    assert_eq!(before, 2, "a dry run removes nothing");
    assert_ok(&env.backup(["repair", "snapshots"]), "repair snapshots");
    let left = env.list();
    assert!(left.len() < before, "{left:?}");
    assert_ok(&env.backup(["check", "--read-data"]), "check after repair");

    // The next ship of what is still on the source uploads the lost chunk
    // again and restores.
    let s3 = env.snapshot(&ds, "s3");
    assert_ok(&env.backup(["send", &s3.to_string()]), "send after repair");
    let target = env.pool.root().child("back").unwrap();
    assert_ok(
        &env.backup(["restore", &s3.to_string(), "--to", target.as_str()]),
        "restore after repair",
    );
    assert_same_tree(&env.clone_of(&s3, "orig"), &env.mountpoint(&target));
    assert_ok(&env.backup(["check", "--read-data"]), "check at the end");
}
