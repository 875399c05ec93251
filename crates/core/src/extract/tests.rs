use std::collections::HashSet;

use super::{map_chain, Plan};
use crate::records::RECORD_LEN;
use crate::test_support::{pseudo_random, ship_test_stream, test_repo};
use crate::Repository;

const U: usize = 8;

/// A send stream built record by record.
struct Stream(Vec<u8>);

impl Stream {
    fn begin(guid: u64) -> Stream {
        let mut s = Stream(Vec::new());
        s.rec(0, |r| {
            r[U..U + 8].copy_from_slice(&0x2F5B_ACBACu64.to_le_bytes());
            r[U + 8..U + 16].copy_from_slice(&(1u64 | (4 << 2)).to_le_bytes());
            r[U + 24..U + 32].copy_from_slice(&guid.to_le_bytes());
        });
        s
    }

    fn rec(&mut self, ty: u32, f: impl FnOnce(&mut [u8])) {
        let mut r = vec![0u8; RECORD_LEN];
        r[..4].copy_from_slice(&ty.to_le_bytes());
        f(&mut r);
        self.0.extend(r);
    }

    fn object(&mut self, obj: u64, blksz: u32) -> &mut Self {
        self.rec(1, |r| {
            r[U..U + 8].copy_from_slice(&obj.to_le_bytes());
            r[U + 8..U + 12].copy_from_slice(&19u32.to_le_bytes());
            r[U + 16..U + 20].copy_from_slice(&blksz.to_le_bytes());
            r[U + 20..U + 24].copy_from_slice(&10u32.to_le_bytes());
        });
        self.0.extend([9u8; 16]); // a bonus of 10 bytes, rounded up to 16
        self
    }

    fn write(&mut self, obj: u64, off: u64, data: &[u8]) -> &mut Self {
        self.rec(3, |r| {
            r[U..U + 8].copy_from_slice(&obj.to_le_bytes());
            r[U + 16..U + 24].copy_from_slice(&off.to_le_bytes());
            r[U + 24..U + 32].copy_from_slice(&(data.len() as u64).to_le_bytes());
        });
        self.0.extend_from_slice(data);
        self
    }

    fn compressed_write(&mut self, obj: u64, data: &[u8]) -> &mut Self {
        self.rec(3, |r| {
            r[U..U + 8].copy_from_slice(&obj.to_le_bytes());
            r[U + 24..U + 32].copy_from_slice(&(4 * data.len() as u64).to_le_bytes());
            r[U + 42] = 15;
            r[U + 88..U + 96].copy_from_slice(&(data.len() as u64).to_le_bytes());
        });
        self.0.extend_from_slice(data);
        self
    }

    fn free(&mut self, obj: u64, off: u64, len: u64) -> &mut Self {
        self.rec(4, |r| {
            r[U..U + 8].copy_from_slice(&obj.to_le_bytes());
            r[U + 8..U + 16].copy_from_slice(&off.to_le_bytes());
            r[U + 16..U + 24].copy_from_slice(&len.to_le_bytes());
        });
        self
    }

    fn free_objects(&mut self, first: u64, n: u64) -> &mut Self {
        self.rec(2, |r| {
            r[U..U + 8].copy_from_slice(&first.to_le_bytes());
            r[U + 8..U + 16].copy_from_slice(&n.to_le_bytes());
        });
        self
    }

    fn end(&mut self) -> Vec<u8> {
        self.rec(5, |_| {});
        std::mem::take(&mut self.0)
    }
}

/// Ships `streams` as a chain (guids 1, 2, …) and rebuilds `object` of
/// `size` bytes, or the reason it cannot.
fn rebuild(streams: &[Vec<u8>], object: u64, size: u64) -> Result<(Vec<u8>, u64), String> {
    let (_, mut repo) = test_repo();
    let mut chain = Vec::new();
    for (i, s) in streams.iter().enumerate() {
        let guid = i as u64 + 1;
        let base = (i > 0).then_some(i as u64);
        let id = ship_test_stream(&mut repo, s, &format!("s{guid}"), guid, base);
        chain.push(repo.read_manifest(&id).unwrap());
    }
    extract(&repo, &chain, object, size)
}

fn extract(
    repo: &Repository,
    chain: &[crate::Manifest],
    object: u64,
    size: u64,
) -> Result<(Vec<u8>, u64), String> {
    let map = map_chain(repo, chain, &HashSet::from([object])).unwrap();
    let pieces = match map.plan(object, size) {
        Plan::Pieces(p) => p,
        Plan::Unsupported(why) => return Err(why),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let f = std::fs::File::create(&path).unwrap();
    let x = map.extract(repo, &pieces, size, &f, "f").unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(x.blake3, *blake3::hash(&bytes).as_bytes());
    // Any range alone, into a sparse file of the size, is those bytes, and
    // fetches no more than the whole.
    let third = size / 3;
    for (start, end) in [(0, size), (0, 1), (third, 2 * third + 1), (size / 2, size)] {
        let path = dir.path().join(format!("r{start}-{end}"));
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(size).unwrap();
        let r = map
            .extract_range(repo, &pieces, start, end, &f, "f")
            .unwrap();
        let got = std::fs::read(&path).unwrap();
        let (s, e) = (start as usize, end as usize);
        assert_eq!(got[s..e], bytes[s..e], "{start}..{end}");
        assert_eq!(r.blake3, *blake3::hash(&bytes[s..e]).as_bytes());
        assert!(r.fetched <= x.fetched);
    }
    Ok((bytes, x.fetched))
}

#[test]
fn a_file_changed_along_the_chain_comes_back_as_the_last_stream_left_it() {
    let b = 4096usize;
    let v1 = pseudo_random(3 * b, 11);
    let full = Stream::begin(1)
        .object(5, b as u32)
        .write(5, 0, &v1[..b])
        .write(5, b as u64, &v1[b..2 * b])
        .write(5, 2 * b as u64, &v1[2 * b..])
        .object(6, b as u32)
        .write(6, 0, &pseudo_random(b, 13))
        .end();
    // The middle block rewritten, then the file cut to 1.5 blocks.
    let mid = pseudo_random(b, 17);
    let inc1 = Stream::begin(2)
        .object(5, b as u32)
        .write(5, b as u64, &mid)
        .end();
    let inc2 = Stream::begin(3)
        .object(5, b as u32)
        .free(5, 2 * b as u64, u64::MAX)
        .end();
    let (got, _) = rebuild(&[full.clone(), inc1.clone()], 5, 3 * b as u64).unwrap();
    let mut want = v1.clone();
    want[b..2 * b].copy_from_slice(&mid);
    assert_eq!(got, want);
    let (got, _) = rebuild(&[full, inc1, inc2], 5, (b + b / 2) as u64).unwrap();
    assert_eq!(got, want[..b + b / 2]);
}

#[test]
fn holes_read_as_zeros_and_an_object_freed_and_reused_starts_empty() {
    let b = 4096usize;
    let a = pseudo_random(b, 21);
    // Sparse: a block at 0 and one at 10 blocks; the size is 12 blocks.
    let full = Stream::begin(1)
        .object(7, b as u32)
        .write(7, 0, &a)
        .write(7, 10 * b as u64, &a)
        .end();
    let (got, _) = rebuild(std::slice::from_ref(&full), 7, 12 * b as u64).unwrap();
    let mut want = vec![0u8; 12 * b];
    want[..b].copy_from_slice(&a);
    want[10 * b..11 * b].copy_from_slice(&a);
    assert_eq!(got, want);
    // Object 7 freed and reallocated with another block size: only the new
    // object's block remains.
    let c = pseudo_random(2 * b, 23);
    let inc = Stream::begin(2)
        .free_objects(7, 1)
        .object(7, 2 * b as u32)
        .write(7, 0, &c)
        .end();
    let (got, _) = rebuild(&[full.clone(), inc], 7, 2 * b as u64).unwrap();
    assert_eq!(got, c);
    // The same block size without FREEOBJECTS keeps the old blocks.
    let inc = Stream::begin(2)
        .object(7, b as u32)
        .write(7, 0, &c[..b])
        .end();
    let (got, _) = rebuild(&[full, inc], 7, 11 * b as u64).unwrap();
    assert_eq!(&got[..b], &c[..b]);
    assert_eq!(&got[10 * b..], &a[..]);
}

#[test]
fn compressed_blocks_and_unknown_objects_are_left_to_the_slow_path() {
    let full = Stream::begin(1)
        .object(5, 4096)
        .compressed_write(5, &[1u8; 100])
        .end();
    let why = rebuild(std::slice::from_ref(&full), 5, 400).unwrap_err();
    assert!(why.contains("compressed"), "{why}");
    let why = rebuild(&[full], 9, 400).unwrap_err();
    assert!(why.contains("object 9 is not in the streams"), "{why}");
}

#[test]
fn only_the_chunks_holding_the_file_are_fetched() {
    // 64 blocks of 64 KiB in object 5, one block in object 6.
    let b = 64 * 1024;
    let mut s = Stream::begin(1);
    s.object(5, b as u32);
    for i in 0..64u64 {
        s.write(5, i * b as u64, &pseudo_random(b, 100 + i));
    }
    s.object(6, b as u32).write(6, 0, &pseudo_random(b, 7));
    let full = s.end();
    let (got, fetched) = rebuild(std::slice::from_ref(&full), 6, b as u64).unwrap();
    assert_eq!(got, pseudo_random(b, 7));
    assert!(fetched < 3 * b as u64 + 64 * 1024, "fetched {fetched}");

    // One block of the middle of object 5, read alone: its chunks only.
    let (_, mut repo) = test_repo();
    let id = ship_test_stream(&mut repo, &full, "s1", 1, None);
    let chain = [repo.read_manifest(&id).unwrap()];
    let map = map_chain(&repo, &chain, &HashSet::from([5])).unwrap();
    let Plan::Pieces(pieces) = map.plan(5, 64 * b as u64) else {
        panic!("object 5 has pieces")
    };
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(dir.path().join("f"))
        .unwrap();
    f.set_len(64 * b as u64).unwrap();
    let at = 40 * b as u64 + 100;
    let r = map
        .extract_range(&repo, &pieces, at, at + 4096, &f, "f")
        .unwrap();
    assert!(
        r.fetched < 3 * b as u64 + 64 * 1024,
        "fetched {}",
        r.fetched
    );
    let mut got = vec![0u8; 4096];
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut got, at).unwrap();
    assert_eq!(got, pseudo_random(b, 140)[100..4196]);
}
