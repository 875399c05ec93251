//! The verification families: for every job with a verification in the
//! catalog, its last one (when, whether it passed, what it read, how many
//! problems it found) and its last pass; for every job with `check_every`,
//! whether status flags it and how long a full pass over the packs takes.

use super::Family;
use crate::status::Status;

/// The verification families of `status`, in the order they are written.
pub(super) fn families(status: &Status) -> Vec<Family> {
    use Family as F;
    let mut defined = F::new(
        "backup_verify_defined",
        "gauge",
        "1 if the job has check_every (a scheduled verification of its repository).",
    );
    let mut last_ts = F::new(
        "backup_verify_last_timestamp_seconds",
        "gauge",
        "End of the job's last verification, whatever its result, Unix time.",
    );
    let mut success = F::new(
        "backup_verify_last_success",
        "gauge",
        "1 if the job's last verification found no error, else 0.",
    );
    let mut pass_ts = F::new(
        "backup_verify_last_success_timestamp_seconds",
        "gauge",
        "Start of the job's last verification that found no error, Unix time.",
    );
    let mut bytes = F::new(
        "backup_verify_last_bytes_read",
        "gauge",
        "Bytes of packs read back by the job's last verification.",
    );
    let mut packs = F::new(
        "backup_verify_last_packs_read",
        "gauge",
        "Packs read back by the job's last verification.",
    );
    let mut problems = F::new(
        "backup_verify_last_problems",
        "gauge",
        "Errors found by the job's last verification.",
    );
    let mut overdue = F::new(
        "backup_verify_overdue",
        "gauge",
        "1 if the job's verification is overdue (older than check_every plus a grace) or never ran; jobs with check_every only.",
    );
    let mut period = F::new(
        "backup_verify_coverage_period_seconds",
        "gauge",
        "Time within which the rotation reads every pack: verifications per full pass times check_every.",
    );
    for j in &status.jobs {
        let l = || super::job_labels(j);
        let v = &j.verify;
        if j.history {
            defined.add(l(), u8::from(v.defined));
            if v.defined {
                overdue.add(l(), u8::from(v.overdue));
            }
        }
        if let Some(c) = &v.coverage {
            period.add(l(), c.period_seconds as f64);
        }
        if let Some(t) = v.last_pass {
            pass_ts.add(l(), t as f64);
        }
        let Some(last) = &v.last else {
            continue;
        };
        last_ts.add(l(), last.finished as f64);
        success.add(l(), u8::from(last.ok));
        bytes.add(l(), last.bytes_read as f64);
        packs.add(l(), last.packs_read as f64);
        problems.add(l(), last.problems.len() as f64);
    }
    vec![
        defined, last_ts, success, pass_ts, bytes, packs, problems, overdue, period,
    ]
}
