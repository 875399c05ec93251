//! Metrics samples from a status with a fake clock: jobs, repositories,
//! drills, and the text exposition format.

use super::*;
use crate::drill::fixture::report;
use crate::drill::{Outcome, Target};
use crate::status::{
    DatasetSnapshot, DrillStatus, DrillSummary, Failure, JobStatus, RepositoryStatus, RunSummary,
    Status, Success, VerifyStatus,
};

fn status() -> Status {
    Status {
        now: 1_793_000_000,
        jobs: vec![JobStatus {
            name: "web \"main\"\\x".into(),
            repository: "nas".into(),
            datasets: vec!["tank/www".into()],
            recursive: false,
            schedule: Some("hourly".into()),
            history: true,
            never_run: false,
            warnings: Vec::new(),
            runs: 3,
            failures: 1,
            consecutive_failures: 1,
            last_run: Some(RunSummary {
                started: 1_792_999_000,
                finished: 1_792_999_100,
                ok: false,
            }),
            last_success: Some(Success {
                time: 1_792_990_000,
                duration_seconds: 95,
                snapshot: Some("job-x".into()),
                shipped: 1,
                stream_bytes: 4096,
                stored_bytes: 1024,
            }),
            last_failure: Some(Failure {
                time: 1_792_999_100,
                error: "boom".into(),
                damaged: false,
            }),
            snapshots: vec![DatasetSnapshot {
                dataset: "tank/www".into(),
                snapshot: "job-x".into(),
                time: 1_792_989_900,
                age_seconds: 10_100,
            }],
            missing: vec![],
            snapshot_age_seconds: Some(10_100),
            oldest_dataset: Some("tank/www".into()),
            drill: DrillStatus::default(),
            verify: VerifyStatus::default(),
        }],
        repositories: vec![RepositoryStatus {
            name: "nas".into(),
            reachable: true,
            error: None,
            catalog: true,
            notes: vec![],
            packs: Some(2),
            size_bytes: Some(2048),
            snapshots: 1,
            stream_bytes: 4096,
            dedup_ratio: Some(2.0),
        }],
    }
}

#[test]
fn renders_the_expected_samples_with_escaped_labels() {
    let text = render(&status());
    let job = r#"backup_job="web \"main\"\\x",repository="nas""#;
    for line in [
        format!("backup_job_last_run_timestamp_seconds{{{job}}} 1792999100"),
        format!("backup_job_last_run_success{{{job}}} 0"),
        format!("backup_job_last_success_timestamp_seconds{{{job}}} 1792990000"),
        format!("backup_job_last_failure_timestamp_seconds{{{job}}} 1792999100"),
        format!("backup_job_last_duration_seconds{{{job}}} 95"),
        format!("backup_job_last_stream_bytes{{{job}}} 4096"),
        format!("backup_job_last_stored_bytes{{{job}}} 1024"),
        format!("backup_job_failures_total{{{job}}} 1"),
        format!("backup_job_consecutive_failures{{{job}}} 1"),
        format!("backup_job_snapshot_age_seconds{{{job}}} 10100"),
        format!("backup_snapshot_age_seconds{{{job},dataset=\"tank/www\"}} 10100"),
        format!(
            "backup_snapshot_newest_timestamp_seconds{{{job},dataset=\"tank/www\"}} 1792989900"
        ),
        r#"backup_repository_up{repository="nas"} 1"#.into(),
        r#"backup_repository_size_bytes{repository="nas"} 2048"#.into(),
        r#"backup_repository_stream_bytes{repository="nas"} 4096"#.into(),
        r#"backup_repository_dedup_ratio{repository="nas"} 2"#.into(),
        "backup_status_timestamp_seconds 1793000000".into(),
        "# TYPE backup_job_failures_total counter".into(),
        "# TYPE backup_snapshot_age_seconds gauge".into(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

/// Regression (issue 17): a `job` label collides with the label Prometheus
/// gives every scraped series (it becomes `exported_job`), and the
/// per-dataset series had no `repository`. Every series of a job carries
/// `backup_job` and `repository`; none carries `job`.
#[test]
fn every_job_series_has_backup_job_and_repository_and_none_has_job() {
    let mut s = drilled();
    s.jobs[0].verify = VerifyStatus {
        defined: true,
        ..VerifyStatus::default()
    };
    let text = render(&s);
    let mut per_job = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let series = line.rsplit_once(' ').unwrap().0;
        assert!(
            !series.contains("{job=") && !series.contains(",job="),
            "{line}"
        );
        if series.starts_with("backup_repository_") || series.starts_with("backup_status_") {
            continue;
        }
        per_job += 1;
        assert!(series.contains("{backup_job=\""), "no backup_job: {line}");
        assert!(
            series.contains(",repository=\"nas\""),
            "no repository: {line}"
        );
    }
    assert!(per_job > 30, "{text}");
    assert!(text.contains("backup_snapshot_age_seconds{"), "{text}");
}

#[test]
fn unknown_values_are_left_out() {
    let mut s = status();
    s.jobs[0].last_success = None;
    s.jobs[0].snapshot_age_seconds = None;
    s.repositories[0].reachable = false;
    s.repositories[0].size_bytes = None;
    s.repositories[0].dedup_ratio = None;
    let text = render(&s);
    assert!(!text.contains("backup_job_last_success_timestamp_seconds"));
    assert!(!text.contains("backup_job_snapshot_age_seconds"));
    assert!(!text.contains("backup_repository_size_bytes"));
    assert!(text.contains("backup_repository_up{repository=\"nas\"} 0\n"));
}

/// A check of the text format's grammar (exposition format 0.0.4): comment
/// lines are HELP or TYPE of a family declared once, before its samples;
/// samples are `name{label="value",...} number` with names and labels of
/// the allowed characters, properly escaped values, and a final newline.
#[test]
fn output_follows_the_text_exposition_format() {
    check_format(&render(&status()));
    check_format(&render(&drilled()));
}

fn check_format(text: &str) {
    assert!(text.ends_with('\n'));
    let mut typed: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name, arg) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            assert!(valid_name(name), "{line}");
            match kw {
                "HELP" => {
                    assert!(
                        !typed.contains(&name.to_string()),
                        "family {name} declared twice"
                    );
                    current = name.to_string();
                }
                "TYPE" => {
                    assert_eq!(name, current, "TYPE without HELP: {line}");
                    assert!(["gauge", "counter"].contains(&arg), "{line}");
                    typed.push(name.to_string());
                }
                _ => panic!("unexpected comment {line}"),
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "value of {line}");
        let name = series.split('{').next().unwrap();
        assert_eq!(name, current, "sample outside its family: {line}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            check_labels(
                labels.strip_prefix('{').unwrap().strip_suffix('}').unwrap(),
                line,
            );
        }
    }
}

fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_' || x == ':')
}

/// `k="v",k="v"` with `\\`, `\"` and `\n` the only escapes.
fn check_labels(mut s: &str, line: &str) {
    while !s.is_empty() {
        let (key, rest) = s.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
        assert!(valid_name(key) && !key.starts_with("__"), "{line}");
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => assert!(
                    matches!(chars.next(), Some((_, '\\' | '"' | 'n'))),
                    "{line}"
                ),
                Some((i, '"')) => break i,
                Some((_, '\n')) | None => panic!("unterminated label value: {line}"),
                Some(_) => {}
            }
        };
        s = &rest[end + 1..];
        s = s.strip_prefix(',').unwrap_or(s);
    }
}

/// The status of a job with a drill table whose last drill failed after a
/// pass.
fn drilled() -> Status {
    let mut s = status();
    let pass = report("web", 1_790_000_000, Outcome::Pass);
    let mut fail = report("web", 1_792_000_000, Outcome::Fail);
    fail.rto = Target::new(9000.0, Some(jiff::SignedDuration::from_hours(2)));
    fail.rpo = Target::new(3600.0, None);
    fail.mismatches = 3;
    s.jobs[0].drill = DrillStatus {
        defined: true,
        schedule: Some("monthly".into()),
        last: Some(DrillSummary::of(&fail, s.now)),
        last_pass: Some(DrillSummary::of(&pass, s.now)),
        flagged: true,
        warning: Some("last drill failed".into()),
        ..DrillStatus::default()
    };
    s
}

#[test]
fn drill_samples_of_the_last_drill_and_the_last_pass() {
    let text = render(&drilled());
    let job = r#"backup_job="web \"main\"\\x",repository="nas""#;
    for line in [
        format!("backup_drill_defined{{{job}}} 1"),
        format!("backup_drill_flagged{{{job}}} 1"),
        format!("backup_drill_last_success_timestamp_seconds{{{job}}} 1790000420"),
        format!("backup_drill_last_timestamp_seconds{{{job}}} 1792000420"),
        format!("backup_drill_last_outcome{{{job}}} 0"),
        format!("backup_drill_phase_seconds{{{job},phase=\"fetch_decrypt\"}} 200"),
        format!("backup_drill_phase_seconds{{{job},phase=\"receive\"}} 100"),
        format!("backup_drill_phase_seconds{{{job},phase=\"verify\"}} 60"),
        format!("backup_drill_phase_seconds{{{job},phase=\"probes\"}} 1.5"),
        format!("backup_drill_phase_seconds{{{job},phase=\"total\"}} 420"),
        format!("backup_drill_restored_bytes{{{job}}} 1048576"),
        format!("backup_drill_mismatches{{{job}}} 3"),
        format!("backup_drill_rto_seconds{{{job}}} 9000"),
        format!("backup_drill_rto_target_seconds{{{job}}} 7200"),
        format!("backup_drill_rpo_seconds{{{job}}} 3600"),
        format!("backup_drill_target_met{{{job},target=\"rto\"}} 0"),
        format!("backup_drill_layer_ok{{{job},layer=\"sample\"}} 1"),
        format!("backup_drill_sample_files{{{job}}} 0"),
        "# TYPE backup_drill_last_outcome gauge".into(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // No RPO target: no target sample, no met sample.
    assert!(!text.contains("backup_drill_rpo_target_seconds"));
    assert!(!text.contains("target=\"rpo\""));
    assert!(text.ends_with("backup_status_timestamp_seconds 1793000000\n"));
}

#[test]
fn drill_outcomes_and_a_job_never_drilled() {
    let mut s = drilled();
    let outcome_line = |s: &Status| {
        render(s)
            .lines()
            .find(|l| l.starts_with("backup_drill_last_outcome{"))
            .map(|l| l.rsplit_once(' ').unwrap().1.to_string())
    };
    for (o, v) in [
        (Outcome::Error, "-1"),
        (Outcome::Pass, "1"),
        (Outcome::Fail, "0"),
    ] {
        s.jobs[0].drill.last.as_mut().unwrap().outcome = o;
        assert_eq!(outcome_line(&s).as_deref(), Some(v));
    }
    // Without a drill table and without drills: only "defined 0".
    s.jobs[0].drill = DrillStatus::default();
    let text = render(&s);
    assert!(text.contains("backup_drill_defined{"), "{text}");
    for absent in [
        "backup_drill_flagged",
        "backup_drill_last_",
        "backup_drill_phase",
    ] {
        assert!(!text.contains(absent), "{absent} in\n{text}");
    }
}
