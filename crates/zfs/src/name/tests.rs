//! Tests of dataset and snapshot name validation.

use super::*;

#[test]
fn dataset_accepts_zfs_charset_and_spaces() {
    for ok in [
        "tank",
        "tank/home",
        "tank/with space/x",
        "tank/ok-_.:x",
        "t/ leading and trailing ",
        "a/-dash-first",
    ] {
        let name = DatasetName::parse(ok).unwrap();
        assert_eq!(name.as_str(), ok);
        assert_eq!(name.to_string(), ok);
        assert_eq!(ok.parse::<DatasetName>().unwrap(), name);
    }
}

#[test]
fn dataset_rejects_with_the_input_named() {
    let cases: &[(&str, &str)] = &[
        ("", "empty"),
        ("tank//x", "empty component"),
        ("tank/", "empty component"),
        ("/tank", "empty component"),
        ("tank/x@snap", "'@'"),
        ("tank/x#book", "'#'"),
        ("tank/%x", "'%'"),
        ("tank/é", "'é'"),
        ("tank/a\tb", "'\\t'"),
        ("tank/..", "refers to itself"),
        ("tank/./x", "refers to itself"),
        ("-o", "begin with a letter"),
        ("1pool/x", "begin with a letter"),
    ];
    for (input, needle) in cases {
        let err = DatasetName::parse(input).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(needle), "{input:?}: {msg}");
        assert!(msg.contains(&format!("{input:?}")), "{input:?}: {msg}");
    }
}

#[test]
fn dataset_length_limit_is_255() {
    let ok = format!("t/{}", "x".repeat(253));
    assert_eq!(ok.len(), 255);
    DatasetName::parse(&ok).unwrap();
    let long = format!("t/{}", "x".repeat(254));
    assert!(matches!(
        DatasetName::parse(&long),
        Err(NameError::TooLong { len: 256, .. })
    ));
}

#[test]
fn dataset_pool_parent_child() {
    let ds = DatasetName::parse("tank/a b/c").unwrap();
    assert_eq!(ds.pool(), "tank");
    assert_eq!(ds.parent().unwrap().as_str(), "tank/a b");
    assert_eq!(ds.parent().unwrap().parent().unwrap().as_str(), "tank");
    assert_eq!(DatasetName::parse("tank").unwrap().parent(), None);
    assert_eq!(DatasetName::parse("tank").unwrap().pool(), "tank");
    assert_eq!(ds.child("d").unwrap().as_str(), "tank/a b/c/d");
    assert_eq!(ds.child("d/e").unwrap().as_str(), "tank/a b/c/d/e");
    assert!(ds.child("").is_err());
    assert!(ds.child("x@y").is_err());
}

#[test]
fn dataset_contains() {
    let a = DatasetName::parse("tank/a").unwrap();
    assert!(a.contains(&a));
    assert!(a.contains(&DatasetName::parse("tank/a/b").unwrap()));
    assert!(!a.contains(&DatasetName::parse("tank/ab").unwrap()));
    assert!(!a.contains(&DatasetName::parse("tank").unwrap()));
}

#[test]
fn snapshot_parse_and_display() {
    let s = SnapshotName::parse("tank/with space@auto 2024-01-01").unwrap();
    assert_eq!(s.dataset().as_str(), "tank/with space");
    assert_eq!(s.snap(), "auto 2024-01-01");
    assert_eq!(s.to_string(), "tank/with space@auto 2024-01-01");
    assert_eq!(s, "tank/with space@auto 2024-01-01".parse().unwrap());
    let n = SnapshotName::new(DatasetName::parse("tank").unwrap(), "x").unwrap();
    assert_eq!(n.to_string(), "tank@x");
}

#[test]
fn snapshot_rejects() {
    for bad in [
        "tank",
        "tank@",
        "@x",
        "tank@a@b",
        "tank@a/b",
        "tank@a#b",
        "tank//x@s",
        "9tank@s",
    ] {
        let err = SnapshotName::parse(bad).unwrap_err();
        assert!(
            err.to_string().contains(&format!("{bad:?}")),
            "{bad}: {err}"
        );
    }
    let ds = DatasetName::parse("tank").unwrap();
    assert!(SnapshotName::new(ds.clone(), "").is_err());
    assert!(SnapshotName::new(ds.clone(), "a@b").is_err());
    assert!(SnapshotName::new(ds, &"s".repeat(251)).is_err());
}

#[test]
fn snapshot_ordering_is_by_dataset_then_snap() {
    let mut v: Vec<SnapshotName> = ["b@1", "a@2", "a@1"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    v.sort();
    let names: Vec<String> = v.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["a@1", "a@2", "b@1"]);
}
