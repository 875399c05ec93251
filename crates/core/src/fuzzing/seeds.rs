//! The seed corpus of the fuzz targets, made by the real encoders: small
//! objects of every kind, so that a fuzzer starts from valid structure.
//! `fuzz/seeds/<target>/` holds them; the ignored test
//! `fuzzing::tests::write_seeds` writes them again (the bytes change each
//! time: sealing takes a random nonce).

use super::{keys, MASTER, PASSPHRASE, REPOSITORY, SLOT_COSTS};
use crate::crypto::{Keys, ObjectType};
use crate::format::config::{self, ConfigBody};
use crate::format::file_list::{self, Entry, FileList, FileListRef, Kind, VolumeDigest};
use crate::format::index::{self, PackBlobs};
use crate::format::manifest::{self, BaseRef, Manifest, ShipStats};
use crate::format::{blob, pack};
use crate::id::Id;
use crate::keyslot::KeySlot;
use crate::records;

/// Every seed: (target, file name, bytes).
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let k = keys();
    let mut out = Vec::new();
    let mut add = |target: &'static str, name: &str, bytes: Vec<u8>| {
        out.push((target, name.to_string(), bytes));
    };

    let chunks: [&[u8]; 2] = [&[b'a'; 300], b"0123456789abcdef-not-compressible"];
    for (name, data) in ["compressed", "stored"].into_iter().zip(chunks) {
        let b = blob::encode(k, k.chunk_id(data), data, 3);
        let header = &b[..blob::HEADER_LEN];
        let payload = k
            .open(ObjectType::Blob, header, &b[blob::HEADER_LEN..])
            .expect("a fresh blob opens");
        add("blob_opened", name, [header, &payload].concat());
        add("blob", name, b);
    }

    let (one, one_entries) = pack_of(k, &chunks);
    let (empty, _) = pack_of(k, &[]);
    for (name, p) in [("two-blobs", &one), ("empty", &empty)] {
        add("pack", name, p.clone());
        add("pack_trailer", name, opened_trailer(k, p));
    }

    let segment = vec![
        PackBlobs {
            pack: Id::of_bytes(&one),
            entries: one_entries,
        },
        PackBlobs {
            pack: Id::of_bytes(&empty),
            entries: vec![],
        },
    ];
    let sealed = index::encode_segment(k, &segment);
    let z = k.open(ObjectType::Index, &[], &sealed).expect("opens");
    let plain = zstd::stream::decode_all(z.as_slice()).expect("decompresses");
    add("index_segment", "two-packs", sealed);
    add("index_segment_opened", "zstd", [&[0][..], &z].concat());
    add("index_segment_opened", "plain", [&[1][..], &plain].concat());

    let list = sample_list();
    let m = sample_manifest(&list);
    let sealed = manifest::encode(k, &m);
    let z = k.open(ObjectType::Manifest, &[], &sealed).expect("opens");
    add("manifest", "incremental", sealed);
    add("manifest_opened", "zstd", [&[0][..], &z].concat());
    let json = serde_json::to_vec(&m).expect("serialises");
    add("manifest_opened", "json", [&[1][..], &json].concat());

    add("file_list", "tree", file_list::encode(&list));
    add(
        "file_list",
        "empty",
        file_list::encode(&FileList::default()),
    );

    let mut slot = KeySlot::wrap(
        &Keys::from_master(MASTER),
        &REPOSITORY,
        PASSPHRASE,
        SLOT_COSTS,
    )
    .expect("wraps");
    slot.created = "2026-12-01T00:00:00Z".into();
    slot.hostname = "host".into();
    add("key_slot", "cheap", slot.to_bytes());

    let body = ConfigBody {
        created: "2026-12-01T00:00:00Z".into(),
        ..ConfigBody::default()
    };
    add("config", "default", config::encode(k, &REPOSITORY, &body));
    add(
        "config_body",
        "default",
        serde_json::to_vec(&body).expect("serialises"),
    );
    add("records", "stream", send_stream());
    out
}

/// A small send stream: BEGIN, OBJECT with an 8-byte bonus buffer, WRITE of
/// 64 bytes, END (the record types and offsets `records::classify` reads).
fn send_stream() -> Vec<u8> {
    let record = |ty: u32, f: &dyn Fn(&mut [u8])| {
        let mut r = vec![0u8; records::RECORD_LEN];
        r[..4].copy_from_slice(&ty.to_le_bytes());
        f(&mut r);
        r
    };
    let mut s = record(0, &|r| {
        r[8..16].copy_from_slice(&0x2F5B_ACBAC_u64.to_le_bytes());
    });
    s.extend(record(1, &|r| {
        r[28..32].copy_from_slice(&8u32.to_le_bytes());
    }));
    s.extend([7u8; 8]);
    s.extend(record(3, &|r| {
        r[32..40].copy_from_slice(&64u64.to_le_bytes());
    }));
    s.extend([0xab; 64]);
    s.extend(record(2, &|_| {}));
    [&[63][..], &s].concat()
}

/// A pack of `chunks` and its entries.
fn pack_of(k: &Keys, chunks: &[&[u8]]) -> (Vec<u8>, Vec<pack::Entry>) {
    let mut w = pack::PackWriter::new();
    for data in chunks {
        let id = k.chunk_id(data);
        w.add(id, &blob::encode(k, id, data, 3), data.len() as u32);
    }
    let (_, bytes, entries) = w.finish(k);
    (bytes, entries)
}

/// A pack target's input: where the blobs end (u64 LE), the trailer opened.
fn opened_trailer(k: &Keys, p: &[u8]) -> Vec<u8> {
    let footer = &p[p.len() - pack::FOOTER_LEN..];
    let tlen = pack::footer_trailer_len(footer).expect("a fresh footer") as usize;
    let start = p.len() - pack::FOOTER_LEN - tlen;
    let t = k
        .open(
            ObjectType::PackTrailer,
            &[],
            &p[start..p.len() - pack::FOOTER_LEN],
        )
        .expect("a fresh trailer opens");
    [&(start as u64).to_le_bytes()[..], &t].concat()
}

fn entry(path: &[u8], kind: Kind) -> Entry {
    Entry {
        path: path.to_vec(),
        kind,
        size: 0,
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 1_764_547_200,
        mtime_nsec: 5,
        ctime: 1_764_547_200,
        ctime_nsec: 7,
        ino: 3,
        target: None,
        rdev: None,
        blake3: None,
    }
}

/// A small tree with one entry of each kind that has optional fields.
fn sample_list() -> FileList {
    let file = Entry {
        size: 4,
        blake3: Some(*blake3::hash(b"four").as_bytes()),
        ..entry(b"a/file", Kind::File)
    };
    let link = Entry {
        size: 4,
        target: Some(b"file".to_vec()),
        ..entry(b"a/link", Kind::Symlink)
    };
    let dev = Entry {
        rdev: Some(0x0801),
        ..entry(b"dev", Kind::Block)
    };
    FileList {
        entries: vec![
            entry(b"", Kind::Dir),
            entry(b"a", Kind::Dir),
            file,
            link,
            dev,
            entry(b"fifo", Kind::Fifo),
        ],
    }
}

/// An incremental manifest with chunks in both lanes and a file list.
fn sample_manifest(list: &FileList) -> Manifest {
    let encoded = file_list::encode(list);
    Manifest {
        version: manifest::VERSION,
        dataset: "tank/home".into(),
        snapshot: "s2".into(),
        guid: 2,
        createtxg: 20,
        creation: 1_764_547_200,
        base: Some(BaseRef {
            guid: 1,
            snapshot: "tank/home@s1".into(),
        }),
        layout: manifest::LAYOUT_RECORDS.into(),
        send_flags: vec!["-L".into(), "-c".into()],
        stream_len: 1234,
        stream_digest: blake3::hash(b"stream").to_hex().to_string(),
        meta_chunks: vec![Id([1; 32])],
        data_chunks: vec![Id([2; 32]), Id([3; 32])],
        stats: ShipStats {
            chunks: 3,
            new_chunks: 1,
            new_raw_bytes: 1000,
            new_stored_bytes: 600,
            seconds: 0.5,
        },
        host: "host".into(),
        zfs: "OpenZFS 2.1.11-1".into(),
        tool_version: "0.1.0".into(),
        shipped_at: 1_764_547_300,
        files: Some(FileListRef {
            chunks: vec![Id([4; 32])],
            len: encoded.len() as u64,
            digest: blake3::hash(&encoded).to_hex().to_string(),
            entries: list.entries.len() as u64,
            bytes: list.file_bytes(),
            view: "snapdir".into(),
            seconds: 0.25,
        }),
        volume: Some(VolumeDigest {
            blake3: blake3::hash(b"").to_hex().to_string(),
            size: 0,
        }),
    }
}
