//! Retrying transient storage failures with bounded exponential backoff and
//! full jitter.
//!
//! Every backend operation is idempotent (objects are immutable and named by
//! their content, a remove of an absent object succeeds), so any of them may
//! be repeated after a failure that left its outcome unknown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;

use super::{Backend, FileType, RetryPolicy, TempFile};
use crate::error::{Error, Result};

/// A failed attempt that will be tried again, for the caller to report.
#[derive(Debug)]
pub struct RetryEvent<'a> {
    /// The operation, e.g. `write`.
    pub op: &'static str,
    /// The object's path in the repository.
    pub object: &'a str,
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    /// How many attempts the policy allows in all.
    pub attempts: u32,
    /// The transient error of the failed attempt.
    pub error: &'a Error,
    /// The pause before the next attempt.
    pub delay: Duration,
}

/// Called before each pause (the library never prints; the binary warns).
pub type RetryNotify = Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>;

/// A backend whose operations are retried on transient errors.
pub struct Retrying<B> {
    inner: B,
    policy: RetryPolicy,
    notify: Option<RetryNotify>,
}

impl<B: Backend> Retrying<B> {
    pub fn new(inner: B, policy: RetryPolicy, notify: Option<RetryNotify>) -> Retrying<B> {
        Retrying {
            inner,
            policy,
            notify,
        }
    }

    fn run<T>(&self, op: &'static str, object: &str, f: impl Fn() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let attempts = self.policy.attempts.max(1);
        let mut attempt = 1;
        loop {
            let error = match f() {
                Ok(v) => return Ok(v),
                Err(e) if !e.is_transient() => return Err(e),
                Err(e) => e,
            };
            if attempt >= attempts {
                if attempts == 1 {
                    return Err(error);
                }
                return Err(Error::GaveUp {
                    op,
                    object: format!("{} on {}", object, self.inner.location()),
                    attempts,
                    elapsed: started.elapsed(),
                    last: Box::new(error),
                });
            }
            let delay = backoff(&self.policy, attempt);
            if let Some(n) = &self.notify {
                n(&RetryEvent {
                    op,
                    object,
                    attempt,
                    attempts,
                    error: &error,
                    delay,
                });
            }
            std::thread::sleep(delay);
            attempt += 1;
        }
    }
}

/// The pause after failed attempt `attempt` (1-based): uniformly random in
/// `[0, min(max_delay, base_delay · 2^(attempt-1))]` ("full jitter"), so
/// many clients retrying at once spread out.
pub fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let cap = policy
        .base_delay
        .saturating_mul(1u32 << (attempt - 1).min(20))
        .min(policy.max_delay);
    let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::thread_rng().gen_range(0..=nanos))
}

impl<B: Backend> Backend for Retrying<B> {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn transfers(&self) -> usize {
        self.inner.transfers()
    }
    fn uploaded(&self) -> Option<u64> {
        self.inner.uploaded()
    }
    fn create(&self) -> Result<()> {
        self.run("create", "the repository layout", || self.inner.create())
    }
    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.run("write", &ty.path(name), || self.inner.write(ty, name, data))
    }
    fn write_shared(&self, ty: FileType, name: &str, data: bytes::Bytes) -> Result<()> {
        self.run("write", &ty.path(name), || {
            self.inner.write_shared(ty, name, data.clone())
        })
    }
    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        self.run("read", &ty.path(name), || self.inner.read(ty, name))
    }
    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.run("read", &ty.path(name), || {
            self.inner.read_range(ty, name, offset, len)
        })
    }
    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        let what = format!("{}/", ty.dir());
        self.run("list", &what, || self.inner.list(ty))
    }
    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        self.run("remove", &ty.path(name), || self.inner.remove(ty, name))
    }
    fn list_temporary(&self, ty: FileType) -> Result<Vec<TempFile>> {
        let what = format!("temporary files in {}/", ty.dir());
        self.run("list", &what, || self.inner.list_temporary(ty))
    }
    fn remove_temporary(&self, ty: FileType, name: &str) -> Result<()> {
        let what = format!("{}/{name}", ty.dir());
        self.run("remove", &what, || self.inner.remove_temporary(ty, name))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    use super::*;
    use crate::backend::MemoryBackend;

    /// Fails the first `failures` calls with `kind`, then delegates.
    struct Flaky {
        inner: MemoryBackend,
        failures: AtomicU32,
        kind: std::io::ErrorKind,
    }

    impl Flaky {
        fn fail(&self) -> Result<()> {
            if self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(Error::Backend {
                    op: "write",
                    path: "x".into(),
                    source: std::io::Error::new(self.kind, "injected"),
                });
            }
            Ok(())
        }
    }

    impl Backend for Flaky {
        fn location(&self) -> String {
            "flaky://".into()
        }
        fn create(&self) -> Result<()> {
            self.inner.create()
        }
        fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
            self.fail()?;
            self.inner.write(ty, name, data)
        }
        fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
            self.fail()?;
            self.inner.read(ty, name)
        }
        fn read_range(&self, ty: FileType, name: &str, o: u64, l: u64) -> Result<Vec<u8>> {
            self.inner.read_range(ty, name, o, l)
        }
        fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
            self.inner.list(ty)
        }
        fn remove(&self, ty: FileType, name: &str) -> Result<()> {
            self.inner.remove(ty, name)
        }
    }

    fn quick(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
        }
    }

    fn flaky(failures: u32, kind: std::io::ErrorKind) -> Flaky {
        Flaky {
            inner: MemoryBackend::new(),
            failures: AtomicU32::new(failures),
            kind,
        }
    }

    #[test]
    fn transient_failures_are_retried_and_reported() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let notify: RetryNotify = Arc::new(move |e: &RetryEvent<'_>| {
            s.lock()
                .unwrap()
                .push((e.op, e.object.to_string(), e.attempt));
        });
        let b = Retrying::new(
            flaky(2, std::io::ErrorKind::ConnectionReset),
            quick(3),
            Some(notify),
        );
        b.write(FileType::Index, "ab", b"x").unwrap();
        assert_eq!(b.read(FileType::Index, "ab").unwrap(), b"x");
        assert_eq!(
            *seen.lock().unwrap(),
            [
                ("write", "index/ab".into(), 1),
                ("write", "index/ab".into(), 2)
            ]
        );
    }

    #[test]
    fn gives_up_naming_the_object_and_the_last_error() {
        let b = Retrying::new(flaky(9, std::io::ErrorKind::TimedOut), quick(3), None);
        let e = b.write(FileType::Pack, "abcd", b"x").unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::GaveUp { attempts: 3, .. }), "{e:?}");
        assert!(text.contains("write data/ab/abcd on flaky://"), "{text}");
        assert!(text.contains("gave up after 3 attempts"), "{text}");
        assert!(text.contains("last error: storage: write x"), "{text}");
    }

    /// Regression: the message of a `GaveUp` ended at the last error's
    /// first line ("last error: storage: read s3://b/r/config"), so what the
    /// server said (Garage with two of three nodes down: "Could not reach
    /// quorum of 2") was only in the retry warnings, not in the error.
    #[test]
    fn gave_up_shows_what_the_storage_said_last() {
        let b = Retrying::new(flaky(9, std::io::ErrorKind::TimedOut), quick(2), None);
        let e = b.read(FileType::Config, "config").unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("last error: storage: write x: injected"),
            "{text}"
        );
        // Shown once: the last error is not also this error's source.
        assert!(std::error::Error::source(&e).is_none(), "{e:?}");
    }

    #[test]
    fn permanent_failures_are_not_retried() {
        let b = Retrying::new(
            flaky(1, std::io::ErrorKind::PermissionDenied),
            quick(5),
            None,
        );
        let e = b.write(FileType::Pack, "abcd", b"x").unwrap_err();
        assert!(matches!(e, Error::Backend { .. }), "{e:?}");
        // The one injected failure is used up: nothing was retried after it.
        b.write(FileType::Pack, "abcd", b"x").unwrap();
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        };
        for attempt in 1..40 {
            let cap = Duration::from_millis(500 * (1 << (attempt - 1).min(20)))
                .min(Duration::from_secs(60));
            assert!(backoff(&p, attempt) <= cap);
        }
        let draws: std::collections::BTreeSet<_> = (0..20).map(|_| backoff(&p, 8)).collect();
        assert!(draws.len() > 10, "jitter: {draws:?}");
    }
}
