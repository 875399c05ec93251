//! Bandwidth limits: a token bucket shared by every transfer of a backend.
//!
//! The limit is kept on average over whole objects: an object is sent (or
//! received) at the speed of the link, and the next one waits until the
//! bytes moved so far fit the rate. With the default 16 MiB packs and a
//! limit of 2 MiB/s, that is bursts of about 8 s followed by a pause.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Backend, FileType, TempFile};
use crate::error::Result;

/// A token bucket of `rate` bytes per second that may go into debt: a
/// transfer never waits for its own size, the next one waits off the debt.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A limiter of `bytes_per_second` (at least 1), with one second of burst.
    pub fn new(bytes_per_second: u64) -> RateLimiter {
        let rate = bytes_per_second.max(1) as f64;
        RateLimiter {
            rate,
            burst: rate,
            state: Mutex::new((rate, Instant::now())),
        }
    }

    /// The pause owed before `bytes` more may move; the bytes are booked.
    fn book(&self, bytes: u64) -> Duration {
        let mut s = self.state.lock().unwrap();
        let now = Instant::now();
        let (tokens, at) = *s;
        let refilled = (tokens + now.duration_since(at).as_secs_f64() * self.rate).min(self.burst);
        let left = refilled - bytes as f64;
        *s = (left, now);
        if left >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-left / self.rate)
        }
    }

    /// Waits until `bytes` more fit the rate.
    pub fn take(&self, bytes: u64) {
        let pause = self.book(bytes);
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
}

/// What one booking of an upload covers: a write is paced piece by piece,
/// so what is let out grows smoothly ([`Backend::uploaded`]).
const PACE_PIECE: u64 = 256 << 10;

/// A backend whose uploads and downloads are paced.
pub struct Throttled<B> {
    inner: B,
    up: Option<RateLimiter>,
    down: Option<RateLimiter>,
    /// Bytes the upload limit has let out.
    sent: AtomicU64,
}

impl<B: Backend> Throttled<B> {
    /// Limits in bytes per second; `None` is unlimited.
    pub fn new(inner: B, up: Option<u64>, down: Option<u64>) -> Throttled<B> {
        Throttled {
            inner,
            up: up.map(RateLimiter::new),
            down: down.map(RateLimiter::new),
            sent: AtomicU64::new(0),
        }
    }

    /// Waits until `len` more bytes fit the upload limit, booking them a
    /// piece at a time and counting each as let out.
    fn pace_upload(&self, len: u64) {
        let Some(l) = &self.up else { return };
        let mut left = len;
        while left > 0 {
            let piece = left.min(PACE_PIECE);
            l.take(piece);
            self.sent.fetch_add(piece, Ordering::Relaxed);
            left -= piece;
        }
    }

    fn downloaded(&self, bytes: Vec<u8>) -> Vec<u8> {
        if let Some(l) = &self.down {
            l.take(bytes.len() as u64);
        }
        bytes
    }
}

impl<B: Backend> Backend for Throttled<B> {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn transfers(&self) -> usize {
        self.inner.transfers()
    }
    fn create(&self) -> Result<()> {
        self.inner.create()
    }
    fn uploaded(&self) -> Option<u64> {
        self.up.as_ref().map(|_| self.sent.load(Ordering::Relaxed))
    }
    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.pace_upload(data.len() as u64);
        self.inner.write(ty, name, data)
    }
    fn write_shared(&self, ty: FileType, name: &str, data: bytes::Bytes) -> Result<()> {
        self.pace_upload(data.len() as u64);
        self.inner.write_shared(ty, name, data)
    }
    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        self.inner.read(ty, name).map(|b| self.downloaded(b))
    }
    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.inner
            .read_range(ty, name, offset, len)
            .map(|b| self.downloaded(b))
    }
    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        self.inner.list(ty)
    }
    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        self.inner.remove(ty, name)
    }
    fn list_temporary(&self, ty: FileType) -> Result<Vec<TempFile>> {
        self.inner.list_temporary(ty)
    }
    fn remove_temporary(&self, ty: FileType, name: &str) -> Result<()> {
        self.inner.remove_temporary(ty, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MemoryBackend;

    #[test]
    fn average_rate_is_kept_across_threads() {
        // 1 MB/s; 4 threads write 8 × 100 kB each after the 1 MB burst is
        // spent: 3.2 MB must take about 2.2 s more.
        let b = Throttled::new(MemoryBackend::new(), Some(1_000_000), None);
        b.write(FileType::Pack, "burst", &vec![0; 1_000_000])
            .unwrap();
        let start = Instant::now();
        std::thread::scope(|s| {
            for t in 0..4 {
                let b = &b;
                s.spawn(move || {
                    for i in 0..8 {
                        b.write(FileType::Pack, &format!("{t}{i}"), &vec![0; 100_000])
                            .unwrap();
                    }
                });
            }
        });
        let took = start.elapsed().as_secs_f64();
        assert!((2.1..3.5).contains(&took), "took {took} s");
    }

    #[test]
    fn downloads_have_their_own_limit() {
        let b = Throttled::new(MemoryBackend::new(), None, Some(500_000));
        b.write(FileType::Pack, "p", &vec![0; 400_000]).unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            b.read(FileType::Pack, "p").unwrap();
        }
        // 1.2 MB at 0.5 MB/s with a 0.5 MB burst: about 1.4 s (the last
        // read's debt is paid after it).
        let took = start.elapsed().as_secs_f64();
        assert!((1.2..2.5).contains(&took), "took {took} s");
    }

    /// What the limit lets out grows while one big write is paced, so
    /// progress can show the limited rate within a pack; no limit, no count.
    #[test]
    fn what_is_let_out_grows_during_a_paced_write() {
        let b = Throttled::new(MemoryBackend::new(), Some(2 << 20), None);
        assert_eq!(b.uploaded(), Some(0));
        let seen = std::thread::scope(|s| {
            s.spawn(|| b.write(FileType::Pack, "p", &vec![0; 5 << 20]).unwrap());
            // 5 MiB at 2 MiB/s with 2 MiB of burst: about 1.5 s.
            std::thread::sleep(Duration::from_millis(700));
            b.uploaded().unwrap()
        });
        assert!(
            seen > 2 << 20 && seen < 5 << 20,
            "{seen} bytes let out after 0.7 s"
        );
        assert_eq!(b.uploaded(), Some(5 << 20));
        let free = Throttled::new(MemoryBackend::new(), None, Some(1));
        assert_eq!(free.uploaded(), None);
    }
}
