//! The drill families: for every job with a drill in the catalog, its last
//! drill (when, outcome, phases, bytes, mismatches, RTO and RPO against
//! their targets) and its last passing drill; for every job with a drill
//! table, whether status flags it.

use super::Family;
use crate::drill::Outcome;
use crate::status::Status;

/// `backup_drill_last_outcome`: 1 pass, 0 fail, -1 error.
fn outcome_value(o: Outcome) -> f64 {
    match o {
        Outcome::Pass => 1.0,
        Outcome::Fail => 0.0,
        Outcome::Error => -1.0,
    }
}

/// The drill families of `status`, in the order they are written.
pub(super) fn families(status: &Status) -> Vec<Family> {
    use Family as F;
    let mut defined = F::new(
        "backup_drill_defined",
        "gauge",
        "1 if the job has a [jobs.NAME.drill] table (a scheduled restore drill).",
    );
    let mut flagged = F::new(
        "backup_drill_flagged",
        "gauge",
        "1 if the job's drill is late (last pass older than its schedule allows), never passed, or failed last time; jobs with a drill table only.",
    );
    let mut pass_ts = F::new(
        "backup_drill_last_success_timestamp_seconds",
        "gauge",
        "End of the job's last passing restore drill, Unix time.",
    );
    let mut last_ts = F::new(
        "backup_drill_last_timestamp_seconds",
        "gauge",
        "End of the job's last restore drill, whatever its outcome, Unix time.",
    );
    let mut outcome = F::new(
        "backup_drill_last_outcome",
        "gauge",
        "Outcome of the job's last restore drill: 1 pass, 0 fail, -1 error (could not run).",
    );
    let mut phase = F::new(
        "backup_drill_phase_seconds",
        "gauge",
        "Seconds per phase of the job's last restore drill.",
    );
    let mut bytes = F::new(
        "backup_drill_restored_bytes",
        "gauge",
        "Stream bytes restored by the job's last restore drill.",
    );
    let mut mismatches = F::new(
        "backup_drill_mismatches",
        "gauge",
        "Missing, extra and changed paths found by the job's last restore drill.",
    );
    let mut rto = F::new(
        "backup_drill_rto_seconds",
        "gauge",
        "Restore time achieved by the job's last restore drill (fetch, decrypt, receive).",
    );
    let mut rto_target = F::new(
        "backup_drill_rto_target_seconds",
        "gauge",
        "Restore time target of the job's last restore drill, when one is set.",
    );
    let mut rpo = F::new(
        "backup_drill_rpo_seconds",
        "gauge",
        "Age of the oldest snapshot restored by the job's last restore drill, at drill time.",
    );
    let mut rpo_target = F::new(
        "backup_drill_rpo_target_seconds",
        "gauge",
        "Data age target of the job's last restore drill, when one is set.",
    );
    let mut met = F::new(
        "backup_drill_target_met",
        "gauge",
        "1 if the job's last restore drill met the target, else 0; targets that are set only.",
    );
    let mut layer = F::new(
        "backup_drill_layer_ok",
        "gauge",
        "1 if the layer passed in the job's last restore drill on every dataset, 0 if it failed on one; layers data, receive, files, sample (one-file restores by the fast path of restore --path), not written for a layer that did not run.",
    );
    let mut sample = F::new(
        "backup_drill_sample_files",
        "gauge",
        "Files the job's last restore drill restored one by one by the fast path of restore --path and found matching their manifest, all datasets.",
    );
    for j in &status.jobs {
        let l = || super::job_labels(j);
        let with = |k: &'static str, v: &str| {
            let mut labels = l();
            labels.push((k, v.to_string()));
            labels
        };
        let d = &j.drill;
        if d.defined && j.history {
            defined.add(l(), 1);
            flagged.add(l(), u8::from(d.flagged));
        } else if j.history {
            defined.add(l(), 0);
        }
        if let Some(p) = &d.last_pass {
            pass_ts.add(l(), p.finished as f64);
        }
        let Some(last) = &d.last else {
            continue;
        };
        last_ts.add(l(), last.finished as f64);
        outcome.add(l(), outcome_value(last.outcome));
        let p = &last.phases;
        for (name, secs) in [
            ("fetch_decrypt", p.fetch_decrypt),
            ("receive", p.receive),
            ("verify", p.verify),
            ("probes", p.probes),
            ("total", p.total),
        ] {
            phase.add(with("phase", name), secs);
        }
        for (name, ok) in &last.layers {
            layer.add(with("layer", name), u8::from(*ok));
        }
        sample.add(l(), last.sample_files as f64);
        bytes.add(l(), last.restored_bytes as f64);
        mismatches.add(l(), last.mismatches as f64);
        rto.add(l(), last.rto.achieved_seconds);
        rpo.add(l(), last.rpo.achieved_seconds);
        if let Some(t) = last.rto.target_seconds {
            rto_target.add(l(), t as f64);
        }
        if let Some(t) = last.rpo.target_seconds {
            rpo_target.add(l(), t as f64);
        }
        for (name, target) in [("rto", &last.rto), ("rpo", &last.rpo)] {
            if let Some(m) = target.met {
                met.add(with("target", name), u8::from(m));
            }
        }
    }
    vec![
        defined, flagged, pass_ts, last_ts, outcome, phase, bytes, mismatches, rto, rto_target,
        rpo, rpo_target, met, layer, sample,
    ]
}
