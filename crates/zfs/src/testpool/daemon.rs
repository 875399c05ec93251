//! The zfs-fuse daemon of the tests: started if missing, restarted (by its
//! pid file, never by name) when the harness found it wedged.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::command::{status_text, CommandLine};
use crate::error::ZfsError;
use crate::zfs::Zfs;

pub(crate) const ZFS_FUSE: &str = "/usr/sbin/zfs-fuse";
pub(crate) const RUN_DIR: &str = "/run/zfs-test";
/// The pid file of the daemon the tests (and scripts/lib/zfs.sh) start.
pub const PID_FILE: &str = "/run/zfs-test/zfs-fuse.pid";
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound of the health probes (`zpool list`) run here.
pub(crate) const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

fn io_error(what: &str, source: std::io::Error) -> ZfsError {
    ZfsError::LocalIo {
        what: what.to_owned(),
        source,
    }
}

/// `zfs`/`zpool` from PATH, else from /usr/sbin or /sbin.
pub(crate) fn binaries() -> (PathBuf, PathBuf) {
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

/// `zpool list -H -o name`, bounded by [`PROBE_TIMEOUT`].
pub(crate) fn zpool_list(zpool_bin: &Path) -> Result<String, ZfsError> {
    let probe = Zfs::with_binaries("zfs", zpool_bin).with_timeout(PROBE_TIMEOUT);
    let line = CommandLine::new(zpool_bin, ["list", "-H", "-o", "name"]);
    probe.run_classified(&line, "the pools")
}

/// An exclusive `flock` on `<RUN_DIR>/<name>`, held while the file lives.
pub(crate) fn run_dir_lock(name: &str) -> Result<std::fs::File, ZfsError> {
    std::fs::create_dir_all(RUN_DIR).map_err(|e| io_error(&format!("create {RUN_DIR}"), e))?;
    let path = format!("{RUN_DIR}/{name}");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error(&format!("open {path}"), e))?;
    lock.lock()
        .map_err(|e| io_error(&format!("flock {path}"), e))?;
    Ok(lock)
}

/// Makes sure `zpool list` works, starting a zfs-fuse daemon if that is
/// what is missing (see the module docs of `testpool`).
pub(crate) fn ensure_running(zpool_bin: &Path) -> Result<(), ZfsError> {
    match zpool_list(zpool_bin) {
        Err(ZfsError::Unavailable { .. }) if Path::new(ZFS_FUSE).is_file() => {}
        other => return other.map(drop),
    }
    let _lock = run_dir_lock("start.lock")?;
    // Another process may have started it while we waited for the lock.
    if zpool_list(zpool_bin).is_ok() {
        return Ok(());
    }
    start(zpool_bin).map(drop)
}

/// How often (a second apart) a daemon that exits at once is started again:
/// zfs-fuse refuses to start (exit 1, no message) while another holds its
/// lock in /run/lock/zfs, and a killed one holds it until its last thread
/// is gone, which took seconds on a loaded CI machine.
const START_ATTEMPTS: u32 = 30;

/// Starts the daemon; how many attempts it took.
fn start(zpool_bin: &Path) -> Result<u32, ZfsError> {
    let start = format!("{ZFS_FUSE} -p {PID_FILE}");
    let mut attempt = 1;
    loop {
        // stderr to a file, not a pipe: the daemon keeps what it inherits.
        let log =
            tempfile::tempfile().map_err(|e| io_error("create a file for zfs-fuse's stderr", e))?;
        let status = Command::new(ZFS_FUSE)
            .args(["-p", PID_FILE])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                log.try_clone()
                    .map_err(|e| io_error("share zfs-fuse's stderr file", e))?,
            )
            .status()
            .map_err(|e| ZfsError::Spawn {
                command: start.clone(),
                source: e,
            })?;
        if status.success() {
            break;
        }
        if attempt == START_ATTEMPTS {
            let mut stderr = String::new();
            let mut log = log;
            let _ = std::io::Seek::rewind(&mut log);
            let _ = std::io::Read::read_to_string(&mut log, &mut stderr);
            return Err(ZfsError::Command {
                command: format!("{start} ({attempt} attempts)"),
                status: status_text(status),
                stderr,
            });
        }
        attempt += 1;
        std::thread::sleep(Duration::from_secs(1));
    }
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match zpool_list(zpool_bin) {
            Ok(_) => return Ok(attempt),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The pid in `PID_FILE` if that process is a zfs-fuse.
pub(crate) fn daemon_pid() -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(PID_FILE)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    (comm.trim() == "zfs-fuse").then_some(pid)
}

/// True once process `pid` is gone within `patience`: no such process, or
/// a zombie none of whose threads lives on (a killed multi-threaded daemon's
/// leader turns zombie while its other threads still hold its files).
fn gone(pid: u32, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    while Path::new(&format!("/proc/{pid}")).exists() {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = state
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'));
        let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, Iterator::count);
        if zombie && threads <= 1 {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

/// Stops the daemon of [`PID_FILE`] (SIGTERM, then SIGKILL), detaches
/// every mount it served (`mounts`, deepest first), and starts a new one.
/// Says what it did.
pub(crate) fn restart(zpool_bin: &Path, mounts: &[PathBuf]) -> Result<String, ZfsError> {
    let _lock = run_dir_lock("start.lock")?;
    let mut did = Vec::new();
    match daemon_pid() {
        Some(pid) => {
            #[allow(unsafe_code)]
            // SAFETY: kill(2) on the pid the daemon wrote, checked to be a zfs-fuse.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM)
            };
            if gone(pid, Duration::from_secs(5)) {
                did.push(format!("daemon {pid} stopped (SIGTERM)"));
            } else {
                #[allow(unsafe_code)]
                // SAFETY: as above.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGKILL)
                };
                if !gone(pid, Duration::from_secs(10)) {
                    return Err(io_error(
                        &format!("stop the wedged zfs-fuse daemon {pid}"),
                        std::io::Error::other("it survived SIGKILL for 10 s"),
                    ));
                }
                did.push(format!("daemon {pid} killed (SIGKILL after SIGTERM)"));
            }
        }
        None => {
            // Not ours (started otherwise), or dead. Only a missing daemon
            // is replaced: another's is never stopped, nor doubled.
            match zpool_list(zpool_bin) {
                Err(ZfsError::Unavailable { .. }) => {
                    did.push(format!("no live daemon in {PID_FILE}"));
                }
                _ => {
                    return Err(io_error(
                        &format!("restart zfs-fuse: no daemon of ours in {PID_FILE}"),
                        std::io::Error::other("the running daemon was not started by the tests"),
                    ));
                }
            }
        }
    }
    let mut detached = 0;
    let mut sorted = mounts.to_vec();
    sorted.sort_by_key(|m| std::cmp::Reverse(m.components().count()));
    #[allow(unsafe_code)]
    for m in &sorted {
        let Ok(c) = std::ffi::CString::new(m.as_os_str().as_encoded_bytes()) else {
            continue;
        };
        // SAFETY: umount2(2) with a NUL-terminated path.
        if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
            detached += 1;
        }
    }
    did.push(format!("{detached} of its mounts detached"));
    let _ = std::fs::remove_file(PID_FILE);
    let attempts = start(zpool_bin)?;
    let new = daemon_pid().map_or_else(|| "?".to_owned(), |p| p.to_string());
    did.push(format!("new daemon {new} (started on attempt {attempts})"));
    Ok(did.join(", "))
}
