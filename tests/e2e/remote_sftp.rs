//! A repository on a real OpenSSH server over SFTP.

use std::fs;

use crate::harness::{assert_ok, stderr};
use crate::remote::{full_cycle, sftp_repo_dir, RemoteEnv, Server};

#[test]
fn every_operation_works_over_sftp() {
    let r = RemoteEnv::sftp();
    full_cycle(&r);
    // Objects were written whole under their names: no temporary left.
    let left: Vec<_> = r
        .objects()
        .into_iter()
        .filter(|p| p.contains("/.tmp-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert!(sftp_repo_dir(&r).join("config").exists());
}

#[test]
fn an_unknown_or_changed_host_key_is_refused_with_its_fingerprint() {
    let r = RemoteEnv::sftp();
    r.init();
    let Server::Sftp(sshd) = &r.server else {
        unreachable!()
    };
    let fingerprint = sshd.host_key_fingerprint();
    let known = fs::read_to_string(sshd.known_hosts()).unwrap();

    // Unknown: nothing in known_hosts.
    fs::write(sshd.known_hosts(), "").unwrap();
    let out = r.backup(["list"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("is not known"), "{e}");
    assert!(e.contains(&fingerprint), "{fingerprint} in {e}");
    assert!(e.contains("ssh-keyscan -p"), "{e}");

    // Changed: another key recorded for the same host and port.
    let name = known.split_whitespace().next().unwrap();
    let other = sshd.identity_file().with_extension("pub");
    let other_key = fs::read_to_string(other).unwrap();
    let mut parts = other_key.split_whitespace();
    fs::write(
        sshd.known_hosts(),
        format!(
            "{name} {} {}\n",
            parts.next().unwrap(),
            parts.next().unwrap()
        ),
    )
    .unwrap();
    let out = r.backup(["list"]);
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(e.contains("has CHANGED"), "{e}");
    assert!(e.contains(&fingerprint), "{fingerprint} in {e}");
    // Nothing was retried: a host key problem is not transient.
    assert!(!e.contains("retrying"), "{e}");

    fs::write(sshd.known_hosts(), known).unwrap();
    assert_ok(&r.backup(["list"]), "list with the right key");
}

#[test]
fn a_refused_login_is_a_clear_error_and_not_retried() {
    let r = RemoteEnv::sftp();
    r.init();
    let Server::Sftp(sshd) = &r.server else {
        unreachable!()
    };
    // Another key, which the server does not accept.
    let stranger = r.env.tmp.path().join("stranger");
    crate::harness::run_ok(
        "ssh-keygen",
        [
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-f",
            stranger.to_str().unwrap(),
        ],
    );
    let text = fs::read_to_string(&r.config).unwrap().replace(
        sshd.identity_file().to_str().unwrap(),
        stranger.to_str().unwrap(),
    );
    fs::write(&r.config, text).unwrap();
    let out = r.backup(["list"]);
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(e.contains("Permission denied"), "{e}");
    assert!(!e.contains("retrying"), "{e}");
}
