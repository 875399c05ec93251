use std::collections::HashMap;

use super::*;
use crate::records::BEGIN_MAGIC;

/// Record headers of a synthetic stream, little-endian.
fn header(ty: u32) -> Vec<u8> {
    let mut h = vec![0u8; RECORD_LEN];
    h[..4].copy_from_slice(&ty.to_le_bytes());
    h
}

fn put64(h: &mut [u8], at: usize, v: u64) {
    h[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn begin(fromguid: u64) -> Vec<u8> {
    let mut h = header(0);
    put64(&mut h, U, BEGIN_MAGIC);
    put64(&mut h, U + 8, 1); // drr_versioninfo: a substream
    put64(&mut h, U + 40, fromguid);
    h
}

fn object(obj: u64, ty: u32) -> Vec<u8> {
    let mut h = header(1);
    put64(&mut h, U, obj);
    h[U + 8..U + 12].copy_from_slice(&ty.to_le_bytes());
    h
}

fn write(obj: u64, off: u64, data: &[u8]) -> Vec<u8> {
    let mut h = header(3);
    put64(&mut h, U, obj);
    put64(&mut h, U + 16, off);
    put64(&mut h, U + 24, data.len() as u64);
    h.extend_from_slice(data);
    h
}

fn free(obj: u64, off: u64) -> Vec<u8> {
    let mut h = header(4);
    put64(&mut h, U, obj);
    put64(&mut h, U + 8, off);
    put64(&mut h, U + 16, u64::MAX);
    h
}

fn end() -> Vec<u8> {
    header(5)
}

fn digests(stream: &[u8], want: &[(u64, u64)], piece: usize) -> HashMap<u64, [u8; 32]> {
    let mut d = StreamDigests::for_files(want.iter().copied().collect());
    for p in stream.chunks(piece) {
        d.feed(p);
    }
    let (done, why) = d.finish();
    assert_eq!(why, None);
    done
}

fn hash(b: &[u8]) -> [u8; 32] {
    *blake3::hash(b).as_bytes()
}

fn block(seed: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

#[test]
fn writes_holes_and_the_tail_past_the_size_make_the_file() {
    let (a, b) = (block(1, 4096), block(2, 4096));
    // As streams have them: each DRR_OBJECT followed by a free past its
    // first block, the writes after them all.
    let mut s = begin(0);
    s.extend(object(5, 19));
    s.extend(free(5, 4096));
    s.extend(object(6, 19));
    s.extend(free(6, 4096));
    s.extend(write(5, 0, &a));
    // A hole of 8 KiB, then a last block that runs 1000 bytes past the size.
    s.extend(write(5, 12288, &b));
    s.extend(free(5, 16384));
    s.extend(write(6, 0, &a));
    s.extend(end());
    let size5 = 12288 + 4096 - 1000;
    let mut expect = a.clone();
    expect.resize(12288, 0);
    expect.extend_from_slice(&b[..4096 - 1000]);
    for piece in [1, 7, 312, 1 << 20] {
        let d = digests(&s, &[(5, size5), (6, 10_000)], piece);
        assert_eq!(d[&5], hash(&expect), "piece {piece}");
        // Object 6: 4096 bytes written, zeros to its size.
        let mut six = a.clone();
        six.resize(10_000, 0);
        assert_eq!(d[&6], hash(&six), "piece {piece}");
    }
}

#[test]
fn a_file_without_writes_is_zeros_but_one_without_an_object_record_is_unknown() {
    let mut s = begin(0);
    s.extend(object(7, 19));
    s.extend(object(8, 19));
    s.extend(end());
    let d = digests(&s, &[(7, 100_000), (8, 0), (9, 10)], 4096);
    assert_eq!(d[&7], hash(&vec![0; 100_000]));
    assert_eq!(d[&8], hash(b""));
    assert!(!d.contains_key(&9), "no DRR_OBJECT for 9");
}

#[test]
fn out_of_order_compressed_and_foreign_records_give_the_file_up() {
    let a = block(3, 512);
    let mut s = begin(0);
    for o in [10, 11, 12, 13, 14] {
        s.extend(object(o, 19));
    }
    s.extend(object(15, 20)); // a directory's ZAP, not a file
                              // 10: written, then another object, then 10 again (out of order).
    s.extend(write(10, 0, &a));
    s.extend(write(11, 0, &a));
    s.extend(write(10, 512, &a));
    // 12: a write before what is hashed.
    s.extend(write(12, 512, &a));
    s.extend(write(12, 0, &a));
    // 13: compressed.
    let mut c = write(13, 0, &a);
    c[U + 42] = 2;
    put64(&mut c, U + 88, 512);
    s.extend(c);
    // 14: embedded.
    let mut e = header(8);
    put64(&mut e, U, 14);
    s.extend(e);
    s.extend(write(15, 0, &a));
    s.extend(end());
    let want: Vec<(u64, u64)> = (10..=15).map(|o| (o, 1024)).collect();
    let d = digests(&s, &want, 100);
    let mut eleven = a.clone();
    eleven.resize(1024, 0);
    assert_eq!(d.keys().copied().collect::<Vec<_>>(), [11]);
    assert_eq!(d[&11], hash(&eleven));
}

#[test]
fn incremental_and_truncated_streams_give_nothing() {
    let a = block(4, 512);
    let mut s = begin(42);
    s.extend(object(5, 19));
    s.extend(write(5, 0, &a));
    s.extend(end());
    let mut d = StreamDigests::for_files([(5, 512)].into_iter().collect());
    d.feed(&s);
    let (done, why) = d.finish();
    assert!(done.is_empty());
    assert!(why.unwrap().contains("incremental"));

    let mut s = begin(0);
    s.extend(object(5, 19));
    s.extend(write(5, 0, &a));
    let mut d = StreamDigests::for_files([(5, 512)].into_iter().collect());
    d.feed(&s[..s.len() - 10]);
    let (done, why) = d.finish();
    assert!(done.is_empty());
    assert!(why.unwrap().contains("ended inside a record"));
}

#[test]
fn objects_not_wanted_cost_no_hashing() {
    let a = block(5, 65536);
    // As streams have them: each DRR_OBJECT followed by a free past its
    // first block, the writes after them all.
    let mut s = begin(0);
    s.extend(object(5, 19));
    s.extend(free(5, 4096));
    s.extend(object(6, 19));
    s.extend(free(6, 4096));
    s.extend(write(5, 0, &a));
    s.extend(write(6, 0, &a));
    s.extend(end());
    let mut d = StreamDigests::for_files([(6, 65536)].into_iter().collect());
    d.feed(&s);
    assert_eq!(d.bytes_hashed(), 65536);
    assert_eq!(d.finish().0[&6], hash(&a));
}

#[test]
fn a_free_into_written_data_gives_the_file_up_one_past_it_does_not() {
    let a = block(6, 4096);
    let mut s = begin(0);
    s.extend(object(5, 19));
    s.extend(object(6, 19));
    s.extend(object(7, 19));
    s.extend(write(5, 0, &a));
    s.extend(free(5, 100));
    s.extend(write(6, 0, &a));
    s.extend(free(6, 4096));
    s.extend(write(7, 0, &a));
    // 6 is finished: a free below its size reaches into it.
    s.extend(free(6, 2000));
    s.extend(free(7, 4096));
    s.extend(end());
    let d = digests(&s, &[(5, 4096), (6, 4096), (7, 4096)], 512);
    assert_eq!(d.keys().copied().collect::<Vec<_>>(), [7]);
    assert_eq!(d[&7], hash(&a));
}
