use backup_zfs::{SnapshotName, ZfsError};

use crate::helpers::{ds, pool, snap};

#[test]
fn list_is_own_snapshots_in_createtxg_order() {
    let pool = pool();
    let zfs = pool.zfs();
    let d = ds(&pool, "with space");
    zfs.create_dataset(&d, &[]).unwrap();
    let child = d.child("child").unwrap();
    zfs.create_dataset(&child, &[]).unwrap();
    assert!(zfs.list_snapshots(&d).unwrap().is_empty());

    // Names out of alphabetical order: the order must come from createtxg.
    for name in ["c", "a b", "b"] {
        zfs.create_snapshots(&[snap(&d, name)], false).unwrap();
    }
    zfs.create_snapshots(&[snap(&child, "child only")], false)
        .unwrap();

    let list = zfs.list_snapshots(&d).unwrap();
    let names: Vec<&str> = list.iter().map(|s| s.name.snap()).collect();
    assert_eq!(names, ["c", "a b", "b"]);
    assert!(list.windows(2).all(|w| w[0].createtxg < w[1].createtxg));
    for s in &list {
        assert_eq!(s.name.dataset(), &d);
        let info = zfs.snapshot_info(&s.name).unwrap();
        assert_eq!(&info, s);
        assert_ne!(s.guid, 0);
        assert!(s.creation > 1_000_000_000, "{}", s.creation);
    }
    let guids: std::collections::HashSet<u64> = list.iter().map(|s| s.guid).collect();
    assert_eq!(guids.len(), 3);
    assert_eq!(zfs.list_snapshots(&child).unwrap().len(), 1);
}

#[test]
fn existing_and_missing_snapshots_are_typed() {
    let pool = pool();
    let zfs = pool.zfs();
    let d = ds(&pool, "ds");
    zfs.create_dataset(&d, &[]).unwrap();
    let s = snap(&d, "s1");
    zfs.create_snapshots(std::slice::from_ref(&s), false)
        .unwrap();
    match zfs.create_snapshots(std::slice::from_ref(&s), false) {
        Err(ZfsError::SnapshotExists { name }) => assert_eq!(name, s.to_string()),
        other => panic!("expected SnapshotExists, got {other:?}"),
    }
    let missing = snap(&d, "missing");
    match zfs.snapshot_info(&missing) {
        Err(ZfsError::DatasetNotFound { name }) => assert_eq!(name, missing.to_string()),
        other => panic!("expected DatasetNotFound, got {other:?}"),
    }
    let err = zfs.destroy_snapshot(&missing).unwrap_err();
    assert!(matches!(err, ZfsError::DatasetNotFound { .. }), "{err:?}");
    let no_ds = snap(&ds(&pool, "no such ds"), "x");
    let err = zfs
        .create_snapshots(std::slice::from_ref(&no_ds), false)
        .unwrap_err();
    assert!(
        matches!(err, ZfsError::DatasetNotFound { ref name } if name.ends_with("no such ds")),
        "{err:?}"
    );

    zfs.destroy_snapshot(&s).unwrap();
    assert!(zfs.list_snapshots(&d).unwrap().is_empty());
    zfs.create_snapshots(&[], false).unwrap();
}

#[test]
fn recursive_snapshot_is_atomic() {
    let pool = pool();
    let zfs = pool.zfs();
    let top = ds(&pool, "top");
    let kids = [top.child("a").unwrap(), top.child("b c/d").unwrap()];
    for k in &kids {
        zfs.create_dataset(k, &[]).unwrap();
    }
    let s = snap(&top, "atomic");
    zfs.create_snapshots(std::slice::from_ref(&s), true)
        .unwrap();
    let txg = zfs.snapshot_info(&s).unwrap().createtxg;
    for k in kids.iter().chain([&top.child("b c").unwrap()]) {
        let info = zfs
            .snapshot_info(&SnapshotName::new(k.clone(), "atomic").unwrap())
            .unwrap();
        assert_eq!(info.createtxg, txg, "{k} snapshotted in the same txg");
    }
    // One of the snapshots exists already: nothing is created.
    let again = snap(&top, "second");
    zfs.create_snapshots(&[snap(&kids[0], "second")], false)
        .unwrap();
    let err = zfs
        .create_snapshots(std::slice::from_ref(&again), true)
        .unwrap_err();
    assert!(matches!(err, ZfsError::SnapshotExists { .. }), "{err:?}");
    assert!(
        zfs.snapshot_info(&again).is_err(),
        "no partial recursive snapshot"
    );
}

#[test]
fn several_snapshots_at_once_need_the_feature() {
    let pool = pool();
    let zfs = pool.zfs();
    let a = ds(&pool, "a");
    let b = ds(&pool, "b");
    zfs.create_dataset(&a, &[]).unwrap();
    zfs.create_dataset(&b, &[]).unwrap();
    let both = [snap(&a, "x"), snap(&b, "x")];
    let result = zfs.create_snapshots(&both, false);
    if zfs.features().unwrap().multi_snapshot {
        result.unwrap();
        let ta = zfs.snapshot_info(&both[0]).unwrap().createtxg;
        assert_eq!(ta, zfs.snapshot_info(&both[1]).unwrap().createtxg);
    } else {
        let err = result.unwrap_err();
        assert!(matches!(err, ZfsError::Unsupported { .. }), "{err:?}");
        assert!(zfs.list_snapshots(&a).unwrap().is_empty());
    }
}
