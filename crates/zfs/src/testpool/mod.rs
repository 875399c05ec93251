//! A throwaway pool on a sparse file, for tests of this crate and of the
//! workspace (feature `test-pool`).
//!
//! ```no_run
//! use backup_zfs::testpool::TestPool;
//! let pool = TestPool::create().unwrap();
//! let ds = pool.root().child("data with space").unwrap();
//! pool.zfs().create_dataset(&ds, &[]).unwrap();
//! // ... the pool is destroyed when `pool` is dropped.
//! ```
//!
//! # The zfs-fuse daemon
//!
//! If `zpool list` fails because no zfs-fuse daemon is running and
//! `/usr/sbin/zfs-fuse` exists, the first `TestPool` starts one
//! (`zfs-fuse -p /run/zfs-test/zfs-fuse.pid`), serialised across parallel
//! test processes by an `flock` on `/run/zfs-test/start.lock`, waits up to
//! 20 s for `zpool list` to work, and **leaves it running** for the next
//! tests.
//!
//! # A wedged daemon
//!
//! A pool's [`Zfs`] bounds every command by [`TEST_TIMEOUT`] and, when one
//! times out (or a new mount does not answer), runs [`recover`]: if the
//! daemon is wedged (a FUSE connection stuck, or `zpool list` not
//! answering), it aborts the stuck connections and restarts the daemon by
//! its pid file, and the call fails with [`ZfsError::Wedged`] saying so. A
//! new pool first checks for a wedge left by an earlier test, and a pool
//! creation that meets one is tried once more after the recovery.
//!
//! # Isolation
//!
//! Each pool gets a fresh temporary directory holding its backing file and
//! its mountpoint (`<dir>/mnt`), and a unique name (`zbt<pid>x<counter>x<nanos>`).
//! Only that pool is destroyed on drop; pools of this naming whose process
//! is gone (a test killed by SIGKILL or by a time limit) are destroyed by
//! the next new pool. Other pools on the machine are not touched.

mod daemon;
mod wedge;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use self::daemon::binaries;
pub use self::daemon::PID_FILE;
pub use self::wedge::{recover, FUSECTL};
use crate::dialect::Dialect;
use crate::error::ZfsError;
use crate::name::DatasetName;
use crate::zfs::Zfs;

const DEFAULT_SIZE: u64 = 1 << 30;
/// The time limit of each zfs command of a test pool's [`Zfs`]: well past
/// what a healthy zfs-fuse takes, well within the tests' own limits
/// (.config/nextest.toml), so that a wedge is reported as one.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);
/// The pool name prefix.
const PREFIX: &str = "zbt";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A pool on a sparse file in its own temporary directory; destroyed on drop.
#[derive(Debug)]
pub struct TestPool {
    name: String,
    root: DatasetName,
    zfs: Zfs,
    dir: tempfile::TempDir,
}

/// A [`Zfs`] for tests: the binaries from PATH (or /usr/sbin), and
/// [`recover`] run on a timeout; on zfs-fuse each command is bounded by
/// [`TEST_TIMEOUT`] (OpenZFS, in a slow emulated guest, keeps its default).
pub fn test_zfs() -> Zfs {
    let (zfs, zpool) = binaries();
    let zfs = Zfs::with_binaries(zfs, zpool).with_wedge_recovery(recover);
    match zfs.dialect() {
        Ok(Dialect::ZfsFuse) => zfs.with_timeout(TEST_TIMEOUT),
        _ => zfs,
    }
}

impl TestPool {
    /// A 1 GiB pool.
    pub fn create() -> Result<TestPool, ZfsError> {
        TestPool::with_size(DEFAULT_SIZE)
    }

    /// A pool of `bytes` (zfs-fuse wants at least 64 MiB).
    pub fn with_size(bytes: u64) -> Result<TestPool, ZfsError> {
        daemon::ensure_running(&binaries().1)?;
        let zfs = test_zfs();
        if wedge::anything_waiting() {
            // A wedge an earlier test left (or just requests in flight).
            let _ = recover();
        }
        remove_stale_pools(&zfs);
        match TestPool::make(zfs.clone(), bytes) {
            Err(ZfsError::Wedged { .. }) => TestPool::make(zfs, bytes),
            other => other,
        }
    }

    fn make(zfs: Zfs, bytes: u64) -> Result<TestPool, ZfsError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("zbt-pool-{}-", std::process::id()))
            .tempdir()
            .map_err(|e| io_error("create a temporary directory for a test pool", e))?;
        let disk = dir.path().join("disk");
        File::create(&disk)
            .and_then(|f| f.set_len(bytes))
            .map_err(|e| io_error(&format!("create sparse file {}", disk.display()), e))?;
        let name = unique_name();
        let root = zfs.create_file_pool(&name, &disk, &dir.path().join("mnt"), &[])?;
        Ok(TestPool {
            name,
            root,
            zfs,
            dir,
        })
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pool's root dataset.
    pub fn root(&self) -> DatasetName {
        self.root.clone()
    }

    /// Where the root dataset is mounted (`<dir>/mnt`); children below it.
    pub fn mountpoint(&self) -> PathBuf {
        self.dir.path().join("mnt")
    }

    /// The temporary directory holding the backing file and the mountpoint.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A [`Zfs`] using the same binaries the pool was made with.
    pub fn zfs(&self) -> &Zfs {
        &self.zfs
    }
}

impl Drop for TestPool {
    /// [`Zfs::destroy_pool`] (`zpool destroy -f`, retried while zfs-fuse
    /// says the pool is busy); errors are ignored, and this never panics.
    fn drop(&mut self) {
        let _ = self.zfs.destroy_pool(&self.name);
    }
}

/// A pool name: a letter first, then pid, counter and clock, so parallel
/// test processes and threads never collide.
fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{PREFIX}{}x{n}x{nanos}", std::process::id())
}

/// The pid in a test pool's name (`zbt<pid>x<n>x<nanos>`).
fn pid_of(pool: &str) -> Option<u32> {
    let rest = pool.strip_prefix(PREFIX)?;
    let (pid, tail) = rest.split_once('x')?;
    let (n, nanos) = tail.split_once('x')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (digits(n) && digits(nanos)).then(|| pid.parse().ok())?
}

/// Destroys the test pools whose process is gone (module docs), and their
/// directories.
fn remove_stale_pools(zfs: &Zfs) {
    let Ok(pools) = zfs.list_pools() else {
        return;
    };
    for pool in pools {
        let dead = pid_of(&pool).is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if !dead {
            continue;
        }
        // Its directory too: `<temp dir>/zbt-pool-…`, the parent of its root's mountpoint.
        let dir = zfs
            .get_property(&pool, "mountpoint")
            .ok()
            .flatten()
            .and_then(|m| Path::new(&m).parent().map(Path::to_owned))
            .filter(|d| {
                d.parent() == Some(std::env::temp_dir().as_path())
                    && d.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("zbt-pool-"))
            });
        if zfs.destroy_pool(&pool).is_ok() {
            if let Some(dir) = dir {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

fn io_error(what: &str, source: std::io::Error) -> ZfsError {
    ZfsError::LocalIo {
        what: what.to_owned(),
        source,
    }
}

/// Deterministic, incompressible test data (xorshift), the same for a given
/// `seed` in every test of the workspace.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests;
