//! `backup key list | export | check | add`: an exported key slot and its
//! passphrase open the repository on their own, even with its keys/ gone.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use backup_core::{KdfLimits, LocalBackend, Repository};

use crate::drill_history::stdout;
use crate::harness::{assert_ok, stderr, Env};

const PASS: &[u8] = b"correct horse battery staple";

#[test]
fn key_export_writes_a_key_that_opens_the_repository_with_its_passphrase() {
    let env = Env::new();
    let key = env.tmp.path().join("escrow.key");
    let out = env.backup(["key", "export", "--output", key.to_str().unwrap()]);
    assert_ok(&out, "key export");
    assert!(
        stdout(&out).contains("exported key slot "),
        "{}",
        stdout(&out)
    );
    let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // Never overwritten.
    let before = fs::read(&key).unwrap();
    let out = env.backup(["key", "export", "--output", key.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("exists; not overwriting"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(&key).unwrap(), before);

    // The CLI's check, then the library, with the repository's keys gone.
    let out = env.backup(["key", "check", key.to_str().unwrap()]);
    assert_ok(&out, "key check");
    assert!(
        stdout(&out).contains("and the passphrase open repository"),
        "{}",
        stdout(&out)
    );
    let keys = env.repo.join("keys");
    let hidden = env.tmp.path().join("keys-away");
    fs::rename(&keys, &hidden).unwrap();
    fs::create_dir(&keys).unwrap();
    let backend = Arc::new(LocalBackend::new(&env.repo));
    assert!(Repository::open(backend.clone(), PASS).is_err());
    let repo = Repository::open_with_key(
        backend.clone(),
        "escrow.key",
        &before,
        PASS,
        KdfLimits::DEFAULT,
    )
    .unwrap();
    assert_eq!(repo.key_name(), "escrow.key");
    let out = env.backup(["key", "check", key.to_str().unwrap()]);
    assert_ok(&out, "key check without key slots");
    // A wrong passphrase: exit 4.
    fs::write(env.tmp.path().join("wrong"), "nope\n").unwrap();
    let out = env
        .command(["key", "check", key.to_str().unwrap()])
        .env("BACKUP_PASSWORD_FILE", env.tmp.path().join("wrong"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("escrow.key"), "{}", stderr(&out));
    fs::remove_dir(&keys).unwrap();
    fs::rename(&hidden, &keys).unwrap();
}

#[test]
fn key_add_and_list() {
    let env = Env::new();
    let new = env.tmp.path().join("new-pass");
    fs::write(&new, "a second passphrase\n").unwrap();
    let out = env.backup([
        "key",
        "add",
        "--new-password-file",
        new.to_str().unwrap(),
        "--kdf-memory",
        "1024",
        "--kdf-iterations",
        "1",
    ]);
    assert_ok(&out, "key add");
    assert!(
        stdout(&out).starts_with("added key slot "),
        "{}",
        stdout(&out)
    );

    // Listing needs no passphrase.
    let out = env
        .command(["key", "list"])
        .env_remove("BACKUP_PASSWORD_FILE")
        .output()
        .unwrap();
    assert_ok(&out, "key list");
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines()
            .all(|l| l.contains("argon2id m=1024 KiB t=1 p=1")),
        "{text}"
    );
    let out = env.backup(["key", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["params"]["memory_kib"], 1024);

    // The new passphrase opens the repository, and exports its own slot.
    let key = env.tmp.path().join("second.key");
    let out = env
        .command(["key", "export", "-o", key.to_str().unwrap()])
        .env("BACKUP_PASSWORD_FILE", &new)
        .output()
        .unwrap();
    assert_ok(&out, "key export with the new passphrase");
    let backend = Arc::new(LocalBackend::new(&env.repo));
    let bytes = fs::read(&key).unwrap();
    assert!(Repository::open_with_key(
        backend.clone(),
        "k",
        &bytes,
        b"a second passphrase",
        KdfLimits::DEFAULT
    )
    .is_ok());
    assert!(Repository::open_with_key(backend, "k", &bytes, PASS, KdfLimits::DEFAULT).is_err());
}

/// Regression: `--password-file` silently won over `--password-command`.
/// Both together, as flags or variables, are a usage error naming both.
#[test]
fn a_passphrase_file_and_command_together_are_refused() {
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = std::process::Command::new(crate::harness::BIN);
        c.args(args)
            .env_clear()
            .env("BACKUP_REPOSITORY", "/nonexistent/repo")
            .envs(env.iter().copied());
        c.output().unwrap()
    };
    for out in [
        run(
            &[
                "--password-file",
                "/etc/pass",
                "--password-command",
                "echo x",
                "list",
            ],
            &[],
        ),
        run(
            &["list"],
            &[
                ("BACKUP_PASSWORD_FILE", "/etc/pass"),
                ("BACKUP_PASSWORD_COMMAND", "echo x"),
            ],
        ),
        run(
            &["--password-file", "/etc/pass", "list"],
            &[("BACKUP_PASSWORD_COMMAND", "echo x")],
        ),
    ] {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("--password-file") && err.contains("--password-command"),
            "{err}"
        );
        assert!(err.contains("/etc/pass") && err.contains("echo x"), "{err}");
    }
}

/// Regression: a key slot whose stored `memory_kib` was set to 4294967295
/// made every command abort (exit 134, a 4 TiB allocation).
#[test]
fn a_tampered_key_slot_cost_is_refused_not_obeyed() {
    let env = Env::new();
    let dir = env.repo.join("keys");
    let slot = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let mut v: serde_json::Value = serde_json::from_slice(&fs::read(&slot).unwrap()).unwrap();
    v["params"]["memory_kib"] = u32::MAX.into();
    fs::write(&slot, serde_json::to_vec(&v).unwrap()).unwrap();
    let out = env.backup(["list"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("within the Argon2id limits"), "{err}");
    assert!(
        err.contains("memory_kib 4294967295 (at most 1048576)"),
        "{err}"
    );

    // Nor are such costs made without the flag.
    let other = Env::without_repo();
    let out = other.backup(["init", "--kdf-memory", "4194304"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--allow-expensive-kdf"),
        "{}",
        stderr(&out)
    );
    assert!(!other.repo.join("config").exists());
}

#[test]
fn the_escrowed_key_file_restores_lists_and_checks_with_the_key_slots_gone() {
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("f"), "escrow me").unwrap();
    let s1 = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s1.to_string()]), "send");
    let key = env.tmp.path().join("escrow.key");
    assert_ok(
        &env.backup(["key", "export", "--output", key.to_str().unwrap()]),
        "key export",
    );
    // The key slots are lost.
    for f in fs::read_dir(env.repo.join("keys")).unwrap() {
        fs::remove_file(f.unwrap().path()).unwrap();
    }
    let out = env.backup(["list"]);
    assert!(!out.status.success(), "no key slot left: {}", stderr(&out));

    let k = key.to_str().unwrap();
    let out = env.backup(["list", "--json", "--key-file", k]);
    assert_ok(&out, "list --key-file");
    assert!(
        stdout(&out).contains("\"snapshot\": \"s1\""),
        "{}",
        stdout(&out)
    );
    assert_ok(&env.backup(["check", "--key-file", k]), "check --key-file");
    let target = env.pool.root().child("back").unwrap();
    let out = env
        .command(["restore", &s1.to_string(), "--to", target.as_str()])
        .env("BACKUP_KEY_FILE", &key)
        .output()
        .unwrap();
    assert_ok(&out, "restore with BACKUP_KEY_FILE");
    assert_eq!(
        fs::read_to_string(env.mountpoint(&target).join("f")).unwrap(),
        "escrow me"
    );
}
