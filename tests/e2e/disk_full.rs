//! A repository whose disk fills up during a ship: the ship fails naming
//! the storage and the cause, nothing is recorded, the repository checks
//! clean, and once there is room the next ship resumes and restores.

use std::fs;
use std::path::PathBuf;

use crate::harness::{assert_ok, assert_same_tree, noise, run_ok, stderr, Env};

/// A small tmpfs mounted for the test, unmounted when dropped.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: &std::path::Path, size: &str) -> SmallDisk {
        fs::create_dir_all(at).unwrap();
        let opt = format!("size={size},mode=0700");
        run_ok(
            "mount",
            [
                "-t",
                "tmpfs",
                "-o",
                opt.as_str(),
                "backup-e2e-disk",
                at.to_str().unwrap(),
            ],
        );
        SmallDisk(at.to_owned())
    }

    fn grow(&self, size: &str) {
        let opt = format!("remount,size={size}");
        run_ok("mount", ["-o", opt.as_str(), self.0.to_str().unwrap()]);
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

fn pack_bytes(env: &Env) -> u64 {
    crate::harness::pack_files(env)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum()
}

#[test]
fn a_ship_onto_a_full_disk_fails_records_nothing_and_resumes_when_there_is_room() {
    let env = Env::without_repo();
    let disk = SmallDisk::mount(&env.repo, "6m");
    assert_ok(
        // 1 MiB packs: several reach the disk before it fills.
        &env.backup([
            "init",
            "--kdf-memory",
            "1024",
            "--kdf-iterations",
            "1",
            "--pack-size",
            "1",
        ]),
        "init",
    );
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("big"), noise(12_000_000, 7)).unwrap();
    let s1 = env.snapshot(&ds, "s1");

    let out = env.backup(["send", &s1.to_string()]);
    let err = stderr(&out);
    assert!(!out.status.success(), "a ship onto a full disk must fail");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains(env.repo.to_str().unwrap()),
        "names the storage: {err}"
    );
    assert!(env.list().is_empty(), "nothing recorded");
    let out = env.backup(["check"]);
    assert_ok(&out, "check after the full disk");
    let kept = pack_bytes(&env);
    assert!(kept > 0, "some packs were written before the disk filled");

    disk.grow("64m");
    let out = env.backup(["send", "--json", &s1.to_string()]);
    assert_ok(&out, "send once there is room");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new = v["new_stored_bytes"].as_u64().unwrap();
    let total = pack_bytes(&env);
    // What reached the disk before it filled is not uploaded again.
    assert!(
        new + kept <= total + total / 20,
        "re-run stored {new} new bytes; {kept} were already there of {total}"
    );
    assert_ok(&env.backup(["check", "--read-data"]), "check --read-data");
    let target = env.pool.root().child("back").unwrap();
    assert_ok(
        &env.backup(["restore", &s1.to_string(), "--to", target.as_str()]),
        "restore",
    );
    assert_same_tree(&env.clone_of(&s1, "orig"), &env.mountpoint(&target));
    drop(disk);
}
