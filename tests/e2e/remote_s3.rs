//! A repository on a real S3 server (Garage).

use std::fs;

use crate::harness::stderr;
use crate::remote::{full_cycle, RemoteEnv};

#[test]
fn every_operation_works_over_s3() {
    let r = RemoteEnv::s3();
    full_cycle(&r);
}

#[test]
fn wrong_credentials_are_a_clear_error_and_not_retried() {
    let r = RemoteEnv::s3();
    r.init();
    fs::write(r.env.tmp.path().join("s3.secret"), "not-the-secret\n").unwrap();
    // The config points at the secret file, which is read at each command.
    let out = r.backup(["list"]);
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(e.contains("s3://"), "names the repository: {e}");
    assert!(
        e.contains("PermissionDenied") || e.contains("SignatureDoesNotMatch") || e.contains("403"),
        "{e}"
    );
    assert!(!e.contains("retrying"), "{e}");
}

#[test]
fn credentials_come_from_the_aws_environment_when_the_configuration_has_none() {
    let r = RemoteEnv::s3();
    r.init();
    let crate::remote::Server::S3(g) = &r.server else {
        unreachable!()
    };
    // No configuration file at all: the location and the AWS variables.
    let mut c = r.env.command(["list", "--json"]);
    c.env("BACKUP_REPOSITORY", &r.location)
        .env("BACKUP_CONFIG", r.env.tmp.path().join("none.toml"));
    g.with_env(&mut c);
    let out = c.output().unwrap();
    crate::harness::assert_ok(&out, "list with AWS_* variables");
    // And without them: a clear error naming what is missing.
    let mut c = r.env.command(["list"]);
    c.env("BACKUP_REPOSITORY", &r.location)
        .env("BACKUP_CONFIG", r.env.tmp.path().join("none.toml"));
    let out = c.output().unwrap();
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(e.contains("no credentials"), "{e}");
    assert!(e.contains("AWS_ACCESS_KEY_ID"), "{e}");
}
