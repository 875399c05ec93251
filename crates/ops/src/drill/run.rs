//! One drill, start to end: pick, clean leftovers, make scratch space,
//! restore and verify each dataset, run the probes, weigh the targets,
//! clean up.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use backup_zfs::{DatasetName, Zfs};
use jiff::Timestamp;

use crate::config::{DrillPick, DrillSpec, Job};
use crate::error::Result;
use backup_core::Id;
use backup_core::Manifest;
use backup_core::Progress;
use backup_core::Repository;

use super::files;
use super::probe::run_probe;
use super::receive::receive_chain;
use super::report::{
    Access, DatasetDrill, DrillReport, Layer, Link, Outcome, Phases, ScratchInfo, Status, Target,
    REPORT_VERSION,
};
use super::sample;
use super::scratch::{remove_leftovers, ScratchSpace};
use super::select;

/// Smallest throwaway pool (its file is sparse: only what is written costs).
const MIN_POOL_BYTES: u64 = 2 << 30;

/// What to drill and how.
#[derive(Debug)]
pub struct DrillRequest<'a> {
    /// The job.
    pub job: &'a Job,
    /// Its drill definition (or the defaults).
    pub spec: &'a DrillSpec,
    /// Which snapshots (the definition's, or `--snapshot`).
    pub pick: DrillPick,
    /// Holds mountpoints, and the throwaway pool's file.
    pub work_dir: PathBuf,
    /// Keep the scratch space when the drill does not pass.
    pub keep_on_failure: bool,
    /// The drill's clock: its id and the RPO.
    pub now: Timestamp,
    /// The exported key file the repository was opened with, if any.
    pub key_file: Option<String>,
    /// How to reach the repository again (for the runbook).
    pub access: Access,
    /// Raised on SIGINT/SIGTERM: the drill stops and cleans up.
    pub stop: &'a AtomicBool,
}

/// A random index below `n`.
fn random_index(n: usize) -> usize {
    (u64::from_le_bytes(Id::random().0[..8].try_into().expect("8 bytes")) % n as u64) as usize
}

/// A drill id: `<job>-<UTC time>-<4 hex>`.
pub fn drill_id(job: &str, now: Timestamp) -> String {
    format!(
        "{job}-{}-{}",
        now.strftime("%Y%m%dT%H%M%SZ"),
        &Id::random().to_hex()[..4]
    )
}

/// Runs a drill. Never fails: a drill that cannot run is a report with
/// outcome [`Outcome::Error`]. `all` is every manifest of the repository
/// (the catalog's copy); the caller holds a shared repository lock and the
/// drills' lock of this host.
pub fn run(
    req: &DrillRequest<'_>,
    repo: &Repository,
    all: &[(Id, Manifest)],
    zfs: &Zfs,
    progress: &dyn Progress,
) -> DrillReport {
    let clock = Instant::now();
    let id = drill_id(&req.job.name, req.now);
    let mut report = DrillReport {
        version: REPORT_VERSION,
        id: id.clone(),
        job: req.job.name.clone(),
        repository: repo.backend().location(),
        repository_id: repo.id().to_hex(),
        host: backup_zfs::host::hostname(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        zfs: zfs
            .dialect()
            .map_or_else(|e| format!("unknown ({e})"), backup_zfs::Dialect::name),
        started: req.now.as_second(),
        finished: 0,
        outcome: Outcome::Error,
        reason: None,
        key_file: req.key_file.clone(),
        pick: match &req.pick {
            DrillPick::Latest => "latest".into(),
            DrillPick::Random => "random".into(),
            DrillPick::Given(q) => q.clone(),
        },
        scratch: ScratchInfo {
            kind: String::new(),
            dataset: String::new(),
            file: None,
            mountpoint: String::new(),
            kept: false,
            leftovers_removed: Vec::new(),
            cleanup_error: None,
        },
        datasets: Vec::new(),
        probes: Vec::new(),
        probe_layer: Layer::new(Status::NotReached, "the drill did not get that far"),
        phases: Phases::default(),
        rto: Target::new(0.0, req.spec.rto),
        rpo: Target::new(0.0, req.spec.rpo),
        restored_bytes: 0,
        mismatches: 0,
        access: req.access.clone(),
    };
    let (scratch, chains) = match prepare(req, all, zfs, &id, &mut report) {
        Ok(prepared) => prepared,
        Err(e) => {
            report.reason = Some(e.to_string());
            report.phases.total = clock.elapsed().as_secs_f64();
            report.finished = req.now.as_second() + clock.elapsed().as_secs() as i64;
            return report;
        }
    };
    restore_and_verify(req, repo, zfs, &scratch, &chains, &mut report, progress);
    run_probes(req, &mut report);
    judge(req, &mut report);
    if report.outcome != Outcome::Pass && req.keep_on_failure {
        report.scratch.kept = true;
    } else if let Err(e) = scratch.destroy(zfs) {
        report.scratch.cleanup_error = Some(e.to_string());
        if report.outcome == Outcome::Pass {
            report.outcome = Outcome::Error;
            report.reason = Some(format!("cleaning up the scratch space: {e}"));
        }
    }
    report.phases.total = clock.elapsed().as_secs_f64();
    report.finished = req.now.as_second() + clock.elapsed().as_secs() as i64;
    report
}

/// Picks the snapshots, removes leftovers, makes the scratch space.
/// Returns it with each dataset's chain (manifest ids, full first), in the
/// order of `report.datasets`.
fn prepare(
    req: &DrillRequest<'_>,
    all: &[(Id, Manifest)],
    zfs: &Zfs,
    id: &str,
    report: &mut DrillReport,
) -> Result<(ScratchSpace, Vec<Vec<Id>>)> {
    let targets = select::pick(req.job, req.spec, &req.pick, all, random_index)?;
    let mut size = 0;
    let mut chains = Vec::new();
    for (tid, m) in &targets {
        let chain = backup_core::resolve_chain(all, tid)?;
        size += chain.iter().map(|(_, m)| m.stream_len).sum::<u64>();
        report.datasets.push(planned(req, m, *tid, &chain));
        chains.push(chain.iter().map(|(id, _)| *id).collect());
    }
    report.scratch.leftovers_removed = remove_leftovers(zfs, &req.spec.scratch, &req.work_dir)?;
    if req.stop.load(Ordering::Relaxed) {
        return Err(backup_core::Error::Interrupted.into());
    }
    let pool_size = (size.saturating_mul(4)).max(MIN_POOL_BYTES);
    let scratch = ScratchSpace::create(zfs, &req.spec.scratch, &req.work_dir, id, pool_size)?;
    report.scratch.kind = scratch.kind().into();
    report.scratch.dataset = scratch.root.to_string();
    report.scratch.file = scratch.pool.as_ref().map(|(_, f)| f.display().to_string());
    report.scratch.mountpoint = scratch.mountpoint.display().to_string();
    Ok((scratch, chains))
}

/// A dataset's entry before anything ran.
fn planned(
    req: &DrillRequest<'_>,
    m: &Manifest,
    id: Id,
    chain: &[&(Id, Manifest)],
) -> DatasetDrill {
    let time = crate::job::snapshot_time(&req.job.prefix, &m.snapshot)
        .map_or(m.creation, jiff::Timestamp::as_second);
    let not_reached = || Layer::new(Status::NotReached, "not reached");
    DatasetDrill {
        dataset: m.dataset.clone(),
        snapshot: m.snapshot.clone(),
        manifest: id.to_hex(),
        guid: m.guid,
        snapshot_time: time,
        age_seconds: req.now.as_second() - time,
        chain: chain
            .iter()
            .map(|(id, l)| Link {
                id: id.to_hex(),
                snapshot: l.full_name(),
                kind: if l.base.is_some() {
                    "incremental"
                } else {
                    "full"
                }
                .into(),
                stream_len: l.stream_len,
            })
            .collect(),
        restored_as: String::new(),
        mountpoint: String::new(),
        data: not_reached(),
        receive: not_reached(),
        files: not_reached(),
        comparison: None,
        sample: not_reached(),
        sample_detail: None,
        restored_bytes: 0,
        fetch_seconds: 0.0,
        receive_seconds: 0.0,
        verify_seconds: 0.0,
    }
}

/// Layers 1 to 3 for every dataset, in order (parents first).
fn restore_and_verify(
    req: &DrillRequest<'_>,
    repo: &Repository,
    zfs: &Zfs,
    scratch: &ScratchSpace,
    chains: &[Vec<Id>],
    report: &mut DrillReport,
    progress: &dyn Progress,
) {
    for (d, ids) in report.datasets.iter_mut().zip(chains) {
        if req.stop.load(Ordering::Relaxed) {
            break;
        }
        let target = match restore_target(zfs, &scratch.root, &d.dataset) {
            Ok(t) => t,
            Err(e) => {
                d.receive = Layer::new(
                    Status::Fail,
                    format!("preparing the restore of {}: {e}", d.dataset),
                );
                continue;
            }
        };
        d.restored_as = target.to_string();
        // The catalog's copies lack the chunk lists: read each manifest.
        let chain: Result<Vec<(Id, Manifest)>> = ids
            .iter()
            .map(|id| Ok((*id, repo.read_manifest(id)?)))
            .collect();
        let chain = match chain {
            Ok(c) => c,
            Err(e) => {
                d.data = Layer::new(
                    Status::Fail,
                    format!("reading the chain of {}: {e}", d.dataset),
                );
                continue;
            }
        };
        let got = receive_chain(repo, zfs, &chain, &target, req.stop, progress);
        d.data = got.data;
        d.receive = got.receive;
        d.restored_bytes = got.bytes;
        d.fetch_seconds = got.fetch_seconds;
        d.receive_seconds = got.receive_seconds;
        report.restored_bytes += got.bytes;
        report.phases.fetch_decrypt += got.fetch_seconds;
        report.phases.receive += got.receive_seconds;
        if d.receive.status != Status::Pass {
            continue;
        }
        let mnt = zfs.mountpoint(&target).ok().flatten();
        d.mountpoint = mnt
            .as_ref()
            .map_or(String::new(), |p| p.display().to_string());
        let started = Instant::now();
        let m = &chain.last().expect("a chain has a stream").1;
        let (layer, comparison) = files::verify(repo, zfs, m, &target, mnt.as_deref());
        d.verify_seconds = started.elapsed().as_secs_f64();
        report.phases.verify += d.verify_seconds;
        if let Some(c) = &comparison {
            report.mismatches += c.missing + c.extra + c.changed;
        } else if m.volume.is_some() && layer.status == Status::Fail {
            report.mismatches += 1;
        }
        d.files = layer;
        d.comparison = comparison;
        let (layer, detail) = sample::sample(
            repo,
            &chain,
            req.spec.sample_files,
            &req.work_dir,
            random_index,
        );
        if let Some(s) = &detail {
            report.phases.verify += s.seconds;
        }
        d.sample = layer;
        d.sample_detail = detail;
    }
}

/// Where `dataset` is restored: the same path below the scratch root,
/// its missing parents made (unmounted into nothing but the scratch tree).
fn restore_target(zfs: &Zfs, root: &DatasetName, dataset: &str) -> Result<DatasetName> {
    let target =
        DatasetName::parse(&format!("{root}/{dataset}")).map_err(backup_zfs::ZfsError::from)?;
    if let Some(parent) = target.parent() {
        if !zfs.dataset_exists(&parent)? {
            zfs.create_dataset(&parent, &[])?;
        }
    }
    Ok(target)
}

/// Layer 4: the probes, each in the restored copy of its dataset.
fn run_probes(req: &DrillRequest<'_>, report: &mut DrillReport) {
    if req.spec.probes.is_empty() {
        report.probe_layer = Layer::new(Status::Skipped, "no probes defined");
        return;
    }
    let started = Instant::now();
    for p in &req.spec.probes {
        let d = match &p.dataset {
            Some(ds) => report.datasets.iter().find(|d| d.dataset == ds.as_str()),
            None => report.datasets.first(),
        };
        let runnable = d.filter(|d| d.receive.status == Status::Pass && !d.mountpoint.is_empty());
        let dataset = d.map_or_else(
            || {
                p.dataset
                    .as_ref()
                    .map_or(String::new(), std::string::ToString::to_string)
            },
            |d| d.dataset.clone(),
        );
        let result = match runnable {
            Some(d) if !req.stop.load(Ordering::Relaxed) => {
                let env = [
                    ("BACKUP_DRILL_ID", report.id.clone()),
                    ("BACKUP_DRILL_JOB", report.job.clone()),
                    ("BACKUP_DRILL_DATASET", d.dataset.clone()),
                    (
                        "BACKUP_DRILL_SNAPSHOT",
                        format!("{}@{}", d.dataset, d.snapshot),
                    ),
                    ("BACKUP_DRILL_RESTORED", d.restored_as.clone()),
                    ("BACKUP_DRILL_MOUNTPOINT", d.mountpoint.clone()),
                    ("BACKUP_DRILL_ROOT", report.scratch.mountpoint.clone()),
                ];
                run_probe(
                    p,
                    &dataset,
                    Path::new(&d.mountpoint),
                    &env,
                    &req.work_dir,
                    req.stop,
                )
            }
            _ => super::report::ProbeResult {
                name: p.name.clone(),
                command: p.command.clone(),
                dataset: dataset.clone(),
                status: Status::NotReached,
                exit_code: None,
                timed_out: false,
                seconds: 0.0,
                output: if d.is_none() {
                    format!("{dataset} was not restored by this drill")
                } else {
                    "its dataset was not restored".into()
                },
            },
        };
        report.probes.push(result);
    }
    report.phases.probes = started.elapsed().as_secs_f64();
    let failed: Vec<&str> = report
        .probes
        .iter()
        .filter(|p| p.status != Status::Pass)
        .map(|p| p.name.as_str())
        .collect();
    report.probe_layer = if failed.is_empty() {
        Layer::new(
            Status::Pass,
            format!("{} probe(s) passed", report.probes.len()),
        )
    } else if report.probes.iter().all(|p| p.status == Status::NotReached) {
        Layer::new(Status::NotReached, "no probe could run: the restore failed")
    } else {
        Layer::new(
            Status::Fail,
            format!(
                "{} of {} probe(s) failed: {}",
                failed.len(),
                report.probes.len(),
                failed.join(", ")
            ),
        )
    };
}

/// Targets, outcome and reason.
fn judge(req: &DrillRequest<'_>, report: &mut DrillReport) {
    let restore_seconds = report.phases.fetch_decrypt + report.phases.receive;
    report.rto = Target::new(restore_seconds, req.spec.rto);
    let oldest = report
        .datasets
        .iter()
        .map(|d| d.age_seconds)
        .max()
        .unwrap_or(0);
    report.rpo = Target::new(oldest as f64, req.spec.rpo);
    let mut reasons = Vec::new();
    for d in &report.datasets {
        for (name, l) in [
            ("data", &d.data),
            ("receive", &d.receive),
            ("files", &d.files),
            ("one-file restores", &d.sample),
        ] {
            if l.status == Status::Fail {
                reasons.push(format!("{} layer {name}: {}", d.dataset, l.summary));
            }
        }
    }
    if report.probe_layer.status == Status::Fail {
        reasons.push(format!("probes: {}", report.probe_layer.summary));
    }
    if report.rto.met == Some(false) {
        reasons.push(format!(
            "RTO missed: the restore took {:.1}s, the target is {}s",
            report.rto.achieved_seconds,
            report.rto.target_seconds.unwrap_or_default()
        ));
    }
    if report.rpo.met == Some(false) {
        reasons.push(format!(
            "RPO missed: the restored data is {}s old, the target is {}s",
            oldest,
            report.rpo.target_seconds.unwrap_or_default()
        ));
    }
    let interrupted = req.stop.load(Ordering::Relaxed);
    if interrupted {
        report.outcome = Outcome::Error;
        report.reason = Some("the drill was interrupted".into());
    } else if reasons.is_empty() {
        report.outcome = Outcome::Pass;
    } else {
        report.outcome = Outcome::Fail;
        report.reason = Some(reasons.join("; "));
    }
}
