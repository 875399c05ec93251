//! A stored file list read back chunk by chunk: each chunk is decoded as it
//! arrives, so a million-entry list is never held whole, encoded or
//! decoded ([`file_list_entries`]). [`Decoder`] is the state one chunk
//! hands to the next (the bytes of a record begun in it, the entry count,
//! the previous path); `search` uses it too, to skip chunks it has seen.

use std::collections::VecDeque;

use crate::error::{Error, Result};
use crate::format::file_list::{header_piece, not_after, record_piece, Entry, FileListRef, Piece};
use crate::id::Id;
use crate::repository::Repository;

/// Chunks fetched at once: adjacent ones are read in one request and opened
/// in parallel, up to about this many stored bytes (at least one chunk).
const GROUP_BYTES: u64 = 8 << 20;

/// Decoding state carried from one chunk of a list to the next.
#[derive(Debug)]
pub(crate) struct Decoder {
    /// The whole list's length (the header's count must fit in it).
    total: u64,
    /// Bytes of a header or record begun in an earlier chunk.
    pub(crate) carry: Vec<u8>,
    /// The header's entry count, once read.
    count: Option<u64>,
    /// Entries decoded so far.
    index: u64,
    /// The last entry's path.
    prev: Option<Vec<u8>>,
    /// List bytes before `carry`'s first.
    offset: u64,
    /// Bytes after the last entry the header counts (damage, reported by
    /// `finish` with their number).
    trailing: u64,
}

/// What decoding one chunk (after a given carry) gave: the facts another
/// list holding the same chunk after the same carry can take instead of
/// decoding it (`search`).
#[derive(Debug, Default)]
pub(crate) struct Piecewise {
    /// Entries that ended in the chunk.
    pub(crate) n: u64,
    /// The first and last of their paths.
    pub(crate) first: Option<Vec<u8>>,
    /// See `first`.
    pub(crate) last: Option<Vec<u8>>,
    /// The bytes of a record begun but not ended in the chunk.
    pub(crate) carry_out: Vec<u8>,
    /// Bytes after the last entry the header counts.
    pub(crate) trailing: u64,
    /// The chunk's length.
    pub(crate) len: u64,
}

impl Decoder {
    pub(crate) fn new(total: u64) -> Decoder {
        Decoder {
            total,
            carry: Vec::new(),
            count: None,
            index: 0,
            prev: None,
            offset: 0,
            trailing: 0,
        }
    }

    /// True once the header is read (a chunk's facts only apply after it).
    pub(crate) fn has_header(&self) -> bool {
        self.count.is_some()
    }

    /// Decodes the entries `chunk` ends, each validated as
    /// `format::file_list::decode` validates it, in order, to `emit`.
    pub(crate) fn feed(
        &mut self,
        chunk: &[u8],
        emit: &mut dyn FnMut(Entry),
    ) -> std::result::Result<Piecewise, String> {
        let mut buf = std::mem::take(&mut self.carry);
        buf.extend_from_slice(chunk);
        let mut facts = Piecewise {
            len: chunk.len() as u64,
            ..Piecewise::default()
        };
        let mut at = 0;
        let count = match self.count {
            Some(n) => n,
            None => match header_piece(&buf, self.total)? {
                Piece::Short => {
                    self.carry = buf;
                    return Ok(facts);
                }
                Piece::Whole(n, len) => {
                    at = len;
                    self.count = Some(n);
                    n
                }
            },
        };
        while self.index < count {
            let start = self.offset + at as u64;
            let whole = record_piece(&buf[at..])
                .map_err(|why| format!("entry {} at byte {start}: {why}", self.index))?;
            let Piece::Whole(e, len) = whole else { break };
            if let Some(prev) = &self.prev {
                if prev.as_slice() >= e.path.as_slice() {
                    return Err(not_after(self.index, start, &e.path, prev));
                }
            }
            facts.n += 1;
            if facts.first.is_none() {
                facts.first = Some(e.path.clone());
            }
            match &mut self.prev {
                Some(p) => {
                    p.clear();
                    p.extend_from_slice(&e.path);
                }
                None => self.prev = Some(e.path.clone()),
            }
            self.index += 1;
            at += len;
            emit(e);
        }
        if self.index == count {
            facts.trailing = (buf.len() - at) as u64;
            self.trailing += facts.trailing;
            at = buf.len();
        }
        facts.last = facts.first.is_some().then(|| self.prev.clone()).flatten();
        self.offset += at as u64;
        buf.drain(..at);
        facts.carry_out.clone_from(&buf);
        self.carry = buf;
        Ok(facts)
    }

    /// Takes a chunk's facts instead of decoding it: the carry must be the
    /// one they were found after (the caller's key), and the header read.
    pub(crate) fn skip(&mut self, facts: &Piecewise) -> std::result::Result<(), String> {
        let count = self
            .count
            .expect("a chunk is skipped only after the header");
        if let (Some(prev), Some(first)) = (&self.prev, &facts.first) {
            if prev >= first {
                return Err(not_after(self.index, self.offset, first, prev));
            }
        }
        if self.index + facts.n > count {
            return Err(format!(
                "more entries than the {count} its header counts, at byte {}",
                self.offset
            ));
        }
        self.index += facts.n;
        self.trailing += facts.trailing;
        if facts.last.is_some() {
            self.prev.clone_from(&facts.last);
        }
        self.offset +=
            (self.carry.len() as u64 + facts.len).saturating_sub(facts.carry_out.len() as u64);
        self.carry.clone_from(&facts.carry_out);
        // Bytes begun after the header's last entry are trailing here, as
        // `feed` counts them (where the chunk came from they began a record).
        if self.index == count && !self.carry.is_empty() {
            self.trailing += self.carry.len() as u64;
            self.offset += self.carry.len() as u64;
            self.carry.clear();
        }
        Ok(())
    }

    /// After the last chunk: the header read, every entry whole, no bytes left.
    pub(crate) fn finish(&self) -> std::result::Result<(), String> {
        let Some(count) = self.count else {
            return Err(format!(
                "not a file list: {} bytes, too short for its header",
                self.carry.len()
            ));
        };
        if self.index < count {
            return Err(format!(
                "truncated: {} of the {count} entries its header counts, entry {} at byte {} cut off",
                self.index, self.index, self.offset
            ));
        }
        if self.trailing > 0 {
            return Err(format!(
                "{} trailing bytes after {} entries",
                self.trailing, self.index
            ));
        }
        Ok(())
    }
}

/// The entries of the list `r` points at, in path order, read chunk by
/// chunk: every chunk authenticated as it is read, every entry validated
/// as `decode` does, and after the last the length and BLAKE3 of the whole
/// checked. Damage is an integrity error ([`Error::is_integrity`]) naming
/// `what`'s file manifest; entries before it have been handed out (a
/// caller that must act on a whole, checked list collects them first, as
/// [`load_file_list`](super::load_file_list) does). Nothing is read until
/// the first entry is asked for, and a caller that stops early reads no
/// further chunk. Holds about 8 MiB of chunks and their entries.
pub fn file_list_entries<'a>(
    repo: &'a Repository,
    r: &'a FileListRef,
    what: &str,
) -> ListEntries<'a> {
    ListEntries {
        repo,
        r,
        name: super::file_manifest_of(what),
        next: 0,
        fetched: VecDeque::new(),
        decoder: Decoder::new(r.len),
        ready: VecDeque::new(),
        hasher: blake3::Hasher::new(),
        read: 0,
        done: false,
    }
}

/// The iterator of [`file_list_entries`]; it ends after the first error.
pub struct ListEntries<'a> {
    repo: &'a Repository,
    r: &'a FileListRef,
    name: String,
    next: usize,
    fetched: VecDeque<Vec<u8>>,
    decoder: Decoder,
    ready: VecDeque<Entry>,
    hasher: blake3::Hasher,
    read: u64,
    done: bool,
}

impl ListEntries<'_> {
    fn step(&mut self) -> Result<Option<Entry>> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Ok(Some(e));
            }
            if self.fetched.is_empty() && self.next < self.r.chunks.len() {
                let end = group_end(self.repo, &self.r.chunks, self.next, |_| true);
                self.fetched.extend(fetch(
                    self.repo,
                    &self.name,
                    &self.r.chunks[self.next..end],
                )?);
                self.next = end;
            }
            let Some(chunk) = self.fetched.pop_front() else {
                self.decoder
                    .finish()
                    .map_err(|why| Error::corrupt(self.name.clone(), why))?;
                check_whole(&self.name, self.r, self.read, Some(&self.hasher))?;
                return Ok(None);
            };
            self.hasher.update(&chunk);
            self.read += chunk.len() as u64;
            let ready = &mut self.ready;
            self.decoder
                .feed(&chunk, &mut |e| ready.push_back(e))
                .map_err(|why| Error::corrupt(self.name.clone(), why))?;
        }
    }
}

impl Iterator for ListEntries<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Result<Entry>> {
        if self.done {
            return None;
        }
        let got = self.step().transpose();
        if !matches!(got, Some(Ok(_))) {
            self.done = true;
        }
        got
    }
}

/// The plaintext of `ids`, in order (one group: see [`group_end`]).
pub(crate) fn fetch(repo: &Repository, name: &str, ids: &[Id]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(ids.len());
    repo.packs().for_each_chunk(name, ids, &mut |data| {
        out.push(data);
        Ok(())
    })?;
    Ok(out)
}

/// The end of the group of chunks fetched together from `start`: while
/// `fresh` says so of the next id, up to [`GROUP_BYTES`] of stored bytes
/// (a chunk missing from the index ends the group; reading it reports it).
pub(crate) fn group_end(
    repo: &Repository,
    chunks: &[Id],
    start: usize,
    fresh: impl Fn(&Id) -> bool,
) -> usize {
    let index = repo.packs().index();
    let mut bytes = 0u64;
    let mut end = start;
    while end < chunks.len() && (end == start || fresh(&chunks[end])) {
        let Some(loc) = index.get(&chunks[end]) else {
            return end + 1;
        };
        if end > start && bytes + u64::from(loc.length) > GROUP_BYTES {
            break;
        }
        bytes += u64::from(loc.length);
        end += 1;
    }
    end
}

/// The whole list's length, and its BLAKE3 where every byte was hashed
/// (`hasher`; `None` when chunks were taken from a memo), against `r`.
pub(crate) fn check_whole(
    name: &str,
    r: &FileListRef,
    read: u64,
    hasher: Option<&blake3::Hasher>,
) -> Result<()> {
    let digest = hasher.map(|h| h.finalize().to_hex().to_string());
    if read == r.len && digest.as_ref().is_none_or(|d| *d == r.digest) {
        return Ok(());
    }
    Err(Error::corrupt(
        name.to_owned(),
        format!(
            "expected {} bytes with BLAKE3 {}, got {read} bytes{}",
            r.len,
            r.digest,
            digest.map_or(String::new(), |d| format!(" with BLAKE3 {d}"))
        ),
    ))
}
