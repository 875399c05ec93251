//! Tests of the crate as a whole: its handles cross threads, and the hook
//! that proves the unit-test time limits.

use super::*;

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}

/// The environment variable that makes
/// [`hangs_when_asked_to_prove_the_time_limits`] hang.
const HANG: &str = "BACKUP_TEST_HANG";

/// A test-only hook for scripts/check-time-limits.sh: with
/// `BACKUP_TEST_HANG` set (only that script sets it), this test hangs,
/// and nextest must kill it within the unit-test limit of
/// .config/nextest.toml and name it (TIMEOUT). Otherwise it passes at once.
#[test]
fn hangs_when_asked_to_prove_the_time_limits() {
    if std::env::var_os(HANG).is_some() {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

#[test]
fn handles_cross_threads() {
    send_sync::<Zfs>();
    send_sync::<ZfsError>();
    send::<SendStream>();
    send::<ReceiveSink>();
}
