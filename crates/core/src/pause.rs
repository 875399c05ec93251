//! Test hooks: a process stops at a named point when `BACKUP_TEST_PAUSE_AT`
//! names it, after creating the file `BACKUP_TEST_PAUSE_MARKER`. Inert
//! unless both variables are set, and compiled only with the `test-hooks`
//! feature (the e2e tests enable it; release builds do not): without it
//! every point is an empty function.

#[cfg(feature = "test-hooks")]
use std::path::PathBuf;
#[cfg(feature = "test-hooks")]
use std::time::Duration;

/// The marker file, when this point is the one asked for.
#[cfg(feature = "test-hooks")]
fn marker_for(point: &str) -> Option<PathBuf> {
    if std::env::var("BACKUP_TEST_PAUSE_AT").as_deref() != Ok(point) {
        return None;
    }
    std::env::var_os("BACKUP_TEST_PAUSE_MARKER").map(PathBuf::from)
}

/// For the SIGKILL tests: writes the point's name to the marker and waits
/// there to be killed.
#[cfg(feature = "test-hooks")]
pub(crate) fn pause_point(point: &str) {
    if let Some(marker) = marker_for(point) {
        let _ = std::fs::write(marker, point);
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

/// For tests that act while the process waits: writes `contents` to the
/// marker and waits until the test removes it.
#[cfg(feature = "test-hooks")]
pub(crate) fn pause_until_released(point: &str, contents: &str) {
    if let Some(marker) = marker_for(point) {
        if std::fs::write(&marker, contents).is_ok() {
            while marker.exists() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Without the `test-hooks` feature: no pause point.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn pause_point(_point: &str) {}

/// Without the `test-hooks` feature: no pause point.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn pause_until_released(_point: &str, _contents: &str) {}
