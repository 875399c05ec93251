//! `backup-ops`: the application around the engine.
//!
//! [`backup_core`] knows repositories, chains and streams; this crate knows
//! what an operator configures and runs: the TOML configuration
//! ([`config`]), jobs that snapshot, ship and prune ([`job`]), schedules
//! ([`schedule`]), retention ([`retention`]), restore drills ([`drill`]),
//! `backup status` and Nagios ([`status`]), Prometheus metrics
//! ([`metrics`]), notifications: commands and Healthchecks / Uptime Kuma
//! pings ([`notify`]), systemd and cron units ([`install`]) and the SQLite
//! catalog in the state directory that caches manifests and holds the
//! host's job and drill history ([`Catalog`]).
//!
//! Dependencies point one way: `backup-cli -> backup-ops -> backup-core ->
//! backup-zfs`. The engine never imports this crate (a CI step checks it).
//! Like the engine, it never prints.
//!
//! ```
//! use backup_ops::Schedule;
//!
//! let daily = Schedule::parse("daily").unwrap();
//! let now = jiff::Timestamp::from_second(1_700_000_000)
//!     .unwrap()
//!     .to_zoned(jiff::tz::TimeZone::UTC);
//! assert!(daily.next_after(now.clone()).unwrap() > now);
//! ```

mod catalog;
pub mod config;
pub mod drill;
mod error;
pub mod install;
pub mod job;
pub mod metrics;
pub mod notify;
pub mod restore_files;
pub mod retention;
pub mod runbook;
pub mod schedule;
pub mod status;
pub mod verify;

pub use catalog::{
    adopt as adopt_catalog, Adoption, Catalog, CatalogEntry, JobRun, SyncReport, SyncStats,
    Verification,
};
pub use error::{Error, Result};
pub use schedule::{Due, Schedule, ScheduleError};
