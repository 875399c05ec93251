use backup_zfs::{DatasetName, ZfsError};

use crate::helpers::{ds, mounted, pool, snap};

#[test]
fn create_exists_get_destroy() {
    let pool = pool();
    let zfs = pool.zfs();
    let d = ds(&pool, "with space/deeper child");
    assert!(!zfs.dataset_exists(&d).unwrap());
    zfs.create_dataset(
        &d,
        &[("backup:tag", "a value with spaces"), ("compression", "on")],
    )
    .unwrap();
    assert!(zfs.dataset_exists(&d).unwrap());
    assert!(
        zfs.dataset_exists(&d.parent().unwrap()).unwrap(),
        "parents created"
    );
    assert_eq!(
        zfs.get_property(d.as_str(), "backup:tag")
            .unwrap()
            .as_deref(),
        Some("a value with spaces")
    );
    assert_eq!(zfs.get_property(d.as_str(), "backup:unset").unwrap(), None);
    assert_eq!(
        zfs.get_property(d.as_str(), "compression")
            .unwrap()
            .as_deref(),
        Some("on")
    );
    // properties go to the leaf only
    assert_eq!(
        zfs.get_property(d.parent().unwrap().as_str(), "backup:tag")
            .unwrap(),
        None
    );

    match zfs.create_dataset(&d, &[]) {
        Err(ZfsError::DatasetExists { name }) => assert_eq!(name, d.as_str()),
        other => panic!("expected DatasetExists, got {other:?}"),
    }

    let parent = d.parent().unwrap();
    match zfs.destroy_dataset(&parent, false) {
        Err(ZfsError::HasDependents { name, dependents }) => {
            assert_eq!(name, parent.as_str());
            assert_eq!(dependents, [d.to_string()]);
        }
        other => panic!("expected HasDependents, got {other:?}"),
    }
    zfs.destroy_dataset(&parent, true).unwrap();
    assert!(!zfs.dataset_exists(&d).unwrap());
    assert!(!zfs.dataset_exists(&parent).unwrap());
}

#[test]
fn missing_things_are_dataset_not_found() {
    let pool = pool();
    let zfs = pool.zfs();
    let d = ds(&pool, "nope");
    for err in [
        zfs.destroy_dataset(&d, false).unwrap_err(),
        zfs.get_property(d.as_str(), "guid").unwrap_err(),
        zfs.mountpoint(&d).unwrap_err(),
        zfs.list_snapshots(&d).unwrap_err(),
    ] {
        assert!(
            matches!(err, ZfsError::DatasetNotFound { ref name } if name == d.as_str()),
            "{err:?}"
        );
    }
    let s = snap(&pool.root(), "nope");
    let err = zfs.get_property(&s.to_string(), "guid").unwrap_err();
    assert!(matches!(err, ZfsError::DatasetNotFound { ref name } if *name == s.to_string()));
}

#[test]
fn bad_arguments_never_reach_zfs() {
    let pool = pool();
    let zfs = pool.zfs();
    assert!(matches!(
        zfs.get_property("-o", "guid"),
        Err(ZfsError::Name(_))
    ));
    assert!(matches!(
        zfs.get_property("a@b@c", "guid"),
        Err(ZfsError::Name(_))
    ));
    let root = pool.root();
    for prop in ["", "-H", "guid,name", "a b"] {
        let err = zfs.get_property(root.as_str(), prop).unwrap_err();
        assert!(
            matches!(err, ZfsError::InvalidArgument { .. }),
            "{prop:?}: {err:?}"
        );
    }
    let err = zfs
        .create_dataset(&ds(&pool, "x"), &[("", "v")])
        .unwrap_err();
    assert!(matches!(err, ZfsError::InvalidArgument { .. }), "{err:?}");
    let err = zfs.get_property(root.as_str(), "nosuchprop").unwrap_err();
    match err {
        ZfsError::Command {
            command, stderr, ..
        } => {
            assert!(command.contains("nosuchprop"), "{command}");
            assert!(stderr.contains("nosuchprop"), "{stderr}");
        }
        other => panic!("expected Command, got {other:?}"),
    }
}

#[test]
fn mountpoints() {
    let pool = pool();
    let zfs = pool.zfs();
    assert_eq!(mounted(zfs, &pool.root()), pool.mountpoint());
    let d = ds(&pool, "mounted fs");
    zfs.create_dataset(&d, &[]).unwrap();
    let path = mounted(zfs, &d);
    assert_eq!(path, pool.mountpoint().join("mounted fs"));
    std::fs::write(path.join("file"), b"hello").unwrap();
    for (name, value) in [("none fs", "none"), ("legacy fs", "legacy")] {
        let d = ds(&pool, name);
        zfs.create_dataset(&d, &[("mountpoint", value)]).unwrap();
        assert_eq!(zfs.mountpoint(&d).unwrap(), None, "{value}");
    }
    let d = ds(&pool, "canmount off");
    zfs.create_dataset(&d, &[("canmount", "off")]).unwrap();
    assert_eq!(zfs.mountpoint(&d).unwrap(), None);
}

#[test]
fn pool_names_are_unique_and_roots_valid() {
    let a = pool();
    let b = pool();
    assert_ne!(a.name(), b.name());
    assert_eq!(a.root(), DatasetName::parse(a.name()).unwrap());
    assert!(a.name().starts_with("zbt"));
    assert!(a.dir().join("disk").is_file());
}

/// The wedge of issue 12: two `zfs create` (with parents) of parallel tests
/// at once left a new zfs-fuse mount that never answered. The crate now
/// serialises them itself; threads here create at once, with no lock of
/// their own, and every new mount answers.
#[test]
fn parallel_creates_with_parents_all_mount_and_answer() {
    let pool = pool();
    let zfs = pool.zfs();
    let made: Vec<DatasetName> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..6)
            .map(|i| {
                // Pairs of threads share a parent none of them finds there.
                let d = ds(&pool, &format!("parent {}/with space/child {i}", i / 2));
                s.spawn(move || {
                    zfs.create_dataset(&d, &[("backup:tag", "x")]).unwrap();
                    d
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for d in &made {
        let mp = mounted(zfs, d);
        std::fs::write(mp.join("f"), b"answers").unwrap();
        assert_eq!(std::fs::read(mp.join("f")).unwrap(), b"answers");
    }
}
