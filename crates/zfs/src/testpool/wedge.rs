//! Finding and recovering a wedged zfs-fuse (see docs/design.md §20).
//!
//! Every zfs-fuse mount is a FUSE connection, listed (once `fusectl` is
//! mounted on [`FUSECTL`]) as `<FUSECTL>/<minor>/` with the number of
//! requests `waiting` for the daemon, and `abort`. A connection is
//! **stuck** when requests wait on it and a directory listing of its mount
//! does not return within [`ANSWER_WAIT`]; the daemon is **wedged** when a
//! connection is stuck or `zpool list` does not return within
//! [`PROBE_TIMEOUT`]. Recovery aborts the stuck connections (which ends
//! every call blocked on them), restarts the daemon by its pid file and
//! detaches the mounts the old one served; the new daemon imports the pools
//! again. Only zfs-fuse's connections are touched (`fuse.zfs` mounts and
//! its `kstat` one), never another FUSE file system's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::daemon::{self, run_dir_lock, zpool_list, PROBE_TIMEOUT};
use crate::mounts::list_within;

/// Where the FUSE control file system is mounted.
pub const FUSECTL: &str = "/sys/fs/fuse/connections";
/// How long a mount with waiting requests has to answer a listing.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// One FUSE connection of zfs-fuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connection {
    /// The minor device number: its directory below [`FUSECTL`].
    pub id: u32,
    pub mountpoint: PathBuf,
}

/// zfs-fuse's connections in `/proc/self/mountinfo` text: mounts of type
/// `fuse.zfs`, and its `kstat` mount (type `fuse`, source `kstat`).
pub(crate) fn parse_connections(mountinfo: &str) -> Vec<Connection> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let mut tail = right.split(' ');
        let (fstype, source) = (tail.next().unwrap_or(""), tail.next().unwrap_or(""));
        if fstype != "fuse.zfs" && !(fstype == "fuse" && source == "kstat") {
            continue;
        }
        let (Some(dev), Some(mp)) = (fields.get(2), fields.get(4)) else {
            continue;
        };
        let Some(Ok(id)) = dev.split_once(':').map(|(_, minor)| minor.parse::<u32>()) else {
            continue;
        };
        out.push(Connection {
            id,
            mountpoint: PathBuf::from(unescape(mp)),
        });
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|o| o.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(o)) => {
                out.push((o[0] - b'0') * 64 + (o[1] - b'0') * 8 + (o[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn connections() -> Vec<Connection> {
    parse_connections(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
}

/// Mounts `fusectl` on [`FUSECTL`] if it is not there yet.
fn ensure_fusectl() {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if mounts.contains(" - fusectl ") {
        return;
    }
    let (Ok(src), Ok(target), Ok(fstype)) = (
        std::ffi::CString::new("fusectl"),
        std::ffi::CString::new(FUSECTL),
        std::ffi::CString::new("fusectl"),
    ) else {
        return;
    };
    #[allow(unsafe_code)]
    // SAFETY: mount(2) with NUL-terminated strings and no data.
    unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        );
    }
}

fn waiting(c: &Connection) -> u64 {
    std::fs::read_to_string(Path::new(FUSECTL).join(c.id.to_string()).join("waiting"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// The stuck connections (module docs), with their waiting counts.
pub(crate) fn stuck_connections() -> Vec<(Connection, u64)> {
    ensure_fusectl();
    connections()
        .into_iter()
        .filter_map(|c| {
            let n = waiting(&c);
            (n > 0 && list_within(&c.mountpoint, ANSWER_WAIT).is_none() && waiting(&c) > 0)
                .then_some((c, n))
        })
        .collect()
}

/// True if some connection of zfs-fuse has requests waiting: cheap, and
/// the only case where [`recover`] needs to look closer before a new pool.
pub(crate) fn anything_waiting() -> bool {
    ensure_fusectl();
    connections().iter().any(|c| waiting(c) > 0)
}

/// Finds out whether zfs-fuse is wedged and, if so, recovers it (module
/// docs); says what it found and did, or `None` if it was not wedged (or
/// another test process recovered it meanwhile). One recovery at a time on
/// the machine.
pub fn recover() -> Option<String> {
    let zpool = daemon::binaries().1;
    let Ok(_lock) = run_dir_lock("recover.lock") else {
        return Some("could not take the recovery lock".to_owned());
    };
    let stuck = stuck_connections();
    // With a connection stuck, the daemon is wedged whatever zpool says.
    let probe = if stuck.is_empty() {
        zpool_list(&zpool).map(drop)
    } else {
        Ok(())
    };
    if stuck.is_empty() && probe.is_ok() {
        return None;
    }
    let mut found = Vec::new();
    for (c, n) in &stuck {
        let abort = Path::new(FUSECTL).join(c.id.to_string()).join("abort");
        let done = std::fs::write(&abort, b"1").is_ok();
        found.push(format!(
            "FUSE connection {} ({}, {n} waiting) {}",
            c.id,
            c.mountpoint.display(),
            if done {
                "aborted"
            } else {
                "could not be aborted"
            }
        ));
    }
    if let Err(e) = &probe {
        found.push(format!(
            "`zpool list` failed within {} s: {e}",
            PROBE_TIMEOUT.as_secs()
        ));
    }
    let mounts: Vec<PathBuf> = connections().into_iter().map(|c| c.mountpoint).collect();
    let restarted = match daemon::restart(&zpool, &mounts) {
        Ok(did) => did,
        Err(e) => format!("restart failed: {e}"),
    };
    Some(format!("{}; {restarted}", found.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zfs_fuse_connections_are_found_in_mountinfo() {
        // $ grep fuse /proc/self/mountinfo   (zfs-fuse 0.7, two datasets, and another FUSE fs)
        let text = "45 27 0:40 / /zfs-kstat rw,nosuid,nodev,relatime - fuse kstat rw,user_id=0\n\
                    46 27 0:41 / /tmp/probe/mnt rw,relatime - fuse.zfs probep rw,user_id=0\n\
                    47 46 0:42 / /tmp/probe/mnt/a\\040b rw,relatime - fuse.zfs probep/a\\040b rw\n\
                    48 23 0:43 / /sys/fs/fuse/connections rw,relatime - fusectl none rw\n\
                    49 27 0:44 / /mnt/other rw - fuse.sshfs host:/ rw\n";
        let found = parse_connections(text);
        let ids: Vec<u32> = found.iter().map(|c| c.id).collect();
        assert_eq!(ids, [40, 41, 42]);
        assert_eq!(found[2].mountpoint, Path::new("/tmp/probe/mnt/a b"));
    }
}
