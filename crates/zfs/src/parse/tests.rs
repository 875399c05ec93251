//! Tests of the parsers on captured scripted `zfs` output.

use super::*;

fn ds(s: &str) -> DatasetName {
    DatasetName::parse(s).unwrap()
}

#[test]
fn snapshot_props_from_zfs_get() {
    // $ zfs get -Hp -o name,property,value guid,createtxg,creation zbtexp1/a@r1 'zbtexp1/with space@s1'
    // verified against zfs-fuse 0.7 (zfs sorts by name, whatever the argument order)
    let out = "zbtexp1/a@r1\tguid\t7561939010319940730\n\
               zbtexp1/a@r1\tcreatetxg\t32\n\
               zbtexp1/a@r1\tcreation\t1795252611\n\
               zbtexp1/with space@s1\tguid\t8518595216435437058\n\
               zbtexp1/with space@s1\tcreatetxg\t18\n\
               zbtexp1/with space@s1\tcreation\t1795252611\n";
    let mut snaps = parse_snapshot_props("zfs get", out).unwrap();
    sort_snapshots(&mut snaps);
    assert_eq!(snaps.len(), 2);
    assert_eq!(snaps[0].name.to_string(), "zbtexp1/with space@s1");
    assert_eq!(snaps[0].guid, 8518595216435437058);
    assert_eq!(snaps[0].createtxg, 18);
    assert_eq!(snaps[0].creation, 1795252611);
    assert_eq!(snaps[1].name.to_string(), "zbtexp1/a@r1");
    assert_eq!(snaps[1].guid, 7561939010319940730);
}

#[test]
fn human_numbers_are_refused() {
    // $ zfs list -H -t snapshot -o name,guid,createtxg,creation -r zbtexp1
    // verified against zfs-fuse 0.7: no -p, so guid is printed as "6.56E"
    let out = "zbtexp1/a@r1\t6.56E\t32\tSat Nov 21  9:16 2026\n";
    let err = parse_snapshot_list("zfs list", &ds("zbtexp1/a"), out).unwrap_err();
    assert!(
        err.to_string().contains("guid is not an exact number"),
        "{err}"
    );
    let err = parse_snapshot_props("zfs get", "zbtexp1/a@r1\tguid\t6.56E\n").unwrap_err();
    assert!(matches!(err, ZfsError::Parse { .. }));
}

#[test]
fn incomplete_or_odd_lines_are_refused() {
    let err = parse_snapshot_props("zfs get", "zbtexp1/a@r1\tguid\t1\n").unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    assert!(parse_snapshot_props("zfs get", "zbtexp1/a@r1 guid 1\n").is_err());
    assert!(parse_snapshot_props("zfs get", "zbtexp1/a@r1\tused\t1\n").is_err());
    assert!(parse_snapshot_props("zfs get", "").unwrap().is_empty());
}

#[test]
fn snapshot_names_keep_only_own() {
    // $ zfs list -H -t snapshot -o name -d 1 zbtexp1/a   (verified against zfs-fuse 0.7)
    // -d 1 already excludes children; the filter guards the dialects where it would not.
    let out = "zbtexp1/a@r1\nzbtexp1/a/b@r1\nzbtexp1/a@r2\n";
    let names = parse_snapshot_names("zfs list", &ds("zbtexp1/a"), out).unwrap();
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["zbtexp1/a@r1", "zbtexp1/a@r2"]);
    assert!(parse_snapshot_names("zfs list", &ds("zbtexp1/a"), "")
        .unwrap()
        .is_empty());
}

#[test]
fn openzfs_snapshot_list() {
    // $ zfs list -Hp -t snapshot -o name,guid,createtxg,creation -d 1 'zbtcap303/with space'
    // verified against OpenZFS 2.1.11 (openzfs-vm lane); guids above i64::MAX occur
    let out = "zbtcap303/with space@s1\t589989441944314258\t9\t1795253689\n\
               zbtcap303/with space@s2\t11653662169316602326\t10\t1795253689\n\
               zbtcap303/with space@s3\t3342522280164363969\t11\t1795253690\n";
    let snaps = parse_snapshot_list("zfs list", &ds("zbtcap303/with space"), out).unwrap();
    assert_eq!(snaps.len(), 3);
    assert_eq!(snaps[1].guid, 11653662169316602326);
    assert_eq!(snaps[2].createtxg, 11);
    assert_eq!(snaps[2].creation, 1795253690);

    // A child's line (-d 1 does not print one, but it is never trusted) is
    // dropped, and the order comes from createtxg.
    let out = "tank/with space@b\t222\t20\t1700000100\n\
               tank/with space@a\t111\t10\t1700000000\n\
               tank/with space/child@a\t333\t10\t1700000000\n";
    let mut snaps = parse_snapshot_list("zfs list", &ds("tank/with space"), out).unwrap();
    sort_snapshots(&mut snaps);
    let got: Vec<(String, u64)> = snaps
        .iter()
        .map(|s| (s.name.snap().to_owned(), s.guid))
        .collect();
    assert_eq!(got, [("a".to_owned(), 111), ("b".to_owned(), 222)]);
}

#[test]
fn property_values() {
    // $ zfs get -Hp -o value foo:bar zbtexp1/a/b/c   (verified against zfs-fuse 0.7)
    assert_eq!(parse_value("baz\n").as_deref(), Some("baz"));
    // $ zfs get -Hp -o value foo:baz zbtexp1/a/b/c   (unset user property)
    assert_eq!(parse_value("-\n"), None);
    assert_eq!(
        parse_value("with\ttab and space\n").as_deref(),
        Some("with\ttab and space")
    );
    assert_eq!(parse_value("\n").as_deref(), Some(""));
}

#[test]
fn mountpoints() {
    // $ zfs get -Hp -o property,value mountpoint,mounted zbtexp1/a
    // verified against zfs-fuse 0.7
    let m = parse_mountpoint("zfs get", "mountpoint\t/tmp/zbtexp/mnt/a\nmounted\tyes\n").unwrap();
    assert_eq!(m, Some(PathBuf::from("/tmp/zbtexp/mnt/a")));
    let m = parse_mountpoint(
        "zfs get",
        "mountpoint\t/tmp/zbtexp/mnt/recv one\nmounted\tno\n",
    )
    .unwrap();
    assert_eq!(m, None);
    // after `zfs set mountpoint=none` / `=legacy` (verified against zfs-fuse 0.7)
    assert_eq!(
        parse_mountpoint("zfs get", "mountpoint\tnone\nmounted\tno\n").unwrap(),
        None
    );
    assert_eq!(
        parse_mountpoint("zfs get", "mountpoint\tlegacy\nmounted\tyes\n").unwrap(),
        None
    );
    assert!(parse_mountpoint("zfs get", "mountpoint\t/x\n").is_err());
}
