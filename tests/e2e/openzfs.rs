//! What only OpenZFS has, through `backup`: raw sends of natively encrypted
//! datasets and compressed sends. On zfs-fuse the same commands must be
//! refused with a clear error, never silently sent another way.

use std::fs;

use crate::harness::{assert_ok, noise, run_ok, stderr, Env};

fn openzfs(env: &Env) -> bool {
    env.pool.zfs().features().unwrap().raw_send
}

#[test]
fn raw_send_of_an_encrypted_dataset_restores_without_the_key_then_reads() {
    let env = Env::new();
    if !openzfs(&env) {
        let ds = env.dataset("plain");
        let snap = env.snapshot(&ds, "s1");
        for flag in ["--raw", "--compressed"] {
            let out = env.backup(["send", flag, &snap.to_string()]);
            assert_eq!(out.status.code(), Some(1), "{flag}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("zfs-fuse"),
                "{flag}: {}",
                stderr(&out)
            );
        }
        assert!(env.list().is_empty());
        return;
    }
    let key = env.tmp.path().join("zfs.key");
    fs::write(&key, "a long enough passphrase\n").unwrap();
    let secret = env.pool.root().child("secret").unwrap();
    run_ok(
        "zfs",
        [
            "create",
            "-o",
            "encryption=on",
            "-o",
            "keyformat=passphrase",
            "-o",
            &format!("keylocation=file://{}", key.display()),
            secret.as_str(),
        ],
    );
    let data = noise(2 << 20, 11);
    fs::write(env.mountpoint(&secret).join("f"), &data).unwrap();
    let s1 = env.snapshot(&secret, "s1");
    assert_ok(&env.backup(["send", "--raw", &s1.to_string()]), "raw full");
    fs::write(env.mountpoint(&secret).join("g"), "second").unwrap();
    let s2 = env.snapshot(&secret, "s2");
    assert_ok(
        &env.backup(["send", "--raw", &s2.to_string()]),
        "raw incremental",
    );
    let list = env.list();
    assert!(
        list[1]["send_flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "-w"),
        "{list:?}"
    );

    let copy = env.pool.root().child("copy").unwrap();
    assert_ok(
        &env.backup(["restore", &s2.to_string(), "--to", copy.as_str()]),
        "restore raw chain",
    );
    let status = run_ok(
        "zfs",
        ["get", "-H", "-o", "value", "keystatus", copy.as_str()],
    );
    assert_eq!(
        String::from_utf8_lossy(&status.stdout).trim(),
        "unavailable"
    );
    run_ok(
        "zfs",
        [
            "load-key",
            "-L",
            &format!("file://{}", key.display()),
            copy.as_str(),
        ],
    );
    run_ok("zfs", ["mount", copy.as_str()]);
    let mnt = env.mountpoint(&copy);
    assert_eq!(fs::read(mnt.join("f")).unwrap(), data);
    assert_eq!(fs::read_to_string(mnt.join("g")).unwrap(), "second");

    // A compressed send of a compressed dataset restores the same files.
    let packed = env.pool.root().child("packed").unwrap();
    run_ok("zfs", ["create", "-o", "compression=lz4", packed.as_str()]);
    fs::write(env.mountpoint(&packed).join("t"), "text ".repeat(100_000)).unwrap();
    let c1 = env.snapshot(&packed, "c1");
    assert_ok(
        &env.backup(["send", "--compressed", &c1.to_string()]),
        "compressed send",
    );
    let back = env.pool.root().child("packed-back").unwrap();
    assert_ok(
        &env.backup(["restore", &c1.to_string(), "--to", back.as_str()]),
        "restore",
    );
    assert_eq!(
        fs::read_to_string(env.mountpoint(&back).join("t")).unwrap(),
        "text ".repeat(100_000)
    );

    // restore --path: compressed (-c) blocks are not rebuilt from the lanes,
    // the slow path restores the file; a raw chain's files are refused,
    // naming why. (zfs-fuse refused --compressed and --raw above.)
    let into = env.tmp.path().join("one");
    let (c1, s2) = (c1.to_string(), s2.to_string());
    let one = |snap: &str, path: &str, extra: &[&str]| {
        let mut c = env.command(["restore", snap, "--path", path, "--into"]);
        c.arg(&into).args(["--json"]).args(extra);
        c.output().unwrap()
    };
    let out = one(&c1, "t", &["--fast-only"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("compressed"), "{}", stderr(&out));
    let out = one(&c1, "t", &[]);
    assert_ok(&out, "restore --path of a compressed send");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["paths"][0]["how"], "slow", "{v}");
    assert_eq!(
        fs::read_to_string(into.join("t")).unwrap(),
        "text ".repeat(100_000)
    );
    let out = one(&s2, "f", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("shipped raw"), "{}", stderr(&out));
}

/// A job's next incremental base carries a user hold on OpenZFS: nobody
/// can destroy it by hand; the hold moves to the newest shipped snapshot.
/// On zfs-fuse (no working `zfs holds`) the tool's own record protects it.
#[test]
fn the_next_incremental_base_is_held_where_the_dialect_has_holds() {
    let env = Env::new();
    let ds = env.dataset("held");
    fs::write(env.mountpoint(&ds).join("f"), "one").unwrap();
    let config = env.tmp.path().join("backup.toml");
    fs::write(
        &config,
        format!(
            "state_dir = {:?}\n[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\n\
             [jobs.web]\nrepository = \"nas\"\ndatasets = [\"{ds}\"]\nprefix = \"job\"\n\
             keep_source = {{ keep_last = 1 }}\n",
            env.tmp.path().join("state"),
            env.repo,
            env.tmp.path().join("pass"),
        ),
    )
    .unwrap();
    let run = |now: &str| {
        let out = env.backup([
            "run",
            "web",
            "--config",
            config.to_str().unwrap(),
            "--now",
            now,
        ]);
        assert_ok(&out, &format!("run at {now}"));
    };
    run("2026-11-02T10:00:00Z");
    fs::write(env.mountpoint(&ds).join("f"), "two").unwrap();
    run("2026-11-02T11:00:00Z");
    // The first base lost its hold when the second took over, so source
    // retention could destroy it.
    let second = format!("{ds}@job-20261102T110000Z");
    let names: Vec<String> = env
        .pool
        .zfs()
        .list_snapshots(&ds)
        .unwrap()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(
        names,
        std::slice::from_ref(&second),
        "keep_last = 1 on the source"
    );
    if !env.pool.zfs().features().unwrap().holds {
        return;
    }
    let holds = run_ok("zfs", ["holds", "-H", &second]);
    let text = String::from_utf8_lossy(&holds.stdout);
    assert!(text.contains("backup-base-web"), "{text}");
    let destroy = std::process::Command::new("zfs")
        .args(["destroy", &second])
        .output()
        .unwrap();
    assert!(!destroy.status.success(), "a held base was destroyed");
}
