//! Structural checks of a `zfs send` stream, so a truncated stream is refused
//! before it is recorded.
//!
//! A stream is a sequence of 312-byte `dmu_replay_record` headers and
//! payloads. It starts with a BEGIN record (type 0) carrying the magic
//! 0x2F5BACBAC at offset 8, and ends with an END record (type 5). This holds
//! for zfs-fuse 0.7 and OpenZFS 2.x, full, incremental and replication
//! streams; records may be in either byte order.

/// Size of a replay record header.
pub const RECORD_LEN: usize = 312;
const DRR_BEGIN: u32 = 0;
const DRR_END: u32 = 5;
const BEGIN_MAGIC: u64 = 0x2F5B_ACBAC;

/// Watches a stream go by and keeps its first and last bytes.
#[derive(Debug, Default)]
pub struct StreamCheck {
    head: Vec<u8>,
    tail: Vec<u8>,
    len: u64,
}

impl StreamCheck {
    /// Sees the next piece of the stream.
    pub fn observe(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        if self.head.len() < 16 {
            let want = (16 - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..want]);
        }
        let keep = data.len().min(RECORD_LEN);
        self.tail.extend_from_slice(&data[data.len() - keep..]);
        if self.tail.len() > RECORD_LEN {
            self.tail.drain(..self.tail.len() - RECORD_LEN);
        }
    }

    /// Bytes seen.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Checks the stream starts with BEGIN and ends with END.
    pub fn verdict(&self) -> Result<(), String> {
        if self.len < 2 * RECORD_LEN as u64 {
            return Err(format!(
                "it is {} bytes, too short for a BEGIN and an END record",
                self.len
            ));
        }
        let ty = |b: &[u8]| {
            let v = u32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
            [v, v.swap_bytes()]
        };
        let magic = u64::from_le_bytes(self.head[8..16].try_into().expect("8 bytes"));
        if !ty(&self.head).contains(&DRR_BEGIN)
            || ![magic, magic.swap_bytes()].contains(&BEGIN_MAGIC)
        {
            return Err("it does not start with a zfs send BEGIN record".into());
        }
        if !ty(&self.tail).contains(&DRR_END) {
            return Err("it does not end with an END record (truncated)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ty: u32) -> Vec<u8> {
        let mut r = vec![0u8; RECORD_LEN];
        r[..4].copy_from_slice(&ty.to_le_bytes());
        if ty == DRR_BEGIN {
            r[8..16].copy_from_slice(&BEGIN_MAGIC.to_le_bytes());
        }
        r
    }

    #[test]
    fn accepts_whole_refuses_truncated() {
        let mut s = record(DRR_BEGIN);
        s.extend(vec![7u8; 5000]);
        s.extend(record(DRR_END));
        let mut c = StreamCheck::default();
        for piece in s.chunks(100) {
            c.observe(piece);
        }
        assert_eq!(c.verdict(), Ok(()));
        let mut t = StreamCheck::default();
        t.observe(&s[..s.len() - 10]);
        assert!(t.verdict().unwrap_err().contains("truncated"));
        let mut e = StreamCheck::default();
        e.observe(&[]);
        assert!(e.verdict().is_err());
        let mut g = StreamCheck::default();
        g.observe(&vec![1u8; 1000]);
        assert!(g.verdict().unwrap_err().contains("BEGIN"));
    }
}
