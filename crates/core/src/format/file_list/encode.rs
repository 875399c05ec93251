//! The byte encoding of a [`FileList`]: a 16-byte header, then one record
//! per entry in path order, integers little-endian. Deterministic: the same
//! list always encodes to the same bytes, so an unchanged tree costs no new
//! chunks. docs/design.md, "File manifests", has the table.
//!
//! ```text
//! header: "BKFL" | version u8 = 1 | 3 zero bytes | entry count u64
//! record: path length u32 | path | kind u8 | flags u8 | mode u32 | uid u32
//!         | gid u32 | size u64 | mtime i64 | mtime_nsec u32 | ctime i64
//!         | ctime_nsec u32 | ino u64
//!         | [target length u32 | target]  if flags & 1
//!         | [rdev u64]                    if flags & 2
//!         | [blake3, 32 bytes]            if flags & 4
//! ```

use super::{Entry, FileList, Kind};

/// Magic of an encoded file list. Do not modify: part of format v1.
pub const MAGIC: &[u8; 4] = b"BKFL";
/// Encoding version written by this build.
pub const VERSION: u8 = 1;
const HEADER_LEN: usize = 16;
/// The fixed part of a record, without path and optional fields.
const FIXED_LEN: usize = 4 + 1 + 1 + 4 * 3 + 8 + 8 + 4 + 8 + 4 + 8;
const HAS_TARGET: u8 = 1;
const HAS_RDEV: u8 = 2;
const HAS_BLAKE3: u8 = 4;

fn kind_code(k: Kind) -> u8 {
    match k {
        Kind::File => 1,
        Kind::Dir => 2,
        Kind::Symlink => 3,
        Kind::Fifo => 4,
        Kind::Socket => 5,
        Kind::Char => 6,
        Kind::Block => 7,
    }
}

fn kind_of(code: u8) -> Option<Kind> {
    Some(match code {
        1 => Kind::File,
        2 => Kind::Dir,
        3 => Kind::Symlink,
        4 => Kind::Fifo,
        5 => Kind::Socket,
        6 => Kind::Char,
        7 => Kind::Block,
        _ => return None,
    })
}

/// Encodes `list` (whose entries must be sorted by path, as a walk
/// returns them).
pub fn encode(list: &FileList) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + list.entries.len() * (FIXED_LEN + 64));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[VERSION, 0, 0, 0]);
    out.extend_from_slice(&(list.entries.len() as u64).to_le_bytes());
    for e in &list.entries {
        let flags = (u8::from(e.target.is_some()) * HAS_TARGET)
            | (u8::from(e.rdev.is_some()) * HAS_RDEV)
            | (u8::from(e.blake3.is_some()) * HAS_BLAKE3);
        out.extend_from_slice(&(e.path.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.path);
        out.extend_from_slice(&[kind_code(e.kind), flags]);
        for v in [e.mode, e.uid, e.gid] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&e.size.to_le_bytes());
        out.extend_from_slice(&e.mtime.to_le_bytes());
        out.extend_from_slice(&e.mtime_nsec.to_le_bytes());
        out.extend_from_slice(&e.ctime.to_le_bytes());
        out.extend_from_slice(&e.ctime_nsec.to_le_bytes());
        out.extend_from_slice(&e.ino.to_le_bytes());
        if let Some(t) = &e.target {
            out.extend_from_slice(&(t.len() as u32).to_le_bytes());
            out.extend_from_slice(t);
        }
        if let Some(r) = e.rdev {
            out.extend_from_slice(&r.to_le_bytes());
        }
        if let Some(d) = &e.blake3 {
            out.extend_from_slice(d);
        }
    }
    out
}

/// A cursor that fails with a reason instead of panicking.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    /// Set when a read failed because the bytes ended (so a reader fed
    /// piece by piece can tell "more needed" from damage).
    short: bool,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Reader<'a> {
        Reader {
            b,
            at: 0,
            short: false,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let Some(end) = self.at.checked_add(n).filter(|e| *e <= self.b.len()) else {
            self.short = true;
            return Err(format!("truncated at byte {} (wanted {n} more)", self.at));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        self.array().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, String> {
        self.array().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Result<i64, String> {
        self.array().map(i64::from_le_bytes)
    }
    fn nsec(&mut self) -> Result<u32, String> {
        let at = self.at;
        let n = self.u32()?;
        if n >= 1_000_000_000 {
            return Err(format!(
                "nanoseconds {n} at byte {at} are not below one second"
            ));
        }
        Ok(n)
    }
}

/// Decodes and validates an encoded list: magic, version, entry count,
/// every record whole and consistent (a target only on a symlink, a device
/// number only on a device, a digest only on a regular file), paths
/// strictly increasing, no trailing bytes.
pub fn decode(bytes: &[u8]) -> Result<FileList, String> {
    let it = entries(bytes)?;
    let mut out = Vec::with_capacity(it.remaining);
    for e in it {
        out.push(e?);
    }
    Ok(FileList { entries: out })
}

/// The entries of an encoded list one at a time, each validated as
/// [`decode`] does (the header at once, each record, its order after the
/// previous one and, after the last, that no bytes trail), without holding
/// them all: a million entries take about 200 bytes each decoded and about
/// 120 encoded. After the first error the iterator ends.
pub fn entries(bytes: &[u8]) -> Result<Entries<'_>, String> {
    let mut r = Reader::new(bytes);
    let count = header(&mut r, bytes.len() as u64)?;
    Ok(Entries {
        r,
        remaining: count as usize,
        index: 0,
        prev: None,
        failed: false,
    })
}

/// The iterator of [`entries`].
pub struct Entries<'a> {
    r: Reader<'a>,
    remaining: usize,
    index: u64,
    /// Where the previous record's path is in the bytes.
    prev: Option<(usize, usize)>,
    failed: bool,
}

impl Entries<'_> {
    fn step(&mut self) -> Result<Option<Entry>, String> {
        if self.remaining == 0 {
            if self.r.at != self.r.b.len() {
                return Err(format!(
                    "{} trailing bytes after {} entries",
                    self.r.b.len() - self.r.at,
                    self.index
                ));
            }
            return Ok(None);
        }
        let (i, start) = (self.index, self.r.at);
        let e = record(&mut self.r).map_err(|why| format!("entry {i} at byte {start}: {why}"))?;
        if let Some((at, len)) = self.prev {
            let prev = &self.r.b[at..at + len];
            if prev >= e.path.as_slice() {
                return Err(not_after(i, start as u64, &e.path, prev));
            }
        }
        // The path follows its u32 length at the record's start.
        self.prev = Some((start + 4, e.path.len()));
        self.index += 1;
        self.remaining -= 1;
        Ok(Some(e))
    }
}

impl Iterator for Entries<'_> {
    type Item = Result<Entry, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let got = self.step().transpose();
        if matches!(got, Some(Err(_))) {
            self.failed = true;
        }
        got
    }
}

/// The header at the start of `r`: its entry count, which must fit in a
/// list of `total` bytes.
fn header(r: &mut Reader<'_>, total: u64) -> Result<u64, String> {
    // Too short to hold the magic reads as "bad magic" too (and `short`).
    if r.take(4).ok() != Some(MAGIC.as_slice()) {
        return Err("not a file list (bad magic)".into());
    }
    let version = r.u8()?;
    if version != VERSION {
        return Err(format!("unknown file list version {version}"));
    }
    if r.take(3)? != [0, 0, 0] {
        return Err("non-zero reserved header bytes".into());
    }
    let count = r.u64()?;
    if count > (total.saturating_sub(HEADER_LEN as u64) / FIXED_LEN as u64) {
        return Err(format!("{count} entries cannot fit in {total} bytes"));
    }
    Ok(count)
}

/// The error of entry `index` at byte `at`, whose `path` does not sort
/// after the previous entry's `prev`.
pub(crate) fn not_after(index: u64, at: u64, path: &[u8], prev: &[u8]) -> String {
    format!(
        "entry {index} at byte {at}: path {:?} is not after {:?}",
        super::shown_path(path),
        super::shown_path(prev)
    )
}

/// What a decode of the start of a piece of an encoded list found.
pub(crate) enum Piece<T> {
    /// The item and how many bytes it took.
    Whole(T, usize),
    /// The bytes end before the item does.
    Short,
}

/// The header at the start of `b` (the first bytes of a list of `total`
/// bytes): its entry count.
pub(crate) fn header_piece(b: &[u8], total: u64) -> Result<Piece<u64>, String> {
    let mut r = Reader::new(b);
    match header(&mut r, total) {
        Ok(count) => Ok(Piece::Whole(count, r.at)),
        Err(_) if r.short => Ok(Piece::Short),
        Err(why) => Err(why),
    }
}

/// The record at the start of `b`, validated as [`decode`] validates each
/// (not its order: the caller knows the previous path).
pub(crate) fn record_piece(b: &[u8]) -> Result<Piece<Entry>, String> {
    let mut r = Reader::new(b);
    match record(&mut r) {
        Ok(e) => Ok(Piece::Whole(e, r.at)),
        Err(_) if r.short => Ok(Piece::Short),
        Err(why) => Err(why),
    }
}

fn record(r: &mut Reader<'_>) -> Result<Entry, String> {
    let path_len = r.u32()? as usize;
    let path = r.take(path_len)?.to_vec();
    let code = r.u8()?;
    let kind = kind_of(code).ok_or_else(|| format!("unknown kind {code}"))?;
    let flags = r.u8()?;
    if flags & !(HAS_TARGET | HAS_RDEV | HAS_BLAKE3) != 0 {
        return Err(format!("unknown flags {flags:#04x}"));
    }
    let mode = r.u32()?;
    if mode & !0o7777 != 0 {
        return Err(format!("mode {mode:o} has bits beyond 7777"));
    }
    let (uid, gid, size) = (r.u32()?, r.u32()?, r.u64()?);
    let (mtime, mtime_nsec) = (r.i64()?, r.nsec()?);
    let (ctime, ctime_nsec) = (r.i64()?, r.nsec()?);
    let ino = r.u64()?;
    let target = if flags & HAS_TARGET != 0 {
        let n = r.u32()? as usize;
        Some(r.take(n)?.to_vec())
    } else {
        None
    };
    let rdev = if flags & HAS_RDEV != 0 {
        Some(r.u64()?)
    } else {
        None
    };
    let blake3 = if flags & HAS_BLAKE3 != 0 {
        Some(r.array::<32>()?)
    } else {
        None
    };
    let fits = (target.is_some() <= (kind == Kind::Symlink))
        && (rdev.is_some() <= matches!(kind, Kind::Char | Kind::Block))
        && (blake3.is_some() <= (kind == Kind::File));
    if !fits {
        return Err(format!("flags {flags:#04x} do not fit kind {kind:?}"));
    }
    Ok(Entry {
        path,
        kind,
        size,
        mode,
        uid,
        gid,
        mtime,
        mtime_nsec,
        ctime,
        ctime_nsec,
        ino,
        target,
        rdev,
        blake3,
    })
}
