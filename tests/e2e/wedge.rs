//! The binary against a wedged zfs-fuse, made on purpose by stopping the
//! daemon (SIGSTOP). Ignored in the suite (it stops the daemon every other
//! test uses); scripts/check-wedge-recovery.sh runs it alone, in CI too.

use std::time::{Duration, Instant};

use backup_zfs::testpool::{recover, PID_FILE};

use crate::harness::{assert_ok, stderr, Env};

#[test]
#[ignore = "stops the zfs-fuse daemon: run alone by scripts/check-wedge-recovery.sh"]
#[allow(unsafe_code)] // kill(2) stops and resumes the daemon; SAFETY comments below
fn backup_never_waits_forever_on_a_wedged_zfs_and_the_harness_names_the_wedge() {
    let env = Env::new();
    let ds = env.dataset("data");
    let snap = env.snapshot(&ds, "s1");
    let pid: libc::pid_t = std::fs::read_to_string(PID_FILE)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) on the pid the tests' daemon wrote.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let started = Instant::now();
    let out = env
        .command(["send", &snap.to_string()])
        .env(backup_zfs::TIMEOUT_ENV, "3")
        .output()
        .unwrap();
    let took = started.elapsed();
    let err = stderr(&out);
    // Exit 1 (a zfs failure), the command and the snapshot named.
    let named = err.contains("did not finish within 3 s") && err.contains(&snap.to_string());
    if out.status.code() != Some(1) || !named || took > Duration::from_secs(60) {
        // SAFETY: as above; let the other tests go on.
        unsafe { libc::kill(pid, libc::SIGCONT) };
        panic!("after {took:?}, {}: {err}", out.status);
    }
    // The harness reports the failure as a wedge, after recovering it.
    let report =
        std::panic::catch_unwind(|| assert_ok(&out, "send")).expect_err("assert_ok must fail");
    let report = report.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(report.contains("zfs-fuse wedged during send"), "{report}");
    assert!(report.contains(&format!("daemon {pid} killed")), "{report}");
    assert_eq!(recover(), None, "recovered: the new daemon answers");
    // And the next ship works.
    assert_ok(
        &env.backup(["send", &snap.to_string()]),
        "send after recovery",
    );
}
