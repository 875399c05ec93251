//! A job's scheduled verifications in `status`: the last one, the last that
//! passed, when the next is due, how long a full pass over the packs takes,
//! and whether the job is red.
//!
//! A job whose last verification found errors is **failed** (red: Nagios
//! CRITICAL) until a later verification passes, whether or not the job has
//! `check_every` (a `backup check --job JOB` counts too). A job with
//! `check_every` is **overdue** (Nagios WARNING) when its last verification
//! started more than `check_every` plus a grace ago (a tenth of
//! `check_every`, at least [`MIN_GRACE`](super::MIN_GRACE)), or when it was
//! never verified.

use serde::Serialize;

use super::{human_age, MIN_GRACE};
use crate::catalog::{Catalog, Verification};
use crate::config::Job;
use crate::error::Result;
use crate::verify::{coverage, next_due, portion_text, Coverage};

/// A job's verifications.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VerifyStatus {
    /// Whether the job has `check_every`.
    pub defined: bool,
    /// `check_every`, seconds.
    pub every_seconds: Option<i64>,
    /// `check_read_data` as people write it; `None`: structure only.
    pub read_data: Option<String>,
    /// The newest verification, whatever its result.
    pub last: Option<Verification>,
    /// When the newest passing verification started, Unix seconds.
    pub last_pass: Option<i64>,
    /// When the next verification is due, Unix seconds (with `check_every`).
    pub next_due: Option<i64>,
    /// How long a full pass over the packs takes.
    pub coverage: Option<Coverage>,
    /// The last verification found errors: red until one passes.
    pub failed: bool,
    /// With `check_every`: never verified, or the last verification is
    /// older than `check_every` plus the grace.
    pub overdue: bool,
    /// Why it is failed or overdue, for people.
    pub warning: Option<String>,
}

/// The verifications of `job` at `now`, from `catalog`; `pack_bytes` from a
/// listing of the repository, for the coverage of a size portion.
pub fn verify_status(
    job: &Job,
    catalog: Option<&Catalog>,
    pack_bytes: Option<u64>,
    now: i64,
) -> Result<VerifyStatus> {
    let (last, last_pass) = match catalog {
        Some(c) => (
            c.last_verification(&job.name, None)?,
            c.last_verification(&job.name, Some(true))?,
        ),
        None => (None, None),
    };
    let bytes = last.as_ref().map(|v| v.pack_bytes).or(pack_bytes);
    let mut st = VerifyStatus {
        defined: job.check_every.is_some(),
        every_seconds: job.check_every.map(|e| e.as_secs()),
        read_data: job.check_read_data.map(portion_text),
        next_due: next_due(job.check_every, last.as_ref().map(|v| v.started)),
        coverage: coverage(job, bytes),
        last_pass: last_pass.map(|v| v.started),
        ..VerifyStatus::default()
    };
    if catalog.is_none() {
        return Ok(st);
    }
    let mut warnings = Vec::new();
    if let Some(v) = last.as_ref().filter(|v| !v.ok) {
        st.failed = true;
        let first = v
            .problems
            .first()
            .map_or("no problem recorded", String::as_str);
        warnings.push(format!(
            "last verification {} ago found {} problem(s): {first}",
            human_age(now - v.started),
            v.problems.len()
        ));
    }
    if let Some(every) = st.every_seconds {
        let grace = (every / 10).max(MIN_GRACE);
        match &last {
            None => {
                st.overdue = true;
                warnings.push("never verified".into());
            }
            Some(v) if now - v.started > every + grace => {
                st.overdue = true;
                warnings.push(format!(
                    "last verification {} ago, check_every {}",
                    human_age(now - v.started),
                    human_age(every)
                ));
            }
            Some(_) => {}
        }
    }
    st.last = last;
    st.warning = (!warnings.is_empty()).then(|| warnings.join("; "));
    Ok(st)
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;
    use jiff::Timestamp;

    use crate::catalog::{Catalog, Verification};
    use crate::status::Thresholds;
    use crate::status::{build, nagios_check, NagiosState, RepositorySource, StorageStats};

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_800_000_000;

    fn config(extra: &str) -> crate::config::Config {
        let text = format!(
            "[repositories.nas]\nlocation = \"/nas\"\npassword_file = \"/p\"\n\n\
             [jobs.web]\nrepository = \"nas\"\ndatasets = [\"tank/www\"]\n{extra}"
        );
        crate::config::parse("backup.toml".as_ref(), &text).unwrap()
    }

    fn verification(started: i64, ok: bool) -> Verification {
        Verification {
            job: "web".into(),
            started,
            finished: started + 60,
            ok,
            portion: Some("5%".into()),
            packs: 100,
            pack_bytes: 1 << 30,
            packs_read: 5,
            bytes_read: 50 << 20,
            blobs_read: 80,
            problems: if ok {
                Vec::new()
            } else {
                vec!["pack 0a1b: blob at offset 30: does not authenticate".into()]
            },
            damaged_snapshots: Vec::new(),
            cursor: None,
            completed_pass: false,
        }
    }

    /// The status, Nagios state and line, and metrics of job web at NOW.
    fn judge(
        extra: &str,
        rows: &[Verification],
    ) -> (crate::status::Status, NagiosState, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Catalog::open(&dir.path().join("c.sqlite")).unwrap();
        for r in rows {
            catalog.record_verification(r).unwrap();
        }
        let c = config(extra);
        let sources = [RepositorySource {
            name: "nas".into(),
            catalog: Some(&catalog),
            storage: Ok(StorageStats {
                packs: 100,
                pack_bytes: 1 << 30,
            }),
            notes: Vec::new(),
        }];
        let now = Timestamp::from_second(NOW).unwrap();
        let st = build(&c, None, &sources, now, &TimeZone::UTC).unwrap();
        let given = Thresholds {
            warn: Some(10 * DAY),
            crit: Some(20 * DAY),
        };
        let n = nagios_check(&st, given, &TimeZone::UTC);
        let metrics = crate::metrics::render(&st);
        (st, n.state, n.line, metrics)
    }

    #[test]
    fn a_failed_verification_is_red_until_a_later_one_passes() {
        let weekly = "check_every = \"7d\"\ncheck_read_data = \"5%\"\n";
        let (st, state, line, metrics) = judge(weekly, &[verification(NOW - DAY, false)]);
        let v = &st.jobs[0].verify;
        assert!(v.failed && !v.overdue, "{v:?}");
        assert_eq!(state, NagiosState::Critical, "{line}");
        assert!(
            line.contains(
                "verification: last verification 1d 00h ago found 1 problem(s): pack 0a1b"
            ),
            "{line}"
        );
        assert!(
            metrics
                .contains("backup_verify_last_success{backup_job=\"web\",repository=\"nas\"} 0\n"),
            "{metrics}"
        );
        assert!(metrics
            .contains("backup_verify_last_problems{backup_job=\"web\",repository=\"nas\"} 1\n"));
        let (st, state, line, metrics) = judge(
            weekly,
            &[
                verification(NOW - 2 * DAY, false),
                verification(NOW - DAY, true),
            ],
        );
        assert!(!st.jobs[0].verify.failed);
        assert_eq!(state, NagiosState::Unknown, "no snapshots, no run: {line}");
        assert!(!line.contains("verification:"), "{line}");
        assert!(metrics
            .contains("backup_verify_last_success{backup_job=\"web\",repository=\"nas\"} 1\n"));
        assert!(metrics.contains(&format!(
            "backup_verify_last_success_timestamp_seconds{{backup_job=\"web\",repository=\"nas\"}} {}\n",
            NOW - DAY
        )));
        assert!(metrics.contains(
            "backup_verify_last_bytes_read{backup_job=\"web\",repository=\"nas\"} 52428800\n"
        ));
    }

    #[test]
    fn an_overdue_or_missing_verification_is_a_warning_and_the_period_is_stated() {
        let weekly = "check_every = \"7d\"\ncheck_read_data = \"5%\"\n";
        let (st, state, line, metrics) = judge(weekly, &[verification(NOW - 8 * DAY, true)]);
        let v = &st.jobs[0].verify;
        assert!(v.overdue && !v.failed, "{v:?}");
        assert_eq!(state, NagiosState::Warning, "{line}");
        assert!(
            line.contains("last verification 8d 00h ago, check_every 7d 00h"),
            "{line}"
        );
        let c = v.coverage.unwrap();
        assert_eq!((c.runs, c.period_seconds), (20, 20 * 7 * DAY));
        assert!(metrics.contains(&format!(
            "backup_verify_coverage_period_seconds{{backup_job=\"web\",repository=\"nas\"}} {}\n",
            20 * 7 * DAY
        )));
        assert!(
            metrics.contains("backup_verify_overdue{backup_job=\"web\",repository=\"nas\"} 1\n")
        );
        // Within check_every plus the grace: not overdue.
        let (st, _, _, _) = judge(weekly, &[verification(NOW - 7 * DAY - 3600, true)]);
        assert!(!st.jobs[0].verify.overdue);
        assert_eq!(st.jobs[0].verify.next_due, Some(NOW - 3600));
        let (st, state, line, _) = judge(weekly, &[]);
        assert!(st.jobs[0].verify.overdue);
        assert_eq!(
            state,
            NagiosState::Warning.worst(NagiosState::Unknown),
            "{line}"
        );
        assert!(line.contains("never verified"), "{line}");
        // A size portion: ceil(1 GiB / 100 MiB) = 11 runs.
        let (st, _, _, _) = judge("check_every = \"1d\"\ncheck_read_data = \"100MiB\"\n", &[]);
        assert_eq!(st.jobs[0].verify.coverage.unwrap().runs, 11);
        // No check_every: never overdue, but a failed `check --job` is red.
        let (st, state, _, metrics) = judge("", &[verification(NOW - 30 * DAY, false)]);
        assert!(!st.jobs[0].verify.overdue && st.jobs[0].verify.failed);
        assert_eq!(state, NagiosState::Critical);
        assert!(
            metrics.contains("backup_verify_defined{backup_job=\"web\",repository=\"nas\"} 0\n")
        );
    }
}
