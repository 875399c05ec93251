//! Remote repositories when things go wrong: the server stops in the
//! middle of a ship, the uplink is limited.

use std::fs;
use std::time::{Duration, Instant};

use crate::harness::{assert_ok, stderr};
use crate::remote::{RemoteEnv, T1, T2};
use crate::servers::proxy::Slowness;

/// The server stops after the 3rd pack is durable. The ship fails after its
/// retries, naming the object; the server comes back; the next run adopts
/// the packs already stored and uploads only the rest.
fn server_stopped_mid_ship(mut r: RemoteEnv) {
    let out = r.backup([
        "init",
        "--kdf-memory",
        "1024",
        "--kdf-iterations",
        "1",
        "--pack-size",
        "2",
    ]);
    assert_ok(&out, "init");
    r.fill(24, 5);
    let marker = r.env.tmp.path().join("paused");
    let child = r
        .command(["run", "app", "--now", T1])
        .env("BACKUP_TEST_PAUSE_AT", "pack-written-3")
        .env("BACKUP_TEST_PAUSE_MARKER", &marker)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the ship never wrote 3 packs");
        std::thread::sleep(Duration::from_millis(50));
    }
    r.server.stop();
    fs::remove_file(&marker).unwrap();
    let out = child.wait_with_output().unwrap();
    let e = stderr(&out);
    assert!(!out.status.success(), "the ship failed: {e}");
    assert!(e.contains("gave up after 4 attempts"), "{e}");
    assert!(e.contains("retrying"), "retries were reported: {e}");
    assert!(e.contains(&r.location), "names the repository: {e}");

    r.server.restart();
    let out = r.backup(["run", "app", "--now", T2]);
    assert_ok(&out, "the run after the outage");
    let text = String::from_utf8_lossy(&out.stdout);
    let adopted: u64 = text
        .split("indexed ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no adoption reported: {text}"));
    assert!(adopted >= 3, "{text}");
    let list = r.list();
    assert_eq!(list.len(), 1, "{list:#?}");
    let stored = list[0]["new_stored_bytes"].as_u64().unwrap();
    // 24 MiB of noise; at least 3 packs of ~2 MiB were not sent again.
    assert!(
        stored < (24 << 20) - 5 * (1 << 20),
        "stored {stored} bytes again"
    );
    let out = r.backup(["check", "--read-data"]);
    assert_ok(&out, "check --read-data after the outage");
    let id = list[0]["id"].as_str().unwrap().to_string();
    r.restore_and_compare(&id, &r.job_snapshot(T2), "restored");
}

#[test]
fn sftp_server_stopped_mid_ship_then_resumed() {
    server_stopped_mid_ship(RemoteEnv::sftp());
}

#[test]
fn s3_server_stopped_mid_ship_then_resumed() {
    server_stopped_mid_ship(RemoteEnv::s3());
}

/// `--limit-upload` holds a ship to the rate, over the wire.
fn upload_is_limited(r: &RemoteEnv) {
    r.init();
    r.fill(8, 6);
    let started = Instant::now();
    let out = r.backup(["--limit-upload", "2MiB/s", "run", "app", "--now", T1]);
    assert_ok(&out, "limited run");
    let took = started.elapsed().as_secs_f64();
    // 8 MiB of noise at 2 MiB/s (one second of burst): at least 3 s.
    assert!(took >= 3.0, "8 MiB at 2 MiB/s took {took:.1} s");
    let list = r.list();
    assert!(list[0]["new_stored_bytes"].as_u64().unwrap() > 8 << 20);
}

#[test]
fn sftp_upload_limit_is_kept() {
    upload_is_limited(&RemoteEnv::sftp());
}

#[test]
fn s3_upload_limit_is_kept() {
    upload_is_limited(&RemoteEnv::s3());
}

/// A server that accepts the first connection and never answers, then is
/// slow (1 MiB/s each way): the hung connection times out and is retried,
/// the limit holds, and everything round-trips.
fn slow_server(r: &RemoteEnv) {
    r.init();
    // The hung connection was the init's first: it was retried.
    let proxy = r.proxy.as_ref().unwrap();
    assert!(proxy.connections() >= 2, "{}", proxy.connections());
    r.fill(3, 8);
    let started = Instant::now();
    let out = r.backup(["--limit-upload", "512KiB/s", "run", "app", "--now", T1]);
    assert_ok(&out, "run through the slow server");
    let took = started.elapsed().as_secs_f64();
    // 3 MiB of noise at 512 KiB/s (one second of burst): at least 4 s.
    assert!(took >= 4.0, "3 MiB at 512 KiB/s took {took:.1} s");
    let list = r.list();
    let id = list[0]["id"].as_str().unwrap().to_string();
    r.restore_and_compare(&id, &r.job_snapshot(T1), "restored");
}

#[test]
fn sftp_slow_and_hanging_server() {
    let r = RemoteEnv::sftp_through(Slowness {
        rate: 1 << 20,
        hang_first: 1,
    });
    slow_server(&r);
}

#[test]
fn s3_slow_and_hanging_server() {
    let r = RemoteEnv::s3_through(Slowness {
        rate: 1 << 20,
        hang_first: 1,
    });
    slow_server(&r);
}
