//! A wedged zfs-fuse daemon, made on purpose: the daemon is stopped
//! (SIGSTOP), so every FUSE request and every zfs command waits for good,
//! as in a real wedge. These tests stop the daemon every other test uses, so
//! they are ignored in the suite and run alone by
//! scripts/check-wedge-recovery.sh (CI runs it).

use std::time::{Duration, Instant};

use backup_zfs::testpool::{recover, PID_FILE};
use backup_zfs::ZfsError;

use crate::helpers::{ds, mounted, pool};

fn daemon_pid() -> libc::pid_t {
    std::fs::read_to_string(PID_FILE)
        .expect("the tests' zfs-fuse pid file")
        .trim()
        .parse()
        .unwrap()
}

#[test]
#[ignore = "stops the zfs-fuse daemon: run alone by scripts/check-wedge-recovery.sh"]
#[allow(unsafe_code)] // kill(2) stops and resumes the daemon; SAFETY comments below
fn a_stopped_daemon_is_found_wedged_named_and_recovered() {
    let pool = pool();
    let d = ds(&pool, "before the wedge");
    pool.zfs().create_dataset(&d, &[]).unwrap();
    let mp = mounted(pool.zfs(), &d);
    let pid = daemon_pid();
    // SAFETY: kill(2) on the pid the tests' daemon wrote.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    // A reader blocked on the mount: a request waits on its connection.
    let reader = std::thread::spawn(move || std::fs::read_dir(&mp).map(drop));
    let short = pool.zfs().clone().with_timeout(Duration::from_secs(3));
    let started = Instant::now();
    let err = short
        .create_dataset(&ds(&pool, "during the wedge"), &[])
        .unwrap_err();
    let took = started.elapsed();
    let ZfsError::Wedged { cause, recovery } = &err else {
        // SAFETY: as above; let the other tests go on.
        unsafe { libc::kill(pid, libc::SIGCONT) };
        panic!("expected Wedged, got {err:?}");
    };
    assert!(matches!(**cause, ZfsError::Timeout { .. }), "{cause:?}");
    let text = err.to_string();
    assert!(
        text.contains("zfs-fuse daemon wedged") && text.contains(pool.name()),
        "{text}"
    );
    assert!(recovery.contains("aborted"), "{recovery}");
    assert!(
        recovery.contains(&format!("daemon {pid} killed")),
        "{recovery}"
    );
    assert!(recovery.contains("new daemon"), "{recovery}");
    assert!(took < Duration::from_secs(90), "{took:?}");
    // The blocked reader was released by the abort.
    assert!(reader.join().unwrap().is_err());
    // The new daemon answers, and nothing is left to recover.
    assert_ne!(daemon_pid(), pid);
    assert!(pool
        .zfs()
        .list_pools()
        .unwrap()
        .contains(&pool.name().to_owned()));
    assert_eq!(recover(), None);
    // What the recovery did, for the log of scripts/check-wedge-recovery.sh.
    println!("recovery: {recovery}");
}
