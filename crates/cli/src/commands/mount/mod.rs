//! `backup mount [SNAPSHOT | DATASET] MOUNTPOINT`: shipped snapshots as a
//! read-only FUSE file system (docs/design.md §17.10).
//!
//! ```text
//! Browse (read lock, catalog) -> Tree (inodes; manifests loaded lazily)
//!                             -> MountFs (fuser, its own thread) -> Contents (fast path, cache)
//! main thread: waits for SIGINT/SIGTERM (then unmounts) or an outside umount
//! ```
//! The read lock is held in this thread for the mount's lifetime; the
//! cache directory (rebuilt files) is removed when it ends.

mod contents;
mod fs;
mod lazy;
mod tree;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use fuser::{Config, MountOption};

use super::browse::Browse;
use crate::cli::{GlobalArgs, MountArgs};
use crate::context;
use crate::exit::{ExitStatus, UsageError};
use contents::Contents;
use fs::MountFs;
use tree::Tree;

/// Raised by SIGINT and SIGTERM: the mount ends.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn catch_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    #[allow(unsafe_code)]
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

/// The cache directory of this mount, removed when dropped.
struct CacheDir(PathBuf);

impl CacheDir {
    /// `CACHE/mount-PID`; also removes those of mounts whose process is gone.
    fn make(g: &GlobalArgs) -> Result<CacheDir> {
        let base = context::cache_dir(g);
        if let Ok(dir) = std::fs::read_dir(&base) {
            for e in dir.flatten() {
                let name = e.file_name();
                let pid = name.to_str().and_then(|n| n.strip_prefix("mount-"));
                if pid.is_some_and(|p| !Path::new("/proc").join(p).exists()) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("mount-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(CacheDir(dir))
    }
}

impl Drop for CacheDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("warning: removing {}: {e}", self.0.display());
        }
    }
}

pub fn run(g: &GlobalArgs, a: &MountArgs) -> Result<ExitStatus> {
    let (what, mountpoint) = match &a.mountpoint {
        None => (None, Path::new(&a.what)),
        Some(m) => (Some(a.what.as_str()), Path::new(m)),
    };
    if !mountpoint.is_dir() {
        return Err(UsageError(format!("{} is not a directory", mountpoint.display())).into());
    }
    let b = Browse::open(g, "mount")?;
    let now = jiff::Timestamp::now().as_second();
    let is_dataset = |w: &str| !w.contains('@') && b.all.iter().any(|(_, m)| m.dataset == w);
    let (tree, label) = match what {
        None => {
            let t = Tree::datasets(&b.all, None, now);
            let mut ds: Vec<&str> = b.all.iter().map(|(_, m)| m.dataset.as_str()).collect();
            ds.sort_unstable();
            ds.dedup();
            let label = format!("{} snapshot(s) of {} dataset(s)", t.snaps.len(), ds.len());
            (t, label)
        }
        Some(w) if is_dataset(w) => {
            let t = Tree::datasets(&b.all, Some(w), now);
            let label = format!("the {} snapshot(s) of {w}", t.snaps.len());
            (t, label)
        }
        Some(w) => {
            let (id, m) = b.find(w)?;
            let list = b.file_list(&id, &m)?;
            let mut t = Tree::one_snapshot(id, &m);
            t.set_loaded(0, Some(list), String::new());
            (t, format!("snapshot {} ({})", m.full_name(), id.short()))
        }
    };
    let cache = CacheDir::make(g)?;
    let (repo, all, lock) = b.into_parts();
    let fs = MountFs::new(repo, all, tree, Contents::new(cache.0.clone()));
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::RO,
        MountOption::FSName("backup".into()),
        MountOption::Subtype("backup".into()),
        MountOption::DefaultPermissions,
    ];
    STOP.store(false, Ordering::Relaxed);
    catch_signals();
    let session = fuser::spawn_mount(fs, mountpoint, &config)
        .with_context(|| format!("mounting at {}", mountpoint.display()))?;
    eprintln!(
        "mounted {label} at {}; Ctrl-C or umount to leave",
        mountpoint.display()
    );
    loop {
        if session.guard.is_finished() {
            // `umount MOUNTPOINT` from outside.
            if let Err(e) = session.join() {
                eprintln!("warning: the file system ended with: {e}");
            }
            break;
        }
        if STOP.load(Ordering::Relaxed) {
            if let Err(e) = session.umount_and_join() {
                detach(mountpoint, &e);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(cache);
    drop(lock);
    Ok(ExitStatus::Success)
}

/// Unmounting failed (a process still has a file open in it): detach it
/// lazily, so it goes as soon as they close it; the process exits, which
/// ends the connection.
fn detach(mountpoint: &Path, e: &std::io::Error) {
    eprintln!(
        "warning: unmounting {}: {e}; detaching it lazily (it is gone once nothing has it open)",
        mountpoint.display()
    );
    let done = Command::new("umount")
        .arg("-l")
        .arg(mountpoint)
        .status()
        .is_ok_and(|s| s.success())
        || Command::new("fusermount")
            .args(["-u", "-z"])
            .arg(mountpoint)
            .status()
            .is_ok_and(|s| s.success());
    if !done {
        eprintln!(
            "warning: {} is still mounted: `umount -l {}` removes it",
            mountpoint.display(),
            mountpoint.display()
        );
    }
}
