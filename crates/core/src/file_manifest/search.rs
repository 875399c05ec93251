//! One question asked of many file lists (`backup find` across a dataset's
//! snapshots): which entries does `keep` keep in each. Consecutive
//! snapshots of a dataset share most of their list's chunks, so a chunk
//! decoded for one list is not fetched nor decoded again for the next when
//! it follows the same bytes there: a chunk id is the keyed hash of its
//! plaintext, so the same id after the same carried-in bytes of a record
//! decodes to the same entries, which were kept ([`Segment`]).
//!
//! What is checked: every chunk read is authenticated and must hash to
//! its id; every entry decoded is validated as `decode` validates it; a
//! skipped chunk's entries are checked for order against the entries
//! around them and counted against the header; the whole list's length
//! always, and its BLAKE3 when no chunk was skipped (a skipped chunk's
//! bytes are exactly the bytes its id names, so the digest adds nothing
//! the ids do not already bind).

use std::collections::HashMap;
use std::rc::Rc;

use super::read::{check_whole, fetch, group_end, Decoder, Piecewise};
use crate::error::{Error, Result};
use crate::format::file_list::{Entry, FileListRef};
use crate::id::Id;
use crate::repository::Repository;

/// What a chunk gave after a given carry: its facts and the entries of it
/// that were kept.
#[derive(Debug)]
struct Segment {
    carry_in: Vec<u8>,
    facts: Piecewise,
    kept: Vec<Entry>,
}

/// A search of file lists one after another, remembering the chunks of
/// the last list searched (see the module's documentation).
pub struct ListSearch {
    keep: Box<dyn Fn(&Entry) -> bool>,
    memo: HashMap<Id, Vec<Rc<Segment>>>,
    decoded: u64,
    skipped: u64,
}

impl std::fmt::Debug for ListSearch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListSearch")
            .field("memo", &self.memo.len())
            .field("decoded", &self.decoded)
            .field("skipped", &self.skipped)
            .finish_non_exhaustive()
    }
}

impl ListSearch {
    /// A search for the entries `keep` keeps.
    pub fn new(keep: impl Fn(&Entry) -> bool + 'static) -> ListSearch {
        ListSearch {
            keep: Box::new(keep),
            memo: HashMap::new(),
            decoded: 0,
            skipped: 0,
        }
    }

    /// The kept entries of the list `r` points at, in path order. Damage is
    /// an integrity error naming `what`'s file manifest, and leaves what
    /// is remembered as it was. Holds the kept entries of this list and of
    /// the last one, and about 8 MiB of chunks.
    pub fn matches(
        &mut self,
        repo: &Repository,
        r: &FileListRef,
        what: &str,
    ) -> Result<Vec<Entry>> {
        let name = super::file_manifest_of(what);
        let damaged = |why: String| Error::corrupt(name.clone(), why);
        let mut decoder = Decoder::new(r.len);
        let mut out = Vec::new();
        let mut used: HashMap<Id, Vec<Rc<Segment>>> = HashMap::new();
        let mut hasher = Some(blake3::Hasher::new());
        let (mut read, mut decoded, mut skipped) = (0u64, 0u64, 0u64);
        let mut i = 0;
        while i < r.chunks.len() {
            let id = r.chunks[i];
            if let Some(seg) = self.remembered(&id, &decoder) {
                decoder.skip(&seg.facts).map_err(damaged)?;
                out.extend(seg.kept.iter().cloned());
                read += seg.facts.len;
                hasher = None;
                skipped += 1;
                remember(&mut used, id, seg);
                i += 1;
                continue;
            }
            let end = group_end(repo, &r.chunks, i, |id| !self.memo.contains_key(id));
            let fetched = fetch(repo, &name, &r.chunks[i..end])?;
            for (id, data) in r.chunks[i..end].iter().zip(fetched) {
                let after_header = decoder.has_header();
                let carry_in = decoder.carry.clone();
                let mut kept = Vec::new();
                let facts = decoder
                    .feed(&data, &mut |e| {
                        if (self.keep)(&e) {
                            kept.push(e);
                        }
                    })
                    .map_err(damaged)?;
                if let Some(h) = &mut hasher {
                    h.update(&data);
                }
                read += data.len() as u64;
                decoded += 1;
                out.extend(kept.iter().cloned());
                // A chunk read before the header is done is not reused:
                // its facts depend on where the list starts.
                if after_header {
                    let seg = Rc::new(Segment {
                        carry_in,
                        facts,
                        kept,
                    });
                    remember(&mut used, *id, seg);
                }
            }
            i = end;
        }
        decoder.finish().map_err(damaged)?;
        check_whole(&name, r, read, hasher.as_ref())?;
        self.memo = used;
        self.decoded += decoded;
        self.skipped += skipped;
        Ok(out)
    }

    /// Chunks decoded and chunks skipped (taken from the last list) so far.
    pub fn chunks(&self) -> (u64, u64) {
        (self.decoded, self.skipped)
    }

    fn remembered(&self, id: &Id, decoder: &Decoder) -> Option<Rc<Segment>> {
        if !decoder.has_header() {
            return None;
        }
        self.memo
            .get(id)?
            .iter()
            .find(|s| s.carry_in == decoder.carry)
            .cloned()
    }
}

fn remember(used: &mut HashMap<Id, Vec<Rc<Segment>>>, id: Id, seg: Rc<Segment>) {
    let segs = used.entry(id).or_default();
    if !segs.iter().any(|s| Rc::ptr_eq(s, &seg)) {
        segs.push(seg);
    }
}
