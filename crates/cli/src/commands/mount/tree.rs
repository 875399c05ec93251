//! The inode table of a mount: fixed nodes made at start (the root, one
//! directory per dataset, one per snapshot, the `latest` symlinks) and, per
//! snapshot, a range of inode numbers handed out when its file manifest is
//! first loaded (entry `i` of the sorted list is `base + i`; entry 0, the
//! snapshot's root, is the snapshot directory's own node). Numbers never
//! change while mounted; nothing here reads the repository.

use std::collections::BTreeMap;

use backup_core::filelist::{children, Entry, FileList, Kind};
use backup_core::{Id, Manifest};

/// The mount's root.
pub const ROOT: u64 = 1;

/// A node made at start.
#[derive(Debug)]
pub enum Node {
    /// A directory of datasets or snapshots (names sorted).
    Dir {
        parent: u64,
        time: i64,
        children: BTreeMap<Vec<u8>, u64>,
    },
    /// A snapshot's root; its tree comes from its file manifest.
    Snap { parent: u64, snap: usize },
    /// `latest`: a symlink to the newest snapshot's directory.
    Latest { target: Vec<u8>, time: i64 },
}

/// One snapshot of the mount.
#[derive(Debug)]
pub struct SnapDir {
    pub id: Id,
    /// `DATASET@SNAP`.
    pub name: String,
    pub creation: i64,
    /// Its directory's inode.
    pub ino: u64,
    pub load: Load,
}

/// Whether a snapshot's file manifest was loaded.
#[derive(Debug)]
pub enum Load {
    NotYet,
    /// Its entries, entry `i > 0` at inode `base + i`.
    Files {
        base: u64,
        list: FileList,
    },
    /// Shipped without a file manifest: its directory holds [`NOTE_NAME`]
    /// (inode `ino`) saying so.
    Note {
        ino: u64,
        text: Vec<u8>,
    },
}

/// The file a snapshot without a file manifest shows.
pub const NOTE_NAME: &str = "NO-FILE-MANIFEST.txt";

/// What an inode number is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ino {
    /// A node made at start (index into the node table).
    Fixed(usize),
    /// Entry `index > 0` of snapshot `snap`'s file manifest.
    Entry { snap: usize, index: usize },
    /// The note of snapshot `snap`.
    Note(usize),
}

/// The whole table.
#[derive(Debug, Default)]
pub struct Tree {
    nodes: Vec<Node>,
    pub snaps: Vec<SnapDir>,
    /// `(base, len, snap)` of each loaded snapshot, by base.
    ranges: Vec<(u64, u64, usize)>,
    next: u64,
}

impl Tree {
    /// `backup mount SNAPSHOT`: the snapshot's tree at the root.
    pub fn one_snapshot(id: Id, m: &Manifest) -> Tree {
        let mut t = Tree::default();
        t.snaps.push(snap_dir(id, m, ROOT));
        t.nodes.push(Node::Snap {
            parent: ROOT,
            snap: 0,
        });
        t.next = ROOT + 1;
        t
    }

    /// `backup mount DATASET`: one directory per snapshot (and `latest`)
    /// at the root; with `dataset` None, one directory per dataset (nested
    /// by the dataset's name, as ZFS nests them), each with its snapshots.
    pub fn datasets(all: &[(Id, Manifest)], dataset: Option<&str>, now: i64) -> Tree {
        let mut t = Tree::default();
        t.nodes.push(Node::Dir {
            parent: ROOT,
            time: now,
            children: BTreeMap::new(),
        });
        let mut by_ds: BTreeMap<&str, Vec<&(Id, Manifest)>> = BTreeMap::new();
        for s in all {
            if dataset.is_none_or(|d| d == s.1.dataset) {
                by_ds.entry(s.1.dataset.as_str()).or_default().push(s);
            }
        }
        for (ds, mut snaps) in by_ds {
            snaps.sort_by_key(|(_, m)| (m.createtxg, m.shipped_at, m.host.clone()));
            let dir = match dataset {
                Some(_) => ROOT,
                None => ds
                    .split('/')
                    .fold(ROOT, |at, part| t.subdir(at, part.as_bytes(), now)),
            };
            let mut newest = None;
            for (id, m) in snaps {
                let ino = t.alloc_fixed();
                let snap = t.snaps.len();
                t.snaps.push(snap_dir(*id, m, ino));
                t.nodes.push(Node::Snap { parent: dir, snap });
                let name = t.add_child(dir, m.snapshot.as_bytes(), &id.short(), ino);
                t.touch(dir, m.creation);
                newest = Some((name, m.creation));
            }
            if let Some((target, time)) = newest {
                if !t.has_child(dir, b"latest") {
                    let ino = t.alloc_fixed();
                    t.nodes.push(Node::Latest { target, time });
                    t.add_child(dir, b"latest", "", ino);
                }
            }
        }
        t.next = t.nodes.len() as u64 + 1;
        t
    }

    fn alloc_fixed(&self) -> u64 {
        self.nodes.len() as u64 + 1
    }

    /// The directory `name` in `at`, made if missing.
    fn subdir(&mut self, at: u64, name: &[u8], now: i64) -> u64 {
        // The directory may be there under a suffixed name (a snapshot
        // took the plain one).
        let mut candidate = name.to_vec();
        while let Some(Node::Dir { children, .. }) = self.fixed(at) {
            let Some(&ino) = children.get(&candidate) else {
                break;
            };
            if matches!(self.fixed(ino), Some(Node::Dir { .. })) {
                return ino;
            }
            candidate.extend_from_slice(b"~dataset");
        }
        let ino = self.alloc_fixed();
        self.nodes.push(Node::Dir {
            parent: at,
            time: now,
            children: BTreeMap::new(),
        });
        self.add_child(at, name, "dataset", ino);
        ino
    }

    /// Adds `name` to directory `dir`; a name already there gets `~suffix`
    /// (two hosts' snapshots of one name, a snapshot named like a child
    /// dataset). Returns the name used.
    fn add_child(&mut self, dir: u64, name: &[u8], suffix: &str, ino: u64) -> Vec<u8> {
        let Some(Node::Dir { children, .. }) = self.fixed_mut(dir) else {
            unreachable!("children are added to directories");
        };
        let mut name = name.to_vec();
        while children.contains_key(&name) {
            name.push(b'~');
            name.extend_from_slice(suffix.as_bytes());
        }
        children.insert(name.clone(), ino);
        name
    }

    fn has_child(&self, dir: u64, name: &[u8]) -> bool {
        matches!(self.fixed(dir), Some(Node::Dir { children, .. }) if children.contains_key(name))
    }

    /// A dataset directory's time: its newest snapshot's creation.
    fn touch(&mut self, dir: u64, t: i64) {
        if let Some(Node::Dir { time, .. }) = self.fixed_mut(dir) {
            *time = t;
        }
    }

    pub fn fixed(&self, ino: u64) -> Option<&Node> {
        self.nodes.get(usize::try_from(ino.checked_sub(1)?).ok()?)
    }

    fn fixed_mut(&mut self, ino: u64) -> Option<&mut Node> {
        self.nodes
            .get_mut(usize::try_from(ino.checked_sub(1)?).ok()?)
    }

    /// What `ino` is; None if no such inode was handed out.
    pub fn resolve(&self, ino: u64) -> Option<Ino> {
        if ino >= ROOT && ino <= self.nodes.len() as u64 {
            return Some(Ino::Fixed(usize::try_from(ino - 1).ok()?));
        }
        let at = self.ranges.partition_point(|(base, _, _)| *base <= ino);
        let (base, len, snap) = *self.ranges.get(at.checked_sub(1)?)?;
        let index = usize::try_from(ino - base).ok()?;
        if ino - base >= len {
            return None;
        }
        match self.snaps[snap].load {
            Load::Note { .. } => Some(Ino::Note(snap)),
            _ if index == 0 => None,
            _ => Some(Ino::Entry { snap, index }),
        }
    }

    /// Records snapshot `snap`'s file manifest (or its note) and hands out
    /// its inode numbers.
    pub fn set_loaded(&mut self, snap: usize, list: Option<FileList>, note: String) {
        let base = self.next;
        let (len, load) = match list {
            Some(list) => (list.entries.len() as u64, Load::Files { base, list }),
            None => (
                1,
                Load::Note {
                    ino: base,
                    text: note.into_bytes(),
                },
            ),
        };
        self.next += len.max(1);
        self.ranges.push((base, len.max(1), snap));
        self.snaps[snap].load = load;
    }

    /// The inode of entry `index` of loaded snapshot `snap`.
    pub fn entry_ino(&self, snap: usize, index: usize) -> u64 {
        match &self.snaps[snap].load {
            Load::Files { base, .. } if index > 0 => base + index as u64,
            _ => self.snaps[snap].ino,
        }
    }

    /// Entry `index` of snapshot `snap` (0: its root), if loaded.
    pub fn entry(&self, snap: usize, index: usize) -> Option<&Entry> {
        match &self.snaps[snap].load {
            Load::Files { list, .. } => list.entries.get(index),
            _ => None,
        }
    }

    /// The index of `path` in snapshot `snap`'s list.
    pub fn index_of(&self, snap: usize, path: &[u8]) -> Option<usize> {
        match &self.snaps[snap].load {
            Load::Files { list, .. } => list
                .entries
                .binary_search_by(|e| e.path.as_slice().cmp(path))
                .ok(),
            _ => None,
        }
    }

    /// The entries directly in directory entry `index` of snapshot `snap`:
    /// `(name, inode, kind)`.
    pub fn entry_children(&self, snap: usize, index: usize) -> Vec<(Vec<u8>, u64, Kind)> {
        let Load::Files { list, .. } = &self.snaps[snap].load else {
            return Vec::new();
        };
        let dir = &list.entries[index];
        if dir.kind != Kind::Dir {
            return Vec::new();
        }
        let skip = if dir.path.is_empty() {
            0
        } else {
            dir.path.len() + 1
        };
        children(list, &dir.path)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|e| {
                let i = self.index_of(snap, &e.path)?;
                Some((e.path[skip..].to_vec(), self.entry_ino(snap, i), e.kind))
            })
            .collect()
    }

    /// The inode of the directory holding entry `index` of `snap`.
    pub fn entry_parent(&self, snap: usize, index: usize) -> u64 {
        let Some(e) = self.entry(snap, index) else {
            return self.snaps[snap].ino;
        };
        let parent = match e.path.iter().rposition(|&b| b == b'/') {
            Some(at) => &e.path[..at],
            None => b"".as_slice(),
        };
        self.index_of(snap, parent)
            .map_or(self.snaps[snap].ino, |i| self.entry_ino(snap, i))
    }
}

fn snap_dir(id: Id, m: &Manifest, ino: u64) -> SnapDir {
    SnapDir {
        id,
        name: m.full_name(),
        creation: m.creation,
        ino,
        load: Load::NotYet,
    }
}
