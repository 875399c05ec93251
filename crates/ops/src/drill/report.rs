//! What a drill found: the JSON report, also kept in the catalog.

use serde::{Deserialize, Serialize};

use backup_core::filelist::Comparison;

/// Version of the report format.
pub const REPORT_VERSION: u32 = 1;

/// How a drill ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every layer passed and every target was met.
    Pass,
    /// A layer failed or a target was missed.
    Fail,
    /// The drill could not run (no snapshot, scratch space, ZFS, ...).
    Error,
}

impl Outcome {
    /// "pass", "fail", "error".
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
        }
    }
}

/// A layer's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Checked and fine.
    Pass,
    /// Checked and wrong.
    Fail,
    /// Not checked: nothing to check (no file manifest, no probes).
    Skipped,
    /// Not checked: an earlier layer failed.
    NotReached,
}

impl Status {
    /// "pass", "fail", "skipped", "not reached".
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
            Status::NotReached => "not reached",
        }
    }
}

/// One layer's result for one dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// Verdict.
    pub status: Status,
    /// One line for people.
    pub summary: String,
}

impl Layer {
    /// A layer that did not run.
    pub fn not_reached() -> Layer {
        Layer::new(Status::NotReached, "not reached")
    }

    /// A layer with this status and summary.
    pub fn new(status: Status, summary: impl Into<String>) -> Layer {
        Layer {
            status,
            summary: summary.into(),
        }
    }
}

/// A stream of the restored chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Manifest id, hex.
    pub id: String,
    /// `dataset@snapshot` as shipped.
    pub snapshot: String,
    /// "full" or "incremental".
    pub kind: String,
    /// Stream bytes.
    pub stream_len: u64,
}

/// The drill of one dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetDrill {
    /// Source dataset.
    pub dataset: String,
    /// Snapshot name after the `@`.
    pub snapshot: String,
    /// Manifest id of the snapshot, hex.
    pub manifest: String,
    /// guid of the snapshot.
    pub guid: u64,
    /// When the snapshot was taken (job clock, else creation), Unix seconds.
    pub snapshot_time: i64,
    /// Its age when the drill started, seconds: the achieved RPO.
    pub age_seconds: i64,
    /// The streams restored, full first.
    pub chain: Vec<Link>,
    /// The scratch dataset it was restored into.
    pub restored_as: String,
    /// Where that was mounted (empty for volumes or when not mounted).
    pub mountpoint: String,
    /// Layer 1: blobs decrypt and authenticate, streams match their digests.
    pub data: Layer,
    /// Layer 2: `zfs receive` accepted every stream; the guid matches.
    pub receive: Layer,
    /// Layer 3: the restored tree matches the file manifest.
    pub files: Layer,
    /// Layer 3's details, when it ran.
    pub comparison: Option<Comparison>,
    /// The one-file layer: a sample of files restored by the fast path of
    /// `restore --path` straight from the repository (reports before it
    /// existed read as not reached).
    #[serde(default = "Layer::not_reached")]
    pub sample: Layer,
    /// Its details, when it ran.
    #[serde(default)]
    pub sample_detail: Option<super::sample::Sample>,
    /// Stream bytes restored.
    pub restored_bytes: u64,
    /// Seconds fetching and decrypting (the restore's time not spent
    /// waiting on `zfs receive`).
    pub fetch_seconds: f64,
    /// Seconds spent in `zfs receive` (writes blocked on it, and its exit).
    pub receive_seconds: f64,
    /// Seconds walking and comparing the restored tree.
    pub verify_seconds: f64,
}

/// A probe's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    /// Name from the definition.
    pub name: String,
    /// The command.
    pub command: String,
    /// The source dataset whose restored copy it ran in.
    pub dataset: String,
    /// Pass (exit 0) or fail; not reached when the restore failed.
    pub status: Status,
    /// Exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Killed after its timeout.
    pub timed_out: bool,
    /// Seconds it ran.
    pub seconds: f64,
    /// Its stdout and stderr, the last 4 KiB.
    pub output: String,
}

/// An achieved figure against its target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// Achieved, seconds.
    pub achieved_seconds: f64,
    /// Target, seconds, when one is declared.
    pub target_seconds: Option<i64>,
    /// Whether it was met (`None` without a target).
    pub met: Option<bool>,
}

impl Target {
    /// `achieved` against an optional target.
    pub fn new(achieved_seconds: f64, target: Option<jiff::SignedDuration>) -> Target {
        let target_seconds = target.map(|t| t.as_secs());
        Target {
            achieved_seconds,
            target_seconds,
            met: target_seconds.map(|t| achieved_seconds <= t as f64),
        }
    }
}

/// Time per phase, seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Phases {
    /// Fetching and decrypting (all datasets).
    pub fetch_decrypt: f64,
    /// `zfs receive`.
    pub receive: f64,
    /// Walking and comparing the restored trees.
    pub verify: f64,
    /// Probes.
    pub probes: f64,
    /// The whole drill, scratch set-up and clean-up included.
    pub total: f64,
}

/// Scratch space the drill used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScratchInfo {
    /// "dataset" or "pool".
    pub kind: String,
    /// The scratch dataset (or pool root dataset).
    pub dataset: String,
    /// Its file, for a pool.
    pub file: Option<String>,
    /// Where it was mounted.
    pub mountpoint: String,
    /// Kept for inspection (`--keep-on-failure`), else destroyed.
    pub kept: bool,
    /// Leftovers of earlier drills removed first.
    pub leftovers_removed: Vec<String>,
    /// Why the scratch space could not be removed, if it could not.
    #[serde(default)]
    pub cleanup_error: Option<String>,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillReport {
    /// Report format version.
    pub version: u32,
    /// Drill id: `<job>-<UTC time>-<4 hex>`.
    pub id: String,
    /// Job drilled.
    pub job: String,
    /// Repository location.
    pub repository: String,
    /// Repository id, hex.
    pub repository_id: String,
    /// Host that ran the drill.
    pub host: String,
    /// backup version.
    pub tool_version: String,
    /// ZFS dialect it restored with.
    pub zfs: String,
    /// Unix seconds.
    pub started: i64,
    /// Unix seconds.
    pub finished: i64,
    /// Verdict.
    pub outcome: Outcome,
    /// Why, in one line, unless it passed.
    pub reason: Option<String>,
    /// The repository was opened with this exported key file, not its own
    /// key slots.
    pub key_file: Option<String>,
    /// How the snapshots were picked: "latest", "random" or the query.
    pub pick: String,
    /// Scratch space.
    pub scratch: ScratchInfo,
    /// Per dataset.
    pub datasets: Vec<DatasetDrill>,
    /// Probes, in order.
    pub probes: Vec<ProbeResult>,
    /// Layer 4 overall.
    pub probe_layer: Layer,
    /// Phases.
    pub phases: Phases,
    /// Restore time (fetch, decrypt, receive of every dataset) against the target.
    pub rto: Target,
    /// Age of the oldest restored snapshot at drill time against the target.
    pub rpo: Target,
    /// Stream bytes restored.
    pub restored_bytes: u64,
    /// Missing, extra and changed paths, all datasets; a volume whose
    /// restored device differs from its recorded digest counts as one.
    pub mismatches: u64,
    /// How to reach the repository again, for the runbook.
    pub access: Access,
}

/// What the runbook needs to tell an operator on a fresh host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The configuration file the drill used.
    pub config_file: String,
    /// The repository's name in it.
    pub repository_name: String,
    /// Where its passphrase comes from, e.g. `password_file = "/etc/backup/nas.pass"`.
    pub password_source: String,
    /// Shell code that sets `BACKUP_PASSWORD_FILE` or `BACKUP_PASSWORD_COMMAND`.
    pub password_env: String,
}
