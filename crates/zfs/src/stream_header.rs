//! The BEGIN record that opens every `zfs send` stream.
//!
//! Layout (`dmu_replay_record_t`, `zfs_ioctl.h`), in the sender's byte order:
//!
//! | offset | size | field                                   |
//! |-------:|-----:|-----------------------------------------|
//! |      0 |    4 | `drr_type` (0 = BEGIN)                  |
//! |      4 |    4 | `drr_payloadlen`                        |
//! |      8 |    8 | `drr_magic` = `0x2F5bacbac`             |
//! |     16 |    8 | `drr_versioninfo` (low 2 bits: hdrtype) |
//! |     24 |    8 | `drr_creation_time`                     |
//! |     32 |    4 | `drr_type` (objset type)                |
//! |     36 |    4 | `drr_flags` (bit 0: `DRR_FLAG_CLONE`)   |
//! |     40 |    8 | `drr_toguid`                            |
//! |     48 |    8 | `drr_fromguid` (0 for a full stream)    |
//! |     56 |  256 | `drr_toname`, NUL-terminated            |
//!
//! Verified against streams written by zfs-fuse 0.7 (see the test); the
//! layout is the same in OpenZFS.

/// Bytes needed to read the BEGIN record.
pub(crate) const BEGIN_LEN: usize = 312;

const DMU_BACKUP_MAGIC: u64 = 0x2_F5BA_CBAC;
const DRR_FLAG_CLONE: u32 = 1;
const DMU_COMPOUNDSTREAM: u64 = 2;

/// What the receiver needs to know before letting zfs see a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Begin {
    pub toguid: u64,
    pub fromguid: u64,
    pub clone: bool,
    /// A `-R` package of several streams.
    pub compound: bool,
    pub toname: String,
}

impl Begin {
    /// An incremental that needs its base on the target (not a full stream,
    /// not a clone from an origin, not a `-R` package).
    pub(crate) fn needs_base(&self) -> bool {
        self.fromguid != 0 && !self.clone && !self.compound
    }
}

/// Parses the BEGIN record, or `None` if `bytes` does not start with one.
pub(crate) fn parse_begin(bytes: &[u8]) -> Option<Begin> {
    let head = bytes.get(..BEGIN_LEN)?;
    let u64_le = |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().unwrap());
    let swap = match u64_le(8) {
        DMU_BACKUP_MAGIC => false,
        m if m.swap_bytes() == DMU_BACKUP_MAGIC => true,
        _ => return None,
    };
    let u64_at = |at: usize| {
        if swap {
            u64_le(at).swap_bytes()
        } else {
            u64_le(at)
        }
    };
    let u32_at = |at: usize| {
        let v = u32::from_le_bytes(head[at..at + 4].try_into().unwrap());
        if swap {
            v.swap_bytes()
        } else {
            v
        }
    };
    if u32_at(0) != 0 {
        return None;
    }
    let name = &head[56..BEGIN_LEN];
    let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
    Some(Begin {
        toguid: u64_at(40),
        fromguid: u64_at(48),
        clone: u32_at(36) & DRR_FLAG_CLONE != 0,
        compound: u64_at(16) & 3 == DMU_COMPOUNDSTREAM,
        toname: String::from_utf8_lossy(name).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 64 bytes of `zfs send -i @s1 'zbtexp1/with space@s2'`
    /// (verified against zfs-fuse 0.7; `xxd -l 64`), padded to a record.
    fn inc12() -> Vec<u8> {
        let mut v = vec![
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xac, 0xcb, 0xba, 0xf5, 0x02, 0x00,
            0x00, 0x00, //
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x8d, 0x61, 0x01, 0x6b, 0x00, 0x00,
            0x00, 0x00, //
            0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xad, 0x34, 0xca, 0x64, 0xd7, 0x5f,
            0x51, 0x2e, //
            0x73, 0x29, 0xa2, 0x7c, 0x9d, 0x8a, 0xe6, 0x55,
        ];
        v.extend_from_slice(b"zbtexp1/with space@s2");
        v.resize(BEGIN_LEN + 100, 0);
        v
    }

    #[test]
    fn incremental_stream_from_zfs_fuse() {
        let b = parse_begin(&inc12()).unwrap();
        // `zfs get -Hp -o value guid` of @s2 and @s1
        assert_eq!(b.toguid, 3337554177571828909);
        assert_eq!(b.fromguid, 6189787146872826227);
        assert_eq!(b.toname, "zbtexp1/with space@s2");
        assert!(!b.clone && !b.compound);
        assert!(b.needs_base());
    }

    #[test]
    fn full_stream_needs_no_base() {
        let mut v = inc12();
        v[48..56].fill(0);
        assert!(!parse_begin(&v).unwrap().needs_base());
    }

    #[test]
    fn big_endian_sender() {
        let mut v = inc12();
        for range in [0..4, 8..16, 16..24, 40..48, 48..56] {
            v[range].reverse();
        }
        let b = parse_begin(&v).unwrap();
        assert_eq!(b.fromguid, 6189787146872826227);
        assert!(b.needs_base());
    }

    #[test]
    fn not_a_stream() {
        assert_eq!(parse_begin(b"garbage\n"), None);
        assert_eq!(parse_begin(&[0u8; BEGIN_LEN]), None);
        assert_eq!(parse_begin(&inc12()[..100]), None);
    }
}
