//! Scheduled verification of a job's repository, as Proxmox Backup
//! Server's verify jobs: `check_every` says how often, `check_read_data`
//! how much data each verification reads back, a percentage of the packs
//! ("5%") or a size ("2GiB"). The packs read rotate
//! ([`backup_core::rotation_step`]): each verification starts after the
//! last pack the previous one of the same job read (the cursor, kept in the
//! catalog), in the order of pack ids, wrapping around, so every pack is
//! read within [`Coverage::runs`] verifications.
//!
//! A verification is `check` (structure always, then the rotation's packs)
//! under a read lock the caller holds, recorded in the catalog
//! ([`Verification`]) whatever it found. One that cannot run (the
//! repository unreachable) is an error and is not recorded.

use backup_core::{check, CheckOptions, CheckReport, Portion, Progress, ReadData, Repository};
use backup_core::{runs_per_pass, Rotation};
use jiff::{SignedDuration, Timestamp};

use crate::catalog::{Catalog, Verification};
use crate::config::Job;
use crate::error::Result;

/// When a job's next verification is due (Unix seconds), given when its
/// last one started: `None` if it has no `check_every`; `last + every`,
/// or `now`-or-earlier (0) if it was never verified.
pub fn next_due(every: Option<SignedDuration>, last_started: Option<i64>) -> Option<i64> {
    let every = every?;
    Some(last_started.map_or(0, |t| t.saturating_add(every.as_secs())))
}

/// Whether `job`'s verification is due at `now`: it has `check_every` and
/// its last verification, whatever its result, started at least that long
/// ago (or there is none).
pub fn is_due(job: &Job, catalog: &Catalog, now: Timestamp) -> Result<bool> {
    if job.check_every.is_none() {
        return Ok(false);
    }
    let last = catalog.last_verification(&job.name, None)?;
    Ok(next_due(job.check_every, last.map(|v| v.started)).is_some_and(|t| now.as_second() >= t))
}

/// Verifies `job`'s repository now, reading the next step of its rotation
/// (or structure only without `check_read_data`), and records it. The
/// caller holds a read lock on `repo` (`RepoLock::acquire_for_reading`).
pub fn verify(
    job: &Job,
    repo: &Repository,
    catalog: &Catalog,
    now: Timestamp,
    progress: &dyn Progress,
) -> Result<(Verification, CheckReport)> {
    let wall = Timestamp::now();
    let after = catalog.verification_cursor(&job.name)?;
    let opts = CheckOptions {
        read_data: job
            .check_read_data
            .map(|portion| ReadData::Rotation(Rotation { after, portion })),
    };
    let r = check(repo, opts, progress)?;
    let took = Timestamp::now().as_second() - wall.as_second();
    let step = r.rotation.clone().unwrap_or_default();
    let v = Verification {
        job: job.name.clone(),
        started: now.as_second(),
        finished: now.as_second() + took.max(0),
        ok: r.ok(),
        portion: job.check_read_data.map(portion_text),
        packs: r.packs as u64,
        pack_bytes: r.pack_bytes,
        packs_read: r.packs_read as u64,
        bytes_read: r.bytes_read,
        blobs_read: r.blobs_read as u64,
        problems: r.errors.clone(),
        damaged_snapshots: r.damaged_snapshots.clone(),
        cursor: step.last,
        completed_pass: step.completed_pass,
    };
    catalog.record_verification(&v)?;
    Ok((v, r))
}

/// A portion as people write it: "5%", "2GiB", "1500000B".
pub fn portion_text(p: Portion) -> String {
    match p {
        Portion::Percent(v) => format!("{v}%"),
        Portion::Bytes(b) => {
            for (unit, size) in [
                ("TiB", 1u64 << 40),
                ("GiB", 1 << 30),
                ("MiB", 1 << 20),
                ("KiB", 1 << 10),
            ] {
                if b >= size && b % size == 0 {
                    return format!("{}{unit}", b / size);
                }
            }
            format!("{b}B")
        }
    }
}

/// How long a full pass over the packs takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Coverage {
    /// Verifications in which every pack is read.
    pub runs: u64,
    /// `runs` × `check_every`, seconds: every pack is read within it.
    pub period_seconds: i64,
}

/// The coverage of `job`'s verifications: with a percentage `p`,
/// `ceil(100 / p)` runs; with a size `b`, `ceil(pack_bytes / b)` runs
/// (`pack_bytes` from the last verification or a listing; unknown without
/// it). `None` without `check_every` or `check_read_data`.
pub fn coverage(job: &Job, pack_bytes: Option<u64>) -> Option<Coverage> {
    let every = job.check_every?;
    let runs = match job.check_read_data? {
        Portion::Percent(p) => runs_per_pass(p),
        Portion::Bytes(b) => pack_bytes?.div_ceil(b.max(1)).max(1),
    };
    Some(Coverage {
        runs,
        period_seconds: every
            .as_secs()
            .saturating_mul(i64::try_from(runs).unwrap_or(i64::MAX)),
    })
}

#[cfg(test)]
mod tests;
