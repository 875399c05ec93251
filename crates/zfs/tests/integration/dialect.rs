use backup_zfs::{Dialect, SendArgs, ZfsError};

use crate::helpers::{ds, pool, snap};

fn is_zfs_fuse(d: &Dialect) -> bool {
    matches!(d, Dialect::ZfsFuse)
}

#[test]
fn detects_the_dialect_once() {
    let pool = pool();
    let zfs = pool.zfs();
    let first = std::ptr::from_ref::<Dialect>(zfs.dialect().unwrap());
    let second = std::ptr::from_ref::<Dialect>(zfs.dialect().unwrap());
    assert_eq!(first, second, "cached, not detected twice");
    match zfs.dialect().unwrap() {
        Dialect::ZfsFuse => {
            let f = zfs.features().unwrap();
            assert!(
                !(f.parsable_list
                    || f.holds
                    || f.bookmarks
                    || f.raw_send
                    || f.compressed_send
                    || f.large_blocks
                    || f.embedded_data
                    || f.resume_tokens
                    || f.snapshot_dir
                    || f.multi_snapshot
                    || f.volume_devices),
                "{f:?}"
            );
        }
        Dialect::OpenZfs { version } => assert!(!version.is_empty()),
        other => panic!("unexpected dialect {other:?}"),
    }
}

#[test]
fn flags_the_dialect_lacks_are_refused_not_dropped() {
    let pool = pool();
    let zfs = pool.zfs();
    if !is_zfs_fuse(zfs.dialect().unwrap()) {
        return;
    }
    let d = ds(&pool, "src");
    zfs.create_dataset(&d, &[]).unwrap();
    let s = snap(&d, "s1");
    zfs.create_snapshots(std::slice::from_ref(&s), false)
        .unwrap();
    let mut args = SendArgs::full(s.clone());
    args.raw = true;
    match zfs.send(&args) {
        Err(ZfsError::Unsupported { feature, dialect }) => {
            assert!(feature.contains("-w"), "{feature}");
            assert_eq!(dialect, "zfs-fuse");
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    for set in [
        |a: &mut SendArgs| a.compressed = true,
        |a: &mut SendArgs| a.large_blocks = true,
        |a: &mut SendArgs| a.embedded = true,
    ] {
        let mut args = SendArgs::full(s.clone());
        set(&mut args);
        let err = zfs.send(&args).map(drop).unwrap_err();
        assert!(matches!(err, ZfsError::Unsupported { .. }), "{err:?}");
        assert!(
            err.to_string().contains("not supported by zfs-fuse"),
            "{err}"
        );
    }
}

#[test]
fn missing_binary_is_a_spawn_error_naming_the_command() {
    let zfs = backup_zfs::Zfs::with_binaries("/nonexistent/zfs", "/nonexistent/zpool");
    let err = zfs.dialect().unwrap_err();
    assert!(matches!(err, ZfsError::Spawn { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/zfs version"),
        "{err}"
    );
}
