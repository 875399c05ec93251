//! Crash consistency: the real binary killed with SIGKILL at moments a
//! seeded generator picks (pause points of `crates/core/src/pause.rs`, a
//! byte count reached in the repository, a delay), over a ship, a prune and
//! a drill; after each kill the repository checks clean, nothing is
//! committed that should not be, and the next run finishes the work.
//!
//! The seed is printed; `BACKUP_CRASH_SEED` repeats a run,
//! `BACKUP_CRASH_BYTES` and `BACKUP_CRASH_KILLS` size the ship (small by
//! default, for CI; docs/design.md §5.5 has the scale command).

mod drill;
mod prune;
mod ship;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// The run's seed and sizes, from the environment or the defaults.
pub struct Knobs {
    pub seed: u64,
    pub bytes: u64,
    pub kills: usize,
}

impl Knobs {
    /// Reads `BACKUP_CRASH_SEED` (default: the clock), `BACKUP_CRASH_BYTES`
    /// and `BACKUP_CRASH_KILLS`, and prints them so a failure can be
    /// repeated.
    pub fn from_env(test: &str, bytes: u64, kills: usize) -> Knobs {
        let var = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        let seed = var("BACKUP_CRASH_SEED").unwrap_or_else(|| {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            t.as_secs() ^ u64::from(t.subsec_nanos()) ^ u64::from(std::process::id())
        });
        let k = Knobs {
            seed,
            bytes: var("BACKUP_CRASH_BYTES").unwrap_or(bytes),
            kills: var("BACKUP_CRASH_KILLS").map_or(kills, |k| k as usize),
        };
        eprintln!(
            "{test}: BACKUP_CRASH_SEED={} BACKUP_CRASH_BYTES={} BACKUP_CRASH_KILLS={}",
            k.seed, k.bytes, k.kills
        );
        k
    }
}

/// splitmix64: small, seeded, the same on every machine.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)`.
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// When to kill a running command.
#[derive(Clone, Debug)]
pub enum Moment {
    /// Once it waits at this pause point (`BACKUP_TEST_PAUSE_AT`).
    Pause(String),
    /// Once the repository's packs (temporary files not counted) reach
    /// this many bytes.
    PackBytes(u64),
    /// After this long.
    After(Duration),
}

/// How a command given a [`Moment`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Killed with SIGKILL at the moment.
    Killed,
    /// It finished first (with success: anything else fails the test).
    Finished,
}

/// Waits for `moment` and kills `child` with SIGKILL then; `marker` is the
/// pause marker the child was given, `repo` the repository whose packs
/// count. A child that exits on its own must have succeeded.
pub fn kill_at(mut child: Child, moment: &Moment, marker: &Path, repo: &Path, log: &Path) -> Ended {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "ended ({status}) before {moment:?}:\n{}",
                fs::read_to_string(log).unwrap_or_default()
            );
            return Ended::Finished;
        }
        let now = match moment {
            Moment::Pause(_) => marker.exists(),
            Moment::PackBytes(n) => pack_bytes(repo) >= *n,
            Moment::After(d) => start.elapsed() >= *d,
        };
        if now {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            let _ = fs::remove_file(marker);
            return Ended::Killed;
        }
        assert!(
            start.elapsed() < Duration::from_secs(1800),
            "{moment:?} never came:\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(15));
    }
}

/// Bytes and count of the complete packs (not temporary files) under
/// `repo/data`.
pub fn packs(repo: &Path) -> (u64, usize) {
    let mut bytes = 0;
    let mut n = 0;
    let Ok(fanout) = fs::read_dir(repo.join("data")) else {
        return (0, 0);
    };
    for d in fanout.flatten() {
        let Ok(files) = fs::read_dir(d.path()) else {
            continue;
        };
        for f in files.flatten() {
            if f.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            if let Ok(m) = f.metadata() {
                bytes += m.len();
                n += 1;
            }
        }
    }
    (bytes, n)
}

pub fn pack_bytes(repo: &Path) -> u64 {
    packs(repo).0
}

/// The manifests in `repo/snapshots` (temporary files not counted).
pub fn manifests(repo: &Path) -> Vec<PathBuf> {
    fs::read_dir(repo.join("snapshots"))
        .unwrap()
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect()
}

/// `check` succeeded and named no error (warnings about what a kill leaves
/// are expected: temporary files, packs in no index segment).
pub fn assert_check_clean(out: &std::process::Output, what: &str) {
    crate::harness::assert_ok(out, what);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.lines().any(|l| l.starts_with("error")),
        "{what}: {text}"
    );
}

/// After a prune, `check` (its output `out`) warns about nothing but the
/// temporary files prune keeps by design (§15.2: those in `locks/`,
/// `keys/` and the root younger than an hour, which a kill during a lock's
/// write leaves): none is left in `data/`, `index/` or `snapshots/`.
pub fn assert_pruned_clean(out: &std::process::Output, repo: &Path, what: &str) {
    assert_check_clean(out, what);
    let text = String::from_utf8_lossy(&out.stdout);
    for l in text.lines().filter(|l| l.starts_with("warning")) {
        assert!(l.contains("temporary file(s)"), "{what}: {text}");
    }
    for d in ["data", "index", "snapshots"] {
        let left: Vec<_> = crate::harness::files_under(&repo.join(d))
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
            .collect();
        assert!(left.is_empty(), "{what}: prune left {left:?}");
    }
}
