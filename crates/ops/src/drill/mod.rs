//! Restore drills: restore a job's snapshots into scratch space the drill
//! owns, verify them layer by layer (data, receive, files, probes), time
//! each phase against RTO and RPO targets, and report.

mod files;
#[cfg(test)]
pub(crate) mod fixture;
mod history;
mod markdown;
mod probe;
pub(crate) mod receive;
mod report;
mod run;
mod sample;
mod scratch;
mod select;

pub use markdown::{markdown, sh};

pub use report::{
    Access, DatasetDrill, DrillReport, Layer, Link, Outcome, Phases, ProbeResult, ScratchInfo,
    Status, Target, REPORT_VERSION,
};

pub use run::{drill_id, run, DrillRequest};
pub use sample::Sample;
pub use scratch::{remove_leftovers, ScratchSpace};
pub use select::job_ships;
