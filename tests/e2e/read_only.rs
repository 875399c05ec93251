//! A repository that cannot be written (a NAS mounted read-only during an
//! incident): `check` and `restore` work without a lock and say so; `send`
//! fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{assert_ok, noise, run_ok, stderr, Env};

/// A read-only bind mount of a directory, unmounted when dropped (also
/// when the test fails).
struct ReadOnlyView(PathBuf);

impl ReadOnlyView {
    fn of(dir: &Path, at: PathBuf) -> ReadOnlyView {
        fs::create_dir(&at).unwrap();
        run_ok(
            "mount",
            ["--bind", dir.to_str().unwrap(), at.to_str().unwrap()],
        );
        // From here on, Drop unmounts.
        let view = ReadOnlyView(at);
        run_ok("mount", ["-o", "remount,bind,ro", view.0.to_str().unwrap()]);
        view
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

#[test]
fn check_and_restore_work_on_a_read_only_repository_and_send_fails() {
    let env = Env::new();
    let ds = env.dataset("src");
    fs::write(env.mountpoint(&ds).join("f"), noise(200_000, 4)).unwrap();
    let s1 = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s1.to_string()]), "send");
    let digest = env.list()[0]["stream_digest"].clone();

    let ro = ReadOnlyView::of(&env.repo, env.tmp.path().join("ro"));
    assert!(
        fs::write(ro.0.join("probe"), b"x").is_err(),
        "the view is writable"
    );
    let on_ro = |args: &[&str]| {
        env.command(args)
            .env("BACKUP_REPOSITORY", &ro.0)
            .output()
            .unwrap()
    };
    let warned = |out: &std::process::Output| {
        let err = stderr(out);
        assert_eq!(
            err.matches("warning: no lock taken on repository").count(),
            1,
            "{err}"
        );
        assert!(err.contains(ro.0.to_str().unwrap()), "{err}");
        assert!(err.contains("read-only"), "{err}");
    };

    let out = on_ro(&["check", "--read-data"]);
    assert_ok(&out, "check of a read-only repository");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no errors"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    warned(&out);

    let file = env.tmp.path().join("s1.zfs");
    let out = on_ro(&[
        "restore",
        &s1.to_string(),
        "--to-file",
        file.to_str().unwrap(),
    ]);
    assert_ok(&out, "restore --to-file from a read-only repository");
    warned(&out);
    assert_eq!(
        blake3::hash(&fs::read(&file).unwrap()).to_hex().to_string(),
        digest
    );
    let target = env.pool.root().child("restored").unwrap();
    let out = on_ro(&["restore", &s1.to_string(), "--to", target.as_str()]);
    assert_ok(&out, "restore --to from a read-only repository");
    warned(&out);
    assert_eq!(
        fs::read(env.mountpoint(&target).join("f")).unwrap(),
        noise(200_000, 4)
    );

    // A writer still fails, and says why.
    let s2 = env.snapshot(&ds, "s2");
    let out = on_ro(&["send", &s2.to_string()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("no lock taken"), "{}", stderr(&out));
    drop(ro);
    assert_eq!(env.list().len(), 1);
}
