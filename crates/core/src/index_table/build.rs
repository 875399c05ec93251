//! Building a table: a [`Builder`] gathers the blobs of index segments,
//! spilling sorted runs to disk past a bound, and merges them (with the
//! table they extend, if any) into a new table: written under a temporary
//! name, then renamed over the old one. Memory stays within one run.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{bucket, Row, Table, HEADER_LEN, MAGIC, MAX_BITS, ROW_LEN};
use crate::backend::{DIR_MODE, FILE_MODE};
use crate::format::index::{BlobLoc, PackBlobs};
use crate::id::Id;

/// Rows a run holds in memory before it is sorted and spilled: 48 MiB.
pub(crate) const RUN_ROWS: usize = 1 << 20;

/// Temporary files older than this are a dead builder's, and removed.
const STALE: Duration = Duration::from_secs(3600);

const TEMP_PREFIX: &str = ".tmp-";

/// The blobs of segments on their way into a table.
pub(crate) struct Builder {
    dir: PathBuf,
    packs: Vec<Id>,
    pack_numbers: HashMap<Id, u32>,
    segments: Vec<Id>,
    run: Vec<Row>,
    run_rows: usize,
    spilled: Vec<TempFile>,
}

impl Builder {
    /// A builder whose tables go in `dir`, numbering packs after `packs`
    /// (those of the table it extends).
    pub(crate) fn new(dir: &Path, packs: Vec<Id>) -> Builder {
        let pack_numbers = packs
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, i as u32))
            .collect();
        Builder {
            dir: dir.to_path_buf(),
            packs,
            pack_numbers,
            segments: Vec::new(),
            run: Vec::new(),
            run_rows: RUN_ROWS,
            spilled: Vec::new(),
        }
    }

    /// Spills runs of `n` rows (tests).
    #[cfg(test)]
    pub(crate) fn with_run_rows(mut self, n: usize) -> Builder {
        self.run_rows = n;
        self
    }

    /// Adds the blobs of one segment.
    pub(crate) fn add(&mut self, segment: Id, packs: &[PackBlobs]) -> io::Result<()> {
        self.segments.push(segment);
        for p in packs {
            let next = self.packs.len() as u32;
            let n = *self.pack_numbers.entry(p.pack).or_insert_with(|| {
                self.packs.push(p.pack);
                next
            });
            for e in &p.entries {
                self.run.push(Row {
                    id: e.id,
                    loc: BlobLoc {
                        pack: n,
                        offset: e.offset,
                        length: e.length,
                        raw_len: e.raw_len,
                    },
                });
                if self.run.len() >= self.run_rows {
                    self.spill()?;
                }
            }
        }
        Ok(())
    }

    /// Rows added so far (a blob in two segments counts twice).
    pub(crate) fn rows(&self) -> u64 {
        self.spilled.iter().map(|t| t.rows).sum::<u64>() + self.run.len() as u64
    }

    /// True if a run went to disk: the rows must be merged into a table.
    pub(crate) fn spilled(&self) -> bool {
        !self.spilled.is_empty()
    }

    /// The packs (the extended table's first) and the rows in memory, for
    /// an index that keeps them as its overlay. Only when nothing spilled.
    pub(crate) fn into_overlay(self) -> (Vec<Id>, HashMap<Id, u32>, Vec<Row>) {
        debug_assert!(self.spilled.is_empty());
        (self.packs, self.pack_numbers, self.run)
    }

    fn spill(&mut self) -> io::Result<()> {
        sort_unique(&mut self.run);
        let mut t = TempFile::create(&self.dir, "run")?;
        let mut out = BufWriter::with_capacity(1 << 20, &t.file);
        let mut b = [0u8; ROW_LEN];
        for r in &self.run {
            r.encode(&mut b);
            out.write_all(&b)?;
        }
        out.flush()?;
        drop(out);
        t.rows = self.run.len() as u64;
        self.spilled.push(t);
        self.run.clear();
        Ok(())
    }

    /// Writes the table of `old`'s rows and these, covering `old`'s
    /// segments and these, at `dest`, and opens it. A blob in both keeps
    /// `old`'s location; within these, its first.
    pub(crate) fn finish(
        mut self,
        old: Option<&Table>,
        key: &[u8; 32],
        dest: &Path,
    ) -> io::Result<(Table, Vec<Id>)> {
        sort_unique(&mut self.run);
        let estimate = old.map_or(0, Table::rows) + self.rows();
        let mut sources: Vec<Box<dyn Iterator<Item = io::Result<Row>> + '_>> = Vec::new();
        if let Some(t) = old {
            sources.push(Box::new(t.scan()));
        }
        for t in &self.spilled {
            sources.push(Box::new(RunReader::new(&t.file)));
        }
        sources.push(Box::new(self.run.iter().copied().map(Ok)));
        let mut sink = Sink::create(&self.dir, bits_for(estimate))?;
        merge(sources, &mut sink)?;
        let mut segments = old.map_or_else(Vec::new, |t| t.segments().to_vec());
        segments.extend(&self.segments);
        sink.finish(&segments, &self.packs, key, dest)?;
        Table::open(dest, key)
    }
}

/// Sorts rows by id, keeping the first of each id.
fn sort_unique(rows: &mut Vec<Row>) {
    rows.sort_by_key(|r| r.id.0);
    rows.dedup_by(|b, a| a.id == b.id);
}

/// Bucket bits for about `rows` rows: about 16 rows a bucket.
fn bits_for(rows: u64) -> u32 {
    let buckets = rows / 16;
    (64 - buckets.leading_zeros()).min(MAX_BITS)
}

/// Merges sorted sources into `sink`; of equal ids the earliest source wins.
fn merge(
    mut sources: Vec<Box<dyn Iterator<Item = io::Result<Row>> + '_>>,
    sink: &mut Sink,
) -> io::Result<()> {
    let mut heads: Vec<Option<Row>> = Vec::with_capacity(sources.len());
    let mut heap = BinaryHeap::new();
    for (i, s) in sources.iter_mut().enumerate() {
        let r = s.next().transpose()?;
        if let Some(r) = r {
            heap.push(Reverse((r.id.0, i)));
        }
        heads.push(r);
    }
    let mut last: Option<[u8; 32]> = None;
    while let Some(Reverse((id, i))) = heap.pop() {
        let row = heads[i].take().expect("a head for every heap entry");
        if last != Some(id) {
            sink.push(&row)?;
            last = Some(id);
        }
        if let Some(r) = sources[i].next().transpose()? {
            if r.id.0 <= id {
                return Err(super::bad("index table source is out of order"));
            }
            heap.push(Reverse((r.id.0, i)));
            heads[i] = Some(r);
        }
    }
    Ok(())
}

/// Reads back a spilled run.
struct RunReader<'a> {
    r: BufReader<&'a File>,
    started: bool,
}

impl<'a> RunReader<'a> {
    fn new(file: &'a File) -> RunReader<'a> {
        RunReader {
            r: BufReader::with_capacity(256 << 10, file),
            started: false,
        }
    }
}

impl Iterator for RunReader<'_> {
    type Item = io::Result<Row>;

    fn next(&mut self) -> Option<io::Result<Row>> {
        if !self.started {
            self.started = true;
            if let Err(e) = io::Seek::rewind(self.r.get_mut()) {
                return Some(Err(e));
            }
        }
        let mut b = [0u8; ROW_LEN];
        match self.r.read_exact(&mut b) {
            Ok(()) => Some(Ok(Row::decode(&b))),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// A file in the table's directory that is removed when dropped unless
/// renamed into place.
struct TempFile {
    file: File,
    path: PathBuf,
    rows: u64,
}

impl TempFile {
    fn create(dir: &Path, what: &str) -> io::Result<TempFile> {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)?;
        remove_stale(dir);
        let path = dir.join(format!(
            "{TEMP_PREFIX}{what}-{}-{}",
            std::process::id(),
            Id::random().short()
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&path)?;
        Ok(TempFile {
            file,
            path,
            rows: 0,
        })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Removes temporary files of builders that died (older than [`STALE`]).
fn remove_stale(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|d| d > STALE));
        if old && e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// A table being written: rows in order, then [`finish`](Sink::finish).
struct Sink {
    temp: TempFile,
    out: BufWriter<File>,
    bits: u32,
    starts: Vec<u32>,
    sums: Vec<u64>,
    hasher: blake3::Hasher,
    bucket: usize,
    rows: u64,
}

impl Sink {
    fn create(dir: &Path, bits: u32) -> io::Result<Sink> {
        let temp = TempFile::create(dir, "table")?;
        let mut out = BufWriter::with_capacity(1 << 20, temp.file.try_clone()?);
        out.write_all(&[0; HEADER_LEN as usize])?;
        let starts = vec![0; (1 << bits) + 1];
        Ok(Sink {
            temp,
            out,
            bits,
            starts,
            sums: vec![0; 1 << bits],
            hasher: blake3::Hasher::new(),
            bucket: 0,
            rows: 0,
        })
    }

    fn close_bucket(&mut self) {
        self.sums[self.bucket] = u64::from_le_bytes(
            self.hasher.finalize().as_bytes()[..8]
                .try_into()
                .expect("8 bytes"),
        );
        self.hasher.reset();
        self.bucket += 1;
        self.starts[self.bucket] = self.rows as u32;
    }

    fn push(&mut self, row: &Row) -> io::Result<()> {
        if self.rows == u64::from(u32::MAX) {
            return Err(super::bad("index table would hold more than 2^32 rows"));
        }
        let b = bucket(&row.id, self.bits);
        while self.bucket < b {
            self.close_bucket();
        }
        let mut r = [0u8; ROW_LEN];
        row.encode(&mut r);
        self.hasher.update(&r);
        self.out.write_all(&r)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(
        mut self,
        segments: &[Id],
        packs: &[Id],
        key: &[u8; 32],
        dest: &Path,
    ) -> io::Result<()> {
        while self.bucket < self.sums.len() {
            self.close_bucket();
        }
        let mut head = Vec::with_capacity(HEADER_LEN as usize);
        head.extend_from_slice(MAGIC);
        head.extend_from_slice(&self.bits.to_le_bytes());
        head.extend_from_slice(&0u32.to_le_bytes());
        head.extend_from_slice(&self.rows.to_le_bytes());
        head.extend_from_slice(&(segments.len() as u64).to_le_bytes());
        head.extend_from_slice(&(packs.len() as u64).to_le_bytes());
        let mut mac = blake3::Hasher::new_keyed(key);
        mac.update(&head);
        let mut tail = |b: &[u8], out: &mut BufWriter<File>| -> io::Result<()> {
            mac.update(b);
            out.write_all(b)
        };
        for id in segments.iter().chain(packs) {
            tail(&id.0, &mut self.out)?;
        }
        for s in &self.starts {
            tail(&s.to_le_bytes(), &mut self.out)?;
        }
        for s in &self.sums {
            tail(&s.to_le_bytes(), &mut self.out)?;
        }
        self.out.write_all(mac.finalize().as_bytes())?;
        self.out.flush()?;
        self.temp.file.write_all_at(&head, 0)?;
        fs::rename(&self.temp.path, dest)
    }
}
