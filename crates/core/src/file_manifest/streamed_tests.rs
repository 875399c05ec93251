//! File lists read chunk by chunk: the same entries and errors as a decode
//! of the whole, for any chunking; a search across lists that share chunks
//! gives what a full scan gives while decoding only the chunks that changed.

use super::read::Decoder;
use super::*;
use crate::backend::{Backend, FileType};
use crate::filelist::tests::{file, list};
use crate::format::file_list::{decode, Entry, Kind};
use crate::test_support::test_repo;

/// A list of `n` entries with paths of varied length, a symlink now and
/// then, and content digests (so records differ in size).
fn varied(n: u32, salt: &str) -> FileList {
    list(
        (0..n)
            .map(|i| {
                let name = format!("d{}/{}{i:05}", i % 7, "x".repeat((i % 13) as usize));
                let mut e = file(&name, format!("{salt}{i}").as_bytes());
                if i % 11 == 0 {
                    e.kind = Kind::Symlink;
                    e.blake3 = None;
                    e.target = Some(b"../somewhere".to_vec());
                    e.size = 12;
                }
                e
            })
            .collect(),
    )
}

/// `bytes` decoded by a [`Decoder`] fed pieces of `step` bytes.
fn decode_in_pieces(bytes: &[u8], step: usize) -> Result<Vec<Entry>, String> {
    let mut d = Decoder::new(bytes.len() as u64);
    let mut out = Vec::new();
    for piece in bytes.chunks(step) {
        d.feed(piece, &mut |e| out.push(e))?;
    }
    d.finish()?;
    Ok(out)
}

#[test]
fn pieces_of_any_size_decode_as_the_whole_and_fail_as_it_fails() {
    let l = varied(300, "a");
    let bytes = encode(&l);
    for step in [1, 2, 7, 16, 61, 4096, bytes.len()] {
        assert_eq!(
            decode_in_pieces(&bytes, step).unwrap(),
            l.entries,
            "step {step}"
        );
    }
    // Truncated, trailing bytes, a short header: errors, as decode's.
    for step in [1, 100, bytes.len()] {
        let cut = &bytes[..bytes.len() - 3];
        let e = decode_in_pieces(cut, step).unwrap_err();
        assert!(e.contains("truncated") && e.contains("299"), "{e}");
        assert!(decode(cut).is_err());
        let mut more = bytes.clone();
        more.extend_from_slice(b"xyz");
        let e = decode_in_pieces(&more, step).unwrap_err();
        assert!(e.contains("3 trailing bytes after 300 entries"), "{e}");
        let e = decode_in_pieces(&bytes[..10], step.min(10)).unwrap_err();
        assert!(e.contains("too short for its header"), "{e}");
    }
    // Two entries swapped: the order is checked across pieces too.
    let mut swapped = l.clone();
    swapped.entries.swap(150, 151);
    let bad = encode(&swapped);
    for step in [1, 33, bad.len()] {
        let e = decode_in_pieces(&bad, step).unwrap_err();
        assert!(e.contains("entry 151") && e.contains("is not after"), "{e}");
    }
    let mut magic = bytes.clone();
    magic[0] ^= 1;
    assert!(decode_in_pieces(&magic, 5)
        .unwrap_err()
        .contains("bad magic"));
}

/// A chunk taken from a memo in a list whose header counts fewer entries:
/// the bytes it carries out past the last counted entry are trailing, as a
/// decode of the chunk finds them.
#[test]
fn a_skipped_chunk_past_the_counted_entries_leaves_no_bytes_unchecked() {
    let l = varied(200, "a");
    let bytes = encode(&l);
    let pieces: Vec<&[u8]> = bytes.chunks(61).collect();
    // The facts of every piece as the whole list decodes them.
    let mut d = Decoder::new(bytes.len() as u64);
    let mut facts = Vec::new();
    let mut counted = Vec::new();
    for p in &pieces {
        let f = d.feed(p, &mut |_| {}).unwrap();
        counted.push(f.n);
        facts.push(f);
    }
    // A piece after the first that ends a record and ends inside another.
    let k = (2..pieces.len())
        .find(|&k| counted[k] > 0 && !facts[k].carry_out.is_empty())
        .unwrap();
    let upto: u64 = counted[..=k].iter().sum();
    // The same bytes up to piece k, with a header counting only the
    // entries that end by then: every piece after the first is skipped.
    let mut short = bytes[..pieces[..=k].iter().map(|p| p.len()).sum::<usize>()].to_vec();
    short[8..16].copy_from_slice(&upto.to_le_bytes());
    let mut d = Decoder::new(short.len() as u64);
    d.feed(&short[..pieces[0].len()], &mut |_| {}).unwrap();
    for f in &facts[1..=k] {
        d.skip(f).unwrap();
    }
    let e = d.finish().unwrap_err();
    assert!(e.contains("trailing bytes"), "{e}");
    // Decoded instead of skipped, the same bytes fail the same way.
    let e = decode_in_pieces(&short, 61).unwrap_err();
    assert!(e.contains("trailing bytes"), "{e}");
}

#[test]
fn streamed_entries_are_the_list_and_damage_is_an_integrity_error() {
    let (backend, mut repo) = test_repo();
    let l = varied(4000, "a");
    let r = store_file_list(&mut repo, &l, "clone", 0.1).unwrap();
    assert!(r.chunks.len() > 5, "{} chunks", r.chunks.len());
    let got: Vec<Entry> = file_list_entries(&repo, &r, "p/d@s")
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(got, l.entries);
    // Stopping early is fine and reads nothing more.
    let first: Vec<_> = file_list_entries(&repo, &r, "p/d@s").take(3).collect();
    assert_eq!(first.len(), 3);

    // A reference whose length or digest is wrong: the error comes last,
    // after every entry, and names the snapshot.
    for damage in [0, 1] {
        let mut wrong = r.clone();
        if damage == 0 {
            wrong.digest = "00".repeat(32);
        } else {
            wrong.len += 1;
        }
        let got: Vec<_> = file_list_entries(&repo, &wrong, "p/d@s").collect();
        let e = got.last().unwrap().as_ref().unwrap_err();
        assert!(e.is_integrity() && e.to_string().contains("p/d@s"), "{e}");
        assert!(got.len() > 1, "{}", got.len());
        assert!(load_file_list(&repo, &wrong, "p/d@s").is_err());
        let mut s = ListSearch::new(|_| true);
        assert!(s
            .matches(&repo, &wrong, "p/d@s")
            .unwrap_err()
            .is_integrity());
    }

    // A flipped byte in a stored chunk: an integrity error, then nothing.
    let (pack, _) = backend.list(FileType::Pack).unwrap().remove(0);
    backend.tamper(FileType::Pack, &pack, |b| b[100] ^= 0x20);
    let got: Vec<_> = file_list_entries(&repo, &r, "p/d@s").collect();
    assert!(got
        .last()
        .unwrap()
        .as_ref()
        .is_err_and(crate::Error::is_integrity));
}

#[test]
fn a_search_across_lists_sharing_chunks_decodes_only_what_changed() {
    let (_backend, mut repo) = test_repo();
    // Five "snapshots": each changes a few entries of the previous one,
    // deletes some, adds some.
    let mut lists = vec![varied(6000, "a")];
    for k in 1..5u32 {
        let mut l = lists.last().unwrap().clone();
        for i in [100 * k, 3000 + k, 5900] {
            let e = &mut l.entries[i as usize];
            e.blake3 = Some(*blake3::hash(&k.to_le_bytes()).as_bytes());
            e.mtime += 1;
        }
        l.entries.remove(2000 + k as usize);
        l.entries.push(file(&format!("zz/new{k}"), b"new"));
        lists.push(l);
    }
    let refs: Vec<_> = lists
        .iter()
        .map(|l| store_file_list(&mut repo, l, "clone", 0.1).unwrap())
        .collect();
    let keep = |e: &Entry| e.path.ends_with(b"7") || e.path.starts_with(b"zz/");
    let mut s = ListSearch::new(keep);
    let mut total = 0;
    for (l, r) in lists.iter().zip(&refs) {
        let want: Vec<Entry> = l.entries.iter().filter(|e| keep(e)).cloned().collect();
        assert!(!want.is_empty());
        assert_eq!(s.matches(&repo, r, "p/d@s").unwrap(), want);
        total += r.chunks.len() as u64;
    }
    let (decoded, skipped) = s.chunks();
    assert_eq!(decoded + skipped, total);
    // The first list is decoded whole; each later one only around its
    // changes (a handful of chunks of the dozens each has).
    assert!(
        decoded < refs[0].chunks.len() as u64 + 4 * 8,
        "decoded {decoded}, skipped {skipped} of {total}"
    );
    assert!(skipped > total / 2, "decoded {decoded}, skipped {skipped}");

    // Searching the same list twice decodes nothing the second time, and
    // a damaged reference leaves the memo as it was.
    let before = s.chunks();
    let mut wrong = refs[4].clone();
    wrong.len -= 1;
    assert!(s.matches(&repo, &wrong, "p/d@s").is_err());
    let want: Vec<Entry> = lists[4]
        .entries
        .iter()
        .filter(|e| keep(e))
        .cloned()
        .collect();
    let after_error = s.chunks();
    assert_eq!(s.matches(&repo, &refs[4], "p/d@s").unwrap(), want);
    // Only the first chunk (where the header is) is decoded again.
    assert_eq!(before, after_error);
    assert_eq!(s.chunks().0, after_error.0 + 1, "{:?}", s.chunks());
}
