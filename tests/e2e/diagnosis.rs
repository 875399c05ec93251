//! Damage is diagnosed as damage: exit 3 naming the damaged object, never
//! "wrong passphrase" or a bare read error (issue 14, item 5).

use std::fs;

use crate::harness::{assert_ok, noise, pack_files, stderr, Env};

const EXIT_DAMAGED: i32 = 3;

/// Regression: a truncated pack made restore exit 1 with "read range …:
/// failed to fill whole buffer", not naming the pack.
#[test]
fn a_truncated_pack_fails_restore_as_damage_naming_the_pack() {
    let env = Env::new();
    let ds = env.dataset("d");
    fs::write(env.mountpoint(&ds).join("f"), noise(4 << 20, 11)).unwrap();
    let snap = env.snapshot(&ds, "s");
    assert_ok(&env.backup(["send", &snap.to_string()]), "send");

    let pack = pack_files(&env).pop().unwrap();
    let pack_name = pack.file_name().unwrap().to_str().unwrap().to_string();
    let len = fs::metadata(&pack).unwrap().len();
    fs::File::options()
        .write(true)
        .open(&pack)
        .unwrap()
        .set_len(len - 4096)
        .unwrap();

    let out = env.backup(["restore", &snap.to_string(), "--to-file", "-"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{}", stderr(&out));
    assert!(stderr(&out).contains(&pack_name), "{}", stderr(&out));
    assert!(stderr(&out).contains(&snap.to_string()), "{}", stderr(&out));

    let out = env.backup(["check"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&pack_name) && text.contains("truncated"),
        "{text}"
    );
}

/// Regression: one byte of the config's repository id changed gave "wrong
/// passphrase" (exit 4) with the right passphrase.
#[test]
fn a_damaged_repository_id_in_the_config_is_damage_not_a_wrong_passphrase() {
    let env = Env::new();
    let config = env.repo.join("config");
    let mut bytes = fs::read(&config).unwrap();
    // The repository id is bytes 8..40 (docs/design.md §3.1).
    bytes[8 + 7] ^= 0x01;
    fs::write(&config, bytes).unwrap();
    let out = env.backup(["list"]);
    assert_eq!(out.status.code(), Some(EXIT_DAMAGED), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains("config"), "{text}");
    assert!(!text.contains("wrong passphrase"), "{text}");
}
