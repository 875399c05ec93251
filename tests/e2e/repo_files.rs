//! Files in and around a repository: temporary files left by killed
//! writers (`check` reports them, `prune` removes them), and modes (0700
//! directories, 0600 files, whatever the umask) of the repository, the
//! catalog and the metadata cache, local and over SFTP.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::{assert_ok, noise, Env};
use crate::remote::{sftp_repo_dir, RemoteEnv, T1};

/// The same command run through `sh` with umask 022 (the umask is
/// process-wide, so it is not changed in the test process).
fn under_umask_022(c: &Command) -> Output {
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c")
        .arg("umask 022; exec \"$0\" \"$@\"")
        .arg(c.get_program())
        .args(c.get_args())
        .env_clear();
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    sh.output().expect("run sh")
}

/// Every directory and file under `root`, with its mode, `root` included.
fn modes(root: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = Vec::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(p) = todo.pop() {
        let m = fs::symlink_metadata(&p).unwrap();
        out.push((p.clone(), m.is_dir(), m.permissions().mode() & 0o777));
        if m.is_dir() {
            todo.extend(fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out
}

fn assert_private(root: &Path, what: &str) {
    let all = modes(root);
    assert!(
        all.iter().any(|(_, d, _)| !d),
        "{what}: files under {root:?}"
    );
    for (p, is_dir, mode) in all {
        let want = if is_dir { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{what}: {} has mode {mode:o}", p.display());
    }
}

#[test]
fn temporary_files_are_reported_by_check_and_removed_by_prune() {
    let env = Env::new();
    let ds = env.dataset("data");
    fs::write(env.mountpoint(&ds).join("f"), noise(1 << 20, 3)).unwrap();
    let s = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s.to_string()]), "send");

    // What a SIGKILLed ship leaves in a pack's directory, and a key slot
    // write (possibly another host's, in progress) that prune must keep.
    let sub = fs::read_dir(env.repo.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .next()
        .unwrap();
    let pack_tmp = sub.join(".tmp-99999-0badf00d");
    fs::write(&pack_tmp, noise(4 << 20, 4)).unwrap();
    let key_tmp = env.repo.join("keys/.tmp-99998-1badf00d");
    fs::write(&key_tmp, b"partial").unwrap();

    let out = env.backup(["check"]);
    assert_ok(&out, "check");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "warning: 2 temporary file(s), {} bytes, left by interrupted writes (harmless; prune removes them)",
            (4 << 20) + 7
        )),
        "{text}"
    );
    let out = env.backup(["check", "--json"]);
    assert_ok(&out, "check --json");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["temporary_files"], 2, "{r:#}");
    assert_eq!(r["temporary_bytes"], (4 << 20) + 7, "{r:#}");
    assert_eq!(r["errors"].as_array().unwrap().len(), 0, "{r:#}");

    let out = env.backup(["prune", "--dry-run"]);
    assert_ok(&out, "prune --dry-run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("would remove 1 temporary file(s) left by interrupted writes"),
        "{text}"
    );
    assert!(text.contains("1 younger than 60 min"), "{text}");
    assert!(text.contains("would replace 0 index segment(s)"), "{text}");
    assert!(pack_tmp.exists());

    let out = env.backup(["prune"]);
    assert_ok(&out, "prune");
    assert!(!pack_tmp.exists(), "the dead ship's temporary file is gone");
    assert!(key_tmp.exists(), "a young key slot temporary file is kept");

    let out = env.backup(["check", "--json"]);
    assert_ok(&out, "check after prune");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["temporary_files"], 1, "{r:#}");
    assert_eq!(r["errors"].as_array().unwrap().len(), 0, "{r:#}");
    assert_eq!(env.list().len(), 1);
}

#[test]
fn repository_catalog_and_cache_are_private_under_umask_022() {
    let env = Env::without_repo();
    let init = env.command(["init", "--kdf-memory", "1024", "--kdf-iterations", "1"]);
    assert_ok(&under_umask_022(&init), "init");
    let ds = env.dataset("data");
    fs::write(env.mountpoint(&ds).join("f"), noise(1 << 20, 5)).unwrap();
    let s = env.snapshot(&ds, "s1");
    let send = env.command(["send", &s.to_string()]);
    assert_ok(&under_umask_022(&send), "send");
    assert_ok(&under_umask_022(&env.command(["list"])), "list");

    assert_private(&env.repo, "repository");
    // The catalog (and its -wal/-shm) in the state directory.
    let state = env.tmp.path().join("state");
    let catalogs: Vec<_> = modes(&state)
        .into_iter()
        .filter(|(p, _, _)| p.to_string_lossy().ends_with(".sqlite"))
        .collect();
    assert_eq!(catalogs.len(), 1, "{catalogs:?}");
    assert_private(&state, "state directory");
}

#[test]
fn an_sftp_repository_and_its_metadata_cache_are_private_under_umask_022() {
    let r = RemoteEnv::sftp();
    let init = r.command(["init", "--kdf-memory", "1024", "--kdf-iterations", "1"]);
    assert_ok(&under_umask_022(&init), "init");
    r.fill(2, 1);
    assert_ok(
        &under_umask_022(&r.command(["run", "app", "--now", T1])),
        "run",
    );
    assert_private(&sftp_repo_dir(&r), "SFTP repository");
    assert_private(&r.env.tmp.path().join("cache"), "cache directory");
}
