use std::path::PathBuf;

use backup_zfs::testpool::TestPool;
use backup_zfs::{DatasetName, SnapshotName, Zfs};

pub fn pool() -> TestPool {
    TestPool::create().expect("create a test pool")
}

pub fn ds(pool: &TestPool, rel: &str) -> DatasetName {
    pool.root().child(rel).unwrap()
}

pub fn snap(ds: &DatasetName, name: &str) -> SnapshotName {
    SnapshotName::new(ds.clone(), name).unwrap()
}

pub fn mounted(zfs: &Zfs, ds: &DatasetName) -> PathBuf {
    zfs.mountpoint(ds)
        .unwrap()
        .unwrap_or_else(|| panic!("{ds} is not mounted"))
}

/// Deterministic, incompressible-looking bytes.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    backup_zfs::testpool::noise(len, seed)
}
