//! Bad input and broken things: clear errors, documented exit codes, nothing
//! recorded that should not be.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::harness::{assert_ok, noise, stderr, Env};

const EXIT_FAILURE: i32 = 1;
const EXIT_DAMAGED: i32 = 3;
const EXIT_WRONG_PASSPHRASE: i32 = 4;

fn manifests(env: &Env) -> usize {
    fs::read_dir(env.repo.join("snapshots")).unwrap().count()
}

#[test]
fn wrong_passphrase_fails_cleanly_and_takes_no_snapshot() {
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.tmp.path().join("pass"), "not the passphrase\n").unwrap();
    let out = env.backup(["list"]);
    assert_eq!(out.status.code(), Some(EXIT_WRONG_PASSPHRASE));
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    let out = env.backup(["send", ds.as_str()]);
    assert_eq!(out.status.code(), Some(EXIT_WRONG_PASSPHRASE));
    assert!(env.pool.zfs().list_snapshots(&ds).unwrap().is_empty());
}

#[test]
fn send_of_a_missing_snapshot_fails_and_records_nothing() {
    let env = Env::new();
    let ds = env.dataset("d");
    let out = env.backup(["send", &format!("{ds}@nope")]);
    assert_eq!(out.status.code(), Some(EXIT_FAILURE));
    assert!(
        stderr(&out).contains(&format!("{ds}@nope")),
        "{}",
        stderr(&out)
    );
    assert_eq!(manifests(&env), 0);
    assert!(env.list().is_empty());
}

/// A `zfs` that runs the real one but breaks `send`: `mode` is "fail" (exit 1
/// after part of the stream) or "truncate" (exit 0 after part of it).
fn broken_zfs(env: &mut Env, mode: &str) {
    let dir = env.tmp.path().join("fakebin");
    fs::create_dir_all(&dir).unwrap();
    let real = ["/usr/sbin/zfs", "/sbin/zfs", "/usr/local/sbin/zfs"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap();
    let exit = i32::from(mode == "fail");
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = send ]; then\n  {real} \"$@\" | head -c 200000\n  exit {exit}\nfi\nexec {real} \"$@\"\n"
    );
    let path = dir.join("zfs");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    env.extra_path = Some(dir);
}

#[test]
fn failing_or_truncated_zfs_send_records_nothing() {
    for mode in ["fail", "truncate"] {
        let mut env = Env::new();
        let ds = env.dataset("d");
        fs::write(env.mountpoint(&ds).join("f"), noise(2 << 20, 1)).unwrap();
        let snap = env.snapshot(&ds, "s");
        broken_zfs(&mut env, mode);
        let out = env.backup(["send", &snap.to_string()]);
        assert_eq!(
            out.status.code(),
            Some(EXIT_FAILURE),
            "{mode}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(&snap.to_string()),
            "{mode}: {}",
            stderr(&out)
        );
        assert_eq!(manifests(&env), 0, "{mode}: a manifest was recorded");
        // A later, healthy ship succeeds and the repository checks clean.
        env.extra_path = None;
        assert_ok(
            &env.backup(["send", &snap.to_string()]),
            "send after repair",
        );
        assert_ok(&env.backup(["check", "--read-data"]), "check");
    }
}

#[test]
fn corrupted_pack_byte_is_found_and_restore_fails_naming_the_snapshot() {
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("f"), noise(4 << 20, 7)).unwrap();
    let snap = env.snapshot(&ds, "s");
    assert_ok(&env.backup(["send", &snap.to_string()]), "send");

    let pack = crate::harness::damage_the_biggest_pack(&env);
    let pack = &pack;
    let pack_name = pack.file_name().unwrap().to_str().unwrap();

    assert_ok(&env.backup(["check"]), "structure check (data not read)");
    let out = env.backup(["check", "--read-data"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(pack_name), "{text}");
    assert!(text.contains(&snap.to_string()), "{text}");

    let target = env.pool.root().child("restored").unwrap();
    let out = env.backup(["restore", &snap.to_string(), "--to", target.as_str()]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{}", stderr(&out));
    assert!(stderr(&out).contains(&snap.to_string()), "{}", stderr(&out));
    let file = env.tmp.path().join("out.zfs");
    let out = env.backup([
        "restore",
        &snap.to_string(),
        "--to-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED));
    assert!(!file.exists(), "a partial stream file was left behind");
}

#[test]
fn bad_arguments_are_usage_errors() {
    let env = Env::new();
    let out = env.backup(["send", "no such pool name@@"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = env.backup(["check", "--read-data=150%"]);
    assert_eq!(out.status.code(), Some(2));
    let out = env
        .command(["list"])
        .env_remove("BACKUP_REPOSITORY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--repo"));
    let out = env.backup(["restore", "ffffffff", "--to-file", "-"]);
    assert_eq!(out.status.code(), Some(EXIT_FAILURE));
    assert!(stderr(&out).contains("ffffffff"));
    let out = env.backup(["init"]);
    assert_eq!(out.status.code(), Some(EXIT_FAILURE));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
}

/// Regression: a `zfs receive` that fails (out of space here) used to kill
/// `backup restore` silently with SIGPIPE (exit 141). Its error must show.
#[test]
fn a_failing_zfs_receive_is_reported_not_a_silent_sigpipe() {
    let env = Env::new();
    let ds = env.dataset("big");
    fs::write(env.mountpoint(&ds).join("f"), noise(120 << 20, 5)).unwrap();
    let snap = env.snapshot(&ds, "s");
    assert_ok(&env.backup(["send", &snap.to_string()]), "send");
    let small = backup_zfs::testpool::TestPool::with_size(96 << 20).unwrap();
    let target = small.root().child("copy").unwrap();
    let out = env.backup(["restore", &snap.to_string(), "--to", target.as_str()]);
    assert_eq!(out.status.code(), Some(EXIT_FAILURE), "{}", stderr(&out));
    assert!(stderr(&out).contains("out of space"), "{}", stderr(&out));
}

#[test]
fn a_closed_stdout_ends_quietly_not_with_a_panic() {
    let env = Env::new();
    let ds = env.dataset("d");
    for i in 0..3 {
        std::fs::write(env.mountpoint(&ds).join(format!("f{i}")), "x").unwrap();
        let s = env.snapshot(&ds, &format!("s{i}"));
        assert_ok(&env.backup(["send", &s.to_string()]), "send");
    }
    for args in [
        vec!["list"],
        vec!["ls", &format!("{ds}@latest"), "--recursive"],
    ] {
        let mut child = env
            .command(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before the first line is written (`| head -0`).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}
