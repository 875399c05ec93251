//! Files' BLAKE3 digests taken from the `zfs send` stream a ship already
//! reads, so a full stream's file manifest needs no second read of the
//! data (design §17.1, "Digests from the stream").
//!
//! A full stream holds every allocated block of every object: an object's
//! content is its `DRR_WRITE` payloads at their offsets, zeros elsewhere
//! (holes), cut at the file's size; likewise a volume's object 1 and its
//! device's bytes. [`StreamDigests`] is given the wanted
//! files (object number, which is the inode number, and size, from the
//! walk of the snapshot) and is fed the stream; it hashes each wanted
//! object's payloads in offset order, zeros for the gaps, and finishes an
//! object when the stream moves on to another.
//!
//! Anything it cannot read for certain makes it give up that file, never
//! guess: the file is then read from the snapshot as before. Given up for
//! the whole stream: an incremental (its unchanged blocks are not in it), a
//! raw (`-w`) or compound (`-R`) stream, an unknown record type. Given up
//! for one object: a compressed (`-c`) payload, an embedded (`-e`),
//! deduplicated (`-D`) or redacted block, a `DRR_OBJECT` that is not a
//! plain file, a payload or free before the part already hashed, records
//! of the object after another object's (out of order), or no
//! `DRR_OBJECT` for it at all.

use std::collections::{HashMap, HashSet};

use crate::records::{self, classify, RECORD_LEN};

/// Start of the header's union.
const U: usize = 8;
/// `DMU_OT_PLAIN_FILE_CONTENTS`, the `drr_type` of a regular file.
const PLAIN_FILE: u64 = 19;
/// `DMU_OT_ZVOL`, the `drr_type` of a volume's data, object
/// [`VOLUME_OBJECT`].
const ZVOL: u64 = 23;
/// `ZVOL_OBJ`: the object that holds a volume's blocks.
pub const VOLUME_OBJECT: u64 = 1;
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// The object being hashed.
struct Current {
    object: u64,
    size: u64,
    /// Bytes of the object hashed so far (data and zeros), at most `size`.
    pos: u64,
    hasher: blake3::Hasher,
}

impl Current {
    fn new(object: u64, size: u64) -> Self {
        Current {
            object,
            size,
            pos: 0,
            hasher: blake3::Hasher::new(),
        }
    }

    /// Hashes zeros up to `to` (at most the size).
    fn zeros_to(&mut self, to: u64) {
        let to = to.min(self.size);
        while self.pos < to {
            let n = (to - self.pos).min(ZEROS.len() as u64) as usize;
            self.hasher.update(&ZEROS[..n]);
            self.pos += n as u64;
        }
    }
}

/// Digests of the wanted files of one stream (module docs).
pub struct StreamDigests {
    /// Object number to size, for every file wanted.
    want: HashMap<u64, u64>,
    /// The `drr_type` the wanted objects must have.
    object_type: u64,
    done: HashMap<u64, [u8; 32]>,
    /// Objects given up.
    failed: HashSet<u64>,
    /// Wanted objects whose `DRR_OBJECT` was seen (a plain file).
    objects_seen: HashSet<u64>,
    cur: Option<Current>,
    header: Vec<u8>,
    swap: Option<bool>,
    /// Bytes of the current payload still to come.
    payload: u64,
    /// Of those, the first this many are hashed into `cur` (a wanted
    /// write's bytes up to the file's size); the rest are skipped.
    hashed: u64,
    /// Why the stream gives no digest at all, if so.
    unusable: Option<String>,
    bytes_hashed: u64,
}

impl StreamDigests {
    /// Digests of the regular files `want`: object number (inode number)
    /// to file size.
    pub fn for_files(want: HashMap<u64, u64>) -> Self {
        Self::new(want, PLAIN_FILE)
    }

    /// The digest of a volume of `size` bytes (its device's size), as
    /// object [`VOLUME_OBJECT`].
    pub fn for_volume(size: u64) -> Self {
        Self::new([(VOLUME_OBJECT, size)].into_iter().collect(), ZVOL)
    }

    fn new(want: HashMap<u64, u64>, object_type: u64) -> Self {
        StreamDigests {
            want,
            object_type,
            done: HashMap::new(),
            failed: HashSet::new(),
            objects_seen: HashSet::new(),
            cur: None,
            header: Vec::with_capacity(RECORD_LEN),
            swap: None,
            payload: 0,
            hashed: 0,
            unusable: None,
            bytes_hashed: 0,
        }
    }

    /// Feeds the next bytes of the stream.
    pub fn feed(&mut self, mut b: &[u8]) {
        while !b.is_empty() && self.unusable.is_none() {
            if self.payload > 0 {
                let k = self.payload.min(b.len() as u64) as usize;
                let h = self.hashed.min(k as u64) as usize;
                if h > 0 {
                    if let Some(cur) = &mut self.cur {
                        cur.hasher.update(&b[..h]);
                        cur.pos += h as u64;
                        self.bytes_hashed += h as u64;
                    }
                    self.hashed -= h as u64;
                }
                self.payload -= k as u64;
                b = &b[k..];
                continue;
            }
            let k = (RECORD_LEN - self.header.len()).min(b.len());
            self.header.extend_from_slice(&b[..k]);
            b = &b[k..];
            if self.header.len() == RECORD_LEN {
                self.record();
                self.header.clear();
            }
        }
    }

    /// The digests, by object number, of the wanted files the stream gave
    /// for certain, and why it gave none at all if so (a kind of stream
    /// that gives none, or one cut short). A wanted object whose
    /// `DRR_OBJECT` came but no write is a hole from end to end (a full
    /// stream sends every allocated block): its size in zeros.
    pub fn finish(mut self) -> (HashMap<u64, [u8; 32]>, Option<String>) {
        if let Some(why) = self.unusable.take() {
            return (HashMap::new(), Some(why));
        }
        if !self.header.is_empty() || self.payload > 0 {
            return (
                HashMap::new(),
                Some("the stream ended inside a record".into()),
            );
        }
        self.finish_current();
        let holes: Vec<u64> = self
            .objects_seen
            .iter()
            .copied()
            .filter(|o| !self.done.contains_key(o) && !self.failed.contains(o))
            .collect();
        for object in holes {
            self.cur = Some(Current::new(object, self.want[&object]));
            self.finish_current();
        }
        (self.done, None)
    }

    /// Bytes of file content hashed from the stream (zeros of holes not counted).
    pub fn bytes_hashed(&self) -> u64 {
        self.bytes_hashed
    }

    fn u32_at(&self, at: usize) -> u64 {
        records::u32_at(&self.header, at, self.swap == Some(true))
    }

    fn u64_at(&self, at: usize) -> u64 {
        records::u64_at(&self.header, at, self.swap == Some(true))
    }

    fn give_up(&mut self, object: u64) {
        if self.cur.as_ref().is_some_and(|c| c.object == object) {
            self.cur = None;
        }
        self.done.remove(&object);
        self.failed.insert(object);
    }

    /// Ends the current object: zeros to its size, then its digest.
    fn finish_current(&mut self) {
        if let Some(mut cur) = self.cur.take() {
            cur.zeros_to(cur.size);
            self.done
                .insert(cur.object, *cur.hasher.finalize().as_bytes());
        }
    }

    /// Makes `object` the current one, if it can be: false if it was given
    /// up, or finished already (its records are out of order: given up).
    fn enter(&mut self, object: u64) -> bool {
        if self.cur.as_ref().is_some_and(|c| c.object == object) {
            return true;
        }
        self.finish_current();
        if self.failed.contains(&object) {
            return false;
        }
        if self.done.contains_key(&object) || !self.objects_seen.contains(&object) {
            self.give_up(object);
            return false;
        }
        self.cur = Some(Current::new(object, self.want[&object]));
        true
    }

    fn record(&mut self) {
        if self.swap.is_none() {
            self.swap = Some(records::swapped(&self.header));
        }
        let swap = self.swap == Some(true);
        let ty = self.u32_at(0);
        let (_, len) = classify(&self.header, swap);
        self.payload = len;
        self.hashed = 0;
        let object = self.u64_at(U);
        let wanted = self.want.contains_key(&object);
        match ty {
            // DRR_BEGIN: drr_magic, drr_versioninfo, ..., drr_fromguid at U+40.
            0 => {
                if let Some(why) = records::begin_unsupported(&self.header, swap) {
                    self.unusable = Some(why.into());
                } else if self.u64_at(U + 40) != 0 {
                    self.unusable = Some("an incremental stream lacks unchanged blocks".into());
                }
            }
            // DRR_OBJECT: drr_object, drr_type at U+8 (a file's object
            // number could be a volume's, or a stale inode another object's).
            1 if wanted => {
                if self.u32_at(U + 8) != self.object_type || !self.objects_seen.insert(object) {
                    self.give_up(object);
                }
            }
            // DRR_WRITE: drr_offset at U+16, drr_compressiontype at U+42.
            3 if wanted => {
                let off = self.u64_at(U + 16);
                if self.header[U + 42] != 0 {
                    self.give_up(object);
                } else if self.enter(object) {
                    let cur = self.cur.as_mut().expect("entered");
                    if off < cur.pos {
                        self.give_up(object);
                    } else {
                        cur.zeros_to(off);
                        self.hashed = len.min(cur.size.saturating_sub(off));
                    }
                }
            }
            // DRR_FREE: drr_offset at U+8. A hole: zeros, which the gap
            // before the next write (or the end) hashes. Streams send one
            // after each DRR_OBJECT (past its first block), before any
            // write: applied first, it frees nothing a write then puts
            // back. One that reaches into what is hashed already (of the
            // current object, or of a finished one: up to its size) would
            // zero written data: given up.
            4 if wanted => {
                let off = self.u64_at(U + 8);
                let hashed = match &self.cur {
                    Some(c) if c.object == object => c.pos,
                    _ if self.done.contains_key(&object) => self.want[&object],
                    _ => 0,
                };
                if off < hashed {
                    self.give_up(object);
                }
            }
            // DRR_FREEOBJECTS: drr_firstobj, drr_numobjs.
            2 => {
                let end = object.saturating_add(self.u64_at(U + 8));
                let freed: Vec<u64> = self
                    .objects_seen
                    .iter()
                    .copied()
                    .filter(|o| (object..end).contains(o))
                    .collect();
                for o in freed {
                    self.give_up(o);
                }
            }
            // WRITE_BYREF (-D), WRITE_EMBEDDED (-e), REDACT.
            6 | 8 | 10 if wanted => self.give_up(object),
            // END: the last object is whole.
            5 => self.finish_current(),
            // Records of other objects; SPILL (extended attributes),
            // OBJECT_RANGE (raw streams only).
            1..=10 => {}
            other => self.unusable = Some(format!("a record of unknown type {other}")),
        }
    }
}

#[cfg(test)]
mod tests;
