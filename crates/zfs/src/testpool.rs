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
//! tests. Nothing here ever stops it.
//!
//! # Isolation
//!
//! Each pool gets a fresh temporary directory holding its backing file and
//! its mountpoint (`<dir>/mnt`), and a unique name (`zbt<pid>x<counter>x<nanos>`).
//! Only that pool is ever destroyed; other pools on the machine are not touched.

use std::fs::{File, OpenOptions};

pub use crate::mount_lock::mount_lock;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::command::{status_text, CommandLine};
use crate::error::ZfsError;
use crate::name::DatasetName;
use crate::zfs::Zfs;

const DEFAULT_SIZE: u64 = 1 << 30;
const ZFS_FUSE: &str = "/usr/sbin/zfs-fuse";
const RUN_DIR: &str = "/run/zfs-test";
const START_TIMEOUT: Duration = Duration::from_secs(20);

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A pool on a sparse file in its own temporary directory; destroyed on drop.
#[derive(Debug)]
pub struct TestPool {
    name: String,
    root: DatasetName,
    zfs: Zfs,
    dir: tempfile::TempDir,
}

impl TestPool {
    /// A 1 GiB pool.
    pub fn create() -> Result<TestPool, ZfsError> {
        TestPool::with_size(DEFAULT_SIZE)
    }

    /// A pool of `bytes` (zfs-fuse wants at least 64 MiB).
    pub fn with_size(bytes: u64) -> Result<TestPool, ZfsError> {
        let (zfs_bin, zpool_bin) = binaries();
        ensure_running(&zpool_bin)?;
        let dir = tempfile::Builder::new()
            .prefix("zbt-pool-")
            .tempdir()
            .map_err(|e| io_error("create a temporary directory for a test pool", e))?;
        let disk = dir.path().join("disk");
        File::create(&disk)
            .and_then(|f| f.set_len(bytes))
            .map_err(|e| io_error(&format!("create sparse file {}", disk.display()), e))?;
        let name = unique_name();
        let mnt = dir.path().join("mnt");
        let args = [
            "create".to_owned(),
            "-m".to_owned(),
            mnt.to_string_lossy().into_owned(),
            name.clone(),
            disk.to_string_lossy().into_owned(),
        ];
        {
            let _serial = mount_lock()?;
            zpool(&zpool_bin, args)?;
            // Wait, still alone, until the new file system answers.
            std::fs::read_dir(&mnt)
                .map_err(|e| io_error(&format!("read the new pool's {}", mnt.display()), e))?;
        }
        let root = DatasetName::parse(&name)?;
        Ok(TestPool {
            name,
            root,
            zfs: Zfs::with_binaries(zfs_bin, zpool_bin),
            dir,
        })
    }

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

/// `zfs`/`zpool` from PATH, else from /usr/sbin or /sbin.
fn binaries() -> (PathBuf, PathBuf) {
    let find = |bin: &str| -> PathBuf {
        let on_path = std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .map(|dir| dir.join(bin))
            .find(|p| p.is_file());
        on_path
            .or_else(|| {
                ["/usr/sbin", "/sbin"]
                    .iter()
                    .map(|d| Path::new(d).join(bin))
                    .find(|p| p.is_file())
            })
            .unwrap_or_else(|| PathBuf::from(bin))
    };
    (find("zfs"), find("zpool"))
}

/// A pool name: a letter first, then pid, counter and clock, so parallel
/// test processes and threads never collide.
fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("zbt{}x{n}x{nanos}", std::process::id())
}

fn io_error(what: &str, source: std::io::Error) -> ZfsError {
    ZfsError::Io {
        command: what.to_owned(),
        source,
    }
}

fn zpool<const N: usize>(zpool_bin: &Path, args: [String; N]) -> Result<String, ZfsError> {
    let line = CommandLine::new(zpool_bin, args);
    let object = line.display().to_owned();
    crate::zfs::run_classified(&line, &object)
}

fn zpool_list(zpool_bin: &Path) -> Result<String, ZfsError> {
    zpool(
        zpool_bin,
        [
            "list".to_owned(),
            "-H".to_owned(),
            "-o".to_owned(),
            "name".to_owned(),
        ],
    )
}

/// Makes sure `zpool list` works, starting a zfs-fuse daemon if that is
/// what is missing (see the module docs).
fn ensure_running(zpool_bin: &Path) -> Result<(), ZfsError> {
    match zpool_list(zpool_bin) {
        Err(ZfsError::Unavailable { .. }) if Path::new(ZFS_FUSE).is_file() => {}
        other => return other.map(drop),
    }
    std::fs::create_dir_all(RUN_DIR).map_err(|e| io_error(&format!("create {RUN_DIR}"), e))?;
    let lock_path = format!("{RUN_DIR}/start.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io_error(&format!("open {lock_path}"), e))?;
    // SAFETY: flock on a file descriptor we own; released when `lock` closes.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io_error(
            &format!("flock {lock_path}"),
            std::io::Error::last_os_error(),
        ));
    }
    // Another process may have started it while we waited for the lock.
    if zpool_list(zpool_bin).is_ok() {
        return Ok(());
    }
    let start = format!("{ZFS_FUSE} -p {RUN_DIR}/zfs-fuse.pid");
    let status = Command::new(ZFS_FUSE)
        .args(["-p", &format!("{RUN_DIR}/zfs-fuse.pid")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| ZfsError::Spawn {
            command: start.clone(),
            source: e,
        })?;
    if !status.success() {
        return Err(ZfsError::Command {
            command: start,
            status: status_text(&status),
            stderr: String::new(),
        });
    }
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match zpool_list(zpool_bin) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
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
