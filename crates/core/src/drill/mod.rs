//! Restore drills: restore a job's snapshots into scratch space the drill
//! owns, verify them layer by layer (data, receive, files, probes), time
//! each phase against RTO and RPO targets, and report.

mod markdown;
mod report;

pub use markdown::markdown;

pub use report::{
    Access, DatasetDrill, DrillReport, Layer, Link, Outcome, Phases, ProbeResult, ScratchInfo,
    Status, Target, REPORT_VERSION,
};
