//! What `ls`, `find` and `diff` share: opening the repository for reading,
//! finding snapshots, loading their file manifests, showing entries
//! (long listings streamed to stdout, not held).

use std::io::{BufWriter, Write};

use anyhow::{bail, Result};
use backup_core::filelist::{Entry, FileList, FileListRef, Kind};
use backup_core::{
    file_list_entries, find_snapshot, load_file_list, Id, ListEntries, Manifest, ReadLock,
    Repository,
};
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::context;
use crate::exit::ClosedStdout;
use crate::format::{bytes, rfc3339, time};

/// An open repository under a read lock, with every snapshot (from the
/// synced catalog: names and chains, not chunk lists).
pub struct Browse {
    pub repo: Repository,
    pub all: Vec<(Id, Manifest)>,
    _lock: ReadLock,
}

impl Browse {
    pub fn open(g: &GlobalArgs, operation: &str) -> Result<Browse> {
        let repo = context::open_repo(g)?;
        let lock = context::read_lock(g, &repo, operation)?;
        let all = context::synced_catalog(g, &repo)?
            .snapshots()?
            .into_iter()
            .map(|e| (e.id, e.manifest))
            .collect();
        Ok(Browse {
            repo,
            all,
            _lock: lock,
        })
    }

    /// The repository, the snapshots and the read lock, for a command that
    /// hands the repository on (`mount`) and keeps the lock meanwhile.
    pub fn into_parts(self) -> (Repository, Vec<(Id, Manifest)>, ReadLock) {
        (self.repo, self.all, self._lock)
    }

    /// The snapshot `query` names, its whole manifest read from the repository.
    pub fn find(&self, query: &str) -> Result<(Id, Manifest)> {
        let (id, _) = find_snapshot(&self.all, query)?;
        Ok((*id, self.repo.read_manifest(id)?))
    }

    /// The file manifest of a snapshot; an error naming it if none was recorded.
    pub fn file_list(&self, id: &Id, m: &Manifest) -> Result<FileList> {
        Ok(load_file_list(
            &self.repo,
            files_of(id, m)?,
            &m.full_name(),
        )?)
    }

    /// The entries of a snapshot's file manifest, read and decoded
    /// chunk by chunk as they are asked for (`ls`, `diff`): a million
    /// entries are never held; damage is an integrity error once it is met.
    pub fn entries<'a>(&'a self, id: &Id, m: &'a Manifest) -> Result<ListEntries<'a>> {
        Ok(file_list_entries(
            &self.repo,
            files_of(id, m)?,
            &m.full_name(),
        ))
    }
}

/// Where the snapshot's file manifest is; an error naming it if none was recorded.
fn files_of<'a>(id: &Id, m: &'a Manifest) -> Result<&'a FileListRef> {
    let Some(files) = &m.files else {
        let why = if m.volume.is_some() {
            "it is a volume (only a digest of its device is recorded)"
        } else {
            "it was shipped without one (file_manifest = false, --no-file-manifest, or before file manifests)"
        };
        bail!(
            "snapshot {} ({}) has no file manifest: {why}; `backup restore` brings the whole dataset back",
            m.full_name(),
            id.short()
        );
    };
    Ok(files)
}

/// Buffered standard output for long listings; a closed one is
/// [`ClosedStdout`] (a quiet exit), any other failure names stdout.
pub struct Out(BufWriter<std::io::StdoutLock<'static>>);

impl Out {
    pub fn stdout() -> Out {
        Out(BufWriter::with_capacity(1 << 16, std::io::stdout().lock()))
    }

    /// `s` and a newline.
    pub fn line(&mut self, s: &str) -> Result<()> {
        self.raw(s)?;
        self.raw("\n")
    }

    fn raw(&mut self, s: &str) -> Result<()> {
        self.0.write_all(s.as_bytes()).map_err(closed)
    }

    pub fn finish(mut self) -> Result<()> {
        self.0.flush().map_err(closed)
    }
}

fn closed(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(e).context(ClosedStdout)
    } else {
        anyhow::Error::new(e).context("writing to standard output")
    }
}

/// A JSON array printed one element at a time, byte for byte what
/// `println!("{}", serde_json::to_string_pretty(&vec)?)` prints, without
/// holding every element.
#[derive(Default)]
pub struct JsonArray {
    n: usize,
}

impl JsonArray {
    pub fn push(&mut self, out: &mut Out, v: &serde_json::Value) -> Result<()> {
        out.raw(if self.n == 0 { "[\n" } else { ",\n" })?;
        for (i, line) in serde_json::to_string_pretty(v)?.lines().enumerate() {
            if i > 0 {
                out.raw("\n")?;
            }
            out.raw("  ")?;
            out.raw(line)?;
        }
        self.n += 1;
        Ok(())
    }

    pub fn finish(self, out: &mut Out) -> Result<()> {
        out.line(if self.n == 0 { "[]" } else { "\n]" })
    }
}

/// A path as given on the command line, as recorded paths are: relative to
/// the dataset's root, no leading or trailing `/`.
pub fn recorded_path(p: &str) -> Vec<u8> {
    p.trim_matches('/').as_bytes().to_vec()
}

/// `drwxr-xr-x`-style type and mode.
pub fn mode_string(e: &Entry) -> String {
    let t = match e.kind {
        Kind::File => '-',
        Kind::Dir => 'd',
        Kind::Symlink => 'l',
        Kind::Fifo => 'p',
        Kind::Socket => 's',
        Kind::Char => 'c',
        Kind::Block => 'b',
    };
    let mut s = String::from(t);
    for (shift, special, set_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (e.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (e.mode & special != 0, x) {
            (true, true) => set_char,
            (true, false) => set_char.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// One `--long` line: mode, owner, size, mtime, path (and a symlink's target).
pub fn long_line(e: &Entry) -> String {
    let mut line = format!(
        "{}  {:>5}:{:<5}  {:>10}  {}  {}",
        mode_string(e),
        e.uid,
        e.gid,
        bytes(e.size),
        time(e.mtime),
        name_of(e)
    );
    if let Some(t) = &e.target {
        line.push_str(" -> ");
        line.push_str(&String::from_utf8_lossy(t));
    }
    line
}

/// The path for a listing: `/` for the root, a directory with a trailing `/`.
pub fn name_of(e: &Entry) -> String {
    let mut p = e.display_path();
    if e.kind == Kind::Dir && p != "/" {
        p.push('/');
    }
    p
}

/// An entry as JSON.
pub fn entry_json(e: &Entry) -> serde_json::Value {
    json!({
        "path": e.display_path(),
        "type": e.kind,
        "size": e.size,
        "mode": format!("{:04o}", e.mode),
        "uid": e.uid,
        "gid": e.gid,
        "mtime": rfc3339(e.mtime),
        "mtime_unix": e.mtime,
        "inode": e.ino,
        "target": e.target.as_ref().map(|t| String::from_utf8_lossy(t).into_owned()),
        "blake3": e.blake3.map(|d| backup_core::Id(d).to_hex()),
    })
}
