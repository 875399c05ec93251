//! Status from a catalog filled through a repository on the in-memory
//! backend, with a fake clock.

use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::*;
use crate::drill::fixture::report;
use crate::drill::Outcome;
use backup_core::test_support::manifest as for_test;
use backup_core::KdfParams;
use backup_core::MemoryBackend;
use backup_core::{InitOptions, Repository};

const H: i64 = 3600;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn config(extra: &str) -> Config {
    let text = format!(
        "[repositories.nas]\nlocation = \"/nas\"\npassword_file = \"/p\"\n\n\
         [jobs.web]\nrepository = \"nas\"\ndatasets = [\"tank/www\", \"tank/vm\"]\nrecursive = true\n\
         exclude = [\"tank/vm/scratch\"]\nprefix = \"job\"\nschedule = \"hourly\"\n{extra}"
    );
    crate::config::parse("backup.toml".as_ref(), &text).unwrap()
}

struct Fixture {
    repo: Repository,
    catalog: Catalog,
    _dir: tempfile::TempDir,
    guid: u64,
}

impl Fixture {
    fn new() -> Fixture {
        let backend = Arc::new(MemoryBackend::new());
        let opts = InitOptions {
            kdf: KdfParams {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            ..Default::default()
        };
        let repo = Repository::init(backend, b"pw", opts).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        Fixture {
            repo,
            catalog,
            _dir: dir,
            guid: 0,
        }
    }

    /// Ships `dataset@snapshot` created at `creation` with a stream of `len` bytes.
    fn ship(&mut self, dataset: &str, snapshot: &str, creation: i64, len: u64) {
        self.guid += 1;
        let mut m = for_test(dataset, snapshot, self.guid, None);
        m.creation = creation;
        m.stream_len = len;
        self.repo.write_manifest(&m).unwrap();
        self.catalog.sync(&self.repo).unwrap();
    }

    fn run(&self, finished: &str, ok: bool, snapshot: &str, error: Option<&str>) {
        let finished = t(finished).as_second();
        self.catalog
            .record_run(&JobRun {
                job: "web".into(),
                started: finished - 90,
                run_at: finished - 90,
                finished,
                ok,
                error: error.map(Into::into),
                damaged: false,
                snapshot: Some(snapshot.into()),
                shipped: 2,
                stream_bytes: 1000,
                stored_bytes: 300,
            })
            .unwrap();
    }

    fn source(&self, storage: std::result::Result<StorageStats, String>) -> RepositorySource<'_> {
        RepositorySource {
            name: "nas".into(),
            catalog: Some(&self.catalog),
            storage,
            notes: Vec::new(),
        }
    }

    fn status(&self, now: &str) -> Status {
        self.status_with("", now)
    }

    /// The status with `extra` added to the job's configuration.
    fn status_with(&self, extra: &str, now: &str) -> Status {
        let stats = StorageStats {
            packs: 2,
            pack_bytes: 1000,
        };
        build(
            &config(extra),
            None,
            &[self.source(Ok(stats))],
            t(now),
            &TimeZone::UTC,
        )
        .unwrap()
    }
}

/// Both configured datasets and a child shipped at 10:00 and 11:00 by the job.
fn two_runs() -> Fixture {
    let mut f = Fixture::new();
    let creation = t("2026-11-21T09:00:00Z").as_second();
    for snap in ["job-20261102T100000Z", "job-20261102T110000Z"] {
        for ds in ["tank/www", "tank/vm", "tank/vm/disk1"] {
            f.ship(ds, snap, creation, 1000);
        }
    }
    f.run("2026-11-02T10:00:30Z", true, "job-20261102T100000Z", None);
    f.run("2026-11-02T11:00:30Z", true, "job-20261102T110000Z", None);
    f
}

#[test]
fn ages_come_from_the_job_clock_in_the_name_against_the_injected_now() {
    let f = two_runs();
    let s = f.status("2026-11-02T11:30:00Z");
    let web = &s.jobs[0];
    assert_eq!(s.now, t("2026-11-02T11:30:00Z").as_second());
    assert!(!web.never_run);
    assert_eq!(web.snapshot_age_seconds, Some(30 * 60));
    assert_eq!(web.snapshots.len(), 3, "{:?}", web.snapshots);
    assert!(web
        .snapshots
        .iter()
        .all(|d| d.snapshot == "job-20261102T110000Z"));
    assert_eq!(
        (web.runs, web.failures, web.consecutive_failures),
        (2, 0, 0)
    );
    let ok = web.last_success.as_ref().unwrap();
    assert_eq!(ok.time, t("2026-11-02T11:00:30Z").as_second());
    assert_eq!(
        (ok.duration_seconds, ok.stream_bytes, ok.stored_bytes),
        (90, 1000, 300)
    );
    assert!(web.last_failure.is_none());
    // Same inputs, same answer: nothing reads the wall clock.
    let again = f.status("2026-11-02T11:30:00Z");
    assert_eq!(format!("{s:?}"), format!("{again:?}"));
}

#[test]
fn repository_size_and_dedup_ratio() {
    let f = two_runs();
    let r = &f.status("2026-11-02T11:30:00Z").repositories[0];
    assert!(r.reachable && r.catalog);
    assert_eq!(
        (r.snapshots, r.stream_bytes, r.size_bytes),
        (6, 6000, Some(1000))
    );
    assert_eq!(r.dedup_ratio, Some(6.0));
}

#[test]
fn the_worst_dataset_sets_the_age_and_a_missing_one_leaves_it_unknown() {
    let mut f = Fixture::new();
    let c = 0;
    f.ship("tank/www", "job-20261102T110000Z", c, 1);
    f.ship("tank/vm", "job-20261102T090000Z", c, 1);
    // Excluded, outside the job, and a hand-made snapshot judged by its creation.
    f.ship("tank/vm/scratch", "job-20261101T000000Z", c, 1);
    f.ship("tank/other", "job-20261101T000000Z", c, 1);
    f.ship(
        "tank/vm/disk1",
        "manual",
        t("2026-11-02T10:00:00Z").as_second(),
        1,
    );
    let web = &f.status("2026-11-02T12:00:00Z").jobs[0];
    let names: Vec<&str> = web.snapshots.iter().map(|d| d.dataset.as_str()).collect();
    assert_eq!(names, ["tank/vm", "tank/vm/disk1", "tank/www"]);
    assert_eq!(web.snapshot_age_seconds, Some(3 * H));
    assert_eq!(web.oldest_dataset.as_deref(), Some("tank/vm"));
    assert!(web.never_run);

    let mut g = Fixture::new();
    g.ship("tank/www", "job-20261102T110000Z", c, 1);
    let web = &g.status("2026-11-02T12:00:00Z").jobs[0];
    assert_eq!(web.missing, ["tank/vm"]);
    assert_eq!(web.snapshot_age_seconds, None);
}

#[test]
fn a_child_missing_from_the_last_success_no_longer_counts() {
    let mut f = two_runs();
    // tank/vm/old was shipped once, long ago, then destroyed on the source.
    f.ship("tank/vm/old", "job-20261001T000000Z", 0, 1);
    let web = &f.status("2026-11-02T11:30:00Z").jobs[0];
    assert_eq!(web.snapshot_age_seconds, Some(30 * 60));
    assert!(!web.snapshots.iter().any(|d| d.dataset == "tank/vm/old"));
}

#[test]
fn failures_since_the_last_success_and_the_last_error() {
    let f = two_runs();
    f.run(
        "2026-11-02T12:00:30Z",
        false,
        "job-20261102T120000Z",
        Some("pre hook failed"),
    );
    f.run(
        "2026-11-02T13:00:30Z",
        false,
        "job-20261102T130000Z",
        Some("zfs send failed"),
    );
    let web = &f.status("2026-11-02T13:30:00Z").jobs[0];
    assert_eq!(
        (web.runs, web.failures, web.consecutive_failures),
        (4, 2, 2)
    );
    let fail = web.last_failure.as_ref().unwrap();
    assert_eq!(fail.error, "zfs send failed");
    assert_eq!(fail.time, t("2026-11-02T13:00:30Z").as_second());
    assert!(!web.last_run.as_ref().unwrap().ok);
    assert_eq!(web.snapshot_age_seconds, Some(150 * 60));
    f.run("2026-11-02T14:00:30Z", true, "job-20261102T140000Z", None);
    let web = &f.status("2026-11-02T14:30:00Z").jobs[0];
    assert_eq!((web.failures, web.consecutive_failures), (2, 0));
}

#[test]
fn without_a_catalog_or_a_listing_everything_is_unknown_not_zero() {
    let source = RepositorySource {
        name: "nas".into(),
        catalog: None,
        storage: Err("no such directory".into()),
        notes: vec!["catalog not found".into()],
    };
    let s = build(
        &config(""),
        Some("web"),
        &[source],
        t("2026-11-02T12:00:00Z"),
        &TimeZone::UTC,
    )
    .unwrap();
    let (web, r) = (&s.jobs[0], &s.repositories[0]);
    assert!(!web.history && web.never_run && web.snapshot_age_seconds.is_none());
    assert!(!r.reachable && r.size_bytes.is_none() && r.dedup_ratio.is_none());
    assert_eq!(r.error.as_deref(), Some("no such directory"));
    let c = nagios_check(&s, Thresholds::default(), &TimeZone::UTC);
    assert_eq!(c.state, NagiosState::Unknown);
}

#[test]
fn nagios_states_by_age_with_given_thresholds() {
    let f = two_runs();
    let given = Thresholds {
        warn: Some(2 * H),
        crit: Some(24 * H),
    };
    let at = |now: &str| nagios_check(&f.status(now), given, &TimeZone::UTC);
    let ok = at("2026-11-02T11:30:00Z");
    assert_eq!(ok.state, NagiosState::Ok);
    assert_eq!(
        ok.line,
        "BACKUP OK - web: snapshot 30m old | web_snapshot_age=1800s;7200;86400;0 \
         web_consecutive_failures=0;;;0 nas_size=1000B;;;0"
    );
    let warn = at("2026-11-02T14:00:00Z");
    assert_eq!(warn.state, NagiosState::Warning);
    assert!(
        warn.line
            .starts_with("BACKUP WARNING - web: snapshot 3h 00m old (warning at 2h 00m) |"),
        "{}",
        warn.line
    );
    assert_eq!(at("2026-11-04T00:00:00Z").state, NagiosState::Critical);
}

#[test]
fn nagios_a_failed_last_run_is_at_least_a_warning_on_one_line() {
    let f = two_runs();
    f.run(
        "2026-11-02T11:10:00Z",
        false,
        "x",
        Some("pre hook failed:\nexit 7 | oops"),
    );
    let c = nagios_check(
        &f.status("2026-11-02T11:30:00Z"),
        Thresholds {
            warn: Some(2 * H),
            crit: Some(24 * H),
        },
        &TimeZone::UTC,
    );
    assert_eq!(c.state, NagiosState::Warning);
    assert!(!c.line.contains('\n'));
    assert!(
        c.line
            .contains("last run failed (1 in a row): pre hook failed: exit 7 / oops |"),
        "{}",
        c.line
    );
}

#[test]
fn nagios_default_thresholds_follow_the_schedule() {
    let hourly = crate::schedule::Schedule::parse("hourly").unwrap();
    let (w, c) = schedule_thresholds(&hourly, &TimeZone::UTC).unwrap();
    assert_eq!((w, c), (2 * H, 3 * H));
    let f = two_runs();
    let at = |now: &str| nagios_check(&f.status(now), Thresholds::default(), &TimeZone::UTC).state;
    // The 11:00 snapshot: the 12:00 run may still be going; missing 12:00
    // and 13:00 is a warning, and 14:00 as well critical.
    assert_eq!(at("2026-11-02T12:59:00Z"), NagiosState::Ok);
    assert_eq!(at("2026-11-02T13:01:00Z"), NagiosState::Warning);
    assert_eq!(at("2026-11-02T14:01:00Z"), NagiosState::Critical);
}

/// Regression (issue 17): the default thresholds were the ages of earlier
/// scheduled instants at `now`, so they moved with the clock ("snapshot 2h
/// old (warning at 1h 05m)" at one time, OK at an older age at another).
/// They depend on the schedule alone: the same perfdata at every minute.
#[test]
fn nagios_default_thresholds_do_not_move_with_the_clock() {
    let f = two_runs();
    let perf = |now: &str| {
        let line = nagios_check(&f.status(now), Thresholds::default(), &TimeZone::UTC).line;
        let age = line
            .split(' ')
            .find(|p| p.starts_with("web_snapshot_age="))
            .unwrap();
        age.split_once(';').unwrap().1.to_string()
    };
    for now in [
        "2026-11-02T11:05:00Z",
        "2026-11-02T11:59:00Z",
        "2026-11-02T12:05:00Z",
        "2026-11-02T15:30:00Z",
    ] {
        assert_eq!(perf(now), "7200;10800;0", "at {now}");
    }
    let at = |now: &str| nagios_check(&f.status(now), Thresholds::default(), &TimeZone::UTC);
    // 1h 59m old: OK whatever the minute; 2h 05m: WARNING at 2h 00m.
    assert_eq!(at("2026-11-02T12:59:00Z").state, NagiosState::Ok);
    let w = at("2026-11-02T13:05:00Z");
    assert!(
        w.line.contains("snapshot 2h 05m old (warning at 2h 00m)"),
        "{}",
        w.line
    );
    // The interval is the longest wait: Friday to Monday for weekdays.
    let weekdays = crate::schedule::Schedule::parse("Mon..Fri 22:00").unwrap();
    assert_eq!(
        schedule_thresholds(&weekdays, &TimeZone::UTC),
        Some((6 * 24 * H, 9 * 24 * H))
    );
    let once = crate::schedule::Schedule::parse("2030-06-01 12:00").unwrap();
    assert_eq!(schedule_thresholds(&once, &TimeZone::UTC), None);
}

#[test]
fn nagios_a_job_that_never_shipped() {
    let f = Fixture::new();
    let given = Thresholds {
        warn: Some(H),
        crit: Some(2 * H),
    };
    let c = nagios_check(&f.status("2026-11-02T12:00:00Z"), given, &TimeZone::UTC);
    assert_eq!(c.state, NagiosState::Unknown, "{}", c.line);
    f.run("2026-11-02T11:00:00Z", false, "x", Some("boom"));
    let c = nagios_check(&f.status("2026-11-02T12:00:00Z"), given, &TimeZone::UTC);
    assert_eq!(c.state, NagiosState::Critical, "{}", c.line);
}

#[test]
fn human_ages() {
    assert_eq!(human_age(45), "45s");
    assert_eq!(human_age(30 * 60), "30m");
    assert_eq!(human_age(3 * H + 5 * 60), "3h 05m");
    assert_eq!(human_age(50 * H), "2d 02h");
    assert_eq!(human_age(-90), "-1m");
}

const MONTHLY_DRILL: &str = "[jobs.web.drill]\nschedule = \"monthly\"\n";

/// Thresholds no snapshot age reaches, so only drills decide.
const LAX: Thresholds = Thresholds {
    warn: Some(1000 * 24 * H),
    crit: Some(2000 * 24 * H),
};

#[test]
fn a_job_without_a_drill_table_is_never_flagged_for_drills() {
    let f = two_runs();
    let s = f.status("2026-11-02T11:30:00Z");
    let d = &s.jobs[0].drill;
    assert!(!d.defined && !d.flagged && d.last.is_none() && d.warning.is_none());
    assert_eq!(nagios_check(&s, LAX, &TimeZone::UTC).state, NagiosState::Ok);
    // A drill run by hand is shown, still not judged.
    f.catalog
        .record_drill(&report(
            "web",
            t("2026-11-01T00:00:00Z").as_second(),
            Outcome::Fail,
        ))
        .unwrap();
    let s = f.status("2026-11-02T11:30:00Z");
    assert_eq!(
        s.jobs[0].drill.last.as_ref().unwrap().outcome,
        Outcome::Fail
    );
    assert!(!s.jobs[0].drill.flagged);
    assert_eq!(nagios_check(&s, LAX, &TimeZone::UTC).state, NagiosState::Ok);
}

#[test]
fn a_defined_drill_never_run_is_flagged() {
    let f = two_runs();
    let s = f.status_with(MONTHLY_DRILL, "2026-11-02T11:30:00Z");
    let d = &s.jobs[0].drill;
    assert!(d.defined && d.flagged && !d.critical);
    assert_eq!(d.schedule.as_deref(), Some("monthly"));
    assert_eq!(d.warning.as_deref(), Some("never drilled"));
    let c = nagios_check(&s, LAX, &TimeZone::UTC);
    assert_eq!(c.state, NagiosState::Warning);
    assert!(
        c.line
            .contains("web: snapshot 30m old, drill: never drilled |"),
        "{}",
        c.line
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["jobs"][0]["drill"]["flagged"], true);
}

#[test]
fn a_drill_is_late_past_its_next_due_time_and_critical_at_twice_the_allowed_age() {
    let f = two_runs();
    let passed = t("2026-10-01T03:00:00Z").as_second();
    f.catalog
        .record_drill(&report("web", passed, Outcome::Pass))
        .unwrap();
    let at = |now: &str| f.status_with(MONTHLY_DRILL, now);
    // Due 2026-11-01 00:00, plus a tenth of the 30d 21h wait.
    let s = at("2026-11-02T11:30:00Z");
    let d = &s.jobs[0].drill;
    let due = t("2026-11-01T00:00:00Z").as_second();
    assert_eq!(d.due, Some(due));
    let wait = due - passed;
    assert_eq!(d.allowed_age_seconds, Some(wait + wait / 10));
    assert!(!d.flagged, "{:?}", d.warning);
    assert_eq!(d.last_pass.as_ref().unwrap().started, passed);
    let c = nagios_check(&s, LAX, &TimeZone::UTC);
    assert_eq!(c.state, NagiosState::Ok, "{}", c.line);
    assert!(c.line.contains(&format!(
        "web_drill_age={}s;{};{};0",
        s.now - passed,
        wait + wait / 10,
        2 * (wait + wait / 10)
    )));

    let s = at("2026-11-10T00:00:00Z");
    assert!(s.jobs[0].drill.flagged && !s.jobs[0].drill.critical);
    let w = s.jobs[0].drill.warning.clone().unwrap();
    assert!(
        w.starts_with("last passing drill 39d 21h ago, allowed 33d 23h (monthly)"),
        "{w}"
    );
    assert_eq!(
        nagios_check(&s, LAX, &TimeZone::UTC).state,
        NagiosState::Warning
    );

    let s = at("2026-12-10T00:00:00Z");
    assert!(s.jobs[0].drill.critical);
    assert_eq!(
        nagios_check(&s, LAX, &TimeZone::UTC).state,
        NagiosState::Critical
    );

    // A pass resets it.
    f.catalog
        .record_drill(&report(
            "web",
            t("2026-12-01T00:10:00Z").as_second(),
            Outcome::Pass,
        ))
        .unwrap();
    assert!(!at("2026-12-10T00:00:00Z").jobs[0].drill.flagged);
}

#[test]
fn a_failed_last_drill_is_flagged_with_its_reason() {
    let f = two_runs();
    f.catalog
        .record_drill(&report(
            "web",
            t("2026-10-01T03:00:00Z").as_second(),
            Outcome::Pass,
        ))
        .unwrap();
    let failed = report("web", t("2026-11-01T00:05:00Z").as_second(), Outcome::Fail);
    f.catalog.record_drill(&failed).unwrap();
    let s = f.status_with(MONTHLY_DRILL, "2026-11-02T11:30:00Z");
    let d = &s.jobs[0].drill;
    assert_eq!(d.last.as_ref().unwrap().id, failed.id);
    assert_eq!(d.last_pass.as_ref().unwrap().outcome, Outcome::Pass);
    assert!(d.flagged && !d.critical);
    let w = d.warning.as_deref().unwrap();
    assert_eq!(
        w,
        format!(
            "last drill {} failed: probe app-health failed (exit 1)",
            failed.id
        )
    );
    assert_eq!(
        nagios_check(&s, LAX, &TimeZone::UTC).state,
        NagiosState::Warning
    );
}

#[test]
fn without_a_catalog_a_defined_drill_is_unknown_not_flagged() {
    let source = RepositorySource {
        name: "nas".into(),
        catalog: None,
        storage: Err("gone".into()),
        notes: Vec::new(),
    };
    let s = build(
        &config(MONTHLY_DRILL),
        None,
        &[source],
        t("2026-11-02T12:00:00Z"),
        &TimeZone::UTC,
    )
    .unwrap();
    assert!(s.jobs[0].drill.defined && !s.jobs[0].drill.flagged);
}

/// Regression (issue 17, two histories): a shell's catalog had no runs of a
/// job the timer ran, and status said only "never run". It now warns that
/// the history is elsewhere when the repository holds the job's snapshots.
#[test]
fn no_runs_but_the_jobs_snapshots_in_the_repository_is_a_warning() {
    let mut f = Fixture::new();
    let c = t("2026-11-02T10:00:00Z").as_second();
    f.ship("tank/www", "job-20261102T100000Z", c, 1);
    let web = &f.status("2026-11-02T12:00:00Z").jobs[0];
    assert!(web.never_run);
    assert_eq!(web.warnings.len(), 1, "{:?}", web.warnings);
    assert!(
        web.warnings[0]
            .contains("records no run of job web, yet the repository holds its snapshots"),
        "{}",
        web.warnings[0]
    );
    // Nagios and the metrics say so too: a monitor reading this catalog
    // must not see OK.
    let st = f.status("2026-11-02T12:00:00Z");
    let given = Thresholds {
        warn: Some(24 * H),
        crit: Some(48 * H),
    };
    let n = nagios_check(&st, given, &TimeZone::UTC);
    assert_eq!(n.state, NagiosState::Warning, "{}", n.line);
    assert!(
        n.line.contains("its history is in another catalog"),
        "{}",
        n.line
    );
    let m = crate::metrics::render(&st);
    assert!(
        m.lines()
            .any(|l| l.starts_with("backup_job_warnings{") && l.ends_with(" 1")),
        "{m}"
    );
    // Runs recorded, or nothing shipped: nothing to warn of.
    f.run("2026-11-02T10:00:30Z", true, "job-20261102T100000Z", None);
    assert!(f.status("2026-11-02T12:00:00Z").jobs[0].warnings.is_empty());
    assert!(Fixture::new().status("2026-11-02T12:00:00Z").jobs[0]
        .warnings
        .is_empty());
}
