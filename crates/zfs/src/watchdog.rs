//! A bound on the time a streaming `zfs` child (send, receive) keeps us
//! blocked: the length of a stream is unbounded, but one read from `zfs
//! send` or one write into `zfs receive` that does not return for
//! [`Zfs::timeout`](crate::Zfs::timeout) means zfs is stuck (on zfs-fuse, a
//! wedged daemon). The watchdog then kills the child, so the blocked call
//! returns (end of stream, or a broken pipe) and the caller reports
//! [`ZfsError::Timeout`](crate::ZfsError::Timeout).
//!
//! The watchdog is stopped before the child is reaped, so it never signals
//! a pid that could have been reused.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct State {
    blocked_since: Option<Instant>,
    stopped: bool,
    fired: bool,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Kills child `pid` when a call stays blocked on it for longer than `limit`.
#[derive(Debug)]
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    limit: Duration,
}

impl Watchdog {
    pub(crate) fn spawn(pid: u32, limit: Duration) -> std::io::Result<Watchdog> {
        let shared = Arc::new(Shared::default());
        let watched = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("zfs-watchdog".into())
            .spawn(move || watch(&watched, pid, limit))?;
        Ok(Watchdog {
            shared,
            thread: Some(thread),
            limit,
        })
    }

    /// The limit it enforces.
    pub(crate) fn limit(&self) -> Duration {
        self.limit
    }

    /// Runs `call`, which blocks on the child, under the watchdog.
    pub(crate) fn blocked<T>(&self, call: impl FnOnce() -> T) -> T {
        self.shared.state().blocked_since = Some(Instant::now());
        self.shared.wake.notify_all();
        let out = call();
        self.shared.state().blocked_since = None;
        out
    }

    /// True if it killed the child.
    pub(crate) fn fired(&self) -> bool {
        self.shared.state().fired
    }

    /// Stops watching (before the child is reaped).
    pub(crate) fn stop(&mut self) {
        self.shared.state().stopped = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

fn watch(shared: &Shared, pid: u32, limit: Duration) {
    let mut state = shared.state();
    loop {
        if state.stopped || state.fired {
            return;
        }
        let wait = match state.blocked_since {
            None => None,
            Some(since) => {
                let left = (since + limit).saturating_duration_since(Instant::now());
                if left.is_zero() {
                    #[allow(unsafe_code)]
                    // SAFETY: kill(2) on the pid of a child that has not been
                    // reaped (the watchdog stops before every reap).
                    unsafe {
                        libc::kill(pid as libc::pid_t, libc::SIGKILL);
                    }
                    state.fired = true;
                    return;
                }
                Some(left)
            }
        };
        state = match wait {
            None => shared
                .wake
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            Some(left) => {
                shared
                    .wake
                    .wait_timeout(state, left)
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::process::{Command, Stdio};

    #[test]
    fn a_read_blocked_past_the_limit_kills_the_child() {
        let mut child = Command::new("sleep")
            .arg("600")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut dog = Watchdog::spawn(child.id(), Duration::from_millis(200)).unwrap();
        let started = Instant::now();
        let n = dog.blocked(|| out.read(&mut [0u8; 16]).unwrap());
        assert_eq!(n, 0, "the killed child's stdout ends");
        assert!(dog.fired());
        assert!(started.elapsed() < Duration::from_secs(5));
        dog.stop();
        assert!(!child.wait().unwrap().success());
    }

    #[test]
    fn time_not_blocked_does_not_count() {
        let mut child = Command::new("sh")
            .args(["-c", "echo a; sleep 0.5; echo b"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut dog = Watchdog::spawn(child.id(), Duration::from_secs(3)).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let mut all = String::new();
        dog.blocked(|| out.read_to_string(&mut all).unwrap());
        assert_eq!(all, "a\nb\n");
        assert!(!dog.fired());
        dog.stop();
        assert!(child.wait().unwrap().success());
    }
}
