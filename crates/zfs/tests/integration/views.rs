use std::fs;

use backup_zfs::{ViewKind, VIEW_PROPERTY};

use crate::helpers::{ds, mounted, pool, snap};

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn a_view_shows_the_snapshot_read_only_and_is_gone_after_close() {
    let pool = pool();
    let zfs = pool.zfs();
    let d = ds(&pool, "view me");
    zfs.create_dataset(&d, &[]).unwrap();
    let mp = mounted(zfs, &d);
    fs::write(mp.join("kept"), b"at snapshot time").unwrap();
    let s = snap(&d, "s1");
    zfs.create_snapshots(std::slice::from_ref(&s), false)
        .unwrap();
    fs::write(mp.join("kept"), b"changed later").unwrap();
    fs::write(mp.join("later"), b"not in the snapshot").unwrap();

    let view = zfs.open_view(&s).unwrap();
    assert!(!view.is_volume());
    let root = view.path().unwrap().to_owned();
    assert_eq!(fs::read(root.join("kept")).unwrap(), b"at snapshot time");
    assert!(!root.join("later").exists());
    assert!(
        fs::write(root.join("new"), b"x").is_err(),
        "the view is read-only"
    );
    let clone = view.clone_name().cloned();
    match view.kind() {
        ViewKind::Clone => {
            let c = clone.clone().unwrap();
            assert!(zfs.dataset_exists(&c).unwrap());
            assert_eq!(
                zfs.get_property(c.as_str(), VIEW_PROPERTY)
                    .unwrap()
                    .unwrap()
                    .split(':')
                    .next(),
                Some(hostname().as_str())
            );
        }
        ViewKind::SnapshotDir => assert!(clone.is_none()),
    }
    view.close().unwrap();
    if let Some(c) = clone {
        assert!(!zfs.dataset_exists(&c).unwrap(), "{c} left behind");
        assert!(!root.exists(), "{} left behind", root.display());
    }
    // Dropping cleans up too, and the origin can then be destroyed.
    let view = zfs.open_view(&s).unwrap();
    drop(view);
    zfs.destroy_snapshot(&s).unwrap();
}

#[test]
fn stale_view_clones_of_dead_processes_of_this_host_are_removed() {
    // Declared before the pool, so it is removed after the pool (and the
    // clones mounted in it) is gone.
    let dir = tempfile::tempdir().unwrap();
    let pool = pool();
    let zfs = pool.zfs();
    let d = ds(&pool, "data");
    zfs.create_dataset(&d, &[]).unwrap();
    let s = snap(&d, "s1");
    zfs.create_snapshots(std::slice::from_ref(&s), false)
        .unwrap();
    let host = hostname();
    let me = std::process::id();
    let my_start = fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
    let my_start = my_start[my_start.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .to_owned();
    let clones = [
        ("backup-view-dead", format!("{host}:999999999:1"), true),
        ("backup-view-reused", format!("{host}:{me}:1"), true),
        (
            "backup-view-alive",
            format!("{host}:{me}:{my_start}"),
            false,
        ),
        (
            "backup-view-elsewhere",
            "another-host:999999999:1".to_owned(),
            false,
        ),
    ];
    for (name, marker, _) in &clones {
        let mp = dir.path().join(name);
        let mountpoint = mp.display().to_string();
        let target = pool.root().child(name).unwrap();
        let props = [
            ("readonly", "on"),
            (VIEW_PROPERTY, marker.as_str()),
            ("mountpoint", mountpoint.as_str()),
        ];
        let at = zfs.clone_snapshot(&s, &target, &props).unwrap();
        assert_eq!(at.as_deref(), Some(mp.as_path()));
    }
    // A view opened now removes the stale ones first, and says so.
    let view = zfs.open_view(&s).unwrap();
    let mut removed: Vec<String> = view
        .stale_views_removed()
        .iter()
        .map(|v| {
            assert_eq!(v.origin, s.to_string(), "{v}");
            v.clone.to_string()
        })
        .collect();
    removed.sort();
    let root = pool.root();
    assert_eq!(
        removed,
        [
            root.child("backup-view-dead").unwrap().to_string(),
            root.child("backup-view-reused").unwrap().to_string()
        ]
    );
    drop(view);
    for (name, _, stale) in &clones {
        let c = pool.root().child(name).unwrap();
        assert_eq!(zfs.dataset_exists(&c).unwrap(), !stale, "{c}");
    }
    let left = zfs.remove_stale_views(pool.name()).unwrap();
    assert!(left.is_empty(), "{left:?}");
}
