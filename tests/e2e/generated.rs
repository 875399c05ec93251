//! What is generated from the clap definitions for the Debian package
//! (scripts/package.sh): `backup completions SHELL` and the hidden
//! `backup manpages DIR`. No ZFS involved.

use std::fs;
use std::process::Command;

use crate::harness::{assert_ok, run_ok, BIN};

#[test]
fn completions_for_bash_zsh_and_fish_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "complete -F _backup"),
        ("zsh", "#compdef backup"),
        ("fish", "complete -c backup"),
    ] {
        let out = Command::new(BIN)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert_ok(&out, &format!("completions {shell}"));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell}: no {marker:?} in\n{text}");
        for sub in ["send", "restore", "drill", "completions"] {
            assert!(text.contains(sub), "{shell}: subcommand {sub} missing");
        }
        // The hidden `manpages` (for packaging) is not offered.
        assert!(!text.contains("manpages"), "{shell}: offers manpages");
    }
    // bash loads the script and registers the function for `backup`.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("backup");
    let out = Command::new(BIN)
        .args(["completions", "bash"])
        .output()
        .unwrap();
    fs::write(&script, out.stdout).unwrap();
    let out = run_ok(
        "bash",
        [
            "-c",
            &format!("source {} && complete -p backup", script.display()),
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("_backup") && text.trim_end().ends_with(" backup"),
        "{text}"
    );
}

#[test]
fn completions_for_an_unknown_shell_are_a_usage_error() {
    let out = Command::new(BIN)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn manpages_one_per_subcommand_and_hidden_from_help() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["manpages", "--date", "2026-12-01"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_ok(&out, "manpages");
    for page in [
        "backup.1",
        "backup-send.1",
        "backup-drill-run.1",
        "backup-completions.1",
    ] {
        let text = fs::read_to_string(dir.path().join(page)).unwrap();
        let title = text.lines().find(|l| l.starts_with(".TH ")).unwrap_or("");
        let version = format!("backup {}", env!("CARGO_PKG_VERSION"));
        assert!(
            title.contains("2026-12-01") && title.contains(&version),
            "{page}: {title}"
        );
    }
    // The generator itself has no page, and --help does not offer it.
    assert!(!dir.path().join("backup-manpages.1").exists());
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert_ok(&out, "--help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("completions") && !help.contains("manpages"),
        "{help}"
    );
}
