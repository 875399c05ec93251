//! The FUSE file system: listings and attributes from the [`Tree`],
//! symlink targets from the manifests, file contents from [`Contents`].
//! Read-only (the kernel refuses writes with EROFS: the mount is `ro`);
//! whatever cannot be served is EIO with one line on stderr naming the
//! path and why.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use backup_core::filelist::{Entry, Kind};
use backup_core::{load_file_list, Id, Manifest, Repository};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, Request,
};

use super::contents::{Cached, Contents, Refused};
use super::tree::{Ino, Load, Node, Tree, NOTE_NAME};

/// How long the kernel may keep attributes and names: the tree never
/// changes but for a snapshot directory's attributes once its file
/// manifest is loaded.
const TTL: Duration = Duration::from_secs(1);

/// The mounted file system.
pub struct MountFs {
    inner: Mutex<Inner>,
}

struct Inner {
    repo: Repository,
    all: Vec<(Id, Manifest)>,
    tree: Tree,
    contents: Contents,
    /// Open directories' listings and open files, by handle.
    dirs: HashMap<u64, Vec<(u64, FileType, Vec<u8>)>>,
    files: HashMap<u64, Arc<Cached>>,
    next_fh: u64,
}

impl MountFs {
    pub fn new(repo: Repository, all: Vec<(Id, Manifest)>, tree: Tree, contents: Contents) -> Self {
        MountFs {
            inner: Mutex::new(Inner {
                repo,
                all,
                tree,
                contents,
                dirs: HashMap::new(),
                files: HashMap::new(),
                next_fh: 1,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn time(secs: i64, nsec: u32) -> SystemTime {
    let nsec = Duration::from_nanos(u64::from(nsec.min(999_999_999)));
    match u64::try_from(secs) {
        Ok(s) => UNIX_EPOCH + Duration::from_secs(s) + nsec,
        Err(_) => UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nsec,
    }
}

fn file_type(k: Kind) -> FileType {
    match k {
        Kind::File => FileType::RegularFile,
        Kind::Dir => FileType::Directory,
        Kind::Symlink => FileType::Symlink,
        Kind::Fifo => FileType::NamedPipe,
        Kind::Socket => FileType::Socket,
        Kind::Char => FileType::CharDevice,
        Kind::Block => FileType::BlockDevice,
    }
}

/// A glibc `dev_t` as the kernel's FUSE attribute wants it (`new_encode_dev`).
fn fuse_rdev(rdev: u64) -> u32 {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    let enc = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
    u32::try_from(enc).unwrap_or(0)
}

/// The attributes of a directory, symlink or note made by the mount.
fn made(ino: u64, kind: FileType, perm: u16, size: u64, t: i64, nlink: u32) -> FileAttr {
    let t = time(t, 0);
    FileAttr {
        ino: INodeNo(ino),
        size,
        blocks: size.div_ceil(512),
        atime: t,
        mtime: t,
        ctime: t,
        crtime: t,
        kind,
        perm,
        nlink,
        uid: 0,
        gid: 0,
        rdev: 0,
        flags: 0,
        blksize: 4096,
    }
}

fn entry_attr(ino: u64, e: &Entry, nlink: u32) -> FileAttr {
    let mtime = time(e.mtime, e.mtime_nsec);
    FileAttr {
        ino: INodeNo(ino),
        size: e.size,
        blocks: e.size.div_ceil(512),
        atime: mtime,
        mtime,
        ctime: time(e.ctime, e.ctime_nsec),
        crtime: mtime,
        kind: file_type(e.kind),
        perm: u16::try_from(e.mode & 0o7777).unwrap_or(0o444),
        nlink,
        uid: e.uid,
        gid: e.gid,
        rdev: e.rdev.map_or(0, fuse_rdev),
        flags: 0,
        blksize: 4096,
    }
}

/// A path for a shell: as is when plain, else in single quotes.
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+@:=,".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

impl Inner {
    /// Loads snapshot `snap`'s file manifest if not yet loaded.
    fn load(&mut self, snap: usize) -> Result<(), Errno> {
        if !matches!(self.tree.snaps[snap].load, Load::NotYet) {
            return Ok(());
        }
        let (id, name) = (self.tree.snaps[snap].id, self.tree.snaps[snap].name.clone());
        let got = self.repo.read_manifest(&id).and_then(|m| match &m.files {
            Some(r) => load_file_list(&self.repo, r, &name).map(|l| (Some(l), m)),
            None => Ok((None, m)),
        });
        match got {
            Ok((list, m)) => {
                let note = if list.is_some() {
                    String::new()
                } else {
                    no_manifest_note(&id, &m)
                };
                self.tree.set_loaded(snap, list, note);
                Ok(())
            }
            Err(err) => {
                eprintln!(
                    "backup mount: loading the file manifest of {name} ({}): {err}",
                    id.short()
                );
                Err(Errno::EIO)
            }
        }
    }

    fn nlink_of_entry(&self, snap: usize, index: usize) -> u32 {
        let subdirs = self
            .tree
            .entry_children(snap, index)
            .iter()
            .filter(|(_, _, k)| *k == Kind::Dir)
            .count();
        2 + u32::try_from(subdirs).unwrap_or(u32::MAX - 2)
    }

    fn attr(&self, ino: u64) -> Option<FileAttr> {
        let a = match self.tree.resolve(ino)? {
            Ino::Fixed(_) => match self.tree.fixed(ino)? {
                Node::Dir { time, children, .. } => {
                    let subdirs = children
                        .values()
                        .filter(|c| !matches!(self.tree.fixed(**c), Some(Node::Latest { .. })))
                        .count();
                    let nlink = 2 + u32::try_from(subdirs).unwrap_or(0);
                    made(ino, FileType::Directory, 0o555, 0, *time, nlink)
                }
                Node::Snap { snap, .. } => match self.tree.entry(*snap, 0) {
                    Some(root) => entry_attr(ino, root, self.nlink_of_entry(*snap, 0)),
                    None => {
                        let t = self.tree.snaps[*snap].creation;
                        made(ino, FileType::Directory, 0o555, 0, t, 2)
                    }
                },
                Node::Latest { target, time, .. } => {
                    made(ino, FileType::Symlink, 0o777, target.len() as u64, *time, 1)
                }
            },
            Ino::Entry { snap, index } => {
                let e = self.tree.entry(snap, index)?;
                let nlink = if e.kind == Kind::Dir {
                    self.nlink_of_entry(snap, index)
                } else {
                    1
                };
                entry_attr(ino, e, nlink)
            }
            Ino::Note(snap) => {
                let s = &self.tree.snaps[snap];
                let Load::Note { text, .. } = &s.load else {
                    return None;
                };
                made(
                    ino,
                    FileType::RegularFile,
                    0o444,
                    text.len() as u64,
                    s.creation,
                    1,
                )
            }
        };
        Some(a)
    }

    /// The snapshot and entry index of a directory inode whose contents
    /// are a file manifest's, loading it; None for the mount's own
    /// directories.
    fn manifest_dir(&mut self, ino: u64) -> Result<Option<(usize, usize)>, Errno> {
        match self.tree.resolve(ino).ok_or(Errno::ENOENT)? {
            Ino::Fixed(_) => match self.tree.fixed(ino) {
                Some(Node::Snap { snap, .. }) => {
                    let snap = *snap;
                    self.load(snap)?;
                    Ok(Some((snap, 0)))
                }
                Some(Node::Dir { .. }) => Ok(None),
                _ => Err(Errno::ENOTDIR),
            },
            Ino::Entry { snap, index } => match self.tree.entry(snap, index) {
                Some(e) if e.kind == Kind::Dir => Ok(Some((snap, index))),
                _ => Err(Errno::ENOTDIR),
            },
            Ino::Note(_) => Err(Errno::ENOTDIR),
        }
    }

    fn lookup(&mut self, parent: u64, name: &[u8]) -> Result<FileAttr, Errno> {
        let ino = match self.manifest_dir(parent)? {
            None => match self.tree.fixed(parent) {
                Some(Node::Dir { children, .. }) => *children.get(name).ok_or(Errno::ENOENT)?,
                _ => return Err(Errno::ENOENT),
            },
            Some((snap, index)) => match &self.tree.snaps[snap].load {
                Load::Note { ino, .. } if name == NOTE_NAME.as_bytes() => *ino,
                Load::Files { .. } => {
                    let dir = &self.tree.entry(snap, index).ok_or(Errno::ENOENT)?.path;
                    let path = if dir.is_empty() {
                        name.to_vec()
                    } else {
                        [dir.as_slice(), b"/", name].concat()
                    };
                    let i = self.tree.index_of(snap, &path).ok_or(Errno::ENOENT)?;
                    self.tree.entry_ino(snap, i)
                }
                _ => return Err(Errno::ENOENT),
            },
        };
        self.attr(ino).ok_or(Errno::ENOENT)
    }

    /// Directory `ino`'s listing, `.` and `..` first.
    fn listing(&mut self, ino: u64) -> Result<Vec<(u64, FileType, Vec<u8>)>, Errno> {
        let mut out = Vec::new();
        let parent = match self.manifest_dir(ino)? {
            None => {
                let Some(Node::Dir {
                    parent, children, ..
                }) = self.tree.fixed(ino)
                else {
                    return Err(Errno::ENOTDIR);
                };
                for (name, &c) in children {
                    let kind = match self.tree.fixed(c) {
                        Some(Node::Latest { .. }) => FileType::Symlink,
                        _ => FileType::Directory,
                    };
                    out.push((c, kind, name.clone()));
                }
                *parent
            }
            Some((snap, index)) => {
                match &self.tree.snaps[snap].load {
                    Load::Note { ino, .. } => {
                        out.push((*ino, FileType::RegularFile, NOTE_NAME.into()));
                    }
                    _ => {
                        for (name, c, kind) in self.tree.entry_children(snap, index) {
                            out.push((c, file_type(kind), name));
                        }
                    }
                }
                if index == 0 {
                    match self.tree.fixed(ino) {
                        Some(Node::Snap { parent, .. }) => *parent,
                        _ => ino,
                    }
                } else {
                    self.tree.entry_parent(snap, index)
                }
            }
        };
        out.insert(0, (parent, FileType::Directory, b"..".to_vec()));
        out.insert(0, (ino, FileType::Directory, b".".to_vec()));
        Ok(out)
    }

    fn open(&mut self, ino: u64) -> Result<Option<Arc<Cached>>, Errno> {
        let (snap, index) = match self.tree.resolve(ino).ok_or(Errno::ENOENT)? {
            Ino::Note(_) => return Ok(None),
            Ino::Entry { snap, index } => (snap, index),
            Ino::Fixed(_) => return Err(Errno::EISDIR),
        };
        let Load::Files { list, .. } = &self.tree.snaps[snap].load else {
            return Err(Errno::ENOENT);
        };
        let e = &list.entries[index];
        if e.kind != Kind::File {
            return Err(Errno::EINVAL);
        }
        let s = &self.tree.snaps[snap];
        let got = self
            .contents
            .open(&self.repo, &self.all, snap, &s.id, list, e);
        got.map(Some).map_err(|(why, fresh)| {
            self.report(snap, index, &why, fresh);
            Errno::EIO
        })
    }

    /// One line on stderr for a file that cannot be served: what only the
    /// slow path can do the first time (`fresh`), a failed read always.
    fn report(&self, snap: usize, index: usize, why: &Refused, fresh: bool) {
        let Load::Files { list, .. } = &self.tree.snaps[snap].load else {
            return;
        };
        let path = list.entries[index].display_path();
        let s = &self.tree.snaps[snap];
        match why {
            Refused::SlowPathOnly(why) if fresh => eprintln!(
                "backup mount: {path} of {name} ({id}): the fast path cannot serve it: {why}; \
                 the slow path gets it: backup restore {name} --path {quoted} --into DIR",
                name = s.name,
                id = s.id.short(),
                quoted = shell_quote(&path),
            ),
            Refused::SlowPathOnly(_) => {}
            Refused::Failed(why) => eprintln!(
                "backup mount: reading {path} of {name} ({id}) failed: {why}",
                name = s.name,
                id = s.id.short(),
            ),
        }
    }

    /// Fetches what a read of `ino` at `offset` needs of a big file.
    fn fill(&self, ino: u64, c: &Cached, offset: u64, size: u32) -> Result<(), Errno> {
        let Some(lazy) = &c.lazy else {
            return Ok(());
        };
        let mut lazy = lazy.lock().unwrap_or_else(PoisonError::into_inner);
        lazy.fill(&self.repo, &c.file, offset, u64::from(size))
            .map_err(|(why, fresh)| {
                if let Some(Ino::Entry { snap, index }) = self.tree.resolve(ino) {
                    self.report(snap, index, &why, fresh);
                }
                Errno::EIO
            })
    }

    fn note(&self, ino: u64) -> Option<&[u8]> {
        let Some(Ino::Note(snap)) = self.tree.resolve(ino) else {
            return None;
        };
        match &self.tree.snaps[snap].load {
            Load::Note { text, .. } => Some(text),
            _ => None,
        }
    }

    fn fh(&mut self) -> u64 {
        self.next_fh += 1;
        self.next_fh
    }
}

/// The text of [`NOTE_NAME`] in a snapshot shipped without a file manifest.
fn no_manifest_note(id: &Id, m: &Manifest) -> String {
    let why = if m.volume.is_some() {
        "it is a volume (only a digest of its device is recorded)"
    } else {
        "it was shipped without one (file_manifest = false, --no-file-manifest, or before file manifests)"
    };
    format!(
        "Snapshot {name} ({id}) has no file manifest: {why}.\n\
         Its files cannot be listed or read here. The whole dataset comes back with\n\n    \
         backup restore {name} --to POOL/DATASET\n",
        name = m.full_name(),
        id = id.short(),
    )
}

impl Filesystem for MountFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.lock().lookup(parent.0, name.as_bytes()) {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.lock().attr(ino.0) {
            Some(a) => reply.attr(&TTL, &a),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let s = self.lock();
        let target = match s.tree.resolve(ino.0) {
            Some(Ino::Fixed(_)) => match s.tree.fixed(ino.0) {
                Some(Node::Latest { target, .. }) => Some(target.as_slice()),
                _ => None,
            },
            Some(Ino::Entry { snap, index }) => {
                s.tree.entry(snap, index).and_then(|e| e.target.as_deref())
            }
            _ => None,
        };
        match target {
            Some(t) => reply.data(t),
            None => reply.error(Errno::EINVAL),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let mut s = self.lock();
        match s.listing(ino.0) {
            Ok(l) => {
                let fh = s.fh();
                s.dirs.insert(fh, l);
                reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE);
            }
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let s = self.lock();
        let Some(list) = s.dirs.get(&fh.0) else {
            reply.error(Errno::EBADF);
            return;
        };
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, (ino, kind, name)) in list.iter().enumerate().skip(skip) {
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, OsStr::from_bytes(name)) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        self.lock().dirs.remove(&fh.0);
        reply.ok();
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let mut s = self.lock();
        match s.open(ino.0) {
            Ok(file) => {
                let fh = s.fh();
                if let Some(f) = file {
                    s.files.insert(fh, f);
                }
                reply.opened(FileHandle(fh), FopenFlags::FOPEN_KEEP_CACHE);
            }
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let s = self.lock();
        if let Some(text) = s.note(ino.0) {
            let at = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(text.len());
            let end = at.saturating_add(size as usize).min(text.len());
            reply.data(&text[at..end]);
            return;
        }
        let Some(cached) = s.files.get(&fh.0).cloned() else {
            reply.error(Errno::EBADF);
            return;
        };
        if let Err(e) = s.fill(ino.0, &cached, offset, size) {
            reply.error(e);
            return;
        }
        drop(s);
        let file = &cached.file;
        let mut buf = vec![0u8; size as usize];
        let mut n = 0;
        while n < buf.len() {
            match file.read_at(&mut buf[n..], offset + n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    eprintln!("backup mount: reading a cache file: {e}");
                    reply.error(Errno::EIO);
                    return;
                }
            }
        }
        reply.data(&buf[..n]);
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.lock().files.remove(&fh.0);
        reply.ok();
    }
}
