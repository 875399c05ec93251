//! The file list encoding: round trips, determinism, and refusals with a
//! reason (fixtures from the file list tests).

use super::*;
use crate::filelist::tests::{populate, sample};
use crate::filelist::walk;

#[test]
fn encoding_round_trips_and_is_deterministic() {
    let l = sample();
    let bytes = encode(&l);
    assert_eq!(&bytes[..4], b"BKFL");
    assert_eq!(bytes[4], 1);
    assert_eq!(u64::from_le_bytes(bytes[8..16].try_into().unwrap()), 6);
    assert_eq!(decode(&bytes).unwrap(), l);
    assert_eq!(encode(&l.clone()), bytes);
    assert_eq!(
        decode(&encode(&FileList::default())).unwrap(),
        FileList::default()
    );

    let tmp = tempfile::tempdir().unwrap();
    populate(tmp.path());
    let walked = walk(tmp.path(), None).unwrap();
    assert_eq!(decode(&encode(&walked)).unwrap(), walked);
}

#[test]
fn decoding_refuses_garbage_with_a_reason() {
    let good = encode(&sample());
    for cut in 0..good.len() {
        assert!(decode(&good[..cut]).is_err(), "cut at {cut} accepted");
    }
    let bad = |f: &dyn Fn(&mut Vec<u8>), why: &str| {
        let mut b = good.clone();
        f(&mut b);
        let e = decode(&b).unwrap_err();
        assert!(e.contains(why), "{e}");
    };
    bad(&|b| b[0] = b'X', "magic");
    bad(&|b| b[4] = 2, "version 2");
    bad(&|b| b[6] = 1, "reserved");
    bad(&|b| b.push(0), "trailing");
    bad(&|b| b[8] = 200, "cannot fit");
    // The root entry's kind byte, then its flags: a digest on a directory.
    bad(&|b| b[20] = 9, "unknown kind 9");
    bad(&|b| b[21] = 4, "do not fit");
    bad(&|b| b[21] = 0x80, "unknown flags");
    // Two entries out of order.
    let mut l = sample();
    l.entries.swap(1, 2);
    let e = decode(&encode(&l)).unwrap_err();
    assert!(e.contains("is not after"), "{e}");
    let mut l = sample();
    l.entries[1].mtime_nsec = 1_000_000_000;
    assert!(decode(&encode(&l)).unwrap_err().contains("nanoseconds"));
}

#[test]
fn entries_one_at_a_time_are_what_decode_returns_and_stop_at_the_first_error() {
    let l = sample();
    let bytes = encode(&l);
    let one_by_one: Vec<Entry> = entries(&bytes).unwrap().map(Result::unwrap).collect();
    assert_eq!(one_by_one, l.entries);
    let mut swapped = sample();
    swapped.entries.swap(1, 2);
    let got: Vec<_> = entries(&encode(&swapped)).unwrap().collect();
    assert_eq!(got.len(), 3, "two entries, then the error, then nothing");
    assert!(got[2].as_ref().unwrap_err().contains("is not after"));
    let mut trailing = bytes.clone();
    trailing.push(0);
    let last = entries(&trailing).unwrap().last().unwrap();
    assert!(last.unwrap_err().contains("trailing"));
    assert!(entries(&bytes[..10]).is_err());
}
