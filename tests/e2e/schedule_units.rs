//! `backup schedule install | show | remove` into a temporary root: the
//! units pass `systemd-analyze verify`, a second install changes nothing,
//! remove leaves other files alone. No pool needed. Paths hold a space on
//! purpose (quoting in ExecStart= and ReadWritePaths=).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::{assert_ok, BIN};

struct Setup {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    config: PathBuf,
    root: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("my conf");
        fs::create_dir_all(dir.join("repo dir")).unwrap();
        let config = dir.join("backup.toml");
        fs::write(&config, config_text(&dir, true)).unwrap();
        let root = tmp.path().join("root");
        Setup {
            _tmp: tmp,
            dir,
            config,
            root,
        }
    }

    fn backup(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("BACKUP_CONFIG")
            .output()
            .expect("run backup")
    }

    /// `schedule <cmd> --root ROOT --binary BIN [args]`, checked.
    fn schedule(&self, cmd: &str, args: &[&str]) -> String {
        let mut all = vec!["schedule", cmd, "--root", self.root.to_str().unwrap()];
        if cmd != "remove" {
            all.extend(["--binary", BIN]);
        }
        all.extend(args);
        let out = self.backup(&all);
        assert_ok(&out, &all.join(" "));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn units(&self) -> PathBuf {
        self.root.join("etc/systemd/system")
    }
}

fn config_text(dir: &Path, with_db: bool) -> String {
    let mut text = format!(
        "[repositories.nas]\nlocation = {:?}\npassword_credential = \"backup-nas\"\n\n\
         [jobs.web]\nrepository = \"nas\"\ndatasets = [\"tank/www\"]\nschedule = \"Mon..Fri 22:00\"\n\n\
         [jobs.manual]\nrepository = \"nas\"\ndatasets = [\"tank/scratch\"]\n",
        dir.join("repo dir")
    );
    if with_db {
        text += "\n[jobs.db]\nrepository = \"nas\"\ndatasets = [\"tank/db\"]\n\
                 schedule = \"*/15 2 1,15 * mon-fri\"\n";
    }
    text
}

/// systemd-analyze, or a clear failure: these tests need it.
fn systemd_analyze(args: &[&str]) -> Output {
    let out = Command::new("systemd-analyze")
        .args(args)
        .env("TZ", "UTC")
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output();
    match out {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run systemd-analyze ({e}): install systemd (apt-get install systemd; \
             scripts/test.sh does)"
        ),
    }
}

fn stamp(path: &Path) -> (u64, i64, i64) {
    let m = fs::metadata(path).unwrap();
    (m.ino(), m.mtime(), m.mtime_nsec())
}

#[test]
fn schedule_install_writes_units_systemd_accepts_and_remove_takes_only_its_own() {
    let s = Setup::new();
    let out = s.schedule("install", &[]);
    let names = [
        "backup-db.service",
        "backup-db.timer",
        "backup-notify@.service",
        "backup-web.service",
        "backup-web.timer",
    ];
    for name in names {
        assert!(
            out.contains(&format!("created {}", s.units().join(name).display())),
            "{out}"
        );
    }
    assert!(
        out.contains("systemctl enable --now backup-db.timer backup-web.timer"),
        "{out}"
    );
    let read = |name: &str| fs::read_to_string(s.units().join(name)).unwrap();
    let web = read("backup-web.service");
    let exec = format!(
        "ExecStart={BIN} --config \"{}\" run web",
        s.config.display()
    );
    assert!(web.contains(&exec), "{web}");
    assert!(web.contains("LoadCredential=backup-nas:/etc/backup/credentials/backup-nas\n"));
    let rw = format!("ReadWritePaths=\"-{}\"\n", s.dir.join("repo dir").display());
    assert!(web.contains(&rw), "{web}");
    let db_timer = read("backup-db.timer");
    assert!(
        db_timer.contains("OnCalendar=*-*-01,15 02:00/15:00\n"),
        "{db_timer}"
    );
    assert!(
        db_timer.contains("OnCalendar=Mon..Fri *-*-* 02:00/15:00\n"),
        "{db_timer}"
    );
    assert!(!s.units().join("backup-manual.timer").exists());

    // Someone else's files in the same directory, and an enabled timer.
    let foreign = s.units().join("backup-foreign.service");
    fs::write(&foreign, "[Service]\nExecStart=/bin/true\n").unwrap();
    let wants = s.units().join("timers.target.wants");
    fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink(
        "/etc/systemd/system/backup-web.timer",
        wants.join("backup-web.timer"),
    )
    .unwrap();

    // Twice: nothing changes.
    let before: Vec<_> = names.iter().map(|n| stamp(&s.units().join(n))).collect();
    let out = s.schedule("install", &[]);
    assert_eq!(out.matches("unchanged ").count(), 5, "{out}");
    assert!(
        out.contains("nothing changed") && !out.contains("systemctl"),
        "{out}"
    );
    let after: Vec<_> = names.iter().map(|n| stamp(&s.units().join(n))).collect();
    assert_eq!(before, after);

    // systemd accepts the units (and checks ExecStart's binary exists);
    // warnings go to stderr without failing, so stderr must be empty.
    let paths: Vec<String> = names
        .iter()
        .map(|n| s.units().join(n).display().to_string())
        .collect();
    let mut args = vec!["verify"];
    args.extend(paths.iter().map(String::as_str));
    let out = systemd_analyze(&args);
    assert_ok(&out, "systemd-analyze verify");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "systemd-analyze verify warned"
    );

    // The timers elapse when `backup schedule next` says the jobs run.
    for (job, timer) in [("web", "backup-web.timer"), ("db", "backup-db.timer")] {
        assert_same_times(&s, job, &read(timer));
    }

    // A job gone from the configuration: its units go, the rest stay.
    fs::write(&s.config, config_text(&s.dir, false)).unwrap();
    let out = s.schedule("install", &[]);
    assert!(
        out.contains("removed") && out.contains("backup-db.timer"),
        "{out}"
    );
    assert!(!s.units().join("backup-db.service").exists());
    assert!(s.units().join("backup-web.timer").exists());

    // show writes nothing.
    let shown = s.schedule("show", &["--cron"]);
    assert!(shown.contains(&format!(
        "==> {} <==",
        s.root.join("etc/cron.d/backup").display()
    )));
    assert!(!s.root.join("etc/cron.d").exists());
    // Regression (issue 17): no --json on schedule show and schedule next.
    let shown: serde_json::Value =
        serde_json::from_str(&s.schedule("show", &["--cron", "--json"])).unwrap();
    assert_eq!(
        shown[0]["path"],
        s.root.join("etc/cron.d/backup").to_str().unwrap(),
        "{shown:#}"
    );
    assert!(
        shown[0]["content"].as_str().unwrap().contains("backup"),
        "{shown:#}"
    );
    let out = s.backup(&[
        "schedule",
        "next",
        "--json",
        "-n",
        "2",
        "--now",
        "2026-03-27T23:00:00Z",
    ]);
    assert_ok(&out, "schedule next --json");
    let next: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let web = next
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == "web")
        .unwrap();
    assert_eq!(web["kind"], "job");
    assert_eq!(web["schedule"], "Mon..Fri *-*-* 22:00:00", "{next:#}");
    assert_eq!(web["times"].as_array().unwrap().len(), 2, "{next:#}");
    let manual = next
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["job"] == "manual")
        .unwrap();
    assert!(
        manual["schedule"].is_null() && manual["times"] == serde_json::json!([]),
        "{next:#}"
    );

    let out = s.schedule("remove", &[]);
    assert!(out.contains("removed"), "{out}");
    assert!(!s.units().join("backup-web.timer").exists());
    assert!(!s.units().join("backup-web.service").exists());
    assert!(
        fs::symlink_metadata(wants.join("backup-web.timer")).is_err(),
        "the enable link stays"
    );
    assert_eq!(
        fs::read_to_string(&foreign).unwrap(),
        "[Service]\nExecStart=/bin/true\n"
    );
    let out = s.schedule("remove", &[]);
    assert!(out.contains("nothing to remove"), "{out}");
}

/// The timer's events, as systemd computes them, are the job's next runs
/// as `backup schedule next` computes them.
fn assert_same_times(s: &Setup, job: &str, timer: &str) {
    const N: usize = 12;
    let base = "2026-03-27T23:00:00Z";
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&s.config)
        .args(["schedule", "next", job, "-n", &N.to_string(), "--now", base])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert_ok(&out, "schedule next");
    let ours: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(ours.len(), N, "{ours:?}");
    let events: Vec<&str> = timer
        .lines()
        .filter_map(|l| l.strip_prefix("OnCalendar="))
        .collect();
    let mut theirs = Vec::new();
    for event in &events {
        let iterations = format!("--iterations={N}");
        let out = systemd_analyze(&[
            "calendar",
            &iterations,
            "--base-time=2026-03-27 23:00:00 UTC",
            event,
        ]);
        assert_ok(&out, "systemd-analyze calendar");
        let text = String::from_utf8_lossy(&out.stdout);
        let normalized = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Normalized form: "));
        assert_eq!(
            normalized,
            Some(*event),
            "systemd normalizes {event:?} differently"
        );
        theirs.extend(text.lines().filter_map(|l| {
            let (key, when) = l.split_once(": ")?;
            let key = key.trim();
            (key == "Next elapse" || key.starts_with("Iter.")).then(|| when.trim().to_string())
        }));
    }
    theirs.sort_by_key(|t| t[4..].to_string());
    theirs.dedup();
    theirs.truncate(N);
    assert_eq!(ours, theirs, "job {job}: {events:?}");
}

#[test]
fn schedule_install_cron_writes_one_file_and_replaces_units() {
    let s = Setup::new();
    s.schedule("install", &[]);
    let out = s.schedule("install", &["--cron"]);
    let cron = s.root.join("etc/cron.d/backup");
    assert!(
        out.contains(&format!("created {}", cron.display())),
        "{out}"
    );
    // Switching to cron removes the units generated from this configuration.
    assert!(
        out.contains("removed") && !s.units().join("backup-web.timer").exists(),
        "{out}"
    );
    let text = fs::read_to_string(&cron).unwrap();
    let config = format!("'{}'", s.config.display());
    for line in [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        format!("*/5 * * * * root CREDENTIALS_DIRECTORY=/etc/backup/credentials {BIN} -q --config {config} run --due web"),
        format!("*/15 2 1,15 * 1-5 root CREDENTIALS_DIRECTORY=/etc/backup/credentials {BIN} -q --config {config} run db"),
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in:\n{text}");
    }
    let out = s.schedule("install", &["--cron"]);
    assert!(
        out.contains("unchanged") && out.contains("nothing changed"),
        "{out}"
    );
    let out = s.schedule("remove", &[]);
    assert!(
        out.contains(&format!("removed {}", cron.display())),
        "{out}"
    );
    assert!(!cron.exists());
}
