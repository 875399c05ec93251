//! A simulated disk that loses power (tests only, feature `test-support`).
//!
//! It keeps two states: what a reader sees now (the page cache) and what
//! is durable. A file's data becomes durable at [`LocalFs::sync_file`]; a
//! name created, renamed or removed in a directory becomes durable at
//! [`LocalFs::sync_dir`] of that directory (a new directory is itself a
//! name in its parent). [`PowerCutFs::arm`] makes the n-th mutating
//! operation from then on fail, and every operation after it (the machine
//! is off); [`PowerCutFs::power_cut`] then throws away everything not
//! durable and turns the power back on, and the repository is reopened.
//! An unsynced file whose name did survive comes back with its last synced
//! data (empty if it was never synced): what a missing `fsync` before a
//! rename would leave under an object's final name.
//! [`PowerCutFs::power_cut_torn`] is harsher: any part of what was not
//! durable may survive as well (seeded), as on a real file system.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use super::fs::{LocalFs, Meta};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File(u64),
}

#[derive(Clone, Debug)]
struct Inode {
    data: Vec<u8>,
    synced: Vec<u8>,
    modified: SystemTime,
}

#[derive(Clone, Debug, Default)]
struct State {
    /// What readers see.
    live: BTreeMap<PathBuf, Node>,
    /// What survives a power cut.
    durable: BTreeMap<PathBuf, Node>,
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    /// Mutating operations since the last `arm`.
    ops: u64,
    cut_at: Option<u64>,
    off: bool,
}

/// A simulated disk shared by the backends opened on it (clones share it).
#[derive(Clone, Debug)]
pub struct PowerCutFs {
    state: Arc<Mutex<State>>,
}

/// An open file of a [`PowerCutFs`].
#[derive(Debug)]
pub struct PowerCutFile {
    fs: PowerCutFs,
    inode: u64,
}

fn error(kind: ErrorKind, what: &str, path: &Path) -> io::Error {
    io::Error::new(kind, format!("{what}: {}", path.display()))
}

fn power_off() -> io::Error {
    io::Error::other("the power is off (simulated power cut)")
}

impl Default for PowerCutFs {
    fn default() -> Self {
        PowerCutFs::new()
    }
}

impl PowerCutFs {
    /// An empty disk: only `/`, durable.
    pub fn new() -> PowerCutFs {
        let mut s = State::default();
        s.live.insert(PathBuf::from("/"), Node::Dir);
        s.durable.insert(PathBuf::from("/"), Node::Dir);
        PowerCutFs {
            state: Arc::new(Mutex::new(s)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("power-cut disk")
    }

    /// An independent copy of this disk, live and durable state alike.
    pub fn fork(&self) -> PowerCutFs {
        PowerCutFs {
            state: Arc::new(Mutex::new(self.lock().clone())),
        }
    }

    /// From now on, the `n`-th mutating operation (1-based: creating,
    /// writing or syncing a file, renaming, removing, making a directory,
    /// syncing a directory) fails and the power stays off; `None` never.
    /// Resets the count [`ops`](PowerCutFs::ops) returns.
    pub fn arm(&self, n: Option<u64>) {
        let mut s = self.lock();
        s.ops = 0;
        s.cut_at = n;
    }

    /// Mutating operations since the last [`arm`](PowerCutFs::arm).
    pub fn ops(&self) -> u64 {
        self.lock().ops
    }

    /// Whether the power went off.
    pub fn is_off(&self) -> bool {
        self.lock().off
    }

    /// Throws away everything not durable (names not synced into their
    /// directory, data not synced into its file, and what lies below a
    /// directory that did not survive), and turns the power back on.
    pub fn power_cut(&self) {
        self.cut(None);
    }

    /// A power cut as a real file system may leave it: each name changed
    /// since its directory's last sync keeps its new state or its old (a
    /// seeded coin for each), and a file's data written since its last
    /// sync survives as a prefix of seeded length. What was made durable
    /// survives, as with [`power_cut`](PowerCutFs::power_cut).
    pub fn power_cut_torn(&self, seed: u64) {
        self.cut(Some(seed));
    }

    fn cut(&self, seed: Option<u64>) {
        let mut rng = seed.map(SplitMix);
        let mut s = self.lock();
        let mut after = s.durable.clone();
        if let Some(r) = rng.as_mut() {
            let names: Vec<PathBuf> = s.live.keys().chain(s.durable.keys()).cloned().collect();
            for p in names {
                let (now, then) = (s.live.get(&p), s.durable.get(&p));
                if now != then && r.next() % 2 == 0 {
                    match now {
                        Some(node) => after.insert(p, *node),
                        None => after.remove(&p),
                    };
                }
            }
        }
        let live: BTreeMap<PathBuf, Node> = after
            .iter()
            .filter(|(p, _)| {
                p.ancestors()
                    .skip(1)
                    .all(|a| after.get(a) == Some(&Node::Dir))
            })
            .map(|(p, n)| (p.clone(), *n))
            .collect();
        s.durable.clone_from(&live);
        s.live = live;
        for inode in s.inodes.values_mut() {
            let torn = inode.data.starts_with(&inode.synced);
            match rng.as_mut() {
                Some(r) if torn && inode.data.len() > inode.synced.len() => {
                    let extra = (inode.data.len() - inode.synced.len()) as u64;
                    let keep = inode.synced.len() + (r.next() % (extra + 1)) as usize;
                    inode.data.truncate(keep);
                }
                _ => inode.data.clone_from(&inode.synced),
            }
            inode.synced.clone_from(&inode.data);
        }
        s.off = false;
        s.cut_at = None;
    }
}

/// splitmix64, for the torn cuts.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl State {
    /// Counts a mutating operation; fails it, and everything after, at the
    /// armed one.
    fn step(&mut self) -> io::Result<()> {
        if self.off {
            return Err(power_off());
        }
        self.ops += 1;
        if self.cut_at == Some(self.ops) {
            self.off = true;
            return Err(power_off());
        }
        Ok(())
    }

    fn awake(&self) -> io::Result<()> {
        if self.off {
            Err(power_off())
        } else {
            Ok(())
        }
    }

    fn parent_is_dir(&self, path: &Path) -> io::Result<()> {
        match path.parent().map(|p| self.live.get(p)) {
            Some(Some(Node::Dir)) => Ok(()),
            _ => Err(error(ErrorKind::NotFound, "no such directory", path)),
        }
    }

    fn file(&self, path: &Path) -> io::Result<&Inode> {
        match self.live.get(path) {
            Some(Node::File(i)) => Ok(&self.inodes[i]),
            Some(Node::Dir) => Err(error(ErrorKind::IsADirectory, "a directory", path)),
            None => Err(error(ErrorKind::NotFound, "no such file", path)),
        }
    }

    fn meta(&self, node: Node) -> Meta {
        match node {
            Node::Dir => Meta {
                is_file: false,
                is_dir: true,
                len: 0,
                modified: None,
            },
            Node::File(i) => Meta {
                is_file: true,
                is_dir: false,
                len: self.inodes[&i].data.len() as u64,
                modified: Some(self.inodes[&i].modified),
            },
        }
    }
}

impl Write for PowerCutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut s = self.fs.lock();
        s.step()?;
        let inode = s.inodes.get_mut(&self.inode).expect("open inode");
        inode.data.extend_from_slice(buf);
        inode.modified = SystemTime::now();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl LocalFs for PowerCutFs {
    type File = PowerCutFile;

    fn create_new(&self, path: &Path) -> io::Result<PowerCutFile> {
        let mut s = self.lock();
        s.step()?;
        s.parent_is_dir(path)?;
        if s.live.contains_key(path) {
            return Err(error(ErrorKind::AlreadyExists, "exists", path));
        }
        s.next_inode += 1;
        let inode = s.next_inode;
        s.inodes.insert(
            inode,
            Inode {
                data: Vec::new(),
                synced: Vec::new(),
                modified: SystemTime::now(),
            },
        );
        s.live.insert(path.to_path_buf(), Node::File(inode));
        Ok(PowerCutFile {
            fs: self.clone(),
            inode,
        })
    }

    fn sync_file(&self, file: &mut PowerCutFile) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        let inode = s.inodes.get_mut(&file.inode).expect("open inode");
        inode.synced.clone_from(&inode.data);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        let node = s.live.get(from).copied();
        let Some(node @ Node::File(_)) = node else {
            return Err(error(ErrorKind::NotFound, "no such file", from));
        };
        s.parent_is_dir(to)?;
        s.live.remove(from);
        s.live.insert(to.to_path_buf(), node);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        if s.live.get(dir) != Some(&Node::Dir) {
            return Err(error(ErrorKind::NotFound, "no such directory", dir));
        }
        let children = |m: &BTreeMap<PathBuf, Node>| -> Vec<PathBuf> {
            m.keys()
                .filter(|p| p.parent() == Some(dir))
                .cloned()
                .collect()
        };
        for p in children(&s.durable) {
            s.durable.remove(&p);
        }
        for p in children(&s.live) {
            let node = s.live[&p];
            s.durable.insert(p, node);
        }
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        s.file(path)?;
        s.live.remove(path);
        Ok(())
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock();
        s.step()?;
        let mut missing: Vec<&Path> = Vec::new();
        for a in dir.ancestors() {
            match s.live.get(a) {
                Some(Node::Dir) => break,
                Some(Node::File(_)) => return Err(error(ErrorKind::AlreadyExists, "a file", a)),
                None => missing.push(a),
            }
        }
        for a in missing.into_iter().rev() {
            s.live.insert(a.to_path_buf(), Node::Dir);
        }
        Ok(())
    }

    fn set_private(&self, dir: &Path) -> io::Result<()> {
        self.metadata(dir).map(|_| ())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let s = self.lock();
        s.awake()?;
        Ok(s.file(path)?.data.clone())
    }

    fn read_at(&self, path: &Path, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let s = self.lock();
        s.awake()?;
        let data = &s.file(path)?.data;
        let end = offset.saturating_add(len);
        if end > data.len() as u64 {
            return Err(error(ErrorKind::UnexpectedEof, "short file", path));
        }
        Ok(data[offset as usize..end as usize].to_vec())
    }

    fn metadata(&self, path: &Path) -> io::Result<Meta> {
        let s = self.lock();
        s.awake()?;
        match s.live.get(path) {
            Some(node) => Ok(s.meta(*node)),
            None => Err(error(ErrorKind::NotFound, "no such file", path)),
        }
    }

    fn read_dir(&self, dir: &Path) -> io::Result<Vec<(String, io::Result<Meta>)>> {
        let s = self.lock();
        s.awake()?;
        if s.live.get(dir) != Some(&Node::Dir) {
            return Err(error(ErrorKind::NotFound, "no such directory", dir));
        }
        Ok(s.live
            .iter()
            .filter(|(p, _)| p.parent() == Some(dir))
            .map(|(p, n)| {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                (name, Ok(s.meta(*n)))
            })
            .collect())
    }
}
