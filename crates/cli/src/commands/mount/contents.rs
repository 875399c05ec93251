//! File contents of a mount: on a file's first open, the fast path
//! ([`backup_core::extract`]) rebuilds a file of up to [`WHOLE_MAX`] bytes
//! whole into a cache file, and the file is served only if its BLAKE3 is
//! the manifest's; a bigger one is fetched on demand ([`Lazy`]). A snapshot's chain
//! is mapped once, for all its files, on the first open in it. What the
//! fast path cannot rebuild is remembered with why, and every open of it
//! fails; a failed read of the repository is tried again on the next open.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use backup_core::extract::{map_chain, ChainMap, Plan};
use backup_core::filelist::{Entry, FileList, Kind};
use backup_core::{read_chain, resolve_chain, Id, Manifest, Repository};

use super::lazy::Lazy;

/// Files up to this size are rebuilt whole on their first open, and served
/// once their digest matched; bigger ones are fetched as they are read.
pub const WHOLE_MAX: u64 = 16 << 20;

/// A file's cache file, and for a big one what is fetched of it so far.
pub struct Cached {
    pub file: File,
    /// `None`: the file is whole and its digest matched.
    pub lazy: Option<Mutex<Lazy>>,
}

impl Cached {
    fn whole(file: File) -> Arc<Cached> {
        Arc::new(Cached { file, lazy: None })
    }

    /// Why it is refused, if it was found not to match its digest.
    fn refused(&self) -> Option<Refused> {
        let lazy = self.lazy.as_ref()?;
        let lazy = lazy.lock().unwrap_or_else(PoisonError::into_inner);
        lazy.refused().cloned()
    }
}

/// Why a file cannot be served.
#[derive(Clone, Debug)]
pub enum Refused {
    /// The fast path cannot rebuild it, or rebuilt other bytes than the
    /// manifest's: the slow path (`restore --path`) can.
    SlowPathOnly(String),
    /// Reading the repository failed (a damaged or missing chunk, I/O).
    Failed(String),
}

/// The cache of one mount.
pub struct Contents {
    dir: PathBuf,
    /// Per snapshot (by index): its chain's map.
    chains: HashMap<usize, Arc<ChainMap>>,
    /// Per (snapshot, ZFS object): the rebuilt file, or why there is none
    /// (hard links share it).
    files: HashMap<(usize, u64), Result<Arc<Cached>, Refused>>,
}

/// The empty file's BLAKE3: served without fetching anything.
fn empty_digest() -> [u8; 32] {
    *blake3::hash(b"").as_bytes()
}

impl Contents {
    /// Cache files go into `dir`, which exists and is this mount's alone.
    pub fn new(dir: PathBuf) -> Contents {
        Contents {
            dir,
            chains: HashMap::new(),
            files: HashMap::new(),
        }
    }

    /// The verified contents of regular file `e` of snapshot `snap` (`id`
    /// in `all`, whose file manifest is `list`).
    /// `Err((refused, fresh))`: `fresh` is true the first time, so the
    /// caller logs once.
    pub fn open(
        &mut self,
        repo: &Repository,
        all: &[(Id, Manifest)],
        snap: usize,
        id: &Id,
        list: &FileList,
        e: &Entry,
    ) -> Result<Arc<Cached>, (Refused, bool)> {
        let key = (snap, e.ino);
        if let Some(done) = self.files.get(&key) {
            if let Some(r) = done.as_ref().ok().and_then(|c| c.refused()) {
                return Err((r, false));
            }
            return done.clone().map_err(|r| (r, false));
        }
        let done = self.rebuild(repo, all, snap, id, list, e);
        // A failed read is tried again on the next open (it may have been
        // the network); what only the slow path can do stays refused.
        if !matches!(done, Err(Refused::Failed(_))) {
            self.files.insert(key, done.clone());
        }
        done.map_err(|r| (r, true))
    }

    fn rebuild(
        &mut self,
        repo: &Repository,
        all: &[(Id, Manifest)],
        snap: usize,
        id: &Id,
        list: &FileList,
        e: &Entry,
    ) -> Result<Arc<Cached>, Refused> {
        let path = self.dir.join(format!("{snap}-{}", e.ino));
        let io = |what: &str, err: std::io::Error| {
            Refused::Failed(format!("{what} cache file {}: {err}", path.display()))
        };
        let create = || {
            File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|err| io("creating", err))
        };
        if e.size == 0 && e.blake3 == Some(empty_digest()) {
            return Ok(Cached::whole(create()?));
        }
        let Some(want) = e.blake3 else {
            return Err(Refused::SlowPathOnly(
                "the file manifest has no digest for it".into(),
            ));
        };
        let map = self.chain(repo, all, snap, id, list)?;
        let pieces = match map.plan(e.ino, e.size) {
            Plan::Pieces(p) => p,
            Plan::Unsupported(why) => return Err(Refused::SlowPathOnly(why)),
        };
        let what = format!("{} (object {})", e.display_path(), e.ino);
        let file = create()?;
        if e.size > WHOLE_MAX {
            // Sparse: what is not fetched yet reads as zeros, never served.
            if let Err(err) = file.set_len(e.size) {
                drop(file);
                // Gone, so the next open can make it again.
                let _ = std::fs::remove_file(&path);
                return Err(io("sizing", err));
            }
            let lazy = Lazy::new(map, pieces, e.size, want, what);
            return Ok(Arc::new(Cached {
                file,
                lazy: Some(Mutex::new(lazy)),
            }));
        }
        let got = map.extract(repo, &pieces, e.size, &file, &what);
        let refused = match got {
            Ok(x) if x.blake3 == want => return Ok(Cached::whole(file)),
            Ok(_) => Refused::SlowPathOnly(
                "the blocks found in the streams do not hash to the manifest's BLAKE3".into(),
            ),
            Err(err) => Refused::Failed(err.to_string()),
        };
        drop(file);
        std::fs::remove_file(&path).map_err(|err| io("removing", err))?;
        Err(refused)
    }

    /// Snapshot `snap`'s chain mapped for all its regular files.
    fn chain(
        &mut self,
        repo: &Repository,
        all: &[(Id, Manifest)],
        snap: usize,
        id: &Id,
        list: &FileList,
    ) -> Result<Arc<ChainMap>, Refused> {
        if let Some(done) = self.chains.get(&snap) {
            return Ok(done.clone());
        }
        let map = || -> backup_core::Result<ChainMap> {
            let ids: Vec<Id> = resolve_chain(all, id)?.iter().map(|(id, _)| *id).collect();
            let manifests = read_chain(repo, &ids)?;
            let wanted: HashSet<u64> = list
                .entries
                .iter()
                .filter(|e| e.kind == Kind::File && e.size > 0)
                .map(|e| e.ino)
                .collect();
            map_chain(repo, &manifests, &wanted)
        };
        let done = Arc::new(map().map_err(|err| {
            Refused::Failed(format!("mapping the chain's record headers: {err}"))
        })?);
        self.chains.insert(snap, done.clone());
        Ok(done)
    }
}
