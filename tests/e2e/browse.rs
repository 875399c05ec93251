//! `ls`, `find` and `diff` from file manifests: no restore, no ZFS.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::harness::{assert_ok, stderr, Env};

fn out_text(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Ships s1, s2 (nginx.conf changed, hosts chmod-ed, new added) and s3
/// (nginx.conf deleted), and s4 without a file manifest.
fn three_snapshots(env: &Env) -> backup_zfs::DatasetName {
    let ds = env.dataset("www");
    let root = env.mountpoint(&ds);
    fs::create_dir_all(root.join("etc/nginx")).unwrap();
    fs::write(root.join("etc/nginx/nginx.conf"), "worker_processes 1;\n").unwrap();
    fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n").unwrap();
    fs::create_dir(root.join("dir with space")).unwrap();
    fs::write(root.join("dir with space/a b.txt"), "x").unwrap();
    let s1 = env.snapshot(&ds, "s1");
    assert_ok(&env.backup(["send", &s1.to_string()]), "s1");
    fs::write(root.join("etc/nginx/nginx.conf"), "worker_processes 4;\n").unwrap();
    fs::set_permissions(root.join("etc/hosts"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(root.join("new"), "new").unwrap();
    let s2 = env.snapshot(&ds, "s2");
    assert_ok(&env.backup(["send", &s2.to_string()]), "s2");
    fs::remove_file(root.join("etc/nginx/nginx.conf")).unwrap();
    let s3 = env.snapshot(&ds, "s3");
    assert_ok(&env.backup(["send", &s3.to_string()]), "s3");
    let s4 = env.snapshot(&ds, "s4");
    assert_ok(
        &env.backup(["send", &s4.to_string(), "--no-file-manifest"]),
        "s4",
    );
    ds
}

#[test]
fn ls_find_and_diff_answer_from_the_manifests() {
    let env = Env::new();
    let ds = three_snapshots(&env);

    let out = env.backup(["ls", &format!("{ds}@s1")]);
    assert_ok(&out, "ls");
    let text = out_text(&out);
    let names: Vec<&str> = text.lines().collect();
    assert_eq!(names, ["dir with space/", "etc/"], "{text}");
    let out = env.backup(["ls", &format!("{ds}@s2"), "etc", "--long"]);
    assert_ok(&out, "ls --long");
    let text = out_text(&out);
    assert!(
        text.contains("-rw-------") && text.contains("etc/hosts"),
        "{text}"
    );
    assert!(
        text.contains("drwx") && text.contains("etc/nginx/"),
        "{text}"
    );
    let out = env.backup(["ls", &format!("{ds}@s1"), "/", "--recursive", "--json"]);
    assert_ok(&out, "ls -R --json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let conf = v
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "etc/nginx/nginx.conf")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(conf["size"], 20);
    assert_eq!(conf["type"], "file");
    let out = env.backup(["ls", &format!("{ds}@s1"), "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // DATASET@latest is the newest: s4, which has no manifest.
    let out = env.backup(["ls", &format!("{ds}@latest")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("@s4") && stderr(&out).contains("no file manifest"),
        "{}",
        stderr(&out)
    );

    let out = env.backup(["diff", &format!("{ds}@s1"), &format!("{ds}@s2")]);
    assert_ok(&out, "diff");
    let text = out_text(&out);
    let conf = text
        .lines()
        .find(|l| l.starts_with("M\tetc/nginx/nginx.conf\t("))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(conf.contains("content"), "{text}");
    assert!(text.contains("m\tetc/hosts\t(mode)"), "{text}");
    assert!(text.contains("A\tnew"), "{text}");
    let out = env.backup([
        "diff",
        &format!("{ds}@s2"),
        &format!("{ds}@s3"),
        "etc",
        "--json",
    ]);
    assert_ok(&out, "diff --json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|c| c["path"] == "etc/nginx/nginx.conf" && c["status"] == "removed"),
        "{v}"
    );

    let out = env.backup(["find", "nginx.conf"]);
    assert_ok(&out, "find");
    let text = out_text(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("@s1") && lines[0].contains("added"),
        "{text}"
    );
    assert!(
        lines[1].contains("@s2") && lines[1].contains("modified (") && lines[1].contains("content"),
        "{text}"
    );
    assert!(
        lines[2].contains("@s3") && lines[2].contains("deleted"),
        "{text}"
    );
    assert!(stderr(&out).contains("@s4"), "the unsearched one is named");
    let out = env.backup(["find", "etc/**", "--json"]);
    assert_ok(&out, "find --json");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["entry"]["path"] == "etc/hosts")
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["added", "metadata", "unchanged"], "{v}");
}
