//! Metrics for Prometheus, in the text exposition format (version 0.0.4)
//! that node_exporter's textfile collector reads: rendered from a
//! [`crate::status::Status`] and written atomically.
//!
//! Every metric is prefixed `backup_`; docs/monitoring.md lists them. A value
//! that is unknown (a job that never succeeded has no last success time) is
//! left out rather than written as 0.

mod drill;
mod textfile;
mod verify;

use std::fmt::Write as _;

pub use textfile::write_atomic;

use crate::status::Status;

/// One metric family: name, type, help, samples (labels, value).
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Family {
            name,
            kind,
            help,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: impl Into<f64>) {
        self.samples.push((labels, value.into()));
    }
}

/// Renders the metrics of `status` in the text exposition format.
pub fn render(status: &Status) -> String {
    use Family as F;
    let mut run_ts = F::new(
        "backup_job_last_run_timestamp_seconds",
        "gauge",
        "End of the job's last run, Unix time.",
    );
    let mut run_ok = F::new(
        "backup_job_last_run_success",
        "gauge",
        "1 if the job's last run succeeded, else 0.",
    );
    let mut ok_ts = F::new(
        "backup_job_last_success_timestamp_seconds",
        "gauge",
        "End of the job's last successful run, Unix time.",
    );
    let mut fail_ts = F::new(
        "backup_job_last_failure_timestamp_seconds",
        "gauge",
        "End of the job's last failed run, Unix time.",
    );
    let mut dur = F::new(
        "backup_job_last_duration_seconds",
        "gauge",
        "Duration of the job's last successful run.",
    );
    let mut stream = F::new(
        "backup_job_last_stream_bytes",
        "gauge",
        "Bytes of zfs send streams shipped by the job's last successful run.",
    );
    let mut stored = F::new(
        "backup_job_last_stored_bytes",
        "gauge",
        "Bytes newly stored in the repository by the job's last successful run.",
    );
    let mut runs = F::new(
        "backup_job_runs_total",
        "counter",
        "Runs of the job recorded in the catalog.",
    );
    let mut fails = F::new(
        "backup_job_failures_total",
        "counter",
        "Failed runs of the job recorded in the catalog.",
    );
    let mut consec = F::new(
        "backup_job_consecutive_failures",
        "gauge",
        "Failed runs of the job since its last success.",
    );
    let mut job_warn = F::new(
        "backup_job_warnings",
        "gauge",
        "Warnings `backup status` gives about the job, e.g. 1 when the catalog read records no run of it while the repository holds its snapshots (its history is in another catalog).",
    );
    let mut job_age = F::new(
        "backup_job_snapshot_age_seconds",
        "gauge",
        "Age of the job's newest shipped snapshot, worst dataset (the achieved RPO), when written.",
    );
    let mut ds_age = F::new(
        "backup_snapshot_age_seconds",
        "gauge",
        "Age of the dataset's newest shipped snapshot, when written.",
    );
    let mut ds_ts = F::new(
        "backup_snapshot_newest_timestamp_seconds",
        "gauge",
        "Time of the dataset's newest shipped snapshot, Unix time.",
    );
    let mut up = F::new(
        "backup_repository_up",
        "gauge",
        "1 if the repository's packs could be listed, else 0.",
    );
    let mut size = F::new(
        "backup_repository_size_bytes",
        "gauge",
        "Bytes of packs in the repository.",
    );
    let mut packs = F::new(
        "backup_repository_packs",
        "gauge",
        "Pack files in the repository.",
    );
    let mut rstream = F::new(
        "backup_repository_stream_bytes",
        "gauge",
        "Bytes of all zfs send streams in the repository (before deduplication and compression).",
    );
    let mut snaps = F::new(
        "backup_repository_snapshots",
        "gauge",
        "Snapshots in the repository.",
    );
    let mut ratio = F::new(
        "backup_repository_dedup_ratio",
        "gauge",
        "Stream bytes per stored byte (deduplication and compression).",
    );
    let mut when = F::new(
        "backup_status_timestamp_seconds",
        "gauge",
        "When these metrics were computed, Unix time.",
    );

    when.add(Vec::new(), status.now as f64);
    for j in &status.jobs {
        let l = || job_labels(j);
        if let Some(r) = &j.last_run {
            run_ts.add(l(), r.finished as f64);
            run_ok.add(l(), u8::from(r.ok));
        }
        if let Some(s) = &j.last_success {
            ok_ts.add(l(), s.time as f64);
            dur.add(l(), s.duration_seconds as f64);
            stream.add(l(), s.stream_bytes as f64);
            stored.add(l(), s.stored_bytes as f64);
        }
        if let Some(f) = &j.last_failure {
            fail_ts.add(l(), f.time as f64);
        }
        if j.history {
            runs.add(l(), j.runs as f64);
            fails.add(l(), j.failures as f64);
            consec.add(l(), j.consecutive_failures as f64);
        }
        if j.history {
            job_warn.add(l(), j.warnings.len() as f64);
        }
        if let Some(a) = j.snapshot_age_seconds {
            job_age.add(l(), a as f64);
        }
        for s in &j.snapshots {
            let dl = || {
                let mut labels = job_labels(j);
                labels.push(("dataset", s.dataset.clone()));
                labels
            };
            ds_age.add(dl(), s.age_seconds as f64);
            ds_ts.add(dl(), s.time as f64);
        }
    }
    for r in &status.repositories {
        let l = || vec![("repository", r.name.clone())];
        up.add(l(), u8::from(r.reachable));
        if let (Some(b), Some(p)) = (r.size_bytes, r.packs) {
            size.add(l(), b as f64);
            packs.add(l(), p as f64);
        }
        if r.catalog {
            rstream.add(l(), r.stream_bytes as f64);
            snaps.add(l(), r.snapshots as f64);
        }
        if let Some(x) = r.dedup_ratio {
            ratio.add(l(), x);
        }
    }
    let mut families = vec![
        run_ts, run_ok, ok_ts, fail_ts, dur, stream, stored, runs, fails, consec, job_warn,
        job_age, ds_age, ds_ts, up, size, packs, rstream, snaps, ratio,
    ];
    families.extend(drill::families(status));
    families.extend(verify::families(status));
    families.push(when);
    let mut out = String::new();
    for f in families.iter().filter(|f| !f.samples.is_empty()) {
        let _ = writeln!(out, "# HELP {} {}", f.name, escape_help(f.help));
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        for (labels, value) in &f.samples {
            out.push_str(f.name);
            if !labels.is_empty() {
                let inner: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
                    .collect();
                let _ = write!(out, "{{{}}}", inner.join(","));
            }
            let _ = writeln!(out, " {}", number(*value));
        }
    }
    out
}

/// The labels of every per-job series: `backup_job` (not `job`, which
/// Prometheus sets on every scraped series to the scrape job's name, and
/// renames a series' own `job` label to `exported_job`) and `repository`.
fn job_labels(j: &crate::status::JobStatus) -> Vec<(&'static str, String)> {
    vec![
        ("backup_job", j.name.clone()),
        ("repository", j.repository.clone()),
    ]
}

/// A label value: `\`, `"` and newline escaped.
fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// HELP text: `\` and newline escaped.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Integers without a fraction; others as Rust prints them (which the
/// format accepts); non-finite as the format spells them.
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests;
