//! Repository locks: taking, waiting, stale and foreign locks, removal.

use std::time::Duration;

use super::*;
use crate::test_support::test_repo;

fn quick() -> LockOptions {
    LockOptions {
        wait: Duration::ZERO,
        ..LockOptions::default()
    }
}

/// Writes a lock object as another holder would.
fn plant(repo: &Repository, info: &LockInfo) -> String {
    let name = Id::random().to_hex();
    repo.backend()
        .write(FileType::Lock, &name, &seal(repo.keys(), info))
        .unwrap();
    name
}

fn foreign(kind: LockKind, refreshed_ago: i64) -> LockInfo {
    let now = now_secs();
    LockInfo {
        kind,
        operation: "prune".into(),
        host: "elsewhere.example".into(),
        boot_id: "x".into(),
        machine_id: "m-elsewhere".into(),
        pid: 4242,
        process_start: 1,
        created: now - refreshed_ago,
        refreshed: now - refreshed_ago,
        ttl: 1800,
    }
}

#[test]
fn shared_locks_coexist_and_exclusive_is_alone() {
    let (_b, repo) = test_repo();
    let a = RepoLock::acquire(&repo, LockKind::Shared, "ship", quick()).unwrap();
    let b = RepoLock::acquire(&repo, LockKind::Shared, "restore", quick()).unwrap();
    let e = RepoLock::acquire(&repo, LockKind::Exclusive, "prune", quick()).unwrap_err();
    assert!(matches!(e, Error::RepositoryLocked { .. }), "{e}");
    assert!(e.to_string().contains("shared lock for"), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{e}"
    );
    drop((a, b));
    assert!(
        list_locks(&repo).unwrap().is_empty(),
        "dropped locks are removed"
    );
    let x = RepoLock::acquire(&repo, LockKind::Exclusive, "prune", quick()).unwrap();
    let e = RepoLock::acquire(&repo, LockKind::Shared, "ship", quick()).unwrap_err();
    assert!(e.to_string().contains("exclusive lock for prune"), "{e}");
    drop(x);
    RepoLock::acquire(&repo, LockKind::Shared, "ship", quick()).unwrap();
}

#[test]
fn a_lock_of_a_dead_process_on_this_host_is_taken_over() {
    let (_b, repo) = test_repo();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let me = Holder::me();
    let mut info = foreign(LockKind::Exclusive, 0);
    info.host = me.host.clone();
    info.boot_id = me.boot_id.clone();
    info.machine_id = me.machine_id.clone();
    info.pid = dead_pid;
    let stale = plant(&repo, &info);
    let l = RepoLock::acquire(&repo, LockKind::Shared, "ship", quick()).unwrap();
    assert_eq!(l.taken_over().len(), 1, "{:?}", l.taken_over());
    assert!(l.taken_over()[0].contains(&stale));
    assert!(l.taken_over()[0].contains("is gone"));
    // A live process of this host (ours) is not stale.
    let mut live = info.clone();
    live.pid = me.pid;
    live.process_start = me.process_start;
    assert_eq!(live.stale_reason(&me, now_secs()), None);
    // Nor after a reboot of this machine.
    let me = Holder {
        machine_id: "m-here".into(),
        ..me
    };
    live.machine_id = me.machine_id.clone();
    live.boot_id = "another boot".into();
    let why = live.stale_reason(&me, now_secs()).unwrap();
    assert!(why.contains("rebooted"), "{why}");
}

/// Regression: a lock of another machine with the same host name (cloned
/// VMs, containers named alike) and another boot id was taken for this
/// host's, "rebooted since", and removed while its holder ran: a prune
/// could then delete the packs a live ship had not indexed yet.
#[test]
fn a_live_lock_of_another_machine_of_the_same_name_is_not_stale() {
    let me = Holder {
        machine_id: "m-here".into(),
        ..Holder::me()
    };
    let now = now_secs();
    let mut twin = foreign(LockKind::Shared, 60);
    twin.host = me.host.clone();
    twin.boot_id = "its own boot".into();
    twin.machine_id = "m-twin".into();
    assert_eq!(twin.stale_reason(&me, now), None);
    // Machine ids unknown (a lock of an older version): not proof either.
    twin.machine_id = String::new();
    assert_eq!(twin.stale_reason(&me, now), None);
    // Same kernel (same boot id), another machine id: a container whose
    // processes we cannot see; its pid proves nothing here.
    twin.boot_id = me.boot_id.clone();
    twin.machine_id = "m-twin".into();
    twin.pid = u32::MAX;
    assert_eq!(twin.stale_reason(&me, now), None);
    // Its lease still ends it.
    twin.refreshed = now - 3600;
    assert!(twin.stale_reason(&me, now).is_some());

    // And `acquire` waits for it rather than taking it over.
    let (_b, repo) = test_repo();
    let mut live = foreign(LockKind::Exclusive, 60);
    live.host = me.host.clone();
    live.boot_id = "its own boot".into();
    live.machine_id = "m-twin".into();
    plant(&repo, &live);
    let e = RepoLock::acquire(&repo, LockKind::Shared, "ship", quick()).unwrap_err();
    assert!(matches!(e, Error::RepositoryLocked { .. }), "{e}");
}

#[test]
fn locks_of_other_hosts_expire_by_lease_only() {
    let (_b, repo) = test_repo();
    let fresh = plant(&repo, &foreign(LockKind::Exclusive, 60));
    let e = RepoLock::acquire(&repo, LockKind::Shared, "ship", quick()).unwrap_err();
    assert!(e.to_string().contains("elsewhere.example"), "{e}");
    repo.backend().remove(FileType::Lock, &fresh).unwrap();
    plant(&repo, &foreign(LockKind::Exclusive, 3600));
    let l = RepoLock::acquire(&repo, LockKind::Exclusive, "prune", quick()).unwrap();
    assert!(
        l.taken_over()[0].contains("not refreshed for"),
        "{:?}",
        l.taken_over()
    );
}

#[test]
fn waits_for_the_holder_to_finish() {
    let (_b, repo) = test_repo();
    let x = RepoLock::acquire(&repo, LockKind::Exclusive, "prune", quick()).unwrap();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(x);
    });
    let opts = LockOptions {
        wait: Duration::from_secs(20),
        ..quick()
    };
    RepoLock::acquire(&repo, LockKind::Shared, "ship", opts).unwrap();
    t.join().unwrap();
}

#[test]
fn refreshing_replaces_the_object_and_keeps_one() {
    let (_b, repo) = test_repo();
    let opts = LockOptions {
        refresh: Duration::from_millis(20),
        ..quick()
    };
    let l = RepoLock::acquire(&repo, LockKind::Shared, "ship", opts).unwrap();
    let first = list_locks(&repo).unwrap()[0].0.clone();
    std::thread::sleep(Duration::from_millis(200));
    let now = list_locks(&repo).unwrap();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0].0, first, "refreshed under a new name");
    l.check().unwrap();
}

#[test]
fn an_unreadable_lock_blocks_and_says_how_to_clear_it() {
    let (_b, repo) = test_repo();
    repo.backend()
        .write(FileType::Lock, &Id::random().to_hex(), b"garbage")
        .unwrap();
    let e = RepoLock::acquire(&repo, LockKind::Shared, "ship", quick()).unwrap_err();
    assert!(e.to_string().contains("backup unlock --all"), "{e}");
    assert!(remove_locks(&repo, false).unwrap().is_empty());
    assert_eq!(remove_locks(&repo, true).unwrap().len(), 1);
    RepoLock::acquire(&repo, LockKind::Shared, "ship", quick()).unwrap();
}

#[test]
fn process_start_reads_our_own_stat() {
    assert!(process_start(std::process::id()).unwrap() > 0);
    assert_eq!(process_start(u32::MAX), None);
}

/// A backend that reads from `inner` and refuses every write and removal
/// the way a read-only mount does.
struct ReadOnly(Arc<dyn Backend>, std::io::ErrorKind);

impl Backend for ReadOnly {
    fn location(&self) -> String {
        self.0.location()
    }
    fn create(&self) -> Result<()> {
        Err(self.refuse("create"))
    }
    fn write(&self, _: FileType, _: &str, _: &[u8]) -> Result<()> {
        Err(self.refuse("write"))
    }
    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        self.0.read(ty, name)
    }
    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.0.read_range(ty, name, offset, len)
    }
    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        self.0.list(ty)
    }
    fn remove(&self, _: FileType, _: &str) -> Result<()> {
        Err(self.refuse("remove"))
    }
}

impl ReadOnly {
    fn refuse(&self, op: &'static str) -> Error {
        Error::Backend {
            op,
            path: "locks/x".into(),
            source: std::io::Error::from(self.1),
        }
    }
}

#[test]
fn reading_on_an_unwritable_location_goes_on_without_a_lock_and_says_why() {
    use std::io::ErrorKind as K;
    let (backend, repo) = test_repo();
    for kind in [K::ReadOnlyFilesystem, K::PermissionDenied] {
        let ro = Repository::open(Arc::new(ReadOnly(backend.clone(), kind)), b"pw").unwrap();
        match RepoLock::acquire_for_reading(&ro, "restore", quick()).unwrap() {
            ReadLock::NotTaken { location, cause } => {
                assert_eq!(location, ro.backend().location());
                assert!(cause.is_unwritable(), "{cause}");
            }
            ReadLock::Held(l) => panic!("a lock was taken: {l:?}"),
        }
        // Writers still fail.
        let e = RepoLock::acquire(&ro, LockKind::Shared, "ship", quick()).unwrap_err();
        assert!(e.is_unwritable(), "{e}");
        let e = RepoLock::acquire(&ro, LockKind::Exclusive, "prune", quick()).unwrap_err();
        assert!(e.is_unwritable(), "{e}");
    }
    // An exclusive lock still blocks a reader, read-only or not.
    let _x = RepoLock::acquire(&repo, LockKind::Exclusive, "prune", quick()).unwrap();
    let ro = Repository::open(
        Arc::new(ReadOnly(backend.clone(), K::ReadOnlyFilesystem)),
        b"pw",
    )
    .unwrap();
    let e = RepoLock::acquire_for_reading(&ro, "check", quick()).unwrap_err();
    assert!(matches!(e, Error::RepositoryLocked { .. }), "{e}");
    // A writable location gets its lock.
    let l = RepoLock::acquire_for_reading(&repo, "restore", quick());
    assert!(matches!(l, Err(Error::RepositoryLocked { .. })), "{l:?}");
    drop(_x);
    let l = RepoLock::acquire_for_reading(&repo, "restore", quick()).unwrap();
    assert!(l.held().is_some());
}
