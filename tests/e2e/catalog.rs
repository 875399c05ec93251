//! The catalog is a cache: deleted or rebuilt, it gives the same list.

use std::fs;

use crate::harness::{assert_ok, noise, Env};

#[test]
fn catalog_deleted_or_rebuilt_gives_the_same_list() {
    let env = Env::new();
    let ds = env.dataset("d");
    let mnt = env.mountpoint(&ds);
    for i in 0..3 {
        fs::write(mnt.join(format!("f{i}")), noise(500_000, i)).unwrap();
        assert_ok(
            &env.backup(["send", &env.snapshot(&ds, &format!("s{i}")).to_string()]),
            "send",
        );
    }
    let before = env.list();
    assert_eq!(before.len(), 3);
    let before_text = env.backup(["list"]).stdout;

    fs::remove_dir_all(env.tmp.path().join("state")).unwrap();
    assert_eq!(env.list(), before);
    assert_ok(&env.backup(["catalog", "rebuild"]), "catalog rebuild");
    assert_eq!(env.list(), before);
    assert_eq!(env.backup(["list"]).stdout, before_text);
}
