use std::io::{Read, Write};

use backup_zfs::testpool::TestPool;
use backup_zfs::{DatasetName, ReceiveArgs, SendArgs, SnapshotName, Zfs, ZfsError};

use crate::helpers::{data, ds, mounted, pool, snap};

/// `send | receive` through this process, both ends finished.
fn ship(zfs: &Zfs, send: &SendArgs, recv: &ReceiveArgs) -> Result<u64, ZfsError> {
    let mut stream = zfs.send(send)?;
    let mut sink = zfs.receive(recv)?;
    let copied = std::io::copy(&mut stream, &mut sink);
    let sent = stream.finish();
    let received = sink.finish();
    // When zfs receive fails, zfs send dies of EPIPE: the receiver has the cause.
    received?;
    sent?;
    copied.map_err(|e| ZfsError::Io {
        command: "copy".into(),
        source: e,
    })
}

/// A source dataset (name with spaces) with snapshots s1, s2, s3, each
/// adding one file.
fn source(pool: &TestPool) -> (DatasetName, Vec<SnapshotName>) {
    let zfs = pool.zfs();
    let d = ds(pool, "source data");
    zfs.create_dataset(&d, &[]).unwrap();
    let dir = mounted(zfs, &d);
    let mut snaps = Vec::new();
    for i in 1..=3u64 {
        std::fs::write(dir.join(format!("file {i}")), data(200_000, i)).unwrap();
        let s = snap(&d, &format!("s{i}"));
        zfs.create_snapshots(std::slice::from_ref(&s), false)
            .unwrap();
        snaps.push(s);
    }
    (d, snaps)
}

#[test]
fn full_then_incremental_send_receive() {
    let pool = pool();
    let zfs = pool.zfs();
    let (_, snaps) = source(&pool);
    let target = ds(&pool, "restored copy");

    let bytes = ship(
        zfs,
        &SendArgs::full(snaps[0].clone()),
        &ReceiveArgs::new(target.clone()),
    )
    .unwrap();
    assert!(bytes > 200_000, "{bytes}");
    let dir = mounted(zfs, &target);
    assert_eq!(std::fs::read(dir.join("file 1")).unwrap(), data(200_000, 1));

    // Identity is the guid: the received snapshot is the sent one.
    let got = zfs.list_snapshots(&target).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].guid, zfs.snapshot_info(&snaps[0]).unwrap().guid);

    // Reading the mounted target dirtied it on zfs-fuse (atime): -F rolls back.
    let inc = SendArgs::incremental(snaps[0].clone(), snaps[1].clone());
    let recv = ReceiveArgs {
        force: true,
        ..ReceiveArgs::new(target.clone())
    };
    ship(zfs, &inc, &recv).unwrap();
    let dir = mounted(zfs, &target);
    assert_eq!(std::fs::read(dir.join("file 2")).unwrap(), data(200_000, 2));
    let guids: Vec<u64> = zfs
        .list_snapshots(&target)
        .unwrap()
        .iter()
        .map(|s| s.guid)
        .collect();
    let want: Vec<u64> = snaps[..2]
        .iter()
        .map(|s| zfs.snapshot_info(s).unwrap().guid)
        .collect();
    assert_eq!(guids, want);
}

#[test]
fn unmounted_receive_keeps_target_clean_for_incrementals() {
    let pool = pool();
    let zfs = pool.zfs();
    let (_, snaps) = source(&pool);
    let target = ds(&pool, "unmounted copy");
    let recv = ReceiveArgs {
        unmounted: true,
        ..ReceiveArgs::new(target.clone())
    };
    ship(zfs, &SendArgs::full(snaps[0].clone()), &recv).unwrap();
    assert_eq!(
        zfs.mountpoint(&target).unwrap(),
        None,
        "-u left it unmounted"
    );
    for pair in snaps.windows(2) {
        ship(
            zfs,
            &SendArgs::incremental(pair[0].clone(), pair[1].clone()),
            &recv,
        )
        .unwrap();
    }
    assert_eq!(zfs.list_snapshots(&target).unwrap().len(), 3);
}

#[test]
fn send_of_a_missing_snapshot_is_dataset_not_found() {
    let pool = pool();
    let zfs = pool.zfs();
    let d = ds(&pool, "ds");
    zfs.create_dataset(&d, &[]).unwrap();
    let missing = snap(&d, "missing");
    let mut stream = zfs.send(&SendArgs::full(missing.clone())).unwrap();
    assert!(stream.command().contains("send"));
    // The read that reaches the end already reports the failure.
    let mut buf = Vec::new();
    let err = stream.read_to_end(&mut buf).unwrap_err();
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<ZfsError>());
    assert!(
        matches!(inner, Some(ZfsError::DatasetNotFound { name }) if *name == missing.to_string()),
        "{err:?}"
    );
    match stream.finish() {
        Err(ZfsError::DatasetNotFound { name }) => assert_eq!(name, missing.to_string()),
        other => panic!("expected DatasetNotFound, got {other:?}"),
    }

    // A missing incremental base, too.
    let s1 = snap(&d, "s1");
    zfs.create_snapshots(std::slice::from_ref(&s1), false)
        .unwrap();
    let stream = zfs
        .send(&SendArgs::incremental(missing.clone(), s1))
        .unwrap();
    match stream.finish() {
        Err(ZfsError::DatasetNotFound { name }) => assert_eq!(name, missing.to_string()),
        other => panic!("expected DatasetNotFound, got {other:?}"),
    }
}

#[test]
fn incremental_without_its_base_on_the_target_is_a_mismatch() {
    let pool = pool();
    let zfs = pool.zfs();
    let (_, snaps) = source(&pool);
    let target = ds(&pool, "behind");
    let recv = ReceiveArgs {
        unmounted: true,
        ..ReceiveArgs::new(target.clone())
    };
    ship(zfs, &SendArgs::full(snaps[0].clone()), &recv).unwrap();
    // target has s1; the stream needs s2.
    let err = ship(
        zfs,
        &SendArgs::incremental(snaps[1].clone(), snaps[2].clone()),
        &recv,
    )
    .unwrap_err();
    match err {
        ZfsError::IncrementalMismatch { target: t, detail } => {
            assert_eq!(t, target.as_str());
            assert!(
                detail.contains("does not match incremental source"),
                "{detail}"
            );
        }
        other => panic!("expected IncrementalMismatch, got {other:?}"),
    }
    assert_eq!(zfs.list_snapshots(&target).unwrap().len(), 1);
}

#[test]
fn incremental_into_a_missing_target_is_refused_before_zfs_sees_it() {
    // Regression: zfs-fuse receives such a stream into whichever dataset
    // holds the base snapshot, and exits 0.
    let pool = pool();
    let zfs = pool.zfs();
    let (_, snaps) = source(&pool);
    let elsewhere = ds(&pool, "has the base");
    let recv = ReceiveArgs {
        unmounted: true,
        ..ReceiveArgs::new(elsewhere.clone())
    };
    ship(zfs, &SendArgs::full(snaps[0].clone()), &recv).unwrap();

    let missing = ds(&pool, "never created");
    let err = ship(
        zfs,
        &SendArgs::incremental(snaps[0].clone(), snaps[1].clone()),
        &ReceiveArgs::new(missing.clone()),
    )
    .unwrap_err();
    assert!(
        matches!(err, ZfsError::DatasetNotFound { ref name } if name == missing.as_str()),
        "{err:?}"
    );
    assert!(!zfs.dataset_exists(&missing).unwrap());
    assert_eq!(
        zfs.list_snapshots(&elsewhere).unwrap().len(),
        1,
        "nothing landed elsewhere"
    );
}

#[test]
fn full_stream_onto_an_existing_dataset() {
    let pool = pool();
    let zfs = pool.zfs();
    let (_, snaps) = source(&pool);
    let target = ds(&pool, "existing");
    zfs.create_dataset(&target, &[]).unwrap();
    let full = SendArgs::full(snaps[0].clone());
    let err = ship(zfs, &full, &ReceiveArgs::new(target.clone())).unwrap_err();
    assert!(
        matches!(err, ZfsError::DatasetExists { ref name } if name == target.as_str()),
        "{err:?}"
    );
    // -F replaces a dataset without snapshots...
    let force = ReceiveArgs {
        force: true,
        unmounted: true,
        ..ReceiveArgs::new(target.clone())
    };
    ship(zfs, &full, &force).unwrap();
    // ...but not one with snapshots.
    let err = ship(zfs, &full, &force).unwrap_err();
    assert!(
        matches!(err, ZfsError::DestinationHasSnapshots { target: ref t, .. } if t == target.as_str()),
        "{err:?}"
    );
}

#[test]
fn abort_commits_nothing() {
    let pool = pool();
    let zfs = pool.zfs();
    let (_, snaps) = source(&pool);
    let mut stream = zfs.send(&SendArgs::full(snaps[2].clone())).unwrap();
    let target = ds(&pool, "aborted");
    let mut sink = zfs.receive(&ReceiveArgs::new(target.clone())).unwrap();
    let mut buf = vec![0u8; 100_000];
    stream.read_exact(&mut buf).unwrap();
    sink.write_all(&buf).unwrap();
    sink.abort();
    drop(stream); // unfinished: killed and reaped
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!zfs.dataset_exists(&target).unwrap());
}

#[test]
fn garbage_is_an_invalid_stream() {
    let pool = pool();
    let zfs = pool.zfs();
    let target = ds(&pool, "garbage");
    let mut sink = zfs.receive(&ReceiveArgs::new(target.clone())).unwrap();
    sink.write_all(b"this is not a zfs stream\n").unwrap();
    match sink.finish() {
        Err(ZfsError::InvalidStream { target: t, .. }) => assert_eq!(t, target.as_str()),
        other => panic!("expected InvalidStream, got {other:?}"),
    }
}

#[test]
fn forced_full_receive_into_a_mounted_target_is_reliable() {
    // Regression: zfs-fuse failed about 1 in 4 of these with "cannot receive
    // new filesystem stream: I/O error" unless the target was unmounted first.
    let pool = pool();
    let zfs = pool.zfs();
    let (_, snaps) = source(&pool);
    for i in 0..6 {
        let target = ds(&pool, &format!("forced {i}"));
        zfs.create_dataset(&target, &[]).unwrap();
        assert!(zfs.mountpoint(&target).unwrap().is_some());
        let force = ReceiveArgs {
            force: true,
            ..ReceiveArgs::new(target.clone())
        };
        ship(zfs, &SendArgs::full(snaps[0].clone()), &force).unwrap();
        let dir = mounted(zfs, &target); // mounted again, as without -F
        assert_eq!(std::fs::read(dir.join("file 1")).unwrap(), data(200_000, 1));
    }
}
