//! Volumes (zvols), on OpenZFS only: zfs-fuse has none. A volume ships as a
//! stream like a file system; its "file manifest" is the BLAKE3 of its whole
//! device, read through a read-only clone; a restore gives back every byte;
//! and a drill checks the restored device against that digest (layer 3),
//! catching a digest that no longer matches.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Seek, SeekFrom, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use backup_zfs::DatasetName;
use serde_json::Value;

use crate::harness::{assert_ok, noise, run_ok, stderr, Env};

const VOLSIZE: u64 = 16 << 20;

/// A volume `name` of [`VOLSIZE`] under the pool's root, or `None` where the
/// dialect has no volume devices (zfs-fuse).
fn volume(env: &Env, name: &str) -> Option<DatasetName> {
    if !env.pool.zfs().features().unwrap().volume_devices {
        return None;
    }
    let vol = env.pool.root().child(name).unwrap();
    run_ok(
        "zfs",
        [
            "create",
            "-V",
            &VOLSIZE.to_string(),
            "-o",
            "volblocksize=16k",
            vol.as_str(),
        ],
    );
    device(vol.as_str());
    Some(vol)
}

/// `/dev/zvol/<name>`, once udev has made it (up to 30 s).
fn device(name: &str) -> PathBuf {
    let dev = PathBuf::from("/dev/zvol").join(name);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fs::metadata(&dev).is_ok_and(|m| m.file_type().is_block_device()) {
        assert!(Instant::now() < deadline, "no device {}", dev.display());
        std::thread::sleep(Duration::from_millis(100));
    }
    dev
}

/// Writes `data` at `offset` of the device of `name`, flushed. After `zfs
/// set readonly=off` OpenZFS clears the device's read-only flag
/// asynchronously: until then, opening it for writing is retried.
fn write_at(name: &str, offset: u64, data: &[u8]) {
    let dev = device(name);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut f = loop {
        match OpenOptions::new().write(true).open(&dev) {
            Err(e) if e.kind() == ErrorKind::ReadOnlyFilesystem && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            r => break r.unwrap_or_else(|e| panic!("open {} for writing: {e}", dev.display())),
        }
    };
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(data).unwrap();
    f.sync_all().unwrap();
}

fn contents(name: &str) -> Vec<u8> {
    let bytes = fs::read(device(name)).unwrap();
    assert_eq!(bytes.len() as u64, VOLSIZE, "{name}");
    bytes
}

fn send_json(env: &Env, snap: &str) -> Value {
    let out = env.backup(["send", "--json", snap]);
    assert_ok(&out, snap);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_volume_ships_and_restores_every_byte() {
    let env = Env::new();
    let Some(vol) = volume(&env, "vm-disk") else {
        return;
    };
    // Data at the start and near the end, a hole between.
    write_at(vol.as_str(), 0, &noise(4 << 20, 21));
    write_at(vol.as_str(), 10 << 20, &noise(1 << 20, 22));
    let s1 = env.snapshot(&vol, "s1");
    let at_s1 = contents(vol.as_str());
    let sent = send_json(&env, &s1.to_string());
    assert_eq!(
        sent["volume_digest"].as_str(),
        Some(blake3::hash(&at_s1).to_hex().as_str()),
        "{sent:#}"
    );
    assert!(sent["file_manifest"].is_null(), "{sent:#}");

    write_at(vol.as_str(), 2 << 20, &noise(1 << 20, 23));
    let s2 = env.snapshot(&vol, "s2");
    let at_s2 = contents(vol.as_str());
    assert_ne!(at_s1, at_s2);
    let sent = send_json(&env, &s2.to_string());
    assert_eq!(
        sent["base_snapshot"].as_str(),
        Some(s1.to_string().as_str())
    );
    assert_eq!(
        sent["volume_digest"].as_str(),
        Some(blake3::hash(&at_s2).to_hex().as_str())
    );
    assert!(
        sent["stream_len"].as_u64().unwrap() < 3 << 20,
        "the incremental carries the changed MiB, not the volume: {sent:#}"
    );
    // No view clone is left behind.
    let out = run_ok("zfs", ["list", "-H", "-o", "name", "-r", env.pool.name()]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("backup-view-"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    for (snap, want, name) in [(&s2, &at_s2, "copy2"), (&s1, &at_s1, "copy1")] {
        let to = env.pool.root().child(name).unwrap();
        assert_ok(
            &env.backup(["restore", &snap.to_string(), "--to", to.as_str()]),
            &format!("restore {snap}"),
        );
        let kind = run_ok("zfs", ["get", "-H", "-o", "value", "type", to.as_str()]);
        assert_eq!(String::from_utf8_lossy(&kind.stdout).trim(), "volume");
        assert!(contents(to.as_str()) == *want, "{to} differs from {snap}");
    }
}

#[test]
fn a_drill_checks_a_restored_volume_by_its_device_digest() {
    let env = Env::new();
    let Some(vol) = volume(&env, "vm-disk") else {
        return;
    };
    let scratch = env.dataset("drills");
    let config = env.job_config(
        "vm",
        &vol,
        &format!("[jobs.vm.drill]\nscratch_parent = \"{scratch}\"\n"),
    );
    let drill = |snap: &str| -> (i32, Value) {
        let out = env
            .command(["--config", config.to_str().unwrap()])
            .args(["drill", "run", "vm", "--json", "--snapshot", snap])
            .env_remove("BACKUP_PASSWORD_FILE")
            .output()
            .unwrap();
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("drill printed no report ({e}); stderr: {}", stderr(&out)));
        (out.status.code().unwrap_or(-1), report)
    };
    let scratch_left = || {
        let out = run_ok("zfs", ["list", "-H", "-o", "name", "-r", scratch.as_str()]);
        String::from_utf8_lossy(&out.stdout).lines().count() - 1
    };

    write_at(vol.as_str(), 0, &noise(3 << 20, 31));
    let s1 = env.snapshot(&vol, "s1");
    send_json(&env, &s1.to_string());
    write_at(vol.as_str(), 8 << 20, &noise(1 << 20, 32));
    let s2 = env.snapshot(&vol, "s2");
    send_json(&env, &s2.to_string());

    let (code, r) = drill(&s2.to_string());
    assert_eq!(code, 0, "{r:#}");
    let d = &r["datasets"][0];
    assert_eq!(d["chain"].as_array().unwrap().len(), 2, "{d:#}");
    for l in ["data", "receive", "files"] {
        assert_eq!(d[l]["status"], "pass", "{l}: {d:#}");
    }
    let summary = d["files"]["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("{VOLSIZE} bytes match the digest")),
        "{summary}"
    );
    assert_eq!(scratch_left(), 0);

    // Ship s3 while its view is open, and change the view's device: the
    // stream holds the snapshot, the digest the changed device. The drill's
    // restore then no longer matches the digest, and layer 3 says so.
    write_at(vol.as_str(), 12 << 20, &noise(1 << 20, 33));
    let s3 = env.snapshot(&vol, "s3");
    let (child, marker, lines) = crate::file_manifests::send_paused(&env, &s3.to_string());
    let (view, clone) = (&lines[0], &lines[1]);
    assert!(!clone.is_empty(), "a volume's view is a clone: {lines:?}");
    assert_eq!(*view, format!("/dev/zvol/{clone}"));
    run_ok("zfs", ["set", "readonly=off", clone]);
    write_at(clone, 0, b"tampered");
    let out = crate::file_manifests::release(child, &marker);
    assert_ok(&out, "send s3");

    let (code, r) = drill(&s3.to_string());
    assert_eq!(code, 6, "{r:#}");
    let d = &r["datasets"][0];
    assert_eq!(d["data"]["status"], "pass", "{d:#}");
    assert_eq!(d["receive"]["status"], "pass", "{d:#}");
    assert_eq!(d["files"]["status"], "fail", "{d:#}");
    let summary = d["files"]["summary"].as_str().unwrap();
    assert!(summary.contains("were recorded"), "{summary}");
    assert_eq!(r["mismatches"], 1, "{r:#}");
    assert_eq!(scratch_left(), 0);
}
