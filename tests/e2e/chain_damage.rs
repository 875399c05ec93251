//! A ship onto a broken chain: the chain is checked link by link before an
//! incremental extends it; a damaged link makes the ship a full, said so,
//! with exit 3, and a job run fails (status and Nagios turn red).

use std::fs;

use crate::harness::{assert_ok, noise, stderr, Env};

const EXIT_DAMAGED: i32 = 3;

/// Ships s1 (full), s2 and s3 (incrementals) of a fresh dataset and returns
/// the manifest ids, oldest first.
fn three_links(env: &Env, ds: &backup_zfs::DatasetName) -> Vec<String> {
    let mnt = env.mountpoint(ds);
    for (i, name) in ["s1", "s2", "s3"].iter().enumerate() {
        fs::write(mnt.join(format!("file{i}")), noise(200_000, i as u64)).unwrap();
        let s = env.snapshot(ds, name);
        assert_ok(&env.backup(["send", &s.to_string()]), name);
    }
    let list = env.list();
    ["s1", "s2", "s3"]
        .iter()
        .map(|n| {
            list.iter()
                .find(|e| e["snapshot"] == *n)
                .unwrap_or_else(|| panic!("{n} in {list:?}"))["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// Flips one byte in the middle of a stored manifest.
fn damage_manifest(env: &Env, id: &str) {
    let path = env.repo.join("snapshots").join(id);
    let mut bytes = fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&path, bytes).unwrap();
}

#[test]
fn a_send_onto_a_chain_with_a_damaged_link_ships_a_full_and_exits_3() {
    let env = Env::new();
    let ds = env.dataset("d");
    let ids = three_links(&env, &ds);
    damage_manifest(&env, &ids[1]);

    let s4 = env.snapshot(&ds, "s4");
    let out = env.backup(["send", "--json", &s4.to_string()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{err}");
    assert!(err.contains("chain of"), "{err}");
    assert!(err.contains(&format!("{ds}@s3")), "{err}");
    assert!(err.contains("shipped a full stream"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["base_guid"].is_null(), "a full, not an incremental: {v}");
    assert!(
        v["broken_chain"].as_str().unwrap().contains(&ids[1][..8]),
        "{v}"
    );

    // The full restores on its own, although the old chain does not.
    let target = env.pool.root().child("back").unwrap();
    let out = env.backup(["restore", &s4.to_string(), "--to", target.as_str()]);
    assert_ok(&out, "restore of the full that replaced the incremental");
    let restored = env.mountpoint(&target);
    for i in 0..3 {
        assert_eq!(
            fs::read(restored.join(format!("file{i}"))).unwrap(),
            noise(200_000, i as u64)
        );
    }
    // A chain whose links are all intact is extended as before.
    let s5 = env.snapshot(&ds, "s5");
    let out = env.backup(["send", "--json", &s5.to_string()]);
    assert_ok(&out, "send onto the new, intact chain");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["base_snapshot"], format!("{ds}@s4"), "{v}");
}

#[test]
fn a_job_run_onto_a_broken_chain_fails_and_turns_status_red() {
    let env = Env::new();
    let ds = env.dataset("d");
    let config = env.job_config("nightly", &ds, "");
    let run = |now: &str| {
        env.command(["run", "nightly", "--now", now])
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap()
    };
    let mnt = env.mountpoint(&ds);
    for (i, now) in [
        "2026-11-02T10:00:00Z",
        "2026-11-02T11:00:00Z",
        "2026-11-02T12:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        fs::write(mnt.join(format!("file{i}")), noise(100_000, i as u64)).unwrap();
        assert_ok(&run(now), now);
    }
    let list = env.list();
    let middle = list
        .iter()
        .find(|e| e["snapshot"] == "job-20261102T110000Z")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    damage_manifest(&env, &middle);

    let out = run("2026-11-02T13:00:00Z");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{err}");
    assert!(
        err.contains("chain of") && err.contains("is broken"),
        "{err}"
    );
    // `list` exits 3 too: it reads the damaged manifest again.
    let out = env.backup(["list", "--json"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{}", stderr(&out));
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let newest = listed
        .into_iter()
        .find(|e| e["snapshot"] == "job-20261102T130000Z")
        .expect("the snapshot was shipped all the same");
    assert!(newest["base_guid"].is_null(), "shipped as a full: {newest}");

    let out = env
        .command([
            "status",
            "nightly",
            "--nagios",
            "--now",
            "2026-11-02T13:05:00Z",
        ])
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(2), "Nagios CRITICAL: {line}");
    assert!(line.contains("failed"), "{line}");
}

/// The pack files of the repository, by path.
fn packs(env: &Env) -> std::collections::BTreeSet<std::path::PathBuf> {
    crate::harness::pack_files(env).into_iter().collect()
}

#[test]
fn a_restore_whose_chain_has_a_damaged_manifest_receives_nothing() {
    let env = Env::new();
    let ds = env.dataset("d");
    let ids = three_links(&env, &ds);
    damage_manifest(&env, &ids[1]);
    let target = env.pool.root().child("x").unwrap();
    // The catalog still lists s2 (it is warm), so the chain resolves; its
    // manifest is read before the first receive.
    let out = env.backup(["restore", &format!("{ds}@s3"), "--to", target.as_str()]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{}", stderr(&out));
    assert!(stderr(&out).contains(&ids[1]), "{}", stderr(&out));
    assert!(
        !env.pool.zfs().dataset_exists(&target).unwrap(),
        "nothing was received"
    );
}

#[test]
fn a_chain_restore_failing_after_its_first_receive_removes_what_it_made() {
    let env = Env::new();
    let ds = env.dataset("d");
    let mnt = env.mountpoint(&ds);
    let mut added = Vec::new();
    for (i, name) in ["s1", "s2"].iter().enumerate() {
        fs::write(mnt.join(format!("file{i}")), noise(300_000, 10 + i as u64)).unwrap();
        let before = packs(&env);
        let s = env.snapshot(&ds, name);
        assert_ok(&env.backup(["send", &s.to_string()]), name);
        added.push(packs(&env).difference(&before).cloned().collect::<Vec<_>>());
    }
    // Damage the packs only s2's ship wrote (its stream's and its file
    // manifest's): s1 restores, s2 does not.
    assert!(!added[1].is_empty());
    for pack in &added[1] {
        let mut bytes = fs::read(pack).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        fs::write(pack, bytes).unwrap();
    }

    let target = env.pool.root().child("x").unwrap();
    let out = env.backup(["restore", &format!("{ds}@s2"), "--to", target.as_str()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{err}");
    assert!(err.contains(&format!("removed {target}")), "{err}");
    assert!(!env.pool.zfs().dataset_exists(&target).unwrap(), "{err}");

    let out = env.backup([
        "restore",
        &format!("{ds}@s2"),
        "--to",
        target.as_str(),
        "--keep-partial",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{err}");
    assert!(
        err.contains(&format!("kept {target}")) && err.contains("NOT"),
        "{err}"
    );
    let left = env.pool.zfs().list_snapshots(&target).unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].name.snap(), "s1");
}

#[test]
fn a_warm_catalog_list_names_a_manifest_damaged_since_it_was_cached() {
    let env = Env::new();
    let ds = env.dataset("d");
    // three_links lists once: the catalog now holds all three.
    let ids = three_links(&env, &ds);
    damage_manifest(&env, &ids[1]);

    let out = env.backup(["list"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{err}");
    assert!(
        err.contains(&format!("snapshot {}", &ids[1][..8])) && err.contains("backup check"),
        "{err}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DAMAGED: "), "{text}");
    assert_eq!(text.matches("DAMAGED").count(), 1, "{text}");

    let out = env.backup(["list", "--json"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for e in v.as_array().unwrap() {
        assert_eq!(e["damaged"].is_string(), e["id"] == ids[1].as_str(), "{e}");
    }
}
