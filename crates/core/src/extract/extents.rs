//! The blocks of one object as a chain of streams leaves them: byte ranges
//! of the file, each taken from a place in one link's data lane. A range
//! not covered reads as zeros (never written, or freed).

use std::collections::BTreeMap;

/// Where a range's bytes are: `lane_off` bytes into the data lane of link
/// `link` of the chain (0 = the full stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    /// Index of the chain link.
    pub link: u32,
    /// Offset in that link's data lane.
    pub lane_off: u64,
}

impl Source {
    /// The place `by` bytes further into the same lane.
    pub(crate) fn advanced(self, by: u64) -> Source {
        Source {
            link: self.link,
            lane_off: self.lane_off + by,
        }
    }
}

/// Non-overlapping ranges `start -> (end, source)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extents {
    map: BTreeMap<u64, (u64, Source)>,
}

/// One piece of a file to copy: `len` bytes at `file_off` from `source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Offset in the file.
    pub file_off: u64,
    /// Length.
    pub len: u64,
    /// Where the bytes are.
    pub source: Source,
}

impl Extents {
    /// Makes `[start, end)` read from `source` (a later write wins), or
    /// zeros for `None` (a free). Ranges past `u64::MAX` are clipped.
    pub fn paint(&mut self, start: u64, end: u64, source: Option<Source>) {
        if start >= end {
            return;
        }
        // Ranges are disjoint and sorted, so their ends are sorted too:
        // going back from the last one starting before `end`, the
        // overlapping ones are those still ending after `start`.
        let hit: Vec<(u64, u64, Source)> = self
            .map
            .range(..end)
            .rev()
            .take_while(|(_, (e, _))| *e > start)
            .map(|(s, (e, src))| (*s, *e, *src))
            .collect();
        for (s, e, src) in hit {
            self.map.remove(&s);
            if s < start {
                self.map.insert(s, (start, src));
            }
            if e > end {
                self.map.insert(end, (e, src.advanced(end - s)));
            }
        }
        if let Some(src) = source {
            self.map.insert(start, (end, src));
        }
    }

    /// The pieces that make up the first `size` bytes, in file order; what
    /// lies between them is zeros.
    pub fn pieces(&self, size: u64) -> Vec<Piece> {
        self.map
            .range(..size)
            .map(|(s, (e, src))| Piece {
                file_off: *s,
                len: (*e).min(size) - s,
                source: *src,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::unnecessary_wraps)] // paint takes an Option
    fn src(link: u32, lane_off: u64) -> Option<Source> {
        Some(Source { link, lane_off })
    }

    fn flat(x: &Extents, size: u64) -> Vec<(u64, u64, u32, u64)> {
        x.pieces(size)
            .iter()
            .map(|p| (p.file_off, p.len, p.source.link, p.source.lane_off))
            .collect()
    }

    #[test]
    fn a_later_write_replaces_the_part_it_covers() {
        let mut x = Extents::default();
        x.paint(0, 300, src(0, 1000));
        x.paint(100, 200, src(1, 50));
        assert_eq!(
            flat(&x, 300),
            vec![(0, 100, 0, 1000), (100, 100, 1, 50), (200, 100, 0, 1200)]
        );
    }

    #[test]
    fn a_free_leaves_zeros_and_pieces_stop_at_the_size() {
        let mut x = Extents::default();
        x.paint(0, 128, src(0, 0));
        x.paint(128, 256, src(0, 128));
        x.paint(256, 384, src(0, 256));
        x.paint(100, u64::MAX, None);
        assert_eq!(flat(&x, 1000), vec![(0, 100, 0, 0)]);
        x.paint(200, 400, src(2, 7));
        assert_eq!(flat(&x, 300), vec![(0, 100, 0, 0), (200, 100, 2, 7)]);
    }

    #[test]
    fn covering_several_ranges_removes_them_all() {
        let mut x = Extents::default();
        for i in 0..10u64 {
            x.paint(i * 10, i * 10 + 10, src(0, i * 10));
        }
        x.paint(5, 95, src(3, 0));
        assert_eq!(
            flat(&x, 100),
            vec![(0, 5, 0, 0), (5, 90, 3, 0), (95, 5, 0, 95)]
        );
    }
}
