//! `backup drill history` and `backup drill show` on reports recorded in
//! the catalog through the library (the drills themselves are tested in
//! their own module): the catalog is found from the repository's public id,
//! without a passphrase.

use backup_core::{LocalBackend, Repository};
use backup_ops::drill::DrillReport;
use backup_ops::Catalog;

use crate::harness::{assert_ok, stderr, Env};

/// A fabricated drill report (the one `backup-core`'s tests use).
pub const REPORT: &str = include_str!("drill_report.json");

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Records `report` in the catalog of the environment's repository.
pub fn record(env: &Env, report: &DrillReport) {
    let id = Repository::peek_id(&LocalBackend::new(&env.repo)).unwrap();
    let path = env
        .tmp
        .path()
        .join("state")
        .join(format!("{}.sqlite", id.to_hex()));
    Catalog::open(&path).unwrap().record_drill(report).unwrap();
}

#[test]
fn drill_history_and_show_with_no_drills() {
    let env = Env::new();
    let out = env
        .command(["drill", "history"])
        .env_remove("BACKUP_PASSWORD_FILE")
        .output()
        .unwrap();
    assert_ok(&out, "drill history");
    assert_eq!(stdout(&out), "no drills recorded\n");
    let out = env.backup(["drill", "history", "--json"]);
    assert_ok(&out, "drill history --json");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );
    let out = env.backup(["drill", "show", "nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no drill \"nope\" recorded"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn drill_history_and_show_a_recorded_drill() {
    let env = Env::new();
    let failed: DrillReport = serde_json::from_str(REPORT).unwrap();
    let mut passed = failed.clone();
    passed.id = "web-20261126T073320Z-0a0a".into();
    passed.started += 30 * 86_400;
    passed.finished += 30 * 86_400;
    passed.outcome = backup_ops::drill::Outcome::Pass;
    passed.reason = None;
    let mut other = failed.clone();
    other.id = "db-20261026T073320Z-0b0b".into();
    other.job = "db".into();
    for r in [&failed, &passed, &other] {
        record(&env, r);
    }

    // Newest first, every column; no passphrase needed.
    let out = env
        .command(["drill", "history"])
        .env_remove("BACKUP_PASSWORD_FILE")
        .output()
        .unwrap();
    assert_ok(&out, "drill history");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with("ID ") && lines[0].contains("MISMATCHES  REASON"),
        "{text}"
    );
    assert!(lines[1].starts_with(&passed.id), "{text}");
    assert!(
        lines[3].contains("fail") && lines[3].ends_with("probe app-health failed (exit 1)"),
        "{text}"
    );
    assert!(
        lines[3].contains("5m/2h 00m") && lines[3].contains("1.0 MiB"),
        "{text}"
    );

    let out = env.backup(["drill", "history", "web", "--limit", "1", "--json"]);
    assert_ok(&out, "drill history web --json");
    let v: Vec<DrillReport> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, [passed.clone()]);

    // By unique prefix; an ambiguous one is refused naming the matches.
    let out = env.backup(["drill", "show", "web-20261026"]);
    assert_ok(&out, "drill show");
    let text = stdout(&out);
    for want in [
        "drill web-20261026T073320Z-0240: FAIL: probe app-health failed (exit 1)",
        "  RTO           5m achieved, target 2h 00m (met)",
        "  data          pass        every blob authenticated, digest matches",
        "  probes        fail        1 probe",
        "    fail        app-health in tank/www (exit 1, 1.5s): test -s index.html",
        "                index.html: empty",
    ] {
        assert!(text.lines().any(|l| l == want), "no {want:?} in:\n{text}");
    }
    assert!(
        text.contains("\ndataset tank/www@backup-20261121T091500Z (manifest cdcd"),
        "{text}"
    );
    let out = env.backup(["drill", "show", &failed.id, "--json"]);
    assert_ok(&out, "drill show --json");
    assert_eq!(
        serde_json::from_slice::<DrillReport>(&out.stdout).unwrap(),
        failed
    );
    let out = env.backup(["drill", "show", &failed.id, "--markdown"]);
    assert_ok(&out, "drill show --markdown");
    assert!(stdout(&out).starts_with(&format!("# Restore drill {}", failed.id)));
    let out = env.backup(["drill", "show", "web-"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("\"web-\" matches 2 drills"),
        "{}",
        stderr(&out)
    );
}
