//! Drills on a schedule: `run --due` drills after the due jobs when the
//! drill schedule fired since the last drill (`--now` drives it), `schedule
//! next` lists drills, and `schedule install` writes drill units that
//! systemd accepts.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

use backup_ops::drill::{DrillReport, Outcome};

use crate::drill_history::{record, stdout, REPORT};
use crate::harness::{assert_ok, stderr, Env, BIN};

fn config(env: &Env) -> PathBuf {
    let root = env.pool.root();
    env.dataset("www");
    let path = env.tmp.path().join("backup.toml");
    let text = format!(
        "[repositories.nas]\nlocation = {:?}\npassword_file = {:?}\n\n\
         [jobs.web]\nrepository = \"nas\"\ndatasets = [\"{root}/www\"]\nprefix = \"job\"\nschedule = \"daily\"\n\
         [jobs.web.drill]\nschedule = \"monthly\"\n\n\
         [jobs.quiet]\nrepository = \"nas\"\ndatasets = [\"{root}/www\"]\nprefix = \"quiet\"\n",
        env.repo,
        env.tmp.path().join("pass"),
    );
    fs::write(&path, text).unwrap();
    path
}

fn run(env: &Env, config: &PathBuf, args: &[&str]) -> Output {
    env.command(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

#[test]
fn run_due_drills_when_the_drill_schedule_fired_since_the_last_drill() {
    let env = Env::new();
    let config = config(&env);
    let out = run(
        &env,
        &config,
        &["run", "--due", "--now", "2026-11-02T10:00:00Z"],
    );
    let text = stdout(&out);
    // The job first, then its drill, never drilled, so due.
    let job = text.find("job web: due").expect(&text);
    let drill = text
        .find("drill of job web: due (never drilled)")
        .unwrap_or_else(|| panic!("{text}\n{}", stderr(&out)));
    assert!(job < drill, "{text}");
    assert!(!text.contains("drill of job quiet"), "{text}");

    // A drill recorded at 10:00: the next is due on 2026-12-01.
    let mut report: DrillReport = serde_json::from_str(REPORT).unwrap();
    report.id = "web-20261102T100000Z-0001".into();
    report.started = "2026-11-02T10:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    report.outcome = Outcome::Pass;
    record(&env, &report);
    let out = run(
        &env,
        &config,
        &["run", "--due", "--now", "2026-11-20T10:00:00Z"],
    );
    assert_ok(&out, "run --due");
    let text = stdout(&out);
    assert!(
        text.contains("drill of job web: not due (next drill 2026-12-01 00:00:00"),
        "{text}"
    );

    // Only a drill for a job without a schedule of its own: still refused
    // without either.
    let out = run(&env, &config, &["run", "--due", "quiet"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no schedule, no drill and no check_every"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schedule_next_and_install_include_drills() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("backup.toml");
    fs::write(
        &config,
        "[repositories.nas]\nlocation = \"/srv/backup\"\npassword_file = \"/etc/backup/p\"\n\n\
         [jobs.web]\nrepository = \"nas\"\ndatasets = [\"tank/www\"]\nschedule = \"daily\"\n\
         [jobs.web.drill]\nschedule = \"Sat *-*-01..07 04:00\"\nscratch_dir = \"/srv/drill space\"\n\n\
         [jobs.db]\nrepository = \"nas\"\ndatasets = [\"tank/db\"]\n[jobs.db.drill]\n",
    )
    .unwrap();
    let backup = |args: &[&str]| {
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert_ok(&out, &args.join(" "));
        stdout(&out)
    };
    let next = backup(&[
        "schedule",
        "next",
        "-n",
        "2",
        "--now",
        "2026-03-27T23:00:00Z",
    ]);
    assert_eq!(
        next,
        "db drill: *-*-01 00:00:00\n  Wed 2026-04-01 00:00:00 UTC\n  Fri 2026-05-01 00:00:00 UTC\n\
         web: *-*-* 00:00:00\n  Sat 2026-03-28 00:00:00 UTC\n  Sun 2026-03-29 00:00:00 UTC\n\
         web drill: Sat *-*-01..07 04:00:00\n  Sat 2026-04-04 04:00:00 UTC\n  Sat 2026-05-02 04:00:00 UTC\n"
    );

    let root = tmp.path().join("root");
    let out = backup(&[
        "schedule",
        "install",
        "--root",
        root.to_str().unwrap(),
        "--binary",
        BIN,
    ]);
    assert!(
        out.contains(
            "systemctl enable --now backup-drill-db.timer backup-drill-web.timer backup-web.timer"
        ),
        "{out}"
    );
    let units = root.join("etc/systemd/system");
    let service = fs::read_to_string(units.join("backup-drill-web.service")).unwrap();
    assert!(
        service.contains(&format!(
            "ExecStart={BIN} --config {} drill run web\n",
            config.display()
        )),
        "{service}"
    );
    assert!(
        service.contains("ReadWritePaths=\"-/srv/drill space\"\n"),
        "{service}"
    );
    let paths: Vec<String> = [
        "backup-drill-web.service",
        "backup-drill-web.timer",
        "backup-drill-db.service",
        "backup-drill-db.timer",
        "backup-web.service",
    ]
    .iter()
    .map(|n| units.join(n).display().to_string())
    .collect();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .output()
        .expect("systemd-analyze (apt-get install systemd; scripts/test.sh does)");
    assert_ok(&out, "systemd-analyze verify");
    assert_eq!(stderr(&out), "", "systemd-analyze verify warned");

    // remove JOB takes the drill's units too.
    let out = backup(&[
        "schedule",
        "remove",
        "--root",
        root.to_str().unwrap(),
        "web",
    ]);
    assert!(out.contains("backup-drill-web.timer"), "{out}");
    assert!(!units.join("backup-drill-web.service").exists());
    assert!(units.join("backup-drill-db.service").exists());
}
