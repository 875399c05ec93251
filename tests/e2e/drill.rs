//! `backup drill run`: every layer on a healthy repository, each failure
//! caught by its layer with the object named, scratch space gone after a
//! pass, a failure and a SIGKILL, and the runbook restoring for real.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;

use backup_zfs::DatasetName;
use serde_json::Value;

use crate::harness::{assert_ok, noise, stderr, Env, BIN};

const T1: &str = "2026-01-01T00:00:00Z";
const T2: &str = "2026-01-01T01:00:00Z";
/// The drills' clock: one hour after the newest snapshot.
const DRILL_NOW: &str = "2026-01-01T02:00:00Z";

struct DrillEnv {
    env: Env,
    config: PathBuf,
    state: PathBuf,
    app: DatasetName,
    scratch: DatasetName,
}

/// A job `app` over `<pool>/app` and its child `db`, shipped twice (a full
/// and an incremental); `drill` is the job's drill table (TOML lines).
fn drill_env(drill: &str) -> DrillEnv {
    let env = Env::new();
    let app = env.dataset("app");
    let db = env.dataset("app/db");
    let scratch = env.dataset("drills");
    let m = env.mountpoint(&app);
    fs::write(m.join("hello.txt"), "hello\n").unwrap();
    fs::create_dir(m.join("dir")).unwrap();
    fs::write(m.join("dir/blob"), noise(300_000, 7)).unwrap();
    symlink("dir/blob", m.join("link")).unwrap();
    fs::write(env.mountpoint(&db).join("data.db"), noise(50_000, 8)).unwrap();
    let state = env.tmp.path().join("state");
    let de = DrillEnv {
        config: env.tmp.path().join("backup.toml"),
        env,
        state,
        app,
        scratch,
    };
    de.set_drill(drill);
    let out = de.backup(["run", "app", "--now", T1]);
    assert_ok(&out, "first run");
    fs::write(m.join("hello.txt"), "hello again\n").unwrap();
    fs::write(m.join("new.txt"), "new\n").unwrap();
    let out = de.backup(["run", "app", "--now", T2]);
    assert_ok(&out, "second run");
    de
}

impl DrillEnv {
    fn set_drill(&self, drill: &str) {
        let text = format!(
            "state_dir = {:?}\n\n[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\n\
             [jobs.app]\nrepository = \"nas\"\ndatasets = [\"{}\"]\nrecursive = true\nprefix = \"job\"\n{drill}",
            self.state,
            self.env.repo,
            self.env.tmp.path().join("pass"),
            self.app,
        );
        fs::write(&self.config, text).unwrap();
    }

    fn command<const N: usize>(&self, args: [&str; N]) -> std::process::Command {
        let mut c = self
            .env
            .command(["--config", self.config.to_str().unwrap()]);
        c.args(args).env_remove("BACKUP_PASSWORD_FILE");
        c
    }

    fn backup<const N: usize>(&self, args: [&str; N]) -> Output {
        self.command(args).output().unwrap()
    }

    /// `drill run app --json --now DRILL_NOW ARGS`: the exit code and report.
    fn drill<const N: usize>(&self, args: [&str; N]) -> (i32, Value) {
        let out = self
            .command(["drill", "run", "app", "--json", "--now", DRILL_NOW])
            .args(args)
            .output()
            .unwrap();
        let report = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("drill printed no report ({e}); stderr: {}", stderr(&out)));
        (out.status.code().unwrap_or(-1), report)
    }

    fn scratch_children(&self) -> Vec<String> {
        let out = crate::harness::run_ok(
            "zfs",
            ["list", "-H", "-o", "name", "-r", self.scratch.as_str()],
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| *l != self.scratch.as_str())
            .map(str::to_string)
            .collect()
    }

    /// No scratch dataset, no drill pool of ours, no file or directory of
    /// ours in the work directory.
    fn assert_no_scratch(&self) {
        assert_eq!(self.scratch_children(), Vec::<String>::new());
        let work = self.state.join("drill");
        let left: Vec<_> = fs::read_dir(&work)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left in {}: {left:?}", work.display());
        let pools = crate::harness::run_ok("zpool", ["list", "-H", "-o", "name"]);
        for p in String::from_utf8_lossy(&pools.stdout).lines() {
            if p.starts_with("backupdrill") {
                let dir = crate::harness::run_ok(
                    "zfs",
                    ["get", "-H", "-o", "value", "backup:drill-dir", p],
                );
                assert_ne!(
                    String::from_utf8_lossy(&dir.stdout).trim(),
                    work.to_str().unwrap(),
                    "pool {p} left"
                );
            }
        }
    }
}

fn layer(d: &Value, name: &str) -> String {
    d[name]["status"].as_str().unwrap().to_string()
}

fn summary(d: &Value, name: &str) -> String {
    d[name]["summary"].as_str().unwrap().to_string()
}

#[test]
fn a_healthy_repository_passes_every_layer_and_leaves_nothing() {
    let de = drill_env("");
    let table = format!(
        "[jobs.app.drill]\nscratch_parent = \"{}\"\nrto = \"1h\"\nrpo = \"2h\"\n\
         [[jobs.app.drill.probes]]\nname = \"hello\"\ncommand = \"grep -q again hello.txt && test -L link\"\n\
         [[jobs.app.drill.probes]]\nname = \"db\"\ndataset = \"{}/db\"\ncommand = \"test -s data.db && echo $BACKUP_DRILL_SNAPSHOT\"\n",
        de.scratch, de.app
    );
    de.set_drill(&table);
    let (code, r) = de.drill([]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["outcome"], "pass");
    let ds = r["datasets"].as_array().unwrap();
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[0]["dataset"], de.app.as_str());
    assert_eq!(
        ds[0]["chain"].as_array().unwrap().len(),
        2,
        "a full and an incremental"
    );
    assert_eq!(ds[1]["chain"].as_array().unwrap().len(), 2);
    for d in ds {
        for l in ["data", "receive", "files", "sample"] {
            assert_eq!(layer(d, l), "pass", "{l}: {d:#}");
        }
        assert!(d["restored_bytes"].as_u64().unwrap() > 0);
    }
    // The one-file layer: every non-empty file (fewer than the default 24),
    // the largest one changed by the newest incremental always among them.
    let sample = &ds[0]["sample_detail"];
    assert_eq!(sample["files"], 3, "{sample:#}");
    assert_eq!(sample["largest_changed"], "hello.txt", "{sample:#}");
    assert_eq!(sample["slow"], 0, "{sample:#}");
    assert_eq!(ds[1]["sample_detail"]["largest_changed"], "data.db");
    // Root, hello.txt, new.txt, dir, dir/blob, link and db (the child's
    // mountpoint directory in the parent's tree); root and data.db.
    assert_eq!(
        ds[0]["comparison"]["expected"], 7,
        "{:#}",
        ds[0]["comparison"]
    );
    assert_eq!(ds[1]["comparison"]["expected"], 2);
    assert_eq!(r["mismatches"], 0);
    assert_eq!(r["probe_layer"]["status"], "pass");
    let probes = r["probes"].as_array().unwrap();
    assert_eq!(probes.len(), 2);
    assert!(probes[1]["output"]
        .as_str()
        .unwrap()
        .contains(&format!("{}/db@job-", de.app)));
    let restored: u64 = ds
        .iter()
        .map(|d| d["restored_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(r["restored_bytes"].as_u64().unwrap(), restored);
    assert_eq!(r["rto"]["met"], true);
    assert_eq!(r["rpo"]["achieved_seconds"].as_f64().unwrap(), 3600.0);
    assert_eq!(r["rpo"]["met"], true);
    let p = &r["phases"];
    assert!(p["total"].as_f64().unwrap() > 0.0);
    assert!(p["fetch_decrypt"].as_f64().unwrap() + p["receive"].as_f64().unwrap() > 0.0);
    assert_eq!(r["scratch"]["kind"], "dataset");
    assert_eq!(r["scratch"]["kept"], false);
    de.assert_no_scratch();
    // The reports are on disk.
    let id = r["id"].as_str().unwrap();
    assert!(de.state.join("drills").join(format!("{id}.json")).is_file());
    let md = fs::read_to_string(de.state.join("drills").join(format!("{id}.md"))).unwrap();
    assert!(
        md.contains("# Restore drill") && md.contains("## Runbook"),
        "{md}"
    );
}

#[test]
#[allow(clippy::case_sensitive_file_extension_comparisons)] // the drill names its pool file `<pool>.img`
fn without_a_drill_table_the_drill_uses_a_throwaway_pool() {
    let de = drill_env("");
    let (code, r) = de.drill(["--snapshot", "random"]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["scratch"]["kind"], "pool");
    assert!(r["scratch"]["file"].as_str().unwrap().ends_with(".img"));
    assert_eq!(r["probe_layer"]["status"], "skipped");
    assert_eq!(r["rto"]["met"], Value::Null, "no target");
    de.assert_no_scratch();
}

/// Flips one byte in the middle of the largest pack; returns how to undo it.
fn corrupt_a_pack(repo: &Path) -> (PathBuf, Vec<u8>) {
    let mut packs: Vec<PathBuf> = crate::harness::files_under(&repo.join("data"));
    packs.sort_by_key(|p| fs::metadata(p).unwrap().len());
    let pack = packs.pop().unwrap();
    let original = fs::read(&pack).unwrap();
    let mut bad = original.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x40;
    fs::write(&pack, bad).unwrap();
    (pack, original)
}

#[test]
fn each_failure_is_caught_by_its_layer() {
    let de = drill_env("");
    let scratch = format!("[jobs.app.drill]\nscratch_parent = \"{}\"\n", de.scratch);

    // Layer 1: a corrupted byte in a pack.
    de.set_drill(&scratch);
    let (pack, original) = corrupt_a_pack(&de.env.repo);
    let pack_id = pack.file_name().unwrap().to_string_lossy().into_owned();
    let (code, r) = de.drill([]);
    assert_eq!(code, 6, "{r:#}");
    assert_eq!(r["outcome"], "fail");
    let failed: Vec<&Value> = r["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| layer(d, "data") == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{r:#}");
    assert!(summary(failed[0], "data").contains(&pack_id), "{r:#}");
    assert_eq!(layer(failed[0], "receive"), "not_reached");
    de.assert_no_scratch();
    fs::write(&pack, &original).unwrap();

    // Layer 1: a missing pack.
    let aside = de.env.tmp.path().join("aside");
    fs::rename(&pack, &aside).unwrap();
    let (code, r) = de.drill([]);
    assert_eq!(code, 6, "{r:#}");
    assert!(r["reason"].as_str().unwrap().contains(&pack_id), "{r:#}");
    de.assert_no_scratch();
    fs::rename(&aside, &pack).unwrap();

    // Layer 4: a probe that fails, with its output.
    de.set_drill(&format!(
        "{scratch}[[jobs.app.drill.probes]]\nname = \"integrity\"\ncommand = \"echo checking; test -f missing.db\"\n"
    ));
    let (code, r) = de.drill([]);
    assert_eq!(code, 6, "{r:#}");
    assert_eq!(r["probe_layer"]["status"], "fail");
    assert_eq!(r["probes"][0]["exit_code"], 1);
    assert!(r["probes"][0]["output"]
        .as_str()
        .unwrap()
        .contains("checking"));
    assert!(r["reason"].as_str().unwrap().contains("integrity"), "{r:#}");
    de.assert_no_scratch();

    // A missed RTO target fails the drill although every layer passed;
    // so does a missed RPO target.
    de.set_drill(&format!("{scratch}rto = \"1ms\"\nrpo = \"30m\"\n"));
    let (code, r) = de.drill([]);
    assert_eq!(code, 6, "{r:#}");
    assert_eq!(r["rto"]["met"], false);
    assert_eq!(r["rpo"]["met"], false);
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.contains("RTO missed") && reason.contains("RPO missed"),
        "{reason}"
    );
    for d in r["datasets"].as_array().unwrap() {
        assert_eq!(layer(d, "files"), "pass");
    }
    de.assert_no_scratch();

    // An unknown snapshot: the drill cannot run (exit 1), naming it.
    let (code, r) = de.drill(["--snapshot", "nope@nothing"]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r["outcome"], "error");
    assert!(r["reason"].as_str().unwrap().contains("nope@nothing"));
}

#[test]
fn keep_on_failure_keeps_the_scratch_space_until_the_next_drill() {
    let de = drill_env("");
    let base = format!("[jobs.app.drill]\nscratch_parent = \"{}\"\n", de.scratch);
    de.set_drill(&format!(
        "{base}[[jobs.app.drill.probes]]\nname = \"fails\"\ncommand = \"false\"\n"
    ));
    let (code, r) = de.drill(["--keep-on-failure"]);
    assert_eq!(code, 6);
    assert_eq!(r["scratch"]["kept"], true);
    let kept = r["scratch"]["dataset"].as_str().unwrap().to_string();
    assert_eq!(de.scratch_children().first(), Some(&kept));
    let mnt = PathBuf::from(r["datasets"][0]["mountpoint"].as_str().unwrap());
    assert_eq!(
        fs::read_to_string(mnt.join("hello.txt")).unwrap(),
        "hello again\n"
    );

    de.set_drill(&base);
    let (code, r) = de.drill([]);
    assert_eq!(code, 0, "{r:#}");
    let removed = r["scratch"]["leftovers_removed"].as_array().unwrap();
    assert!(
        removed.iter().any(|l| l.as_str().unwrap().contains(&kept)),
        "{r:#}"
    );
    de.assert_no_scratch();
}

#[test]
fn a_drill_killed_with_sigkill_is_cleaned_up_by_the_next() {
    for scratch in ["dataset", "pool"] {
        let de = drill_env("");
        let marker = de.env.tmp.path().join("probe.pid");
        let base = if scratch == "dataset" {
            format!("[jobs.app.drill]\nscratch_parent = \"{}\"\n", de.scratch)
        } else {
            "[jobs.app.drill]\n".to_string()
        };
        de.set_drill(&format!(
            "{base}[[jobs.app.drill.probes]]\nname = \"slow\"\ncommand = \"echo $$ > {}; exec sleep 60\"\n",
            marker.display()
        ));
        let mut child = de
            .command(["drill", "run", "app", "--json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while !fs::read_to_string(&marker).is_ok_and(|s| s.ends_with('\n')) {
            assert!(
                std::time::Instant::now() < deadline,
                "the probe never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // The probe we made it start: stopped by its pid.
        let pid: i32 = fs::read_to_string(&marker).unwrap().trim().parse().unwrap();
        #[allow(unsafe_code)]
        // SAFETY: kill(2) takes plain integers; no memory is shared.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(300));

        de.set_drill(&base);
        let (code, r) = de.drill([]);
        assert_eq!(code, 0, "{scratch}: {r:#}");
        assert!(
            !r["scratch"]["leftovers_removed"]
                .as_array()
                .unwrap()
                .is_empty(),
            "{scratch}: {r:#}"
        );
        de.assert_no_scratch();
    }
}

#[test]
fn the_runbook_commands_restore_the_dataset() {
    let de = drill_env("");
    de.set_drill(&format!(
        "[jobs.app.drill]\nscratch_parent = \"{}\"\n",
        de.scratch
    ));
    let (code, r) = de.drill([]);
    assert_eq!(code, 0, "{r:#}");
    let id = r["id"].as_str().unwrap();
    let md = fs::read_to_string(de.state.join("drills").join(format!("{id}.md"))).unwrap();
    let script = md
        .split("```sh\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("a sh block in the runbook");
    // The datasets are lost (with the holds that protect the job's
    // incremental bases where the dialect has holds).
    let zfs = de.env.pool.zfs();
    for ds in [de.app.clone(), de.app.child("db").unwrap()] {
        for snap in zfs.list_snapshots(&ds).unwrap() {
            let _ = std::process::Command::new("zfs")
                .args(["release", "backup-base-app", &snap.name.to_string()])
                .output();
        }
    }
    zfs.destroy_dataset(&de.app, true).unwrap();
    // A fresh host: no catalog, no configuration, the runbook's environment only.
    let bin_dir = Path::new(BIN).parent().unwrap();
    let home = de.env.tmp.path().join("fresh-home");
    fs::create_dir(&home).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin:/usr/sbin:/sbin", bin_dir.display()),
        )
        .env("HOME", &home)
        // As root the catalog would go to /var/lib/backup: keep it in the test's.
        .env("BACKUP_STATE_DIR", home.join("state"))
        .env("TMPDIR", std::env::temp_dir())
        .output()
        .unwrap();
    assert_ok(&out, &format!("the runbook:\n{script}"));
    let m = de.env.mountpoint(&de.app);
    assert_eq!(
        fs::read_to_string(m.join("hello.txt")).unwrap(),
        "hello again\n"
    );
    assert_eq!(fs::read(m.join("dir/blob")).unwrap(), noise(300_000, 7));
    let db = de.app.child("db").unwrap();
    assert_eq!(
        fs::read(de.env.mountpoint(&db).join("data.db")).unwrap(),
        noise(50_000, 8)
    );
}

#[test]
fn a_file_manifest_that_no_longer_matches_the_data_fails_layer_3() {
    let de = drill_env("");
    de.set_drill(&format!(
        "[jobs.app.drill]\nscratch_parent = \"{}\"\n",
        de.scratch
    ));
    let snap = de.env.snapshot(&de.app, "tampered");
    // Ship it, and while the ship walks its view, change a file of the view:
    // the stream holds the snapshot, the file manifest the tampered file.
    let (child, marker, lines) = crate::file_manifests::send_paused(&de.env, &snap.to_string());
    let (view, clone) = (PathBuf::from(&lines[0]), &lines[1]);
    if clone.is_empty() {
        // A .zfs/snapshot view (OpenZFS) cannot be written to.
        crate::file_manifests::release(child, &marker);
        return;
    }
    crate::harness::run_ok("zfs", ["set", "readonly=off", clone]);
    fs::write(view.join("hello.txt"), "tampered\n").unwrap();
    let out = crate::file_manifests::release(child, &marker);
    assert_ok(&out, "send");

    let (code, r) = de.drill(["--snapshot", &snap.to_string()]);
    assert_eq!(code, 6, "{r:#}");
    let d = &r["datasets"][0];
    assert_eq!(layer(d, "data"), "pass");
    assert_eq!(layer(d, "receive"), "pass");
    assert_eq!(layer(d, "files"), "fail", "{d:#}");
    let c = &d["comparison"];
    assert_eq!(
        (
            c["changed"].as_u64(),
            c["missing"].as_u64(),
            c["extra"].as_u64()
        ),
        (Some(1), Some(0), Some(0)),
        "{c:#}"
    );
    assert_eq!(c["changed_paths"][0][0], "hello.txt");
    let what: Vec<&str> = c["changed_paths"][0][1]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        what.contains(&"content") && what.contains(&"size"),
        "{what:?}"
    );
    assert!(summary(d, "files").contains("hello.txt"), "{d:#}");
    assert_eq!(r["mismatches"], 1);
    de.assert_no_scratch();
}

#[test]
fn a_drill_with_the_exported_key_is_recorded_and_shown() {
    let de = drill_env("");
    de.set_drill(&format!(
        "[jobs.app.drill]\nscratch_parent = \"{}\"\n",
        de.scratch
    ));
    let key = de.env.tmp.path().join("escrow.key");
    let out = de
        .env
        .backup(["key", "export", "--output", key.to_str().unwrap()]);
    assert_ok(&out, "key export");
    // The repository's own key slots are gone: only the escrowed key opens it.
    let keys = de.env.repo.join("keys");
    let aside = de.env.tmp.path().join("keys-aside");
    fs::rename(&keys, &aside).unwrap();
    fs::create_dir(&keys).unwrap();
    let (code, r) = de.drill(["--key-file", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r["key_file"], key.to_str().unwrap());
    let out = de.backup(["drill", "run", "app"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "without the key file nothing opens"
    );
    assert!(stderr(&out).contains("key"), "{}", stderr(&out));
    fs::remove_dir(&keys).unwrap();
    fs::rename(&aside, &keys).unwrap();

    // History and show read the catalog, no passphrase needed.
    let out = de.backup(["drill", "history", "app", "--json"]);
    assert_ok(&out, "drill history");
    let history: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = history.as_array().expect("a list of reports");
    assert_eq!(list.len(), 1, "{history:#}");
    let id = list[0]["id"].as_str().unwrap();
    let out = de.backup(["drill", "show", &id[..id.len() - 2]]);
    assert_ok(&out, "drill show");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(id) && text.contains("escrow.key"), "{text}");
    let out = de.backup(["drill", "show", id, "--markdown"]);
    assert_ok(&out, "drill show --markdown");
    assert!(String::from_utf8_lossy(&out.stdout).contains("## Runbook"));
}

#[test]
fn a_job_never_drilled_has_a_runbook_with_the_one_file_commands() {
    let de = drill_env("");
    let out = de.backup(["runbook", "app"]);
    assert_ok(&out, "runbook");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let app = de.app.as_str();
    for want in [
        "no restore drill has run",
        &format!("backup restore {app}@job-"),
        &format!("--to {app} "),
        &format!("backup restore {app}@latest --path "),
        &format!("backup mount {app} "),
        &format!("backup find 'nginx.conf' --dataset {app}/db"),
        "export BACKUP_PASSWORD_FILE=",
    ] {
        assert!(text.contains(want), "{want:?} missing in:\n{text}");
    }
    let out = de.backup(["runbook", "--markdown"]);
    assert_ok(&out, "runbook --markdown");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("# Runbook: job `app`") && md.contains("## One file"),
        "{md}"
    );
    // The one-file form it shows works as written.
    let into = de.env.tmp.path().join("one");
    let out = de.env.backup([
        "restore",
        &format!("{app}@latest"),
        "--path",
        "hello.txt",
        "--into",
        into.to_str().unwrap(),
    ]);
    assert_ok(&out, "restore --path from the runbook");
    assert_eq!(
        fs::read_to_string(into.join("hello.txt")).unwrap(),
        "hello again\n"
    );
    let out = de.backup(["runbook", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_drill_that_fails_tells_the_jobs_notifiers_and_one_that_passes_does_not() {
    let de = drill_env("");
    let notified = de.env.tmp.path().join("notified.env");
    let passed = de.env.tmp.path().join("passed");
    let notify = format!(
        "[notify]\non_failure = {{ command = \"env > '{}'\" }}\n\
         on_success = {{ command = \"touch '{}'\" }}\n",
        notified.display(),
        passed.display()
    );
    let base = format!("[jobs.app.drill]\nscratch_parent = \"{}\"\n", de.scratch);
    de.set_drill(&format!("{base}{notify}"));
    let (code, r) = de.drill([]);
    assert_eq!(code, 0, "{r:#}");
    assert!(
        !notified.exists() && !passed.exists(),
        "a pass notifies nothing"
    );

    de.set_drill(&format!(
        "{base}[[jobs.app.drill.probes]]\nname = \"fails\"\ncommand = \"false\"\n{notify}"
    ));
    let (code, r) = de.drill([]);
    assert_eq!(code, 6, "{r:#}");
    let env = fs::read_to_string(&notified).unwrap();
    for line in [
        "BACKUP_JOB=app",
        "BACKUP_EVENT=drill",
        "BACKUP_OUTCOME=failure",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} not in {env}");
    }
    let id = r["id"].as_str().unwrap();
    assert!(
        env.lines()
            .any(|l| l.starts_with(&format!("BACKUP_ERROR=drill {id} failed: "))),
        "{env}"
    );
    assert!(!passed.exists());
    de.assert_no_scratch();
}
