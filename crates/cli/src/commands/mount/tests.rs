//! The inode table: names and nesting of datasets and snapshots, `latest`,
//! repeated names, and the inode ranges of loaded manifests.

use std::collections::BTreeMap;

use backup_core::filelist::{Entry, FileList, Kind};
use backup_core::{Id, Manifest, ShipStats};

use super::tree::{Ino, Node, Tree, ROOT};

fn m(ds: &str, snap: &str, txg: u64, host: &str) -> (Id, Manifest) {
    let mut id = [0u8; 32];
    id[0] = u8::try_from(txg).unwrap();
    id[1] = host.len() as u8;
    let m = Manifest {
        version: 1,
        dataset: ds.into(),
        snapshot: snap.into(),
        guid: txg,
        createtxg: txg,
        creation: i64::try_from(txg).unwrap() * 100,
        base: None,
        layout: "records".into(),
        send_flags: vec![],
        stream_len: 0,
        stream_digest: String::new(),
        meta_chunks: vec![],
        data_chunks: vec![],
        stats: ShipStats::default(),
        host: host.into(),
        zfs: "test".into(),
        tool_version: "test".into(),
        shipped_at: 0,
        files: None,
        volume: None,
    };
    (Id(id), m)
}

fn names(t: &Tree, ino: u64) -> Vec<String> {
    match t.fixed(ino) {
        Some(Node::Dir { children, .. }) => children
            .keys()
            .map(|k| String::from_utf8(k.clone()).unwrap())
            .collect(),
        other => panic!("{ino} is not a directory: {other:?}"),
    }
}

fn child(t: &Tree, ino: u64, name: &str) -> u64 {
    match t.fixed(ino) {
        Some(Node::Dir { children, .. }) => children[name.as_bytes()],
        other => panic!("{ino} is not a directory: {other:?}"),
    }
}

fn all() -> Vec<(Id, Manifest)> {
    vec![
        m("tank/www", "s2", 2, "a"),
        m("tank/www", "s1", 1, "a"),
        m("tank/www/logs", "l", 3, "a"),
        m("tank/db", "x", 4, "a"),
    ]
}

#[test]
fn datasets_nest_by_name_and_latest_is_the_newest_by_createtxg() {
    let t = Tree::datasets(&all(), None, 7);
    assert_eq!(names(&t, ROOT), ["tank"]);
    let tank = child(&t, ROOT, "tank");
    assert_eq!(names(&t, tank), ["db", "www"]);
    let www = child(&t, tank, "www");
    assert_eq!(names(&t, www), ["latest", "logs", "s1", "s2"]);
    match t.fixed(child(&t, www, "latest")) {
        Some(Node::Latest { target, time }) => {
            assert_eq!(target, b"s2");
            assert_eq!(*time, 200);
        }
        other => panic!("{other:?}"),
    }
    let s1 = child(&t, www, "s1");
    assert!(matches!(t.fixed(s1), Some(Node::Snap { parent, .. }) if *parent == www));
    assert_eq!(names(&t, child(&t, www, "logs")), ["l", "latest"]);
}

#[test]
fn a_dataset_alone_shows_its_snapshots_at_the_root_and_not_its_children() {
    let t = Tree::datasets(&all(), Some("tank/www"), 7);
    assert_eq!(names(&t, ROOT), ["latest", "s1", "s2"]);
    assert_eq!(t.snaps.len(), 2);
}

#[test]
fn a_repeated_name_gets_a_suffix_and_nothing_is_hidden() {
    let mut snaps = all();
    snaps.push(m("tank/www", "s1", 5, "other-host"));
    snaps.push(m("tank/www", "logs", 6, "a"));
    snaps.push(m("tank/www/logs/deep", "d", 7, "a"));
    let t = Tree::datasets(&snaps, None, 7);
    let www = child(&t, child(&t, ROOT, "tank"), "www");
    assert_eq!(
        names(&t, child(&t, www, "logs~dataset")),
        ["deep", "l", "latest"]
    );
    let short = snaps[4].0.short();
    assert_eq!(
        names(&t, www),
        [
            "latest".to_string(),
            "logs".into(),
            "logs~dataset".into(),
            "s1".into(),
            format!("s1~{short}"),
            "s2".into(),
        ]
    );
}

fn entry(path: &str, kind: Kind) -> Entry {
    Entry {
        path: path.as_bytes().to_vec(),
        kind,
        size: 0,
        mode: 0o755,
        uid: 0,
        gid: 0,
        mtime: 0,
        mtime_nsec: 0,
        ctime: 0,
        ctime_nsec: 0,
        ino: 0,
        target: None,
        rdev: None,
        blake3: None,
    }
}

#[test]
fn a_loaded_manifest_gets_one_inode_per_entry_its_root_being_the_snapshot_s() {
    let (id, man) = m("tank/www", "s1", 1, "a");
    let mut t = Tree::one_snapshot(id, &man);
    let list = FileList {
        entries: vec![
            entry("", Kind::Dir),
            entry("a", Kind::Dir),
            entry("a/b", Kind::File),
            entry("c", Kind::File),
        ],
    };
    t.set_loaded(0, Some(list), String::new());
    assert_eq!(t.resolve(ROOT), Some(Ino::Fixed(0)));
    assert_eq!(t.entry_ino(0, 0), ROOT);
    let a = t.entry_ino(0, 1);
    assert_eq!(t.resolve(a), Some(Ino::Entry { snap: 0, index: 1 }));
    let kids: BTreeMap<_, _> = t
        .entry_children(0, 0)
        .into_iter()
        .map(|(n, ino, _)| (n, ino))
        .collect();
    assert_eq!(
        kids.keys().cloned().collect::<Vec<_>>(),
        [b"a".to_vec(), b"c".to_vec()]
    );
    assert_eq!(kids[b"a".as_slice()], a);
    let b = t.entry_children(0, 1);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].0, b"b");
    assert_eq!(t.entry_parent(0, 2), a);
    assert_eq!(t.entry_parent(0, 1), ROOT);
    assert_eq!(t.resolve(t.entry_ino(0, 3) + 1), None);
}

#[test]
fn a_snapshot_without_a_manifest_holds_its_note_after_the_others_inodes() {
    let mut t = Tree::datasets(&all(), Some("tank/www"), 7);
    t.set_loaded(1, None, "no manifest".into());
    let super::tree::Load::Note { ino, .. } = t.snaps[1].load else {
        panic!("{:?}", t.snaps[1].load);
    };
    assert_eq!(t.resolve(ino), Some(Ino::Note(1)));
    assert_eq!(t.resolve(ino + 1), None);
    t.set_loaded(
        0,
        Some(FileList {
            entries: vec![entry("", Kind::Dir), entry("f", Kind::File)],
        }),
        String::new(),
    );
    assert_eq!(t.entry_ino(0, 1), ino + 2);
    assert_eq!(t.resolve(ino + 2), Some(Ino::Entry { snap: 0, index: 1 }));
}

#[test]
fn the_slow_path_command_quotes_what_a_shell_would_split() {
    use super::fs::shell_quote;
    assert_eq!(shell_quote("etc/nginx/nginx.conf"), "etc/nginx/nginx.conf");
    assert_eq!(shell_quote("dir with space/a b"), "'dir with space/a b'");
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
    assert_eq!(shell_quote("caf\u{fffd}"), "'caf\u{fffd}'");
    assert_eq!(shell_quote(""), "''");
}
