//! The local backend over simulated power cuts ([`PowerCutFs`]): a ship
//! and a prune cut at every single file-system operation, the disk then
//! losing everything not yet durable, the repository reopened. Each time:
//! every object whose write returned is there, whole (and every removal
//! that returned stays done); `check --read-data` finds no error; no
//! manifest without its data; the interrupted work resumes, uploading only
//! what is missing, and everything restores bit for bit.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::super::{LocalBackend, LocalFs, PowerCutFs};
use crate::backend::{Backend, FileType};
use crate::check::{check, CheckOptions};
use crate::error::Result;
use crate::format::config::ChunkerParams;
use crate::id::Id;
use crate::progress::NoProgress;
use crate::prune::{plan_prune, prune, PruneOptions};
use crate::repo_lock::{LockKind, LockOptions, RepoLock};
use crate::repository::Repository;
use crate::test_support::{
    check_all_data, fake_stream, pool_ds_manifest, pseudo_random, restored, small_opts,
};

const ROOT: &str = "/repo";

/// The last write (its bytes) or removal (`None`) of each object that
/// returned `Ok`.
type Done = BTreeMap<(FileType, String), Option<Vec<u8>>>;

/// Every write and removal of the backend that returned `Ok`: what must be
/// found after the power comes back.
struct Recorder {
    inner: LocalBackend<PowerCutFs>,
    done: Mutex<Done>,
}

impl Recorder {
    fn new(disk: &PowerCutFs) -> Arc<Recorder> {
        Arc::new(Recorder {
            inner: LocalBackend::with_fs(ROOT, disk.clone()),
            done: Mutex::new(BTreeMap::new()),
        })
    }

    /// Asserts that what returned survived the cut, read from `after`.
    fn assert_survived(&self, after: &dyn Backend, when: &str) {
        for ((ty, name), content) in self.done.lock().unwrap().iter() {
            if *ty == FileType::Lock {
                continue; // removed by `reboot`
            }
            match (content, after.read(*ty, name)) {
                (Some(want), Ok(got)) => assert!(&got == want, "{when}: {ty:?} {name} changed"),
                (Some(_), Err(e)) => panic!("{when}: {ty:?} {name} was written, now: {e}"),
                (None, Ok(_)) => panic!("{when}: {ty:?} {name} was removed, and is back"),
                (None, Err(_)) => {}
            }
        }
    }
}

impl Backend for Recorder {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn create(&self) -> Result<()> {
        self.inner.create()
    }
    fn write(&self, ty: FileType, name: &str, data: &[u8]) -> Result<()> {
        self.inner.write(ty, name, data)?;
        let key = (ty, name.to_string());
        self.done.lock().unwrap().insert(key, Some(data.to_vec()));
        Ok(())
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
        self.inner.remove(ty, name)?;
        self.done
            .lock()
            .unwrap()
            .insert((ty, name.to_string()), None);
        Ok(())
    }
}

fn open(disk: &PowerCutFs) -> (Arc<LocalBackend<PowerCutFs>>, Repository) {
    let backend = Arc::new(LocalBackend::with_fs(ROOT, disk.clone()));
    let repo = Repository::open(backend.clone(), b"pw").expect("the repository opens");
    (backend, repo)
}

fn pack_bytes(backend: &dyn Backend) -> u64 {
    backend
        .list(FileType::Pack)
        .unwrap()
        .iter()
        .map(|p| p.1)
        .sum()
}

/// The power cut (`torn`: [`PowerCutFs::power_cut_torn`] with that seed),
/// then the reboot: the locks of the processes that died with the power
/// are stale (the lease machinery takes them over once their host says so;
/// here the test removes them).
fn reboot(disk: &PowerCutFs, torn: Option<u64>) {
    match torn {
        Some(seed) => disk.power_cut_torn(seed),
        None => disk.power_cut(),
    }
    let backend = LocalBackend::with_fs(ROOT, disk.clone());
    for (name, _) in backend.list(FileType::Lock).unwrap() {
        backend.remove(FileType::Lock, &name).unwrap();
    }
}

/// A repository on a fresh disk with one shipped snapshot, and a second
/// stream sharing part of its data.
fn disk_with_a_snapshot() -> (PowerCutFs, (Id, Vec<u8>), Vec<u8>) {
    let disk = PowerCutFs::new();
    let backend = Arc::new(LocalBackend::with_fs(ROOT, disk.clone()));
    // Packs of a few chunks, so that a small stream makes more packs than
    // an index checkpoint holds (8).
    let mut opts = small_opts();
    opts.config.pack_size = 8 * 1024;
    opts.config.chunker = ChunkerParams {
        min: 1024,
        avg: 4096,
        max: 16 * 1024,
    };
    let mut repo = Repository::init(backend, b"pw", opts).unwrap();
    let shared = pseudo_random(20_000, 1);
    let first = fake_stream(&shared);
    let id = ship(&mut repo, &first, "s1", 1).unwrap();
    let second = fake_stream(&[pseudo_random(100_000, 2).as_slice(), &shared].concat());
    (disk, (id, first), second)
}

fn ship(repo: &mut Repository, stream: &[u8], snapshot: &str, guid: u64) -> Result<Id> {
    crate::ship::ship_stream(
        repo,
        stream,
        pool_ds_manifest(snapshot, guid, None),
        &NoProgress,
    )
}

/// A ship of `second` onto `disk` cut at its `n`-th operation, the power
/// cut (`torn`: seeded, [`PowerCutFs::power_cut_torn`]), the repository
/// reopened and checked, the ship resumed and its result restored.
struct ShipCut<'a> {
    disk: &'a PowerCutFs,
    first_id: Id,
    second: &'a [u8],
    /// Pack bytes before the ship, and a clean ship's.
    before: u64,
    clean_bytes: u64,
}

impl ShipCut<'_> {
    /// `false` if the ship had fewer than `n` operations this time.
    fn at(&self, n: u64, torn: Option<u64>) -> bool {
        let when = format!("power cut at operation {n} (torn: {torn:?})");
        let d = self.disk.fork();
        let rec = Recorder::new(&d);
        let mut repo = Repository::open(rec.clone(), b"pw").unwrap();
        d.arm(Some(n));
        let shipped = ship(&mut repo, self.second, "s2", 2);
        if !d.is_off() {
            // Fewer operations this time: a pack landed in a fan-out
            // directory that already existed (pack names are random).
            assert!(shipped.is_ok(), "{when}: {shipped:?}");
            return false;
        }
        assert!(shipped.is_err(), "{when}: the ship succeeded");
        drop(repo);
        reboot(&d, torn);

        let (backend, mut repo) = open(&d);
        rec.assert_survived(&*backend, &when);
        assert!(
            repo.index_problems().is_empty(),
            "{when}: {:?}",
            repo.index_problems()
        );
        // Structure: every pack's trailer authenticates and matches the
        // index, every chunk a manifest names is in a pack (the data of
        // s1 is read at the end, s2's by its restore).
        let report = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
        assert!(report.ok(), "{when}: {:?}", report.errors);
        let manifests = repo.manifest_ids().unwrap();
        assert!(manifests.contains(&self.first_id), "{when}");
        if let Some(id) = manifests.iter().find(|m| **m != self.first_id) {
            // Only a torn cut keeps a manifest whose write had not
            // returned: whole, its data durable and indexed before it.
            assert!(torn.is_some(), "{when}: a manifest survived");
            assert_eq!(restored(&repo, id).unwrap(), self.second, "{when}");
            return true;
        }

        // Resume: what reached the disk is adopted, only the rest goes.
        let present = pack_bytes(&*backend) - self.before;
        crate::adopt::adopt_unindexed_packs(&mut repo).unwrap();
        let id = ship(&mut repo, self.second, "s2", 2).unwrap();
        let uploaded = pack_bytes(&*backend) - self.before - present;
        let slack = 16 * 1024;
        assert!(
            present + uploaded <= self.clean_bytes + slack,
            "{when}: {present} bytes of packs survived, the resume uploaded {uploaded}, a clean ship {}",
            self.clean_bytes
        );
        assert_eq!(restored(&repo, &id).unwrap(), self.second, "{when}");
        true
    }
}

/// The disk with one snapshot, and the operations of a clean ship of
/// `second` onto it.
fn ship_cut<'a>(disk: &'a PowerCutFs, first_id: Id, second: &'a [u8]) -> (ShipCut<'a>, u64) {
    let clean = disk.fork();
    let (backend, mut repo) = open(&clean);
    let before = pack_bytes(&*backend);
    clean.arm(None);
    ship(&mut repo, second, "s2", 2).unwrap();
    let ops = clean.ops();
    assert!(ops > 15, "{ops} operations");
    eprintln!("a ship of {} bytes: {ops} operations", second.len());
    let cut = ShipCut {
        disk,
        first_id,
        second,
        before,
        clean_bytes: pack_bytes(&*backend) - before,
    };
    (cut, ops)
}

#[test]
fn a_ship_cut_at_every_operation_keeps_what_returned_and_resumes() {
    let (disk, (first_id, first), second) = disk_with_a_snapshot();
    let (cut, ops) = ship_cut(&disk, first_id, &second);
    for n in 1..=ops {
        cut.at(n, None);
    }
    let (_, repo) = open(&disk);
    let report = check_all_data(&repo);
    assert!(report.ok(), "{:?}", report.errors);
    assert_eq!(restored(&repo, &first_id).unwrap(), first);
}

/// Torn cuts (any of what was not durable may survive too) at every third
/// operation, each with its own seed.
#[test]
fn a_torn_power_cut_keeps_the_same_guarantees() {
    let (disk, (first_id, _), second) = disk_with_a_snapshot();
    let (cut, ops) = ship_cut(&disk, first_id, &second);
    for n in (1..=ops).step_by(3) {
        cut.at(n, Some(n * 7919));
    }
}

fn prune_all(repo: &mut Repository) -> Result<()> {
    let pruner = plan_prune(
        repo,
        PruneOptions {
            repack_unused_percent: 0.0,
        },
    )?;
    let lock = RepoLock::acquire(repo, LockKind::Exclusive, "prune", LockOptions::default())?;
    prune(repo, pruner, &lock, &NoProgress).map(|_| ())
}

#[test]
fn a_prune_cut_at_every_operation_loses_nothing_and_the_next_finishes() {
    let (disk, (first_id, first), second) = disk_with_a_snapshot();
    {
        let (backend, mut repo) = open(&disk);
        let third = fake_stream(&pseudo_random(100_000, 3));
        ship(&mut repo, &third, "s3", 3).unwrap();
        let id = ship(&mut repo, &second, "s2", 2).unwrap();
        // s3 forgotten: its packs are garbage, s2 and s1 share packs.
        let s3 = repo
            .manifest_ids()
            .unwrap()
            .into_iter()
            .find(|m| *m != id && *m != first_id)
            .unwrap();
        backend.remove(FileType::Snapshot, &s3.to_hex()).unwrap();
    }
    let (_, repo) = open(&disk);
    let second_id = *repo
        .manifest_ids()
        .unwrap()
        .iter()
        .find(|m| **m != first_id)
        .unwrap();
    drop(repo);
    let kept = [(first_id, first), (second_id, second)];
    let clean = disk.fork();
    let (_, mut repo) = open(&clean);
    clean.arm(None);
    prune_all(&mut repo).unwrap();
    let ops = clean.ops();
    assert!(ops > 10, "{ops} operations");
    eprintln!("a prune: {ops} operations");
    for n in 1..=ops {
        let when = format!("power cut at operation {n} of {ops} of a prune");
        let d = disk.fork();
        let rec = Recorder::new(&d);
        let mut repo = Repository::open(rec.clone(), b"pw").unwrap();
        d.arm(Some(n));
        // The last operations release the lock: the prune may succeed.
        let _ = prune_all(&mut repo);
        drop(repo);
        reboot(&d, None);

        let (backend, mut repo) = open(&d);
        rec.assert_survived(&*backend, &when);
        // Structure now; every blob is read after the next prune.
        let report = check(&repo, CheckOptions::default(), &NoProgress).unwrap();
        assert!(report.ok(), "{when}: {:?}", report.errors);
        prune_all(&mut repo).unwrap();
        let (_, repo) = open(&d);
        let report = check_all_data(&repo);
        assert!(report.ok(), "{when}, pruned again: {:?}", report.errors);
        assert!(report.warnings.is_empty(), "{when}: {:?}", report.warnings);
        for (id, data) in &kept {
            assert_eq!(&restored(&repo, id).unwrap(), data, "{when}: {id}");
        }
    }
}

/// The disk itself: what a power cut keeps and drops.
#[test]
fn the_simulated_disk_keeps_only_what_was_made_durable() {
    let disk = PowerCutFs::new();
    let dir = Path::new("/d");
    disk.create_dir_all(dir).unwrap();
    disk.sync_dir(Path::new("/")).unwrap();
    let write = |name: &str, sync_file: bool, sync_dir: bool| {
        let mut f = disk.create_new(&dir.join(name)).unwrap();
        f.write_all(name.as_bytes()).unwrap();
        if sync_file {
            disk.sync_file(&mut f).unwrap();
        }
        if sync_dir {
            disk.sync_dir(dir).unwrap();
        }
    };
    write("neither", false, false);
    write("data-only", true, false);
    write("name-only", false, true);
    write("both", true, true);
    disk.create_dir_all(Path::new("/d/sub")).unwrap();
    write("late", true, false);
    disk.rename(&dir.join("late"), &dir.join("renamed"))
        .unwrap();
    disk.power_cut();
    let names: Vec<String> = disk
        .read_dir(dir)
        .unwrap()
        .into_iter()
        .map(|e| e.0)
        .collect();
    // Later syncs of the directory made every name durable, but not the
    // data of a file never synced: what a rename before the file's fsync
    // would leave under an object's final name.
    assert_eq!(names, ["both", "data-only", "name-only", "neither"]);
    assert_eq!(disk.read(&dir.join("both")).unwrap(), b"both");
    assert_eq!(disk.read(&dir.join("data-only")).unwrap(), b"data-only");
    assert_eq!(disk.read(&dir.join("name-only")).unwrap(), b"");
    assert_eq!(disk.read(&dir.join("neither")).unwrap(), b"");
    assert!(
        disk.metadata(Path::new("/d/sub")).is_err(),
        "an unsynced directory"
    );

    // Armed: the n-th operation fails and the power stays off.
    disk.arm(Some(2));
    disk.create_dir_all(Path::new("/e")).unwrap();
    assert!(disk.sync_dir(Path::new("/")).is_err());
    assert!(disk.read(&dir.join("both")).is_err());
    disk.power_cut();
    assert!(disk.metadata(Path::new("/e")).is_err());
    assert_eq!(disk.read(&dir.join("both")).unwrap(), b"both");
}
