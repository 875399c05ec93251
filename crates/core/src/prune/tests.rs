//! Prune: plans and their sizes, what a prune removes and keeps, a prune
//! stopped at any step, and refusals when the repository is damaged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::*;
use crate::backend::{Backend, FileType, MemoryBackend};
use crate::check::{check, CheckOptions};
use crate::format::blob;
use crate::format::pack::PackWriter;
use crate::progress::NoProgress;
use crate::repo_lock::{LockKind, LockOptions};
use crate::test_support::{check_all_data, ship_test_stream, test_repo};
use crate::test_support::{fake_stream, pseudo_random, restored};

/// A store that fails every change after the first `budget` ones (locks
/// aside): a prune stopped at that point, as by a crash.
struct Faulty {
    inner: Arc<MemoryBackend>,
    budget: usize,
    used: AtomicUsize,
}

impl Faulty {
    fn spend(&self, ty: FileType) -> Result<()> {
        if ty == FileType::Lock || self.used.fetch_add(1, Ordering::SeqCst) < self.budget {
            return Ok(());
        }
        Err(Error::Interrupted)
    }
}

impl Backend for Faulty {
    fn location(&self) -> String {
        "faulty:".into()
    }
    fn create(&self) -> Result<()> {
        self.inner.create()
    }
    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.spend(ty)?;
        self.inner.write(ty, name, data)
    }
    fn read(&self, ty: FileType, name: &str) -> Result<Vec<u8>> {
        self.inner.read(ty, name)
    }
    fn read_range(&self, ty: FileType, name: &str, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.inner.read_range(ty, name, offset, len)
    }
    fn list(&self, ty: FileType) -> Result<Vec<(String, u64)>> {
        self.inner.list(ty)
    }
    fn remove(&self, ty: FileType, name: &str) -> Result<()> {
        self.spend(ty)?;
        self.inner.remove(ty, name)
    }
}

struct Fixture {
    backend: Arc<MemoryBackend>,
    /// Streams that must still restore, by manifest id.
    kept: Vec<(Id, Vec<u8>)>,
}

/// Three snapshots sharing data; the first is then forgotten, leaving
/// unused, partly used and fully used packs, plus an orphan pack.
fn fixture() -> Fixture {
    let (backend, mut repo) = test_repo();
    let a_only = pseudo_random(1_500_000, 1);
    let shared = pseudo_random(1_000_000, 2);
    let b_only = pseudo_random(700_000, 3);
    let a = fake_stream(&[a_only.as_slice(), &shared].concat());
    let b = fake_stream(&[shared.as_slice(), &b_only].concat());
    let c = fake_stream(&pseudo_random(300_000, 4));
    let ida = ship_test_stream(&mut repo, a.as_slice(), "a", 1, None);
    let idb = ship_test_stream(&mut repo, b.as_slice(), "b", 2, None);
    let idc = ship_test_stream(&mut repo, c.as_slice(), "c", 3, None);
    backend.remove(FileType::Snapshot, &ida.to_hex()).unwrap();
    // An interrupted ship's pack: stored, never indexed.
    let mut w = PackWriter::new();
    let junk = pseudo_random(1000, 9);
    let id = repo.keys().chunk_id(&junk);
    w.add(id, &blob::encode(repo.keys(), id, &junk, 3), 1000);
    let (pid, bytes, _) = w.finish(repo.keys());
    backend
        .write(FileType::Pack, &pid.to_hex(), &bytes)
        .unwrap();
    Fixture {
        backend,
        kept: vec![(idb, b), (idc, c)],
    }
}

fn exclusive(repo: &Repository) -> RepoLock {
    RepoLock::acquire(repo, LockKind::Exclusive, "prune", LockOptions::default()).unwrap()
}

/// Bytes of every stored pack.
fn pack_bytes(backend: &MemoryBackend) -> u64 {
    backend
        .list(FileType::Pack)
        .unwrap()
        .iter()
        .map(|p| p.1)
        .sum()
}

/// Prunes, rewriting every partly used pack.
fn prune_all(repo: &mut Repository) -> Result<PrunePlan> {
    let pruner = plan_prune(
        repo,
        PruneOptions {
            repack_unused_percent: 0.0,
        },
    )?;
    let lock = exclusive(repo);
    prune(repo, pruner, &lock, &NoProgress)
}

/// `check` finds no error and every kept snapshot restores.
fn assert_whole(backend: Arc<dyn Backend>, kept: &[(Id, Vec<u8>)], when: &str) -> Repository {
    let repo = Repository::open(backend, b"pw").unwrap();
    let r = check_all_data(&repo);
    assert!(r.ok(), "{when}: {:?}", r.errors);
    for (id, data) in kept {
        assert_eq!(&restored(&repo, id).unwrap(), data, "{when}: {id}");
    }
    repo
}

/// Records each phase: label, total, noun (`None` for bytes), and the sum
/// of its advances.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<Phase>>);

/// Label, total, noun, advanced.
type Phase = (String, Option<u64>, Option<&'static str>, u64);

impl crate::progress::Progress for Recorder {
    fn begin(&self, label: &str, total: Option<u64>) {
        self.0.lock().unwrap().push((label.into(), total, None, 0));
    }
    fn begin_items(&self, label: &str, total: Option<u64>, noun: &'static str) {
        self.0
            .lock()
            .unwrap()
            .push((label.into(), total, Some(noun), 0));
    }
    fn advance(&self, n: u64) {
        if let Some(last) = self.0.lock().unwrap().last_mut() {
            last.3 += n;
        }
    }
}

#[test]
fn prune_removes_what_no_snapshot_needs_and_keeps_the_rest() {
    let f = fixture();
    let mut repo = Repository::open(f.backend.clone(), b"pw").unwrap();
    let before = pack_bytes(&f.backend);
    let pruner = plan_prune(&repo, PruneOptions::default()).unwrap();
    let p = pruner.plan().clone();
    assert_eq!(p.snapshots, 2);
    assert!(!p.unused_packs.is_empty(), "{p:?}");
    assert_eq!(p.orphan_packs.len(), 1, "{p:?}");
    assert_eq!(p.pack_bytes, before);
    let lock = exclusive(&repo);
    let progress = Recorder::default();
    prune(&mut repo, pruner, &lock, &progress).unwrap();
    drop(lock);
    // Regression (issue 17): "removing packs: started, 6 B" for 6 packs.
    let removed = (p.unused_packs.len() + p.repack_packs.len() + p.orphan_packs.len()) as u64;
    let phases = progress.0.lock().unwrap().clone();
    assert!(
        phases.contains(&(
            "removing packs".into(),
            Some(removed),
            Some("packs"),
            removed
        )),
        "{phases:?}"
    );
    let after = pack_bytes(&f.backend);
    assert!(after < before - 1_000_000, "{before} -> {after}");
    let repo = assert_whole(f.backend.clone(), &f.kept, "after prune");
    let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // Nothing more to do.
    assert!(plan_prune(&repo, PruneOptions::default())
        .unwrap()
        .plan()
        .is_empty());
}

#[test]
fn repack_threshold_decides_which_partly_used_packs_are_rewritten() {
    let f = fixture();
    let repo = Repository::open(f.backend.clone(), b"pw").unwrap();
    let all = plan_prune(
        &repo,
        PruneOptions {
            repack_unused_percent: 0.0,
        },
    )
    .unwrap();
    let none = plan_prune(
        &repo,
        PruneOptions {
            repack_unused_percent: 100.1,
        },
    )
    .unwrap();
    assert!(!all.plan().repack_packs.is_empty());
    assert_eq!(all.plan().unused_bytes_kept, 0);
    assert!(none.plan().repack_packs.is_empty());
    assert!(none.plan().unused_bytes_kept > 0);
}

#[test]
fn a_prune_stopped_at_any_step_loses_nothing_and_the_next_one_finishes() {
    let f = fixture();
    let mut steps = 0;
    for budget in 0.. {
        let copy = Arc::new(f.backend.duplicate());
        let faulty = Arc::new(Faulty {
            inner: copy.clone(),
            budget,
            used: AtomicUsize::new(0),
        });
        let mut repo = Repository::open(faulty, b"pw").unwrap();
        let done = prune_all(&mut repo).is_ok();
        drop(repo);
        let when = format!("stopped after {budget} changes");
        let mut repo = assert_whole(copy.clone(), &f.kept, &when);
        // The next prune completes from whatever state this one left.
        prune_all(&mut repo).unwrap();
        let repo = assert_whole(copy.clone(), &f.kept, &format!("{when}, then pruned"));
        let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
        assert!(r.warnings.is_empty(), "{when}: {:?}", r.warnings);
        steps += 1;
        if done {
            break;
        }
    }
    assert!(
        steps > 5,
        "the prune has several steps to stop at ({steps})"
    );
}

#[test]
fn prune_refuses_when_a_needed_chunk_is_nowhere() {
    let f = fixture();
    let repo = Repository::open(f.backend.clone(), b"pw").unwrap();
    // Lose every index segment: the packs look like orphans.
    for (name, _) in f.backend.list(FileType::Index).unwrap() {
        f.backend.remove(FileType::Index, &name).unwrap();
    }
    let repo2 = Repository::open(f.backend.clone(), b"pw").unwrap();
    let e = plan_prune(&repo2, PruneOptions::default()).err().unwrap();
    assert!(e.to_string().contains("no stored pack holds it"), "{e}");
    drop(repo);
}

/// What a SIGKILLed ship (or key add, or lock write) leaves behind.
fn plant_leftovers(backend: &MemoryBackend) {
    let now = std::time::SystemTime::now();
    let old = now - TEMP_FILE_SAFETY_AGE - std::time::Duration::from_secs(1);
    backend.plant_temporary(FileType::Pack, "ab/.tmp-99999-0badf00d", 4_000_000, now);
    backend.plant_temporary(FileType::Index, ".tmp-99999-1badf00d", 100, now);
    backend.plant_temporary(FileType::Key, ".tmp-99999-2badf00d", 10, old);
    // Possibly another host's key add in progress: kept.
    backend.plant_temporary(FileType::Key, ".tmp-99998-3badf00d", 10, now);
}

#[test]
fn check_reports_temporary_files_and_prune_removes_those_of_dead_writers() {
    let (backend, mut repo) = test_repo();
    ship_test_stream(
        &mut repo,
        fake_stream(&pseudo_random(10_000, 5)).as_slice(),
        "a",
        1,
        None,
    );
    plant_leftovers(&backend);
    let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert!(r.ok(), "{:?}", r.errors);
    assert_eq!((r.temporary_files, r.temporary_bytes), (4, 4_000_120));
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(
        r.warnings[0].starts_with(
            "4 temporary file(s), 4000120 bytes, left by interrupted writes (harmless; prune removes them)"
        ),
        "{:?}",
        r.warnings
    );

    let segments = backend.list(FileType::Index).unwrap();
    let pruner = plan_prune(&repo, PruneOptions::default()).unwrap();
    let p = pruner.plan().clone();
    assert!(!p.is_empty());
    assert_eq!(
        p.temporary_files,
        [
            "data/ab/.tmp-99999-0badf00d",
            "index/.tmp-99999-1badf00d",
            "keys/.tmp-99999-2badf00d"
        ]
    );
    assert_eq!((p.temporary_bytes, p.temporary_files_kept), (4_000_110, 1));
    let lock = exclusive(&repo);
    prune(&mut repo, pruner, &lock, &NoProgress).unwrap();
    drop(lock);
    // Only the temporary files went: the index was not rewritten.
    assert_eq!(backend.list(FileType::Index).unwrap(), segments);
    assert!(backend.list_temporary(FileType::Pack).unwrap().is_empty());
    assert!(backend.list_temporary(FileType::Index).unwrap().is_empty());
    assert_eq!(backend.list_temporary(FileType::Key).unwrap().len(), 1);
    let r = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
    assert_eq!(r.temporary_files, 1);
    // The young key slot file alone is nothing to prune.
    let again = plan_prune(&repo, PruneOptions::default()).unwrap();
    assert!(again.plan().is_empty(), "{:?}", again.plan());
}
