//! OpenZFS stderr, captured in the openzfs-vm lane (OpenZFS 2.1.11-1+deb12u1,
//! Debian 12) by `crates/zfs/tests/capture-stderr.sh`, pool `zbtcap303`;
//! `full1`, `inc12`, `inc23` as in `zfs_fuse.rs`. Where OpenZFS prints
//! what zfs-fuse prints, the zfs-fuse fixture covers both and is not repeated.

use super::*;

fn not_found(e: &ZfsError) -> &str {
    match e {
        ZfsError::DatasetNotFound { name } => name,
        other => panic!("expected DatasetNotFound, got {other:?}"),
    }
}

#[test]
fn missing_snapshots() {
    // $ zfs send 'zbtcap303/with space@nope'
    // verified against OpenZFS 2.1.11 (zfs-fuse: "WARNING: could not send ...")
    let e = run(
        "zfs send",
        "zbtcap303/with space@nope",
        "cannot open 'zbtcap303/with space@nope': dataset does not exist\n",
    );
    assert_eq!(not_found(&e), "zbtcap303/with space@nope");

    // $ zfs destroy 'zbtcap303/with space@nope'
    // verified against OpenZFS 2.1.11
    let e = run(
        "zfs destroy",
        "zbtcap303/with space@nope",
        "could not find any snapshots to destroy; check snapshot names.\n",
    );
    assert_eq!(not_found(&e), "zbtcap303/with space@nope");

    // $ zfs snapshot zbtcap303/nope@x
    // verified against OpenZFS 2.1.11 (exit status 2, usage appended)
    let e = run(
        "zfs snapshot",
        "zbtcap303/nope@x",
        "cannot open 'zbtcap303/nope': dataset does not exist\nusage:\n\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n",
    );
    assert_eq!(not_found(&e), "zbtcap303/nope");

    // $ zfs send -R -i @base pool/ds@snap, base missing on a child
    // from OpenZFS source (dump_filesystem), not yet captured
    let e = run(
        "zfs send -R -i",
        "pool/ds@snap",
        "WARNING: could not send pool/ds@snap:\nincremental source (pool/ds@base) does not exist\n",
    );
    assert_eq!(not_found(&e), "pool/ds@base");
}

#[test]
fn receive_failures() {
    // $ zfs receive 'zbtcap303/recv two' < inc12   (no such target)
    // verified against OpenZFS 2.1.11; zfs-fuse instead receives into the
    // dataset holding the base snapshot (see receive.rs)
    let e = run(
        "zfs receive",
        "zbtcap303/recv two",
        "cannot receive incremental stream: destination 'zbtcap303/recv two' does not exist\n",
    );
    assert_eq!(not_found(&e), "zbtcap303/recv two");

    // $ zfs receive zbtcap303/nope/deeper/x < full1
    // verified against OpenZFS 2.1.11: names the missing parent
    let e = run(
        "zfs receive",
        "zbtcap303/nope/deeper/x",
        "cannot open 'zbtcap303/nope/deeper': dataset does not exist\n\
         cannot receive new filesystem stream: unable to restore to destination\n",
    );
    assert_eq!(not_found(&e), "zbtcap303/nope/deeper");

    // $ head -c 5000 full1 | zfs receive zbtcap303/trunc
    // verified against OpenZFS 2.1.11 (zfs-fuse: "invalid backup stream")
    let e = run(
        "zfs receive",
        "zbtcap303/trunc",
        "cannot receive new filesystem stream: incomplete stream\n",
    );
    assert!(
        matches!(e, ZfsError::InvalidStream { ref target, ref detail }
            if target == "zbtcap303/trunc" && detail == "incomplete stream"),
        "{e:?}"
    );
}

#[test]
fn held_snapshot_is_busy() {
    // $ zfs hold mytag 'zbtcap303/with space@s2'; zfs destroy 'zbtcap303/with space@s2'
    // verified against OpenZFS 2.1.11 (unquoted, unlike zfs-fuse)
    let e = run(
        "zfs destroy",
        "x",
        "cannot destroy snapshot zbtcap303/with space@s2: dataset is busy\n",
    );
    assert!(
        matches!(e, ZfsError::Busy { ref name } if name == "zbtcap303/with space@s2"),
        "{e:?}"
    );
}
