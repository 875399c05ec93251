//! Repository lease locks: `locks/<random id>`, one sealed object per holder.
//!
//! Ship, restore and check hold a *shared* lock; forget and prune hold an
//! *exclusive* one. A holder refreshes its lock (writes a new object, then
//! removes the old one) every [`LockOptions::refresh`]; a lock whose last
//! refresh is older than its TTL is stale. A lock of this host is also stale
//! as soon as its process is gone (pid and process start time from /proc,
//! boot id): a crashed run never blocks the next one. Stale locks are
//! removed by whoever finds them, and the takeover is reported.
//!
//! Acquiring: look at the locks, write ours, look again; if a conflicting
//! live lock appeared meanwhile, remove ours and try again after a random
//! pause, until `wait` runs out. docs/design.md §14 has the table.
//!
//! Commands that only read take their shared lock with
//! [`RepoLock::acquire_for_reading`]: on a location that cannot be written
//! (mounted read-only, a read-only account) they go on without one
//! ([`ReadLock::NotTaken`]), and the caller says so.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use backup_zfs::host::{hostname, machine_id, process_start};
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, FileType};
use crate::crypto::{Keys, ObjectType};
use crate::error::{Error, Result};
use crate::id::Id;
use crate::repository::Repository;

/// Shared or exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockKind {
    /// Ship, restore, check: any number at once, never with an exclusive one.
    Shared,
    /// Forget, prune: alone.
    Exclusive,
}

/// How long to wait for a conflicting lock, and the lease timings.
#[derive(Clone, Copy, Debug)]
pub struct LockOptions {
    /// How long to keep trying while another process holds a conflicting lock.
    pub wait: Duration,
    /// A lock not refreshed for this long is stale.
    pub ttl: Duration,
    /// How often the holder refreshes its lock.
    pub refresh: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            wait: Duration::ZERO,
            ttl: Duration::from_secs(30 * 60),
            refresh: Duration::from_secs(5 * 60),
        }
    }
}

/// What a lock object says (sealed).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    /// Shared or exclusive.
    pub kind: LockKind,
    /// What the holder is doing ("ship", "prune", ...).
    pub operation: String,
    /// Host name of the holder.
    pub host: String,
    /// Kernel boot id of the holder's host (a reboot ends every lock).
    pub boot_id: String,
    /// The holder's machine id (`/etc/machine-id`; "" if unknown or written
    /// by a version before it was recorded): with the boot id it tells a
    /// reboot of this host from another machine of the same name.
    #[serde(default)]
    pub machine_id: String,
    /// Process id of the holder.
    pub pid: u32,
    /// Start time of that process, in clock ticks since boot (pid reuse).
    pub process_start: u64,
    /// When the lock was first taken (Unix seconds).
    pub created: i64,
    /// When it was last refreshed (Unix seconds).
    pub refreshed: i64,
    /// Seconds after `refreshed` at which the lock is stale.
    pub ttl: u64,
}

impl LockInfo {
    fn describe(&self) -> String {
        format!(
            "{} lock for {} by pid {} on {}, taken at {}",
            match self.kind {
                LockKind::Shared => "shared",
                LockKind::Exclusive => "exclusive",
            },
            self.operation,
            self.pid,
            self.host,
            jiff::Timestamp::from_second(self.created)
                .map(|t| t.to_string())
                .unwrap_or_default()
        )
    }

    /// Why the lock is stale, or `None` if it is live.
    fn stale_reason(&self, me: &Holder, now: i64) -> Option<String> {
        if now - self.refreshed > self.ttl as i64 {
            return Some(format!(
                "not refreshed for {} s (lease {} s)",
                now - self.refreshed,
                self.ttl
            ));
        }
        if self.host != me.host {
            return None;
        }
        // The same name is not proof of the same machine (cloned VMs,
        // containers): another machine's live lock must never look stale
        // here, or a prune would run beside its ship. Known machine ids
        // that differ: another machine, the lease decides.
        let known = !self.machine_id.is_empty() && !me.machine_id.is_empty();
        if known && self.machine_id != me.machine_id {
            return None;
        }
        if self.boot_id != me.boot_id {
            // Another boot of this very machine, or (ids unknown) maybe
            // another machine: only the first is proof the holder is gone.
            if known {
                return Some("its host has rebooted since".into());
            }
            return None;
        }
        // Same kernel: its processes are ours to see.
        match process_start(self.pid) {
            Some(start) if start == self.process_start => None,
            _ => Some(format!("process {} is gone", self.pid)),
        }
    }
}

/// Who we are, for lock objects and liveness checks.
#[derive(Clone, Debug)]
struct Holder {
    host: String,
    boot_id: String,
    machine_id: String,
    pid: u32,
    process_start: u64,
}

impl Holder {
    fn me() -> Holder {
        let pid = std::process::id();
        Holder {
            host: hostname(),
            boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
            machine_id: machine_id(),
            pid,
            process_start: process_start(pid).unwrap_or(0),
        }
    }
}

fn now_secs() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn seal(keys: &Keys, info: &LockInfo) -> Vec<u8> {
    let json = serde_json::to_vec(info).expect("lock info serializes");
    keys.seal(ObjectType::Lock, b"", &json)
}

fn open(keys: &Keys, name: &str, bytes: &[u8]) -> Result<LockInfo> {
    let json = keys
        .open(ObjectType::Lock, b"", bytes)
        .ok_or_else(|| Error::corrupt(format!("lock {name}"), "does not authenticate"))?;
    serde_json::from_slice(&json).map_err(|e| Error::corrupt(format!("lock {name}"), e.to_string()))
}

/// Every lock in the repository, with its name; unreadable ones as errors.
pub fn list_locks(repo: &Repository) -> Result<Vec<(String, Result<LockInfo>)>> {
    list_with(&**repo.backend(), repo.keys())
}

fn list_with(backend: &dyn Backend, keys: &Keys) -> Result<Vec<(String, Result<LockInfo>)>> {
    let mut out = Vec::new();
    for (name, _) in backend.list(FileType::Lock)? {
        match backend.read(FileType::Lock, &name) {
            Ok(bytes) => out.push((name.clone(), open(keys, &name, &bytes))),
            // Removed between list and read: released meanwhile.
            Err(Error::Missing { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Removes stale locks (or, with `all`, every lock); returns what was
/// removed, one line each.
pub fn remove_locks(repo: &Repository, all: bool) -> Result<Vec<String>> {
    let me = Holder::me();
    let now = now_secs();
    let mut removed = Vec::new();
    for (name, info) in list_locks(repo)? {
        let why = match &info {
            _ if all => Some("asked to remove every lock".to_string()),
            Ok(i) => i.stale_reason(&me, now),
            Err(_) => None,
        };
        if let Some(why) = why {
            repo.backend().remove(FileType::Lock, &name)?;
            let what = match info {
                Ok(i) => i.describe(),
                Err(e) => e.to_string(),
            };
            removed.push(format!("{name}: {what} ({why})"));
        }
    }
    Ok(removed)
}

struct Shared {
    name: String,
    info: LockInfo,
    /// When the last successful write of our lock happened.
    written: Instant,
    /// The last refresh error, if the last refresh failed.
    error: Option<String>,
}

/// A held repository lock. Refreshed by a thread while held; removed when
/// dropped (a process killed with SIGKILL leaves it behind, stale at once
/// for its own host and after its TTL for others).
pub struct RepoLock {
    backend: Arc<dyn Backend>,
    state: Arc<Mutex<Shared>>,
    ttl: Duration,
    stop: Option<mpsc::Sender<()>>,
    refresher: Option<JoinHandle<()>>,
    taken_over: Vec<String>,
}

impl std::fmt::Debug for RepoLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock().expect("lock state");
        write!(f, "RepoLock({} {})", s.name, s.info.describe())
    }
}

/// The shared lock of a command that only reads (restore, check, drills).
#[derive(Debug)]
#[must_use = "the lock is released when this is dropped"]
pub enum ReadLock {
    /// The lock is held until this is dropped.
    Held(RepoLock),
    /// No lock could be written because the location cannot be written at
    /// all ([`Error::is_unwritable`]): the command goes on without one, and
    /// a prune running elsewhere could remove what it reads.
    NotTaken {
        /// The repository's location.
        location: String,
        /// The refused write (or removal of a stale lock).
        cause: Error,
    },
}

impl ReadLock {
    /// The lock, if one was taken.
    pub fn held(&self) -> Option<&RepoLock> {
        match self {
            ReadLock::Held(l) => Some(l),
            ReadLock::NotTaken { .. } => None,
        }
    }
}

impl RepoLock {
    /// Takes a shared lock for a command that only reads. Where the location
    /// cannot be written ([`Error::is_unwritable`]: a read-only file system,
    /// no permission) this is not an error: the result says no lock was
    /// taken, and why. Every other failure (a conflicting exclusive lock, an
    /// unreachable server) is returned as [`RepoLock::acquire`] returns it.
    pub fn acquire_for_reading(
        repo: &Repository,
        operation: &str,
        opts: LockOptions,
    ) -> Result<ReadLock> {
        match RepoLock::acquire(repo, LockKind::Shared, operation, opts) {
            Ok(lock) => Ok(ReadLock::Held(lock)),
            Err(cause) if cause.is_unwritable() => Ok(ReadLock::NotTaken {
                location: repo.backend().location(),
                cause,
            }),
            Err(e) => Err(e),
        }
    }

    /// Takes a lock of `kind` on `repo`, waiting up to `opts.wait` for
    /// conflicting locks to go. Fails with [`Error::RepositoryLocked`]
    /// naming the holder.
    pub fn acquire(
        repo: &Repository,
        kind: LockKind,
        operation: &str,
        opts: LockOptions,
    ) -> Result<RepoLock> {
        let backend = repo.backend().clone();
        let keys = repo.keys().clone();
        let me = Holder::me();
        let deadline = Instant::now() + opts.wait;
        let mut taken_over = Vec::new();
        let now = now_secs();
        let mut info = LockInfo {
            kind,
            operation: operation.to_string(),
            host: me.host.clone(),
            boot_id: me.boot_id.clone(),
            machine_id: me.machine_id.clone(),
            pid: me.pid,
            process_start: me.process_start,
            created: now,
            refreshed: now,
            ttl: opts.ttl.as_secs(),
        };
        loop {
            let blocker = conflict(&*backend, &keys, &me, kind, None, &mut taken_over)?;
            if blocker.is_none() {
                info.refreshed = now_secs();
                let name = Id::random().to_hex();
                backend.write(FileType::Lock, &name, &seal(&keys, &info))?;
                let blocker = conflict(&*backend, &keys, &me, kind, Some(&name), &mut taken_over);
                match blocker {
                    Ok(None) => {
                        return Ok(RepoLock::held(backend, keys, name, info, opts, taken_over))
                    }
                    Ok(Some(_)) => backend.remove(FileType::Lock, &name)?,
                    Err(e) => {
                        let _ = backend.remove(FileType::Lock, &name);
                        return Err(e);
                    }
                }
            }
            if Instant::now() >= deadline {
                let holder = conflict(&*backend, &keys, &me, kind, None, &mut taken_over)?
                    .unwrap_or_else(|| "another process (it was racing us)".into());
                return Err(Error::RepositoryLocked {
                    location: backend.location(),
                    holder,
                });
            }
            // 0.5 to 1.5 s, random: two racing acquirers drift apart.
            let jitter = u64::from(crate::crypto::random_bytes::<1>()[0]) * 4;
            let pause = Duration::from_millis(500 + jitter);
            std::thread::sleep(pause.min(deadline.saturating_duration_since(Instant::now())));
        }
    }

    fn held(
        backend: Arc<dyn Backend>,
        keys: Keys,
        name: String,
        info: LockInfo,
        opts: LockOptions,
        taken_over: Vec<String>,
    ) -> RepoLock {
        let state = Arc::new(Mutex::new(Shared {
            name,
            info,
            written: Instant::now(),
            error: None,
        }));
        let (stop, stopped) = mpsc::channel::<()>();
        let refresher = {
            let (backend, state) = (backend.clone(), state.clone());
            std::thread::spawn(move || loop {
                match stopped.recv_timeout(opts.refresh) {
                    Err(RecvTimeoutError::Timeout) => refresh(&*backend, &keys, &state),
                    _ => return,
                }
            })
        };
        RepoLock {
            backend,
            state,
            ttl: opts.ttl,
            stop: Some(stop),
            refresher: Some(refresher),
            taken_over,
        }
    }

    /// True if no other process holds a lock on the repository now (read
    /// from the repository, so a lock of another host counts too). A lock
    /// we cannot read counts as another's.
    pub fn alone(&self, repo: &Repository) -> Result<bool> {
        let (name, ours) = {
            let s = self.state.lock().expect("lock state");
            (
                s.name.clone(),
                (s.info.host.clone(), s.info.pid, s.info.process_start),
            )
        };
        Ok(list_locks(repo)?.iter().all(|(n, info)| {
            *n == name
                || info
                    .as_ref()
                    .is_ok_and(|i| (i.host.clone(), i.pid, i.process_start) == ours)
        }))
    }

    /// Stale locks removed while acquiring this one, one line each.
    pub fn taken_over(&self) -> &[String] {
        &self.taken_over
    }

    /// Fails if the lock may have lapsed: not refreshed for most of its TTL
    /// (others may then take it over). Destructive steps call this first.
    pub fn check(&self) -> Result<()> {
        let s = self.state.lock().expect("lock state");
        if s.written.elapsed() > self.ttl * 3 / 4 {
            return Err(Error::LockLost {
                location: self.backend.location(),
                reason: s
                    .error
                    .clone()
                    .unwrap_or_else(|| "not refreshed in time".into()),
            });
        }
        Ok(())
    }
}

/// Writes a fresh copy of our lock under a new name, then removes the old.
fn refresh(backend: &dyn Backend, keys: &Keys, state: &Mutex<Shared>) {
    let mut s = state.lock().expect("lock state");
    s.info.refreshed = now_secs();
    let name = Id::random().to_hex();
    match backend.write(FileType::Lock, &name, &seal(keys, &s.info)) {
        Ok(()) => {
            let old = std::mem::replace(&mut s.name, name);
            s.written = Instant::now();
            s.error = None;
            let _ = backend.remove(FileType::Lock, &old);
        }
        Err(e) => s.error = Some(e.to_string()),
    }
}

impl Drop for RepoLock {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.refresher.take() {
            let _ = t.join();
        }
        let name = self.state.lock().expect("lock state").name.clone();
        let _ = self.backend.remove(FileType::Lock, &name);
    }
}

/// The first live lock that conflicts with taking one of `kind`, described;
/// stale locks met on the way are removed and noted in `taken_over`.
fn conflict(
    backend: &dyn Backend,
    keys: &Keys,
    me: &Holder,
    kind: LockKind,
    ours: Option<&str>,
    taken_over: &mut Vec<String>,
) -> Result<Option<String>> {
    let now = now_secs();
    for (name, info) in list_with(backend, keys)? {
        if Some(name.as_str()) == ours {
            continue;
        }
        // A lock we cannot read is someone's: we cannot tell it is stale.
        let info = match info {
            Ok(i) => i,
            Err(e) => {
                return Ok(Some(format!(
                    "{e}; if no other backup process uses this repository, remove it with `backup unlock --all`"
                )))
            }
        };
        if let Some(why) = info.stale_reason(me, now) {
            backend.remove(FileType::Lock, &name)?;
            taken_over.push(format!("{}: {} ({why})", name, info.describe()));
            continue;
        }
        if kind == LockKind::Exclusive || info.kind == LockKind::Exclusive {
            return Ok(Some(info.describe()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
