//! Reading a chain's meta lanes into the block map of the wanted objects:
//! which `DRR_WRITE` payloads (and where in which data lane) make up each
//! object after the last stream, with `DRR_FREE`, `DRR_FREEOBJECTS` and
//! object reallocation applied as `zfs receive` applies them.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use super::extents::{Extents, Source};
use crate::records::{self, classify, Lane, RECORD_LEN};

/// Start of the header's union.
const U: usize = 8;

/// One object as the chain leaves it.
#[derive(Clone, Debug, Default)]
pub struct ObjectState {
    /// `drr_type` and `drr_blksz` of its last `DRR_OBJECT`: a change is a
    /// reallocation, which `zfs receive` starts from nothing.
    shape: Option<(u64, u64)>,
    /// Its blocks.
    pub extents: Extents,
    /// Why its blocks cannot be taken from the lanes, if they cannot.
    pub unsupported: Option<String>,
}

/// The parser of one link's meta lane, fed as a [`Write`].
pub struct LaneParser<'a> {
    header: Vec<u8>,
    skip: u64,
    swap: Option<bool>,
    data_off: u64,
    link: u32,
    full: bool,
    wanted: &'a HashSet<u64>,
    objects: &'a mut HashMap<u64, ObjectState>,
    /// Why no object of the chain can be taken from the lanes, if so.
    pub unsupported: Option<String>,
}

impl<'a> LaneParser<'a> {
    /// A parser for link `link` (a full stream if `full`), updating
    /// `objects` for the `wanted` object numbers.
    pub fn new(
        link: u32,
        full: bool,
        wanted: &'a HashSet<u64>,
        objects: &'a mut HashMap<u64, ObjectState>,
    ) -> Self {
        LaneParser {
            header: Vec::with_capacity(RECORD_LEN),
            skip: 0,
            swap: None,
            data_off: 0,
            link,
            full,
            wanted,
            objects,
            unsupported: None,
        }
    }

    /// Bytes of data lane the headers account for.
    pub fn data_len(&self) -> u64 {
        self.data_off
    }

    fn u32_at(&self, at: usize) -> u64 {
        records::u32_at(&self.header, at, self.swap == Some(true))
    }

    fn u64_at(&self, at: usize) -> u64 {
        records::u64_at(&self.header, at, self.swap == Some(true))
    }

    fn chain_unsupported(&mut self, why: String) {
        self.unsupported.get_or_insert(why);
    }

    fn object_unsupported(&mut self, object: u64, why: &str) {
        if self.wanted.contains(&object) {
            let st = self.objects.entry(object).or_default();
            st.unsupported.get_or_insert_with(|| why.to_string());
        }
    }

    fn record(&mut self) {
        let h = &self.header;
        if self.swap.is_none() {
            self.swap = Some(records::swapped(h));
        }
        let ty = self.u32_at(0);
        let (lane, len) = classify(&self.header, self.swap == Some(true));
        let object = self.u64_at(U);
        match ty {
            0 => {
                if let Some(why) = records::begin_unsupported(&self.header, self.swap == Some(true))
                {
                    self.chain_unsupported(why.into());
                }
            }
            // DRR_OBJECT: a new object, or a reallocated one, starts empty.
            1 if self.wanted.contains(&object) => {
                let shape = Some((self.u32_at(U + 8), self.u32_at(U + 16)));
                let st = self.objects.entry(object).or_default();
                if self.full || st.shape != shape {
                    *st = ObjectState {
                        shape,
                        ..ObjectState::default()
                    };
                }
            }
            // DRR_FREEOBJECTS: drr_firstobj, drr_numobjs.
            2 => {
                let first = object;
                let end = first.saturating_add(self.u64_at(U + 8));
                for o in self.wanted {
                    if (first..end).contains(o) {
                        self.objects.remove(o);
                    }
                }
            }
            3 if self.wanted.contains(&object) => {
                let off = self.u64_at(U + 16);
                if self.header[U + 42] != 0 {
                    self.object_unsupported(object, "a compressed (-c) block");
                } else {
                    let source = Source {
                        link: self.link,
                        lane_off: self.data_off,
                    };
                    let st = self.objects.entry(object).or_default();
                    st.extents.paint(off, off.saturating_add(len), Some(source));
                }
            }
            // DRR_FREE: drr_object, drr_offset, drr_length (-1: to the end).
            4 if self.wanted.contains(&object) => {
                let off = self.u64_at(U + 8);
                let end = off.saturating_add(self.u64_at(U + 16));
                if let Some(st) = self.objects.get_mut(&object) {
                    st.extents.paint(off, end, None);
                }
            }
            6 => self.object_unsupported(object, "a deduplicated (-D) block"),
            8 => self.object_unsupported(object, "an embedded (-e) block"),
            10 => self.object_unsupported(object, "a redacted block"),
            // OBJECT, FREEOBJECTS, WRITE and FREE of other objects; END,
            // SPILL (extended attributes), OBJECT_RANGE (raw streams only).
            1..=5 | 7 | 9 => {}
            other => self.chain_unsupported(format!("a record of unknown type {other}")),
        }
        match lane {
            Lane::Data => self.data_off = self.data_off.saturating_add(len),
            Lane::Meta => self.skip = len,
        }
    }
}

impl Write for LaneParser<'_> {
    fn write(&mut self, mut b: &[u8]) -> io::Result<usize> {
        let n = b.len();
        while !b.is_empty() {
            if self.skip > 0 {
                let k = (self.skip.min(b.len() as u64)) as usize;
                self.skip -= k as u64;
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
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
